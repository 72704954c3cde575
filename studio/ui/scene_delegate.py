"""Paints a scene card (name, setting, preset chips, the preview and the final side by side with
their states, the card's buttons) and turns clicks on it into actions.

One delegate paints every card, so a sheet of hundreds of scenes costs no widgets per card.
Each card is drawn once (:mod:`studio.ui.card_painting`) into a picture the delegate keeps and
copies to the screen until something the card shows changes; where a card's parts are is
:mod:`studio.ui.card_geometry`'s (re-exported here for the grid and the window).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import shiboken6
from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QMouseEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Scene
from studio.ui import card_badges
from studio.ui.card_geometry import (
    BUTTON_TIP,
    CARD_H,
    CARD_SIZES,
    CARD_W,
    CHIPS,
    COMPACT_BELOW,
    DEFAULT_CARD_SIZE,
    CardLayout,
    card_actions,
    card_height,
    card_layout,
    findings_tip,
    shown_stage,
    take_tip,
)
from studio.ui.card_painting import FRAME, THUMB_SIDE, CardPainter, CardPart
from studio.ui.viewmodels.cells import Cell
from studio.ui.viewmodels.images import ImageCache
from studio.ui.viewmodels.scenes import Role

__all__ = ["CARD_H", "CARD_SIZES", "CARD_W", "CHIPS", "COMPACT_BELOW", "DEFAULT_CARD_SIZE",
           "THUMB_SIDE", "CardLayout", "SceneCardDelegate", "card_actions", "card_height",
           "card_layout", "shown_stage"]

CARD_CACHE_PIXELS = 16_000_000  # pictures of cards kept (about 64 MB), whatever their size
#: The pictures the cards showed last, kept for cards that come back into sight unchanged,
#: the least recently shown let go first (about 96 MB: well over a 200-scene sheet at the
#: usual sizes; the largest cards of such a sheet would take more than 170 MB).
SHOWN_CACHE_PIXELS = 24_000_000
FRAME_BUDGET = 0.006  # seconds of card drawing per turn of the event loop
#: The same while the grid scrolls or a batch renders. Scrolling: the cards about to come into
#: sight are drawn ahead at idle, so a frame that still has cards to draw is one the user
#: scrolls past quickly (a jump, a fast drag), and a frame of a scroll is copying what it
#: already has besides. Rendering: cards change many times a second while the render engine's
#: thread shares the interpreter with this one (a frame's drawing takes up to twice its CPU
#: time), and a card shown a frame late was about to change again anyway.
BUSY_BUDGET = 0.003
#: The parts of a picture's key that say how it looks whatever the card shows: the palette, the
#: font and the pixel ratio.
_LOOK = slice(7, 10)
#: What each part of a card shows (:meth:`CardPainter.parts_of`); None: the card has no scene.
_Parts = dict[CardPart, tuple[object, ...]] | None


class SceneCardDelegate(QStyledItemDelegate):
    """Paints cards; ``actionRequested(scene, action)`` and ``chipRequested(scene, kind, pos)``
    report clicks (actions: the button names, ``star``, ``open:preview``, ``open:final``)."""

    actionRequested = Signal(str, str)
    chipRequested = Signal(str, str, QPoint)

    def __init__(self, catalog: PresetCatalog, images: ImageCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._card_painter = CardPainter(catalog, images)
        self._hover_pos: QPoint | None = None
        #: Pictures of cards by their key, each with what its parts show.
        self._cards: OrderedDict[tuple[object, ...], tuple[QPixmap, _Parts]] = OrderedDict()
        #: The picture each scene's card showed last, with its key (drawn again while a frame
        #: is over budget, and used again as it is while the card has not changed: a picture
        #: the cache let go of is not drawn again when the card comes back into sight).
        self._shown: OrderedDict[str, tuple[tuple[object, ...], QPixmap, _Parts]] = \
            OrderedDict()
        self._shown_pixels = 0
        self._frame_spent = 0.0
        #: How long a card has taken to draw lately (a running average, in seconds).
        self._card_cost = 0.0
        self._later: list[tuple[QAbstractItemView, QPersistentModelIndex]] = []
        #: What the identity, references and uncertain-job marks say (set by the window).
        self.badges: card_badges.CardBadges | None = None
        self._cached_pixels = 0
        #: The width cards are drawn at (the grid sets it from the card size and its width).
        self.card_width = CARD_W
        #: The grid is painting a scroll step (cards new to the eye may come a frame later).
        self.scrolling = False
        #: A batch is rendering (set by the window from its progress).
        self.rendering = False
        #: Filmstrips list the takes most like the character first (where scored).
        self.takes_by_likeness = False

    def set_hover_pos(self, pos: QPoint | None) -> None:
        self._hover_pos = pos

    def card_size(self) -> QSize:
        return QSize(self.card_width, card_height(self.card_width))

    def warm_steps(self, option: QStyleOptionViewItem) -> Sequence[Callable[[], object]]:
        """Steps that draw a sample card in ``option`` in every state of a render, off screen
        (:func:`studio.ui.card_warmup.warm_steps`); nothing is kept."""
        from studio.ui.card_warmup import warm_steps

        return warm_steps(self._card_painter, option)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
                 ) -> QSize:
        return self.card_size()

    # ------------------------------------------------------------------ painting
    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        """Draw the card from a picture of it, drawn again only when something it shows has
        changed (the model's revision, the selection, the pointer, the palette): a render in
        progress repaints one card at a time, and scrolling costs no drawing at all."""
        rect: QRect = option.rect
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        key, name = self._key(option, index, ratio)
        picture, parts = self._cards.get(key, (None, None))
        shown_key, shown, shown_parts = self._shown.get(name, (None, None, None))
        if picture is None and shown_key == key:
            picture, parts = shown, shown_parts
        view = option.widget
        on_screen = isinstance(painter.device(), QWidget)  # not a grab() or a print
        # The picture shown last stands in for a frame only when drawn at this size in these
        # colours, font and pixel ratio (after a palette change it showed the old colours).
        same_size = (shown is not None and shown_key is not None
                     and shown.deviceIndependentSize().toSize() == rect.size()
                     and shown_key[_LOOK] == key[_LOOK])
        if (picture is None and on_screen and self._over_budget()
                and isinstance(view, QAbstractItemView) and (same_size or self.scrolling)):
            # This frame has drawn enough cards: show the card as it was a moment ago (or,
            # while the grid scrolls, its outline and name the first time it comes into sight)
            # and draw it in full in the next frame, so no repaint holds the window for long.
            self._redraw_later(view, index)
            if shown is not None and same_size:
                painter.drawPixmap(rect.topLeft(), shown)
            else:
                selected = bool(option.state & QStyle.StateFlag.State_Selected)
                self._card_painter.draw_outline(painter, option, name, selected)
            return
        if picture is None:
            started = time.perf_counter()
            picture, parts = self._draw_picture(option, index, ratio, key, name)
            self._spend(time.perf_counter() - started)
        elif key in self._cards:
            self._cards.move_to_end(key)
        self._keep_shown(name, key, picture, parts)
        painter.drawPixmap(rect.topLeft(), picture)

    def prepare(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex,
                ratio: float) -> bool:
        """Draw the picture of a card about to come into sight (``option`` as the grid will
        paint it), unless the one it would show is kept already; whether it drew. The picture
        is kept under the same key :meth:`paint` looks for, so it is never the wrong card: a
        card that changes meanwhile is drawn again when it is painted."""
        key, name = self._key(option, index, ratio)
        if key in self._cards:
            return False
        shown_key, _, _ = self._shown.get(name, (None, None, None))
        if shown_key == key:
            return False
        started = time.perf_counter()
        self._draw_picture(option, index, ratio, key, name)
        self._learn_cost(time.perf_counter() - started)
        return True

    def _key(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex,
             ratio: float) -> tuple[tuple[object, ...], str]:
        """What a card's picture depends on (everything it shows), and the scene's name."""
        rect: QRect = option.rect
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        cell: Cell | None = index.data(Role.CELL)
        hover = (card_layout(rect, cell, self.takes_by_likeness).hit(self._hover_pos)
                 if hovered and self._hover_pos is not None else None)
        name = str(index.data(Qt.ItemDataRole.DisplayRole))
        # The card's own marks, not every card's: one score arriving redraws one card.
        marks = card_badges.shown(name, cell, self.badges) if cell is not None else None
        key = (index.data(Role.REVISION), index.row(), rect.width(), rect.height(), selected,
               hovered, hover, option.palette.cacheKey(), option.font.key(), ratio, marks,
               self.takes_by_likeness)
        return key, name

    def _draw_picture(self, option: QStyleOptionViewItem,
                      index: QModelIndex | QPersistentModelIndex, ratio: float,
                      key: tuple[object, ...], name: str) -> tuple[QPixmap, _Parts]:
        """Draw the card into a new picture and keep it (within :data:`CARD_CACHE_PIXELS`),
        with what its parts show. When the picture the card shows has the same frame (a
        render's progress changed a slot or the buttons), that picture is copied and only the
        parts that changed are drawn again on it."""
        rect: QRect = option.rect
        size = QSize(round(rect.width() * ratio), round(rect.height() * ratio))
        local = QStyleOptionViewItem(option)
        local.rect = QRect(0, 0, rect.width(), rect.height())
        local_hover = (self._hover_pos - rect.topLeft()
                       if self._hover_pos is not None else None)
        by_likeness, painter_of_cards = self.takes_by_likeness, self._card_painter
        parts = painter_of_cards.parts_of(local, index, local_hover, self.badges, by_likeness)
        _, shown, shown_parts = self._shown.get(name, (None, None, None))
        changed: list[CardPart] | None = None
        if (parts is not None and shown_parts is not None and shown is not None
                and shown_parts[FRAME] == parts[FRAME] and shown.size() == size
                and shown.devicePixelRatio() == ratio):
            changed = [part for part, looks in parts.items() if shown_parts.get(part) != looks]
        if changed is not None:
            assert shown is not None
            picture = QPixmap(shown)  # painting on it copies it: the one shown stays
        else:
            picture = QPixmap(size)
            picture.setDevicePixelRatio(ratio)
            # Opaque, on the grid's own background: drawn as a plain copy, with no blending.
            picture.fill(option.palette.color(QPalette.ColorRole.Base))
        if changed != []:  # nothing changed that shows: the picture shown is this one too
            card_painter = QPainter(picture)
            try:
                if changed is not None:
                    painter_of_cards.draw_parts(card_painter, local, index, local_hover,
                                                changed, self.badges, by_likeness)
                else:
                    painter_of_cards.draw(card_painter, local, index, local_hover, self.badges,
                                          by_likeness)
            finally:
                card_painter.end()
        self._cards[key] = (picture, parts)
        self._cached_pixels += picture.width() * picture.height()
        while self._cached_pixels > CARD_CACHE_PIXELS and len(self._cards) > 1:
            _, (old, _) = self._cards.popitem(last=False)
            self._cached_pixels -= old.width() * old.height()
        return picture, parts

    def _keep_shown(self, name: str, key: tuple[object, ...], picture: QPixmap,
                    parts: _Parts) -> None:
        """Remember the picture ``name``'s card shows, within :data:`SHOWN_CACHE_PIXELS`."""
        known = self._shown.get(name)
        if known is not None and known[1] is picture and known[0] == key:
            self._shown.move_to_end(name)
            return
        if known is not None:
            del self._shown[name]
            self._shown_pixels -= known[1].width() * known[1].height()
        self._shown[name] = (key, picture, parts)
        self._shown_pixels += picture.width() * picture.height()
        while self._shown_pixels > SHOWN_CACHE_PIXELS and len(self._shown) > 1:
            _, (_, old, _) = self._shown.popitem(last=False)
            self._shown_pixels -= old.width() * old.height()

    def cards_per_frame(self) -> int:
        """How many changed cards one frame draws within its budget (at least one)."""
        budget = BUSY_BUDGET if self.scrolling or self.rendering else FRAME_BUDGET
        cost = self._card_cost
        return max(1, int(budget / cost)) if cost > 0.0 else 2

    def _over_budget(self) -> bool:
        """Whether one more card would take this frame past its budget (the first card of a
        frame is always drawn): a frame never runs a card's length over it."""
        budget = BUSY_BUDGET if self.scrolling or self.rendering else FRAME_BUDGET
        return self._frame_spent > 0.0 and self._frame_spent + self._card_cost > budget

    def _spend(self, seconds: float) -> None:
        """Count drawing time against this frame (it ends when the event loop turns)."""
        if self._frame_spent == 0.0:
            QTimer.singleShot(0, self._new_frame)
        self._frame_spent += seconds
        self._learn_cost(seconds)

    def _learn_cost(self, seconds: float) -> None:
        self._card_cost = seconds if self._card_cost == 0.0 else (
            0.7 * self._card_cost + 0.3 * seconds)

    def _new_frame(self) -> None:
        self._frame_spent = 0.0

    def _redraw_later(self, view: QAbstractItemView,
                      index: QModelIndex | QPersistentModelIndex) -> None:
        if not self._later:
            QTimer.singleShot(0, self._redraw)
        # The card's index, not its place: the view may have scrolled by the next frame.
        self._later.append((view, QPersistentModelIndex(index)))

    def _redraw(self) -> None:
        later, self._later = self._later, []
        for view, index in later:
            if shiboken6.isValid(view) and index.isValid():
                view.update(view.model().index(index.row(), index.column()))

    # ------------------------------------------------------------------ clicks
    def editorEvent(self, event: QEvent, model: object, option: QStyleOptionViewItem,
                    index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() not in (QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick):
            return False
        assert isinstance(event, QMouseEvent)
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        scene: Scene | None = index.data(Role.SCENE)
        cell: Cell | None = index.data(Role.CELL)
        if scene is None or cell is None:
            return False
        lay = card_layout(option.rect, cell, self.takes_by_likeness)
        pos = event.position().toPoint()
        badge = card_badges.action_at(scene.name, lay.slots, cell, self.badges, pos)
        if badge is not None:
            if event.type() == QEvent.Type.MouseButtonRelease:
                self.actionRequested.emit(scene.name, badge)
            return True
        hit = lay.hit(pos)
        if hit is None:
            return False
        kind, _, what = hit.partition(":")
        if event.type() == QEvent.Type.MouseButtonDblClick:
            if kind == "slot":
                self.actionRequested.emit(scene.name, f"open:{what}")
                return True
            return kind in ("button", "chip", "star", "take", "checks")
        if kind == "star":
            self.actionRequested.emit(scene.name, "star")
            return True
        if kind == "take":
            self.actionRequested.emit(scene.name, hit)
            return True
        if kind == "button":
            if card_actions(cell)[what][0]:
                self.actionRequested.emit(scene.name, what)
            return True
        if kind == "chip":
            widget = option.widget
            rect = lay.chips[what]
            at = widget.mapToGlobal(rect.bottomLeft()) if widget is not None else rect.bottomLeft()
            self.chipRequested.emit(scene.name, what, at)
            return True
        return False

    def tooltip_at(self, index: QModelIndex | QPersistentModelIndex, rect: QRect,
                   pos: QPoint) -> str | None:
        """The tooltip of the part of the card in ``rect`` at ``pos`` (None: the card's own)."""
        scene: Scene | None = index.data(Role.SCENE)
        cell: Cell | None = index.data(Role.CELL)
        if scene is None or cell is None:
            return None
        hit = card_layout(rect, cell, self.takes_by_likeness).hit(pos)
        tip = None
        if hit and hit.startswith("button:"):
            tip = BUTTON_TIP[hit.split(":", 1)[1]]
        elif hit and hit.startswith("chip:"):
            key = hit.split(":", 1)[1]
            kind = dict(CHIPS)[key]
            preset = self._catalog.get(kind, getattr(scene, key))
            tip = (f"{preset.label}\n{preset.tooltip}" if preset else
                   f"{key.title()}: {getattr(scene, key) or 'none'}") + "\n\nClick to change."
        elif hit and hit.startswith("slot:"):
            stage = Stage(hit.split(":", 1)[1])
            tip = index.data(Role.FINAL_TIP if stage is Stage.FINAL else Role.PREVIEW_TIP)
        elif hit == "star":
            tip = "Star this scene"
        elif hit == "checks":
            tip = findings_tip(index.data(Role.FINDINGS) or ())
        elif hit is None:
            # The state lines are cut to fit: their whole text is the slot's tooltip.
            layout = card_layout(rect, cell, self.takes_by_likeness)
            for stage, line in layout.states.items():
                if line.contains(pos):
                    tip = index.data(Role.FINAL_TIP if stage is Stage.FINAL
                                     else Role.PREVIEW_TIP)
        elif hit.startswith("take:"):
            render_id = int(hit.split(":", 1)[1])
            take = next((t for s in (cell.preview, cell.final) for t in s.takes
                         if t.render_id == render_id), None)
            if take is not None:
                tip = take_tip(take)
        tip = card_badges.tooltip_at(scene.name, card_layout(rect, cell).slots, cell,
                                     self.badges, pos) or tip
        return tip or None

    def helpEvent(self, event: object, view: object, option: QStyleOptionViewItem,
                  index: QModelIndex | QPersistentModelIndex) -> bool:
        from PySide6.QtGui import QHelpEvent
        from PySide6.QtWidgets import QToolTip

        if not isinstance(event, QHelpEvent):
            return False
        tip = self.tooltip_at(index, option.rect, event.pos())
        if tip:
            QToolTip.showText(event.globalPos(), tip, option.widget)
            return True
        return super().helpEvent(event, view, option, index)  # type: ignore[arg-type]
