"""Images that zoom and pan: :class:`ZoomView`, one image (the viewer's, and each side of compare
side by side), and :class:`SliderView`, two images over one another with a divider (compare's
slider). Neither draws anything over the image: their windows show captions and zoom in a line
above it."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
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
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

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

    def set_image(self, image: QImage | None, box: QSize | None = None) -> None:
        """Show ``image``; within ``box`` (scaled to fit it, centred) so two images of
        different sizes line up, else at its own size."""
        if image is None:
            self.item.setPixmap(QPixmap())
            return
        self.item.setPixmap(QPixmap.fromImage(image))
        scale = 1.0
        frame = QRectF(0, 0, image.width(), image.height())
        if box is not None and image.width() and image.height():
            scale = min(box.width() / image.width(), box.height() / image.height())
            frame = QRectF(0, 0, box.width(), box.height())
        self.item.setScale(scale)
        self.item.setPos((frame.width() - image.width() * scale) / 2,
                         (frame.height() - image.height() * scale) / 2)
        self.scene().setSceneRect(frame)
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
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
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

    def caption_text(self) -> str:
        """"A · Market · preview  ·  100%": the caption with the zoom."""
        return f"{self.caption}  ·  {self.zoom * 100:.0f}%"


class SliderView(QWidget):
    """The preview and the final over one another; a divider reveals one or the other.

    Drag the divider to move it, drag elsewhere to pan, the wheel to zoom. ``labels`` name the
    two images; the compare window shows them above this view, so nothing covers the images.
    ``viewChanged`` fires after every zoom or fit.
    """

    viewChanged = Signal()

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
        self.labels = ("PREVIEW", "FINAL")
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
        self.viewChanged.emit()

    def set_zoom(self, zoom: float) -> None:
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self._fitted = False
        self.update()
        self.viewChanged.emit()

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
            self.viewChanged.emit()
        event.accept()
