"""Colours that follow the system's light or dark palette, for the states cards show."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from studio.ui.cells import SlotStatus


def is_dark(palette: QPalette | None = None) -> bool:
    pal = palette or QApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def status_colour(status: SlotStatus, stale: bool = False,
                  palette: QPalette | None = None) -> QColor:
    dark = is_dark(palette)
    if status is SlotStatus.DONE and stale:
        return QColor("#d9a400" if dark else "#9a6b00")
    colours = {
        SlotStatus.EMPTY: "#8a8f98",
        SlotStatus.QUEUED: "#8a8f98",
        SlotStatus.SENT: "#5b8def",
        SlotStatus.PROCESSING: "#5b8def" if dark else "#2f6fd6",
        SlotStatus.DOWNLOADING: "#3aa6a0",
        SlotStatus.DONE: "#4caf50" if dark else "#2e7d32",
        SlotStatus.FAILED: "#ef5350" if dark else "#c62828",
        SlotStatus.CANCELLED: "#8a8f98",
    }
    return QColor(colours[status])


def accent(palette: QPalette | None = None) -> QColor:
    pal = palette or QApplication.palette()
    return pal.color(QPalette.ColorRole.Highlight)


def card_background(palette: QPalette, selected: bool, hovered: bool) -> QColor:
    base = palette.color(QPalette.ColorRole.Base)
    if selected:
        hl = palette.color(QPalette.ColorRole.Highlight)
        return blend(base, hl, 0.18)
    if hovered:
        return blend(base, palette.color(QPalette.ColorRole.Text), 0.04)
    return base


def blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


APPROVED = QColor("#2e7d32")
REJECTED = QColor("#c62828")
STAR = QColor("#f5b301")
