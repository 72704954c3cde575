"""The scene grid: cards in columns that follow the view's width, at a size the user picks (from
storyboard thumbnails to large cards), in sections by template group, scrolled by pixels, with
drag-to-reorder and preset menus.

The view lays the cards out itself (a plain item view, not a wrapping list): a list view cannot
start a new row for a section header. One delegate paints every card; a sheet of hundreds of
scenes costs no widget per card, and painting looks only at the cards in sight.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QRegion,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QMenu,
    QStyle,
    QStyleOptionViewItem,
    QWidget,
)

from studio.ui import grid_controls
from studio.ui.card_geometry import CARD_SIZES, DEFAULT_CARD_SIZE, card_height, card_layout
from studio.ui.grid_controls import CardSizeSlider
from studio.ui.grid_layout import (
    EMPTY_TEXT,
    HEADER_H,
    SPACING,
    STRETCH,
    GridPlan,
    group_label,
    paint_drop,
    paint_empty,
    paint_headers,
    plan_grid,
)
from studio.ui.scene_delegate import SceneCardDelegate
from studio.ui.viewmodels.cells import Cell
from studio.ui.viewmodels.scenes import Role, SceneListModel

__all__ = ["EMPTY_TEXT", "HEADER_H", "SPACING", "STRETCH", "CardSizeSlider", "GridPlan",
           "SceneGridView", "group_label", "plan_grid"]

Index = QModelIndex | QPersistentModelIndex


class SceneGridView(QAbstractItemView):
    """Cards in rows that follow the view's width. ``sceneActivated(name)`` on double-click
    outside an image; ``cardSizeChanged(step)`` when the card size changes; actions from the
    cards come out of the delegate's signals."""

    sceneActivated = Signal(str)
    selectionNamesChanged = Signal(list)
    cardSizeChanged = Signal(int)

    def __init__(self, model: SceneListModel, delegate: SceneCardDelegate,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._delegate = delegate
        self._plan: GridPlan | None = None
        self._groups: tuple[str, ...] = ()
        self._size_step = DEFAULT_CARD_SIZE
        self._hover_row: int | None = None
        self._drop_row: int | None = None
        self._painted_offset = 0
        #: Names a section header by its group id (the window gives the templates' labels).
        self.group_label: Callable[[str], str] = group_label
        self.setObjectName("sceneGrid")
        self.setModel(model)
        self.setItemDelegate(delegate)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved,
                       model.rowsMoved, model.layoutChanged):
            signal.connect(self._relayout)
        model.dataChanged.connect(self._groups_may_have_changed)
        self.selectionModel().selectionChanged.connect(
            lambda *_: self.selectionNamesChanged.emit(self.selected_names()))
        delegate.chipRequested.connect(self._chip_menu)

    # ------------------------------------------------------------------ card size
    @property
    def card_size_step(self) -> int:
        return self._size_step

    def set_card_size(self, step: int) -> None:
        """One of :data:`CARD_SIZES`, kept at the card that was at the top."""
        step = max(0, min(len(CARD_SIZES) - 1, int(step)))
        if step == self._size_step and self._plan is not None:
            return
        anchor = self.indexAt(QPoint(SPACING + 1, SPACING + 1))
        self._size_step = step
        self._relayout()
        if anchor.isValid():
            self.scrollTo(anchor, QAbstractItemView.ScrollHint.PositionAtTop)
        self.cardSizeChanged.emit(step)

    def larger_cards(self) -> None:
        self.set_card_size(self._size_step + 1)

    def smaller_cards(self) -> None:
        self.set_card_size(self._size_step - 1)

    def set_takes_by_likeness(self, on: bool) -> None:
        """Filmstrips list the takes most like the character first (where scored)."""
        self._delegate.takes_by_likeness = on
        self.viewport().update()

    # ------------------------------------------------------------------ layout
    def _groups_now(self) -> tuple[str, ...]:
        model = self._model
        return tuple(model.scene_at(r).group for r in range(model.rowCount()))

    def _groups_may_have_changed(self, first: QModelIndex, last: QModelIndex,
                                 *_roles: object) -> None:
        """A scene's edit may move it to another section; a render's progress never does, so
        only the changed rows are looked at (a batch changes many cards many times a second)."""
        model, known = self._model, self._groups
        if len(known) != model.rowCount():
            self._relayout()
            return
        top = max(0, first.row()) if first.isValid() else 0
        bottom = min(len(known) - 1, last.row()) if last.isValid() else len(known) - 1
        if any(model.scene_at(r).group != known[r] for r in range(top, bottom + 1)):
            self._relayout()

    def _relayout(self, *_args: object) -> None:
        self._plan = None
        self._hover_row = None
        self.updateGeometries()
        self.viewport().update()

    def plan(self) -> GridPlan:
        """The layout for the view's width now (computed once per change)."""
        if self._plan is None:
            self._groups = self._groups_now()
            # The scroll bar's width is always set aside, so its showing up never changes the
            # columns (and with them the height that made it show up).
            width = self.contentsRect().width() - self.verticalScrollBar().sizeHint().width()
            self._plan = plan_grid(self._groups, width, CARD_SIZES[self._size_step][1],
                                   self.group_label)
            self._delegate.card_width = self._plan.card_width
        return self._plan

    def updateGeometries(self) -> None:
        plan = self.plan()
        bar = self.verticalScrollBar()
        page = self.viewport().height()
        bar.setRange(0, max(0, plan.height - page))
        bar.setPageStep(page)
        # A wheel notch (three steps) moves about one row of cards.
        bar.setSingleStep(max(16, (card_height(plan.card_width) + SPACING) // 3))
        super().updateGeometries()

    def resizeEvent(self, event: QResizeEvent) -> None:
        if event.size().width() != event.oldSize().width():
            self._plan = None
        super().resizeEvent(event)
        self.updateGeometries()

    # ------------------------------------------------------------------ item view geometry
    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: Index) -> bool:
        return False

    def visualRect(self, index: Index) -> QRect:
        plan = self.plan()
        if not index.isValid() or not 0 <= index.row() < len(plan.cards):
            return QRect()
        return plan.cards[index.row()].translated(0, -self.verticalOffset())

    def indexAt(self, point: QPoint) -> QModelIndex:
        plan = self.plan()
        pos = QPoint(point.x(), point.y() + self.verticalOffset())
        last = bisect_right(plan.tops, pos.y())
        for row in range(last - 1, max(-1, last - 1 - plan.columns), -1):
            if plan.cards[row].contains(pos):
                return self._model.index(row)
        return QModelIndex()

    def scrollTo(self, index: Index,
                 hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible
                 ) -> None:
        plan = self.plan()
        if not index.isValid() or not 0 <= index.row() < len(plan.cards):
            return
        rect = plan.cards[index.row()]
        bar, top, page = self.verticalScrollBar(), self.verticalOffset(), self.viewport().height()
        if hint is QAbstractItemView.ScrollHint.PositionAtTop:
            bar.setValue(rect.top() - SPACING)
        elif hint is QAbstractItemView.ScrollHint.PositionAtBottom:
            bar.setValue(rect.bottom() + SPACING - page)
        elif hint is QAbstractItemView.ScrollHint.PositionAtCenter:
            bar.setValue(rect.center().y() - page // 2)
        elif rect.top() < top:
            bar.setValue(rect.top() - SPACING)
        elif rect.bottom() > top + page:
            bar.setValue(min(rect.top() - SPACING, rect.bottom() + SPACING - page))

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

    def setSelection(self, rect: QRect, command: QItemSelectionModel.SelectionFlag) -> None:
        area = rect.normalized().translated(0, self.verticalOffset())
        selection = QItemSelection()
        for row, card in enumerate(self.plan().cards):
            if card.intersects(area):
                index = self._model.index(row)
                selection.select(index, index)
        self.selectionModel().select(selection, command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        region = QRegion()
        for index in selection.indexes():
            region = region.united(self.visualRect(index))
        return region

    # ------------------------------------------------------------------ painting
    def scrollContentsBy(self, dx: int, dy: int) -> None:
        """Move what is drawn already and paint only the strip that came into sight (the
        scroll area's own answer repaints the whole view: every card in sight, every notch)."""
        self.viewport().scroll(dx, dy)

    def paintEvent(self, event: QPaintEvent) -> None:
        plan = self.plan()
        painter = QPainter(self.viewport())
        offset = self.verticalOffset()
        self._delegate.scrolling = offset != self._painted_offset
        self._painted_offset = offset
        exposed = event.rect()
        top, bottom = exposed.top() + offset, exposed.bottom() + offset
        try:
            if not plan.cards:
                paint_empty(painter, self.palette(), self.viewport().rect())
                return
            paint_headers(painter, self.palette(), self.font(), plan, offset, top, bottom)
            card_h = plan.cards[0].height() if plan.cards else 0
            first = bisect_left(plan.tops, top - card_h)
            last = bisect_right(plan.tops, bottom)
            selection = self.selectionModel()
            current = self.currentIndex()
            focused = self.hasFocus()
            # Only the cards in what needs painting: cards changing far apart (a batch) make
            # one tall rectangle of many untouched cards, which the painter would clip anyway.
            region = event.region()
            for row in range(first, last):
                rect = plan.cards[row].translated(0, -offset)
                if not region.intersects(rect):
                    continue
                index = self._model.index(row)
                option = QStyleOptionViewItem()
                self.initViewItemOption(option)
                option.rect = rect
                state = option.state
                if selection.isSelected(index):
                    state |= QStyle.StateFlag.State_Selected
                if row == self._hover_row:
                    state |= QStyle.StateFlag.State_MouseOver
                if focused and index == current:
                    state |= QStyle.StateFlag.State_HasFocus
                option.state = state
                self.itemDelegate().paint(painter, option, index)
            if self._drop_row is not None:
                paint_drop(painter, self.palette(), plan, offset, self._drop_row)
        finally:
            painter.end()

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

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.SelectAll):
            self.selectAll()
            return
        super().keyPressEvent(event)
