"""The scene grid: a wrapping list view of cards, with drag-to-reorder and preset menus."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QDropEvent, QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QWidget

from studio.core.presets import PresetKind
from studio.ui.scene_delegate import CHIPS, SceneCardDelegate, card_layout
from studio.ui.viewmodels.scenes import SceneListModel


class SceneGridView(QListView):
    """Cards in rows that wrap with the window width. ``sceneActivated(name)`` on double-click
    outside an image; actions from the cards come out of the delegate's signals."""

    sceneActivated = Signal(str)
    selectionNamesChanged = Signal(list)

    def __init__(self, model: SceneListModel, delegate: SceneCardDelegate,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._delegate = delegate
        self.setObjectName("sceneGrid")
        self.setModel(model)
        self.setItemDelegate(delegate)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSpacing(6)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAccessibleName("Scenes")
        self._restore: list[str] = []
        model.modelAboutToBeReset.connect(self._remember_selection)
        model.modelReset.connect(self._restore_selection)
        self.selectionModel().selectionChanged.connect(
            lambda *_: self.selectionNamesChanged.emit(self.selected_names()))
        delegate.chipRequested.connect(self._chip_menu)

    # ------------------------------------------------------------------ selection
    def selected_names(self) -> list[str]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [self._model.scene_at(r).name for r in rows if r < self._model.rowCount()]

    def current_name(self) -> str | None:
        index = self.currentIndex()
        if index.isValid() and index.row() < self._model.rowCount():
            return self._model.scene_at(index.row()).name
        names = self.selected_names()
        return names[0] if names else None

    def select_name(self, name: str) -> None:
        row = self._model.row_of(name)
        if row is not None:
            index = self._model.index(row)
            self.setCurrentIndex(index)
            self.scrollTo(index)

    def _remember_selection(self) -> None:
        self._restore = self.selected_names()
        current = self.current_name()
        if current:
            self._restore = [current, *[n for n in self._restore if n != current]]

    def _restore_selection(self) -> None:
        if self._restore:
            self.select_name(self._restore[0])
        self._restore = []

    # ------------------------------------------------------------------ scene commands
    def add_scene(self, pattern_id: str | None = None) -> str:
        """A new scene (from a pattern preset), selected; its name."""
        doc = self._model.document
        scene = doc.add_scene_from_pattern(pattern_id) if pattern_id else doc.add_scene()
        self.select_name(scene.name)
        return scene.name

    def duplicate_current(self) -> None:
        name = self.current_name()
        copy = self._model.document.duplicate_scene(name) if name else None
        if copy is not None:
            self.select_name(copy.name)

    def delete_selected(self) -> None:
        names = self.selected_names()
        if names:
            self._model.document.remove_scenes(names)

    def pattern_menu(self, parent: QMenu) -> QMenu:
        """Scene › Add scene from pattern: one entry per pattern preset (its effect as tip)."""
        menu = parent.addMenu("Add scene from &pattern")
        menu.setToolTipsVisible(True)
        for preset in self._model.document.catalog.of_kind(PresetKind.PATTERN):
            action = menu.addAction(preset.label)
            action.setToolTip(preset.tooltip)
            action.triggered.connect(lambda _=False, pid=preset.id: self.add_scene(pid))
        return menu

    # ------------------------------------------------------------------ geometry
    def card_rect(self, name: str) -> QRect:
        row = self._model.row_of(name)
        if row is None:
            return QRect()
        return self.visualRect(self._model.index(row))

    # ------------------------------------------------------------------ hover
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._delegate.set_hover_pos(event.position().toPoint())
        index = self.indexAt(event.position().toPoint())
        if index.isValid():
            self.viewport().update(self.visualRect(index))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._delegate.set_hover_pos(None)
        self.viewport().update()
        super().leaveEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        super().mouseDoubleClickEvent(event)
        if index.isValid():
            hit = card_layout(self.visualRect(index)).hit(event.position().toPoint())
            if hit is None:
                self.sceneActivated.emit(self._model.scene_at(index.row()).name)

    # ------------------------------------------------------------------ reorder
    def drop_row_for(self, pos: QPoint) -> int:
        """The row a card dropped at ``pos`` should land before."""
        index = self.indexAt(pos)
        if not index.isValid():
            return self._model.rowCount()
        rect = self.visualRect(index)
        return index.row() + (1 if pos.x() > rect.center().x() else 0)

    def dropEvent(self, event: QDropEvent) -> None:
        if event.source() is self:
            rows = sorted({i.row() for i in self.selectionModel().selectedIndexes()})
            if len(rows) == 1:
                name = self._model.scene_at(rows[0]).name
                self._model.moveRows(QModelIndex(), rows[0], 1, QModelIndex(),
                                     self.drop_row_for(event.position().toPoint()))
                self.select_name(name)
            event.ignore()  # nothing for the view to remove: the model has moved the row
            return
        super().dropEvent(event)

    # ------------------------------------------------------------------ preset menus
    def _chip_menu(self, scene_name: str, key: str, at: QPoint) -> None:
        menu = self.chip_menu(scene_name, key)
        if menu is not None:
            menu.popup(at)

    def chip_menu(self, scene_name: str, key: str) -> QMenu | None:
        """The menu of presets for one chip of a card (the catalog's labels, effect as tip)."""
        row = self._model.row_of(scene_name)
        if row is None:
            return None
        kind: PresetKind = dict(CHIPS)[key]
        scene = self._model.scene_at(row)
        current = getattr(scene, key)
        doc = self._model.document
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setToolTipsVisible(True)
        menu.setObjectName(f"chipMenu-{key}")
        for preset in doc.catalog.of_kind(kind):
            action = menu.addAction(preset.label)
            action.setCheckable(True)
            action.setChecked(preset.id == current)
            action.setToolTip(preset.tooltip)
            action.setData(preset.id)
            action.triggered.connect(
                lambda _=False, pid=preset.id: doc.update_scene(
                    scene_name, f"Set {key} of \"{scene_name}\"", merge=False, **{key: pid}))
        if key != "framing":
            menu.addSeparator()
            none = menu.addAction(f"No {key}")
            none.triggered.connect(lambda _=False: doc.update_scene(
                scene_name, f"Clear {key} of \"{scene_name}\"", merge=False, **{key: ""}))
        return menu

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.SelectAll):
            self.selectAll()
            return
        super().keyPressEvent(event)
