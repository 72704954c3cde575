"""The window's image side: the viewer, compare-any-two (the A and B picks), and the context
menus of images (cards, library renders), whose entries are data (:data:`IMAGE_ENTRIES`,
:data:`CARD_MENU`, :data:`LIBRARY_MENU`) like the window's actions.

:class:`ImageWindows` reaches the main window through its Qt parent, never a Python reference,
so a closed window is freed; the viewer is built when first opened and deleted when closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QListWidgetItem, QMenu, QWidget

from studio.core.lifecycle import Approval
from studio.core.request import Stage
from studio.ui.viewmodels.image_actions import ComparePicks, ImageActions, ImageItem
from studio.ui.widgets import bring_to_front

if TYPE_CHECKING:
    from studio.library import RenderRecord
    from studio.ui.compare import CompareView
    from studio.ui.consistency import ConsistencyView
    from studio.ui.library_browser import LibraryBrowser
    from studio.ui.main_window import MainWindow
    from studio.ui.viewer import ImageViewer
    from studio.ui.viewmodels.scenes import SceneListModel


@dataclass(frozen=True, slots=True)
class ImageEntry:
    """One entry of an image's context menu: its text, the key that does the same in the
    viewer (shown beside it), and what it does with the image and the list it is in."""

    name: str
    text: str
    run: Callable[[ImageWindows, ImageItem, list[ImageItem]], object]
    key: str = ""
    #: False when the entry cannot apply to the image (not in the library, not a scene).
    applies: Callable[[ImageWindows, ImageItem], bool] = lambda _w, _i: True


def _in_library(_w: ImageWindows, item: ImageItem) -> bool:
    return item.render_id is not None


def _renderable(w: ImageWindows, item: ImageItem) -> bool:
    return w.image_actions.can_render(item)


IMAGE_ENTRIES: dict[str, ImageEntry] = {e.name: e for e in (
    ImageEntry("view", "Open in viewer", lambda w, i, items: w.open_viewer(items, items.index(i)),
               "Double-click"),
    ImageEntry("compare", "Compare with…", lambda w, i, _l: w.compare_with(i), "C"),
    ImageEntry("set_a", "Set as A", lambda w, i, _l: w.set_a(i), "Shift+A"),
    ImageEntry("set_b", "Set as B", lambda w, i, _l: w.set_b(i), "Shift+B"),
    ImageEntry("approve", "Approve", lambda w, i, _l: w.image_actions.set_approval(
        [i], Approval.APPROVED), "A", _in_library),
    ImageEntry("reject", "Reject", lambda w, i, _l: w.image_actions.set_approval(
        [i], Approval.REJECTED), "X", _in_library),
    ImageEntry("star", "Star", lambda w, i, _l: w.image_actions.toggle_star([i]), "S", _in_library),
    ImageEntry("finalize", "Finalize", lambda w, i, _l: w.image_actions.finalize(i), "F",
               _renderable),
    ImageEntry("rerender", "Render again", lambda w, i, _l: w.image_actions.rerender(i), "",
               _renderable),
    ImageEntry("reference", "Use as reference",
               lambda w, i, _l: w.image_actions.use_as_reference(i), "R", _in_library),
    ImageEntry("reveal", "Show the file in its folder", lambda w, i, _l: w.reveal(i)),
    ImageEntry("trash", "Move to trash", lambda w, i, _l: w.image_actions.trash([i]), "",
               _in_library),
)}

#: The entries ticked for what the image has (:meth:`ImageWindows.menu`).
_TICKED: dict[str, Callable[[Any], bool]] = {
    "approve": lambda has: has.approval is Approval.APPROVED,
    "reject": lambda has: has.approval is Approval.REJECTED,
    "star": lambda has: bool(has.star),
}

CARD_MENU = ("view", "compare", "set_a", "set_b", "-", "approve", "reject", "star", "-",
             "finalize", "rerender", "reference", "-", "reveal", "trash")
#: A library render offers what a card does (finalize and re-render when it is a card's render).
LIBRARY_MENU = CARD_MENU


def card_items(model: SceneListModel, stage: Stage) -> list[ImageItem]:
    """Every card's image at ``stage``, in the grid's order (the viewer's list from a card)."""
    out = []
    for name in model.names():
        slot = model.cell(name).slot(stage)
        if slot.image is not None:
            out.append(ImageItem(slot.image, f"{name} · {stage.value}", slot.render_id, name,
                                 stage))
    return out


def record_item(record: RenderRecord) -> ImageItem | None:
    """A library render as an image (None when it has no image)."""
    if record.image_path is None:
        return None
    name = record.scene_name or record.image_path.name
    return ImageItem(record.image_path, f"{name} · {record.stage.value}", record.id,
                     record.scene_name or None, record.stage)


class ImageWindows(QObject):
    """Opens the viewer and the compare of any two; builds images' context menus."""

    image_actions: ImageActions

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("imageWindows")
        self.viewer: ImageViewer | None = None
        self.image_actions = ImageActions(window.document, window.rendering, window.background,
                                          self)
        self.image_actions.message.connect(window.show_message)
        self.picks = ComparePicks(self)
        self.open_url: Callable[[QUrl], Any] = QDesktopServices.openUrl

    @property
    def window(self) -> MainWindow:
        return cast("MainWindow", self.parent())

    # ------------------------------------------------------------------ viewer
    def open_viewer(self, items: list[ImageItem], index: int = 0) -> ImageViewer | None:
        from studio.ui.viewer import ImageViewer
        from studio.ui.viewmodels.viewer import ViewerModel

        if not items:
            return None
        w = self.window
        viewer = self.viewer
        if viewer is None:
            model = ViewerModel(w.background, w.library, w.rendering.changes)
            # The image is decoding on a worker while the viewer's widgets are built.
            model.open(items, index)
            viewer = ImageViewer(model, self.image_actions, w)
            model.setParent(viewer)
            viewer.setWindowFlag(Qt.WindowType.Window)
            viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            viewer.destroyed.connect(self._viewer_gone)
            viewer.compareRequested.connect(self.compare_with)
            viewer.setARequested.connect(self.set_a)
            viewer.setBRequested.connect(self.set_b)
            self.viewer = viewer
        else:
            viewer.open(items, index)
        bring_to_front(viewer)
        return viewer

    def _viewer_gone(self) -> None:
        self.viewer = None

    def warm_steps(self) -> list[Callable[[], object]]:
        """Steps that do, ahead of a first open, Qt's first-time set-up of the viewer's widgets
        (their classes, style and fonts, and drawing them): a viewer is built, drawn once off
        screen and let go, never shown. Each step is short; run them on the GUI thread, one
        per turn of the event loop, when the window is idle."""
        from studio.ui.viewer import ImageViewer
        from studio.ui.viewmodels.viewer import ViewerModel

        built: list[ImageViewer] = []

        def build() -> None:
            w = self.window
            model = ViewerModel(w.background, None, None)
            viewer = ImageViewer(model, self.image_actions, w)
            model.setParent(viewer)
            viewer.setWindowFlag(Qt.WindowType.Window)
            built.append(viewer)

        def draw() -> None:
            for viewer in built:
                viewer.grab()

        def let_go() -> None:
            while built:
                built.pop().deleteLater()  # by the event loop, on this thread

        return [build, draw, let_go]

    def open_card(self, name: str, stage: Stage) -> ImageViewer | None:
        """The viewer on a card's image, with every card's image at that stage around it."""
        items = card_items(self.window.model, stage)
        index = next((i for i, item in enumerate(items) if item.scene == name), None)
        return self.open_viewer(items, index) if index is not None else None

    # ------------------------------------------------------------------ compare any two
    def set_a(self, item: ImageItem) -> None:
        self.picks.set_a(item)
        self.window.show_message(f"“{item.title}” is A: choose “Compare with…” on another "
                                 "image to compare the two.", "info")

    def set_b(self, item: ImageItem) -> CompareView | None:
        """B is ``item``; with an A (another image) picked, the two are compared at once."""
        self.picks.set_b(item)
        a = self.picks.a
        if a is None or a.path == item.path:
            self.window.show_message(f"“{item.title}” is B: choose “Set as A” on another "
                                     "image to compare the two.", "info")
            return None
        return self.open_compare(a, item)

    def compare_with(self, item: ImageItem) -> CompareView | None:
        pair = self.picks.compare_with(item)
        if pair is None:
            self.window.show_message(f"“{item.title}” is A: choose “Compare with…” on another "
                                     "image to compare the two.", "info")
            return None
        return self.open_compare(*pair)

    def open_compare(self, a: ImageItem, b: ImageItem) -> CompareView:
        from studio.ui.compare import CompareSide

        view = self.window.tools.compare_view()
        view.show_images(f"{a.title}  ↔  {b.title}", CompareSide(f"A · {a.title}", a.path),
                         CompareSide(f"B · {b.title}", b.path),
                         "S or X swaps A and B; Escape closes.")
        bring_to_front(view)
        return view

    # ------------------------------------------------------------------ files
    def reveal(self, item: ImageItem) -> None:
        self.open_url(QUrl.fromLocalFile(str(item.path.parent)))

    # ------------------------------------------------------------------ context menus
    def menu(self, entries: tuple[str, ...], item: ImageItem, items: list[ImageItem],
             parent: QWidget, has: Any = None) -> QMenu:
        """The context menu of ``item`` (one of ``items``, the list the viewer goes through).
        ``has``: the render's own verdict and star where known (a library record, or the slot
        of the card that shows it: their ``approval`` and ``star``), ticked in the menu; the
        same entry again takes it back."""
        menu = QMenu(parent)
        menu.setObjectName("imageMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if item not in items:
            items = [item]
        for name in entries:
            if name == "-":
                menu.addSeparator()
                continue
            entry = IMAGE_ENTRIES[name]
            action = QAction(entry.text + (f"\t{entry.key}" if entry.key else ""), menu)
            action.setObjectName(f"imageMenu-{name}")
            action.setEnabled(entry.applies(self, item))
            if has is not None and name in _TICKED:
                action.setCheckable(True)
                action.setChecked(_TICKED[name](has))
                if name == "star" and has.star:
                    action.setText(action.text().replace("Star", "Unstar", 1))
            action.triggered.connect(
                lambda _=False, e=entry, i=item, its=items: e.run(self, i, its))
            menu.addAction(action)
        return menu

    def card_menu(self, name: str, stage: Stage | None, parent: QWidget) -> QMenu | None:
        """A card's context menu, for its image at ``stage`` (None: its final, else preview)."""
        cell = self.window.model.cell(name)
        stages = [stage] if stage is not None else [Stage.FINAL, Stage.PREVIEW]
        for at in stages:
            if cell.slot(at).image is not None:
                items = card_items(self.window.model, at)
                item = next(i for i in items if i.scene == name)
                return self.menu(CARD_MENU, item, items, parent, has=cell.slot(at))
        return None

    # ------------------------------------------------------------------ other windows' images
    def attach_library_browser(self, browser: LibraryBrowser) -> None:
        """Double-click and the context menu of the library browser's renders."""
        browser.viewRequested.connect(self._view_records)
        browser.menuRequested.connect(self._record_menu)

    def _record_item(self, record: RenderRecord) -> ImageItem | None:
        """A library render as an image; a card of the open sheet only when it is the render
        the card shows (a same-named scene of another sheet, or another take, is not)."""
        item = record_item(record)
        if item is None or item.scene is None or item.stage is None:
            return item
        model = self.window.model
        shown = (model.cell(item.scene).slot(item.stage).render_id
                 if model.row_of(item.scene) is not None else None)
        return item if shown == record.id else replace(item, scene=None)

    def _record_items(self, records: list[RenderRecord]) -> list[ImageItem]:
        return [item for item in map(self._record_item, records) if item is not None]

    def _view_records(self, records: list[RenderRecord], record: RenderRecord) -> None:
        items = self._record_items(records)
        chosen = self._record_item(record)
        if chosen is not None and chosen in items:
            self.open_viewer(items, items.index(chosen))
        elif chosen is None:
            self.window.show_message(f"Render {record.id} has no image to show (it failed).",
                                     "info")

    def _record_menu(self, records: list[RenderRecord], record: RenderRecord,
                     at: QPoint) -> None:
        item = self._record_item(record)
        if item is None:
            return
        browser = self.window.tools.library_browser
        menu = self.menu(LIBRARY_MENU, item, self._record_items(records),
                         browser if browser is not None else self.window, has=record)
        menu.popup(at)

    def attach_consistency(self, view: ConsistencyView) -> None:
        """Double-click on a tile of the consistency grid opens it in the viewer."""
        view.grid.itemDoubleClicked.connect(self._tile_activated)

    def consistency_items(self) -> list[ImageItem]:
        """The consistency grid's images in its order, each matched to its card."""
        view = self.window.tools.consistency
        if view is None:
            return []
        model = self.window.model
        cards = {}
        for name in model.names():
            cell = model.cell(name)
            for stage in Stage:
                slot = cell.slot(stage)
                if slot.image is not None:
                    cards[str(slot.image)] = ImageItem(slot.image, f"{name} · {stage.value}",
                                                       slot.render_id, name, stage)
        return [cards[path] for path in view.paths() if path in cards]

    def _tile_activated(self, tile: QListWidgetItem) -> None:
        items = self.consistency_items()
        path = tile.data(Qt.ItemDataRole.UserRole)
        index = next((i for i, item in enumerate(items) if str(item.path) == path), None)
        if index is not None:
            self.open_viewer(items, index)
