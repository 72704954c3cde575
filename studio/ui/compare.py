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

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeySequence,
    QPainter,
    QShortcut,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.ui.image_views import SliderView, ZoomView
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.images import decode_scaled

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


