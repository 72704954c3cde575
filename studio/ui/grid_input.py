"""What the user does on the scene grid: the pointer over the cards, a double-click to open a
scene, the keys that move between cards, dragging a card to reorder, a card's preset menus, and
the scene commands on the selection (add, duplicate, delete, select by name).

A part of :class:`studio.ui.scene_grid.SceneGridView` (a base class of it): the grid owns the
layout and geometry, this what happens at the user's hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import (
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
)
from PySide6.QtWidgets import QAbstractItemView, QMenu

from studio.ui import grid_controls
from studio.ui.card_geometry import card_layout
from studio.ui.viewmodels.cells import Cell
from studio.ui.viewmodels.scenes import Role

if TYPE_CHECKING:
    from studio.ui.grid_layout import GridPlan
    from studio.ui.scene_delegate import SceneCardDelegate
    from studio.ui.viewmodels.scenes import SceneListModel

    _View = QAbstractItemView
else:
    _View = object


class GridInput(_View):
    """The grid's pointer, keys, drag-to-reorder, preset menus and scene commands."""

    _model: SceneListModel
    _delegate: SceneCardDelegate
    _hover_row: int | None
    _drop_row: int | None
    _restore: list[str]
    if TYPE_CHECKING:
        sceneActivated: Signal

        def plan(self) -> GridPlan: ...  # the grid's layout (scene_grid)

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
        return grid_controls.pattern_menu(parent, self._model.document, self.add_scene)

    # ------------------------------------------------------------------ keys
    def moveCursor(self, action: QAbstractItemView.CursorAction,
                   modifiers: Qt.KeyboardModifier) -> QModelIndex:
        count = self._model.rowCount()
        if not count:
            return QModelIndex()
        current = self.currentIndex()
        row = current.row() if current.isValid() else 0
        cards = self.plan().cards
        move = QAbstractItemView.CursorAction
        if action in (move.MoveLeft, move.MovePrevious):
            row -= 1
        elif action in (move.MoveRight, move.MoveNext):
            row += 1
        elif action is move.MoveHome:
            row = 0
        elif action is move.MoveEnd:
            row = count - 1
        elif action in (move.MoveUp, move.MoveDown, move.MovePageUp, move.MovePageDown):
            here = cards[row]
            step = self.viewport().height() if action in (move.MovePageUp,
                                                          move.MovePageDown) else 1
            up = action in (move.MoveUp, move.MovePageUp)
            wanted_y = here.top() - step if up else here.bottom() + step
            rows = [r for r, c in enumerate(cards)
                    if (c.top() < here.top() if up else c.top() > here.top())]
            if rows:
                row = min(rows, key=lambda r: (abs(cards[r].center().y() - wanted_y),
                                                abs(cards[r].center().x() - here.center().x())))
        row = max(0, min(count - 1, row))
        return self._model.index(row)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.SelectAll):
            self.selectAll()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ pointer
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._delegate.set_hover_pos(event.position().toPoint())
        index = self.indexAt(event.position().toPoint())
        row = index.row() if index.isValid() else None
        if row != self._hover_row and self._hover_row is not None:
            self.viewport().update(self.visualRect(self._model.index(self._hover_row)))
        self._hover_row = row
        if index.isValid():
            self.viewport().update(self.visualRect(index))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._delegate.set_hover_pos(None)
        self._hover_row = None
        self.viewport().update()
        super().leaveEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        super().mouseDoubleClickEvent(event)
        if index.isValid():
            cell: Cell | None = index.data(Role.CELL)
            hit = card_layout(self.visualRect(index), cell,
                              self._delegate.takes_by_likeness).hit(event.position().toPoint())
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

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        super().dragMoveEvent(event)
        if event.source() is self:
            self._drop_row = self.drop_row_for(event.position().toPoint())
            event.acceptProposedAction()
            self.viewport().update()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._drop_row = None
        self.viewport().update()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._drop_row = None
        self.viewport().update()
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
        return grid_controls.chip_menu(self, self._model, scene_name, key)
