"""The image viewer: one image large, with zoom (wheel, + and -, fit, 100%) and pan (drag), its
settings beside it, next and previous within the list it was opened from, and the verdicts, the
star, finalize, "Use as reference" and compare from there. Escape closes it.

It binds to :class:`~studio.ui.viewmodels.viewer.ViewerModel` (the image, decoded on a worker,
and its render as the library holds it) and does things through
:class:`~studio.ui.viewmodels.image_actions.ImageActions`. Its keys are the data in
:data:`VIEWER_KEYS`, which the Keyboard Shortcuts window lists too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core.lifecycle import Approval
from studio.ui.compare import KeyedWindow, WindowKey
from studio.ui.image_views import ZOOM_STEP, ZoomView
from studio.ui.render_details import FactsForm, PromptBox
from studio.ui.viewmodels.image_actions import ImageActions, ImageItem
from studio.ui.viewmodels.viewer import ViewerModel
from studio.ui.widgets import section_label, show_verdicts

ViewerKey = WindowKey["ImageViewer"]

VIEWER_KEYS: tuple[ViewerKey, ...] = (
    WindowKey("previous", "Previous", ("Left",), lambda v: v.model.previous()),
    WindowKey("next", "Next", ("Right",), lambda v: v.model.next()),
    WindowKey("zoom_in", "Zoom in", ("+", "="), lambda v: v.zoom_by(ZOOM_STEP)),
    WindowKey("zoom_out", "Zoom out", ("-",), lambda v: v.zoom_by(1 / ZOOM_STEP)),
    WindowKey("fit", "Fit", ("0",), lambda v: v.view.fit()),
    WindowKey("actual", "100%", ("1",), lambda v: v.view.set_zoom(1.0)),
    WindowKey("approve", "Approve", ("A",), lambda v: v.approve()),
    WindowKey("reject", "Reject", ("X",), lambda v: v.reject()),
    WindowKey("star", "Star", ("S",), lambda v: v.star()),
    WindowKey("finalize", "Finalize", ("F",), lambda v: v.finalize()),
    WindowKey("reference", "Use as reference", ("R",), lambda v: v.use_as_reference()),
    WindowKey("compare", "Compare with…", ("C",), lambda v: v.compare_with()),
    WindowKey("set_a", "Set as A", ("Shift+A",), lambda v: v.set_as("a")),
    WindowKey("set_b", "Set as B", ("Shift+B",), lambda v: v.set_as("b")),
    WindowKey("close", "Close", ("Escape",), lambda v: v.close()),
)

#: The buttons beside the image, two a row (the zoom ones sit above it).
BUTTONS = ("previous", "next", "approve", "reject", "star", "finalize", "reference", "compare",
           "set_a", "set_b")
ZOOM_BUTTONS = ("zoom_out", "zoom_in", "fit", "actual")


class ImageViewer(KeyedWindow):
    """``compareRequested(item)`` for "Compare with…", ``setARequested(item)`` and
    ``setBRequested(item)`` for "Set as A" and "Set as B" (the window's compare picks answer
    them)."""

    compareRequested = Signal(object)
    setARequested = Signal(object)
    setBRequested = Signal(object)
    KEYS = VIEWER_KEYS

    model: ViewerModel
    image_actions: ImageActions
    view: ZoomView

    def __init__(self, model: ViewerModel, actions: ImageActions,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.setWindowTitle("Viewer")
        self.model = model
        self.image_actions = actions
        keys = {k.name: k for k in VIEWER_KEYS}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.title = QLabel(self)
        self.title.setObjectName("viewerTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        bar.addWidget(self.title, 1)
        #: The zoom, beside its buttons: nothing is drawn over the image.
        self.zoom_label = QLabel(self)
        self.zoom_label.setObjectName("viewerZoom")
        self.zoom_label.setMinimumWidth(self.zoom_label.fontMetrics().horizontalAdvance("8888%"))
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.zoom_label)
        self.buttons: dict[str, QPushButton] = {}
        for name in ZOOM_BUTTONS:
            bar.addWidget(self._button(keys[name]))
        outer.addLayout(bar)
        split = QSplitter(self)
        self.view = ZoomView("", split)
        self.view.setObjectName("viewerImage")
        self.view.setMinimumSize(400, 300)
        self.view.viewChanged.connect(self._show_zoom)
        side = QWidget(split)
        side.setObjectName("viewerSide")
        column = QVBoxLayout(side)
        column.setContentsMargins(8, 0, 0, 0)
        self.position = QLabel(side)
        self.position.setObjectName("viewerPosition")
        column.addWidget(self.position)
        column.addWidget(section_label("Prompt", side))
        # Single-letter keys stay the viewer's: the prompt never takes the focus.
        self.prompt_box = PromptBox("viewerPrompt", side, keys_stay_outside=True)
        self.prompt = self.prompt_box.text
        self.prompt.setMinimumHeight(90)
        self.prompt.setMaximumHeight(160)
        column.addWidget(self.prompt_box)
        self.form = FactsForm("viewer")
        column.addLayout(self.form)
        grid = QGridLayout()
        for i, name in enumerate(BUTTONS):
            grid.addWidget(self._button(keys[name]), i // 2, i % 2)
        column.addLayout(grid)
        self.error = QLabel(side)
        self.error.setObjectName("viewerError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        column.addWidget(self.error)
        column.addStretch(1)
        split.addWidget(self.view)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setSizes([900, 340])
        outer.addWidget(split, 1)
        self.install_keys()
        model.changed.connect(self._show)
        model.imageReady.connect(self._show_image)
        self.resize(1280, 820)
        self._show()
        if model.image is not None:  # decoded before the viewer was built
            self._show_image()

    def _button(self, key: ViewerKey) -> QPushButton:
        button = self.key_button(key.name)
        self.buttons[key.name] = button
        return button

    # ------------------------------------------------------------------ showing
    @property
    def busy(self) -> bool:
        return self.model.loading or self.image_actions.busy

    def open(self, items: list[ImageItem], index: int = 0) -> None:
        self.model.open(items, index)

    def _show(self) -> None:
        model, item = self.model, self.model.current
        title = item.title if item is not None else ""
        self.title.setText(title)
        self.title.setToolTip(title)
        self.setWindowTitle(f"{title} — Viewer" if title else "Viewer")
        self.position.setText(model.position)
        self.position.setVisible(bool(model.position))
        self.prompt_box.show_prompt(model.prompt)
        self.form.show_facts(model.facts())
        self.error.setText(model.error)
        self.error.setVisible(bool(model.error))
        if model.image is None:
            self.view.set_image(None)
            self._show_zoom()
        in_library = item is not None and item.render_id is not None
        for name in ("approve", "reject", "star"):
            self.buttons[name].setEnabled(in_library)
        show_verdicts(self.buttons, [model.record] if model.record is not None else [])
        self.buttons["finalize"].setEnabled(item is not None
                                            and self.image_actions.can_render(item))
        self.buttons["reference"].setEnabled(in_library)
        self.buttons["previous"].setEnabled(model.index > 0)
        self.buttons["next"].setEnabled(0 <= model.index < len(model.items) - 1)

    @property
    def values(self) -> dict[str, QLabel]:
        """Each row's label ("Seed", "Verdict", ...) to the text it shows."""
        return self.form.values

    def _show_image(self) -> None:
        self.view.set_image(self.model.image)
        self.view.fit()
        self._show_zoom()

    def _show_zoom(self) -> None:
        self.zoom_label.setText(f"{self.view.zoom * 100:.0f}%" if self.view.has_image() else "")

    def zoom_by(self, factor: float) -> None:
        self.view.set_zoom(self.view.zoom * factor)

    # ------------------------------------------------------------------ actions
    def _item(self) -> list[ImageItem]:
        item = self.model.current
        return [item] if item is not None else []

    def approve(self) -> None:
        self.image_actions.set_approval(self._item(), Approval.APPROVED)

    def reject(self) -> None:
        self.image_actions.set_approval(self._item(), Approval.REJECTED)

    def star(self) -> None:
        self.image_actions.toggle_star(self._item())

    def finalize(self) -> None:
        for item in self._item():
            self.image_actions.finalize(item)

    def use_as_reference(self) -> None:
        for item in self._item():
            self.image_actions.use_as_reference(item)

    def compare_with(self) -> None:
        for item in self._item():
            self.compareRequested.emit(item)

    def set_as(self, which: str) -> None:
        for item in self._item():
            (self.setARequested if which == "a" else self.setBRequested).emit(item)
