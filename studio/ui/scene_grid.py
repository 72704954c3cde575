"""The scene grid: cards in columns that follow the view's width, at a size the user picks (from
storyboard thumbnails to large cards), in sections by template group, scrolled by pixels, with
drag-to-reorder and preset menus.

The view lays the cards out itself (a plain item view, not a wrapping list): a list view cannot
start a new row for a section header. One delegate paints every card; a sheet of hundreds of
scenes costs no widget per card, and painting looks only at the cards in sight.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import QPalette, QRegion, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QWidget

from studio.ui.card_geometry import CARD_SIZES, DEFAULT_CARD_SIZE, card_height
from studio.ui.grid_controls import CardSizeSlider
from studio.ui.grid_input import GridInput
from studio.ui.grid_layout import (
    EMPTY_TEXT,
    HEADER_H,
    SPACING,
    STRETCH,
    GridPlan,
    group_label,
    plan_grid,
)
from studio.ui.grid_painting import GridPainting
from studio.ui.scene_delegate import SceneCardDelegate
from studio.ui.viewmodels.scenes import SceneListModel

__all__ = ["EMPTY_TEXT", "HEADER_H", "SPACING", "STRETCH", "CardSizeSlider", "GridPlan",
           "SceneGridView", "group_label", "plan_grid"]

Index = QModelIndex | QPersistentModelIndex


class SceneGridView(GridInput, GridPainting, QAbstractItemView):
    """Cards in rows that follow the view's width (its layout and geometry here; its painting
    :class:`~studio.ui.grid_painting.GridPainting`'s, what the user does on it
    :class:`~studio.ui.grid_input.GridInput`'s). ``sceneActivated(name)`` on double-click
    outside an image; ``cardSizeChanged(step)`` when the card size changes; actions from the
    cards come out of the delegate's signals."""

    sceneActivated = Signal(str)
    selectionNamesChanged = Signal(list)
    cardSizeChanged = Signal(int)

    def __init__(self, model: SceneListModel, delegate: SceneCardDelegate,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A viewport made here: the scroll area's own one, first asked for while the view is
        # set up, had PySide read every QtWidgets class and enum (tens of milliseconds before
        # the window could first show).
        viewport = QWidget(self)
        viewport.setObjectName("qt_scrollarea_viewport")
        viewport.setBackgroundRole(QPalette.ColorRole.Base)
        viewport.setAutoFillBackground(True)
        self.setViewport(viewport)
        self._model = model
        self._delegate = delegate
        self._plan: GridPlan | None = None
        self._groups: tuple[str, ...] = ()
        self._size_step = DEFAULT_CARD_SIZE
        self._hover_row: int | None = None
        self._drop_row: int | None = None
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
        self._init_painting()

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
        self._changed.clear()  # rows of the old layout; every card is painted again anyway
        self.updateGeometries()
        self.viewport().update()
        self.draw_ahead_soon()

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

    # ------------------------------------------------------------------ geometry
    def card_rect(self, name: str) -> QRect:
        row = self._model.row_of(name)
        if row is None:
            return QRect()
        return self.visualRect(self._model.index(row))
