"""Small vector icons drawn with QPainter, so they follow the palette and need no font glyphs."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication


def _canvas(size: int) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    return pix


def _colour() -> QColor:
    return QApplication.palette().color(QPalette.ColorRole.WindowText)


def lock_icon(locked: bool, size: int = 32) -> QIcon:
    pix = _canvas(size)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = _colour()
    s = size / 32
    p.setPen(QPen(c, 3 * s))
    p.setBrush(Qt.BrushStyle.NoBrush)
    shackle = QPainterPath()
    left, right, top = 10 * s, 22 * s, 5 * s
    if locked:
        shackle.moveTo(left, 15 * s)
    else:
        shackle.moveTo(left, 10 * s)
    shackle.lineTo(left, 11 * s)
    shackle.arcTo(QRectF(left, top, right - left, 12 * s), 180, -180)
    shackle.lineTo(right, 15 * s)
    if not locked:
        shackle.translate(5 * s, -2 * s)
    p.drawPath(shackle)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)
    p.drawRoundedRect(QRectF(6 * s, 14 * s, 20 * s, 14 * s), 3 * s, 3 * s)
    p.end()
    return QIcon(pix)


def dice_icon(size: int = 32) -> QIcon:
    pix = _canvas(size)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = _colour()
    s = size / 32
    p.setPen(QPen(c, 2.5 * s))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(QRectF(4 * s, 4 * s, 24 * s, 24 * s), 5 * s, 5 * s)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)
    for x, y in ((10, 10), (22, 10), (16, 16), (10, 22), (22, 22)):
        p.drawEllipse(QPointF(x * s, y * s), 2.4 * s, 2.4 * s)
    p.end()
    return QIcon(pix)
