"""The scene grid's painting: a scroll moves what is drawn already and paints only the strip
that came into sight, a paint draws only the cards in what needs painting, and at idle the
pictures of the cards just outside the view are drawn ahead, so a card scrolling into sight is
copied rather than drawn while the frame waits.

A part of :class:`studio.ui.scene_grid.SceneGridView` (its painting, as a base class of it):
the grid owns the layout, this the pixels.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QTimer
from PySide6.QtGui import QAccessible, QPainter, QPaintEvent
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyleOptionViewItem

from studio.ui.grid_layout import GridPlan, paint_drop, paint_empty, paint_headers
from studio.ui.viewmodels.cells import Cell
from studio.ui.viewmodels.scenes import Role

if TYPE_CHECKING:
    from studio.ui.scene_delegate import SceneCardDelegate
    from studio.ui.viewmodels.scenes import SceneListModel

    _View = QAbstractItemView
else:
    _View = object

#: Seconds of drawing ahead per turn of the event loop: a wheel notch or a click that arrives
#: meanwhile waits for about a card at most.
AHEAD_BUDGET = 0.003


class GridPainting(_View):
    """Paints the grid's cards, headers and drop marker, and draws ahead the cards about to
    come into sight (half a view above and below, the way the grid last scrolled first)."""

    _model: SceneListModel
    _delegate: SceneCardDelegate
    _hover_row: int | None
    _drop_row: int | None

    if TYPE_CHECKING:
        def plan(self) -> GridPlan: ...  # the grid's layout (scene_grid)

    def _init_painting(self) -> None:
        self._painted_offset = 0
        #: +1: the grid last scrolled down (the cards below come next), -1: up.
        self._heading = 1
        self._ahead = QTimer(self)
        self._ahead.setSingleShot(True)
        self._ahead.setInterval(0)
        self._ahead.timeout.connect(self._draw_ahead)
        self._model.dataChanged.connect(self._cards_changed)
        #: Rows that changed in sight and are still to be repainted, in the order they changed.
        self._changed: dict[int, None] = {}
        self._pace = QTimer(self)
        self._pace.setSingleShot(True)
        self._pace.setInterval(0)
        self._pace.timeout.connect(self._repaint_changed)

    # ------------------------------------------------------------------ scrolling
    def scrollContentsBy(self, dx: int, dy: int) -> None:
        """Move what is drawn already and paint only the strip that came into sight (the
        scroll area's own answer repaints the whole view: every card in sight, every notch)."""
        self.viewport().scroll(dx, dy)
        if dy:
            self._heading = 1 if dy < 0 else -1
        self.draw_ahead_soon()

    # ------------------------------------------------------------------ changes
    def dataChanged(self, first: QModelIndex | QPersistentModelIndex,
                    last: QModelIndex | QPersistentModelIndex,
                    roles: Sequence[int] = ()) -> None:
        """Repaint the changed cards in sight, each in its own rectangle, as many a frame as
        its budget draws (:meth:`SceneCardDelegate.cards_per_frame`), the rest in the frames
        after. (For more than one card the item view repaints the whole view; and a frame whose
        region holds more changed cards than it can draw painted each of the others as it was,
        to paint it again in the next frame: most of a frame's work when a batch starts and
        every card in sight changes at once.)"""
        if not (first.isValid() and last.isValid()) or QAccessible.isActive():
            super().dataChanged(first, last, list(roles))
            return
        low, high = self._rows_in_sight()
        for row in range(max(first.row(), low), min(last.row(), high) + 1):
            self._changed[row] = None
        if self._changed and not self._pace.isActive():
            self._pace.start()

    def _rows_in_sight(self) -> tuple[int, int]:
        """The first and last rows whose cards are (partly) in sight; (0, -1): none."""
        plan = self.plan()
        if not plan.cards:
            return 0, -1
        offset, page = self.verticalOffset(), self.viewport().height()
        card_h = plan.cards[0].height()
        return (bisect_left(plan.tops, offset - card_h),
                min(bisect_right(plan.tops, offset + page), len(plan.cards)) - 1)

    def _repaint_changed(self) -> None:
        """This frame's share of the changed cards (those still in sight)."""
        plan, offset = self.plan(), self.verticalOffset()
        low, high = self._rows_in_sight()
        viewport, changed = self.viewport(), self._changed
        share = self._delegate.cards_per_frame()
        while changed and share:
            row = next(iter(changed))
            del changed[row]
            if low <= row <= high:
                viewport.update(plan.cards[row].translated(0, -offset))
                share -= 1
        if changed:
            self._pace.start()

    # ------------------------------------------------------------------ painting
    def card_option(self, row: int, rect: QRect) -> QStyleOptionViewItem:
        """How the card at ``row`` is painted at ``rect`` (its selection, pointer, focus)."""
        index = self._model.index(row)
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.rect = rect
        state = option.state
        if self.selectionModel().isSelected(index):
            state |= QStyle.StateFlag.State_Selected
        if row == self._hover_row:
            state |= QStyle.StateFlag.State_MouseOver
        if self.hasFocus() and index == self.currentIndex():
            state |= QStyle.StateFlag.State_HasFocus
        option.state = state
        return option

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
            card_h = plan.cards[0].height()
            first = bisect_left(plan.tops, top - card_h)
            last = bisect_right(plan.tops, bottom)
            # Only the cards in what needs painting: cards changing far apart (a batch) make
            # one tall rectangle of many untouched cards, which the painter would clip anyway.
            region = event.region()
            delegate = self.itemDelegate()
            for row in range(first, last):
                rect = plan.cards[row].translated(0, -offset)
                if region.intersects(rect):
                    delegate.paint(painter, self.card_option(row, rect), self._model.index(row))
            if self._drop_row is not None:
                paint_drop(painter, self.palette(), plan, offset, self._drop_row)
        finally:
            painter.end()

    def warm_steps(self) -> Sequence[Callable[[], object]]:
        """Steps that draw a sample card in every state of a render, off screen, at this grid's
        card size and in its palette and font (:mod:`studio.ui.card_warmup`): what a first
        batch would otherwise set up while its cards change."""
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.rect = QRect(QPoint(0, 0), self._delegate.card_size())
        return self._delegate.warm_steps(option)

    # ------------------------------------------------------------------ drawing ahead
    def draw_ahead_soon(self) -> None:
        """Draw the cards about to come into sight once the event loop is idle."""
        if not self._ahead.isActive():
            self._ahead.start()

    def rows_ahead(self) -> list[int]:
        """The cards outside the view within half its height, nearest first, the way the
        grid last scrolled before the other."""
        plan = self.plan()
        if not plan.cards:
            return []
        offset, page = self.verticalOffset(), self.viewport().height()
        reach, card_h = max(1, page // 2), plan.cards[0].height()
        tops = plan.tops
        below = list(range(bisect_left(tops, offset + page),
                           bisect_right(tops, offset + page + reach)))
        above = list(range(bisect_left(tops, offset - reach - card_h),
                           bisect_left(tops, offset - card_h)))[::-1]
        return below + above if self._heading > 0 else above + below

    def _cards_changed(self, first: QModelIndex, last: QModelIndex, *_roles: object) -> None:
        """A card just outside the view changed (its image arrived): draw it again ahead."""
        rows = self.rows_ahead() if self.isVisible() else []
        if rows and first.isValid() and last.isValid():
            low, high = first.row(), last.row()
            if any(low <= row <= high for row in rows):
                self.draw_ahead_soon()

    def _draw_ahead(self) -> None:
        """Draw the pictures of the cards about to come into sight, for at most
        :data:`AHEAD_BUDGET` this turn (the rest in the next). A card with a render under way
        changes every moment: it is drawn when it comes into sight. While a batch renders,
        nothing is drawn ahead: the window's turns are kept for the cards in sight."""
        if not self.isVisible() or self._delegate.rendering:
            return
        plan, offset = self.plan(), self.verticalOffset()
        ratio = self.viewport().devicePixelRatioF()
        started = time.perf_counter()
        for row in self.rows_ahead():
            index = self._model.index(row)
            cell: Cell | None = index.data(Role.CELL)
            if cell is not None and (cell.preview.active or cell.final.active):
                continue
            option = self.card_option(row, plan.cards[row].translated(0, -offset))
            if (self._delegate.prepare(option, index, ratio)
                    and time.perf_counter() - started > AHEAD_BUDGET):
                self._ahead.start()  # the rest in the next turn
                return
