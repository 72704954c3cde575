"""Compare a scene's preview and final at full size: side by side with synchronised zoom and
pan, or over one another with a slider. Images are decoded on worker threads."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.images import decode_scaled

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.05, 16.0


class ZoomView(QGraphicsView):
    """One image that zooms with the wheel (about the cursor) and pans by dragging.

    ``viewChanged`` fires after every zoom or pan so a partner view can follow.
    """

    viewChanged = Signal()

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.item)
        self.caption = caption
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.viewChanged.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.viewChanged.emit())
        self._following = False
        self._fitted = True

    def set_image(self, image: QImage | None, logical_width: int = 0) -> None:
        """Show ``image``; ``logical_width`` scales it so two different sizes line up."""
        if image is None:
            self.item.setPixmap(QPixmap())
            return
        self.item.setPixmap(QPixmap.fromImage(image))
        scale = logical_width / image.width() if logical_width and image.width() else 1.0
        self.item.setScale(scale)
        self.scene().setSceneRect(self.item.sceneBoundingRect())
        if self._fitted:
            self.fit()

    def has_image(self) -> bool:
        return not self.item.pixmap().isNull()

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float) -> None:
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self.setTransform(self.transform().fromScale(zoom, zoom))
        self._fitted = False
        self.viewChanged.emit()

    def fit(self) -> None:
        if self.has_image():
            self.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)
            self._fitted = True
            self.viewChanged.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            factor = ZOOM_STEP ** steps
            target = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor))
            self.scale(target / self.zoom, target / self.zoom)
            self._fitted = False
            self.viewChanged.emit()
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def follow(self, other: ZoomView) -> None:
        """Take ``other``'s zoom and the same point at the centre."""
        if self._following:
            return
        self._following = True
        try:
            self.setTransform(other.transform())
            self._fitted = other._fitted
            centre = other.mapToScene(other.viewport().rect().center())
            self.centerOn(centre)
        finally:
            self._following = False

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor("white"))
        fm = painter.fontMetrics()
        text = f"{self.caption}  ·  {self.zoom * 100:.0f}%"
        box = fm.boundingRect(text).adjusted(-6, -3, 6, 3)
        box.moveTopLeft(self.viewport().rect().topLeft() + QPointF(8, 8).toPoint())
        painter.fillRect(box, QColor(0, 0, 0, 150))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class SliderView(QWidget):
    """The preview and the final over one another; a divider reveals one or the other.

    Drag the divider to move it, drag elsewhere to pan, the wheel to zoom.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left: QImage | None = None
        self.right: QImage | None = None
        self.split = 0.5
        self.zoom = 1.0
        self.offset = QPointF(0, 0)
        self._fitted = True
        self._drag: str | None = None
        self._last = QPointF()
        self.setMouseTracking(True)
        self.setMinimumSize(320, 240)

    def set_images(self, left: QImage | None, right: QImage | None) -> None:
        self.left, self.right = left, right
        self.fit()

    def _base(self) -> QImage | None:
        return self.left or self.right

    def fit(self) -> None:
        base = self._base()
        if base is None or base.isNull():
            return
        self.zoom = min(self.width() / base.width(), self.height() / base.height())
        self.offset = QPointF((self.width() - base.width() * self.zoom) / 2,
                              (self.height() - base.height() * self.zoom) / 2)
        self._fitted = True
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def divider_x(self) -> float:
        return self.width() * self.split

    def _target(self, image: QImage) -> QRectF:
        base = self._base()
        assert base is not None
        w, h = base.width() * self.zoom, base.height() * self.zoom
        return QRectF(self.offset.x(), self.offset.y(), w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(40, 40, 40))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        x = self.divider_x()
        for image, clip in ((self.left, QRectF(0, 0, x, self.height())),
                            (self.right, QRectF(x, 0, self.width() - x, self.height()))):
            if image is None or image.isNull():
                continue
            p.save()
            p.setClipRect(clip)
            p.drawImage(self._target(image), image)
            p.restore()
        p.setPen(QPen(QColor("white"), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setBrush(QColor("white"))
        p.drawEllipse(QPointF(x, self.height() / 2), 7, 7)
        p.setPen(QColor("white"))
        for text, left in (("PREVIEW", True), ("FINAL", False)):
            box = p.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
            box.moveTop(8)
            if left:
                box.moveRight(int(x) - 10)
            else:
                box.moveLeft(int(x) + 10)
            p.fillRect(box, QColor(0, 0, 0, 150))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._drag = "split" if abs(pos.x() - self.divider_x()) < 10 else "pan"
        self._last = pos

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag == "split":
            self.split = max(0.0, min(1.0, pos.x() / max(1, self.width())))
            self.update()
        elif self._drag == "pan":
            self.offset += pos - self._last
            self._fitted = False
            self.update()
        else:
            near = abs(pos.x() - self.divider_x()) < 10
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.OpenHandCursor)
        self._last = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps and self._base() is not None:
            at = event.position()
            factor = ZOOM_STEP ** steps
            new = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor))
            # keep the image point under the cursor where it is
            self.offset = at - (at - self.offset) * (new / self.zoom)
            self.zoom = new
            self._fitted = False
            self.update()
        event.accept()


class CompareView(QWidget):
    """A scene's preview and final, side by side or with a slider."""

    loaded = Signal()

    def __init__(self, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setWindowTitle("Compare")
        self._bg = background
        self.images: dict[str, QImage | None] = {"preview": None, "final": None}
        self._pending = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        bar.addWidget(self.title, 1)
        self.mode_group = QButtonGroup(self)
        for i, text in enumerate(("Side by side", "Slider")):
            button = QPushButton(text, self)
            button.setCheckable(True)
            button.setObjectName(f"compareMode{i}")
            self.mode_group.addButton(button, i)
            bar.addWidget(button)
        self.mode_group.button(0).setChecked(True)
        self.mode_group.idClicked.connect(self.set_mode)
        fit = QPushButton("Fit", self)
        fit.clicked.connect(self.fit)
        actual = QPushButton("100%", self)
        actual.clicked.connect(lambda: self.set_zoom(1.0))
        bar.addWidget(fit)
        bar.addWidget(actual)
        layout.addLayout(bar)
        self.stack = QStackedWidget(self)
        split = QSplitter(self)
        self.left = ZoomView("PREVIEW", split)
        self.right = ZoomView("FINAL", split)
        split.addWidget(self.left)
        split.addWidget(self.right)
        self.left.viewChanged.connect(lambda: self.right.follow(self.left))
        self.right.viewChanged.connect(lambda: self.left.follow(self.right))
        self.slider = SliderView(self)
        self.stack.addWidget(split)
        self.stack.addWidget(self.slider)
        layout.addWidget(self.stack, 1)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.resize(1200, 720)

    def set_mode(self, mode: int) -> None:
        self.stack.setCurrentIndex(mode)
        self.mode_group.button(mode).setChecked(True)

    def fit(self) -> None:
        self.left.fit()
        self.slider.fit()

    def set_zoom(self, zoom: float) -> None:
        self.left.set_zoom(zoom)
        self.slider.zoom = zoom
        self.slider.update()

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def show_pair(self, title: str, preview: Path | None, final: Path | None,
                  info: str = "") -> None:
        self.title.setText(title)
        self.setWindowTitle(f"Compare — {title}")
        self.info.setText(info)
        self.images = {"preview": None, "final": None}
        for key, path in (("preview", preview), ("final", final)):
            if path is None:
                continue
            self._pending += 1
            self._bg.run(partial(decode_scaled, path, 0), partial(self._arrived, key),
                         partial(self._missing, key), owner=self, what=f"Reading the {key}")
        if self._pending == 0:
            self._show()

    def _arrived(self, key: str, image: QImage) -> None:
        self.images[key] = image
        self._pending -= 1
        if self._pending == 0:
            self._show()

    def _missing(self, key: str, exc: BaseException) -> None:
        self._pending -= 1
        self.info.setText(f"The {key} cannot be shown: {exc}")
        if self._pending == 0:
            self._show()

    def _show(self) -> None:
        preview, final = self.images["preview"], self.images["final"]
        base = preview or final
        width = base.width() if base is not None else 0
        self.left.set_image(preview, width)
        self.right.set_image(final, width)
        scaled_final = final
        if preview is not None and final is not None and final.size() != preview.size():
            scaled_final = final.scaled(preview.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                                        Qt.TransformationMode.SmoothTransformation)
        self.slider.set_images(preview, scaled_final)
        self.left.fit()
        self.loaded.emit()
