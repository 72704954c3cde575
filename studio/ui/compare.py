"""Compare two images at full size: a scene's preview and final, or any two picked as A and B
(cards, library renders, the viewer). Side by side with synchronised zoom and pan, or over one
another with a slider; S or X swaps the two, Escape closes. The captions (which image is A,
which B, and the zoom) sit in a line above the images, never over them. Images are decoded on
worker threads. The keys are the data in :data:`COMPARE_KEYS`, which the Keyboard Shortcuts window
lists too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QShortcut,
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
    QSizePolicy,
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
        #: Whether the caption and zoom are drawn on the image (the viewer's); compare shows
        #: them in a line above the image instead.
        self.overlay = True
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

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        if not self.overlay:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor("white"))
        fm = painter.fontMetrics()
        text = self.caption_text()
        box = fm.boundingRect(text).adjusted(-6, -3, 6, 3)
        box.moveTopLeft(self.viewport().rect().topLeft() + QPointF(8, 8).toPoint())
        painter.fillRect(box, QColor(0, 0, 0, 150))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


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


W = TypeVar("W", bound=QWidget)


@dataclass(frozen=True, slots=True)
class WindowKey(Generic[W]):
    """One key of a window of images (the viewer, compare): its name, what it does in the
    user's words (a button's text), its keys, and what it does to the window."""

    name: str
    text: str
    keys: tuple[str, ...]
    run: Callable[[W], object]

    @property
    def shown(self) -> str:
        """The keys as this system writes them ("S or X")."""
        return " or ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText)
                           for k in self.keys)


class KeyedWindow(QWidget):
    """A window whose keys (and the buttons that do the same) come from a table of
    :class:`WindowKey`; shortcuts and buttons call one bound method, so nothing holds a closed
    window."""

    KEYS: tuple[WindowKey[Any], ...] = ()

    def install_keys(self) -> None:
        for key in self.KEYS:
            for text in key.keys:
                shortcut = QShortcut(QKeySequence(text), self)
                shortcut.setObjectName(key.name)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(self._key)

    def key_button(self, name: str, text: str = "") -> QPushButton:
        """A button doing what the key ``name`` does, its keys in its tooltip."""
        key = next(k for k in self.KEYS if k.name == name)
        button = QPushButton(text or key.text, self)
        button.setObjectName(f"{self.objectName()}-{name}")
        button.setToolTip(f"{key.text} ({key.shown})")
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay the window's
        button.setProperty("key", name)
        button.clicked.connect(self._key)
        return button

    def _key(self) -> None:
        sender = self.sender()
        name = sender.objectName() if isinstance(sender, QShortcut) else sender.property("key")
        self.press(name)

    def press(self, name: str) -> None:
        """Do what the key ``name`` does."""
        for key in self.KEYS:
            if key.name == name:
                key.run(self)
                return


COMPARE_KEYS: tuple[WindowKey[CompareView], ...] = (
    WindowKey("swap", "Swap A and B", ("S", "X"), lambda c: c.swap()),
    WindowKey("mode", "Side by side or slider", ("M",),
              lambda c: c.set_mode(1 - c.stack.currentIndex())),
    WindowKey("fit", "Fit", ("0",), lambda c: c.fit()),
    WindowKey("actual", "100%", ("1",), lambda c: c.set_zoom(1.0)),
    WindowKey("close", "Close", ("Escape",), lambda c: c.close()),
)


@dataclass(frozen=True, slots=True)
class CompareSide:
    """One of the two images: its caption (shown above it) and its file."""

    caption: str
    path: Path | None


class CompareView(KeyedWindow):
    """Two images, side by side or with a slider: a scene's preview and final
    (:meth:`show_pair`) or any two (:meth:`show_images`)."""

    loaded = Signal()
    KEYS = COMPARE_KEYS

    stack: QStackedWidget

    def __init__(self, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setWindowTitle("Compare")
        self._bg = background
        self.sides = (CompareSide("PREVIEW", None), CompareSide("FINAL", None))
        self.images: list[QImage | None] = [None, None]
        self._pending = 0
        self._generation = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        bar.addWidget(self.title, 1)
        mode_key = next(k for k in COMPARE_KEYS if k.name == "mode")
        self.mode_group = QButtonGroup(self)
        for i, text in enumerate(("Side by side", "Slider")):
            button = QPushButton(text, self)
            button.setCheckable(True)
            button.setObjectName(f"compareMode{i}")
            button.setToolTip(f"{text} ({mode_key.shown} switches)")
            self.mode_group.addButton(button, i)
            bar.addWidget(button)
        self.mode_group.button(0).setChecked(True)
        self.mode_group.idClicked.connect(self.set_mode)
        self.buttons: dict[str, QPushButton] = {}
        for name in ("swap", "fit", "actual"):
            self.buttons[name] = self.key_button(name)
            bar.addWidget(self.buttons[name])
        layout.addLayout(bar)
        self.stack = QStackedWidget(self)
        split = QSplitter(self)
        self.left = ZoomView("PREVIEW")
        self.right = ZoomView("FINAL")
        #: Side by side: each image's caption above it.
        self.captions = (caption_label("compareCaptionA"), caption_label("compareCaptionB"))
        for view, caption in ((self.left, self.captions[0]), (self.right, self.captions[1])):
            view.overlay = False
            split.addWidget(captioned(caption, view, split))
        self.left.viewChanged.connect(lambda: self.right.follow(self.left))
        self.right.viewChanged.connect(lambda: self.left.follow(self.right))
        self.left.viewChanged.connect(self._show_captions)
        self.right.viewChanged.connect(self._show_captions)
        self.slider = SliderView()
        #: The slider: A's caption above its left part, B's above its right part, the zoom
        #: between them.
        self.slider_captions = (caption_label("compareSliderA"), caption_label("compareSliderB"))
        self.slider_zoom = caption_label("compareSliderZoom")
        self.slider_captions[1].setAlignment(Qt.AlignmentFlag.AlignRight
                                             | Qt.AlignmentFlag.AlignVCenter)
        self.slider_zoom.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider_captions[0], 3)
        row.addWidget(self.slider_zoom, 1)
        row.addWidget(self.slider_captions[1], 3)
        self.slider.viewChanged.connect(self._show_captions)
        self.stack.addWidget(split)
        self.stack.addWidget(captioned(row, self.slider, self))
        layout.addWidget(self.stack, 1)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.install_keys()
        self._show_captions()
        self.resize(1200, 720)

    def set_mode(self, mode: int) -> None:
        self.stack.setCurrentIndex(mode)
        self.mode_group.button(mode).setChecked(True)

    def fit(self) -> None:
        self.left.fit()
        self.slider.fit()

    def set_zoom(self, zoom: float) -> None:
        self.left.set_zoom(zoom)
        self.slider.set_zoom(zoom)

    def _show_captions(self) -> None:
        """The captions above the images, with each mode's zoom."""
        for view, label in ((self.left, self.captions[0]), (self.right, self.captions[1])):
            set_caption(label, view.caption_text())
        a, b = self.slider.labels
        set_caption(self.slider_captions[0], f"◀ {a}")
        set_caption(self.slider_captions[1], f"{b} ▶")
        self.slider_zoom.setText(f"{self.slider.zoom * 100:.0f}%")

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def show_pair(self, title: str, preview: Path | None, final: Path | None,
                  info: str = "") -> None:
        """A scene's preview and final."""
        self.show_images(title, CompareSide("PREVIEW", preview), CompareSide("FINAL", final),
                         info)

    def show_images(self, title: str, a: CompareSide, b: CompareSide, info: str = "") -> None:
        """Any two images, ``a`` on the left (or under the slider's left part)."""
        self.title.setText(title)
        self.setWindowTitle(f"Compare — {title}")
        self.info.setText(info)
        self.sides = (a, b)
        self.images = [None, None]
        self._generation += 1
        self._pending = 0
        for i, side in enumerate(self.sides):
            if side.path is None:
                continue
            self._pending += 1
            self._bg.run(partial(decode_scaled, side.path, 0),
                         partial(self._arrived, self._generation, i),
                         partial(self._missing, self._generation, i),
                         owner=self, what=f"Reading {side.path.name}")
        if self._pending == 0:
            self._show()

    def swap(self) -> None:
        """B where A was and A where B was (nothing read again)."""
        if self.busy:
            return
        self.sides = (self.sides[1], self.sides[0])
        self.images = [self.images[1], self.images[0]]
        self._show()

    def _arrived(self, generation: int, i: int, image: QImage) -> None:
        if generation != self._generation:
            return
        self.images[i] = image
        self._pending -= 1
        if self._pending == 0:
            self._show()

    def _missing(self, generation: int, i: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._pending -= 1
        self.info.setText(f"{self.sides[i].caption.title()} cannot be shown: {exc}")
        if self._pending == 0:
            self._show()

    def _show(self) -> None:
        first, second = self.images
        (a, b) = self.sides
        self.left.caption, self.right.caption = a.caption, b.caption
        self.slider.labels = (a.caption, b.caption)
        base = first or second
        box = base.size() if base is not None else None
        self.left.set_image(first, box)
        self.right.set_image(second, box)
        self.slider.set_images(first, fitted_into(second, box) if first is not None else second)
        self.left.fit()
        self.left.viewport().update()
        self.right.viewport().update()
        self._show_captions()
        self.loaded.emit()


def caption_label(name: str) -> QLabel:
    """A caption over an image pane: bold, on one line, its whole text in a tooltip when the
    pane is too narrow for it (it never widens the window)."""
    label = QLabel()
    label.setObjectName(name)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    label.setContentsMargins(4, 2, 4, 2)
    return label


def set_caption(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setToolTip(text)


def captioned(caption: QWidget | QHBoxLayout, view: QWidget, parent: QWidget) -> QWidget:
    """``view`` with ``caption`` (a label, or a row of them) in a line above it."""
    pane = QWidget(parent)
    column = QVBoxLayout(pane)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    if isinstance(caption, QHBoxLayout):
        column.addLayout(caption)
    else:
        column.addWidget(caption)
    column.addWidget(view, 1)
    return pane


def fitted_into(image: QImage | None, size: QSize | None) -> QImage | None:
    """``image`` scaled to fit ``size`` (its proportions kept), centred on a canvas of that size,
    so the slider's two images line up without stretching either."""
    if image is None or size is None or image.size() == size:
        return image
    canvas = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(QColor(40, 40, 40))
    scaled = image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.SmoothTransformation)
    p = QPainter(canvas)
    p.drawImage((size.width() - scaled.width()) // 2, (size.height() - scaled.height()) // 2,
                scaled)
    p.end()
    return canvas


