"""Paints a scene card (name, setting, preset chips, the preview and the final side by side with
their states, the card's buttons) and turns clicks on it into actions.

One delegate paints every card, so a sheet of hundreds of scenes costs no widgets per card.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

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
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from studio.core.checks import Finding, Severity
from studio.core.lifecycle import Approval, JobState
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import Stage
from studio.core.sheet import Scene
from studio.ui import card_badges, theme
from studio.ui.viewmodels.cells import Cell, Slot, Take, ordered_takes
from studio.ui.viewmodels.images import ImageCache
from studio.ui.viewmodels.scenes import Role

CARD_W = 356
CARD_H = 318
MARGIN = 10
GAP = 10
THUMB_SIDE = 320  # decode size for card images (sharp at 2x on the 180 px slot)
CARD_CACHE_PIXELS = 16_000_000  # pictures of cards kept (about 64 MB), whatever their size
FRAME_BUDGET = 0.006  # seconds of card drawing per turn of the event loop

#: The card sizes the View menu and the slider step through: (name, width the cards aim at;
#: the grid widens them a little so the columns fill the row).
CARD_SIZES = (("Storyboard thumbnails", 168), ("Small", 236), ("Medium", 300), ("Large", 356),
              ("Extra large", 470))
DEFAULT_CARD_SIZE = 3
#: Narrower than this, a card is a thumbnail: the name, one image and its state line (the
#: chips and buttons are in the menus, the Scene panel and the keys).
COMPACT_BELOW = 280
FILM = 30  # the side of a take in a card's filmstrip
TAKE_SIDE = 96  # decode size for the filmstrip's images


def card_height(width: int) -> int:
    """The height of a card ``width`` wide (its images are square)."""
    if width < COMPACT_BELOW:
        return 62 + (width - 6 - 12)
    return 158 + (width - 6 - 2 * MARGIN - GAP) // 2


def shown_stage(cell: Cell | None) -> Stage:
    """The stage a thumbnail shows: the final once there is one (or one is on its way)."""
    if cell is not None and (cell.final.image is not None or cell.final.state is not None):
        return Stage.FINAL
    return Stage.PREVIEW


BUTTONS = ("preview", "finalize", "retry", "cancel", "approve", "reject")
BUTTON_TEXT = {"preview": "Preview", "finalize": "Finalize", "retry": "Retry",
               "cancel": "Cancel", "approve": "✓", "reject": "✗"}
BUTTON_TIP = {
    "preview": "Render a quick preview of this scene",
    "finalize": "Render the photoreal final of this scene (one click)",
    "retry": "Render again what failed or was cancelled",
    "cancel": "Stop this scene's renders; the others go on",
    "approve": "Approve this scene (Finalize approved renders it)",
    "reject": "Reject this scene",
}
CHIPS = (("lighting", PresetKind.LIGHTING), ("lens", PresetKind.LENS),
         ("framing", PresetKind.FRAMING))
_PROGRESS = {JobState.QUEUED: 0.08, JobState.SENDING: 0.15, JobState.SUBMITTED: 0.2,
             JobState.PROCESSING: 0.55, JobState.DOWNLOADING: 0.9}


@dataclass(frozen=True)
class CardLayout:
    """Where each part of a card is, for painting and hit-testing. A compact card (a
    thumbnail) has one slot and no chips or buttons."""

    card: QRect
    name: QRect
    star: QRect
    setting: QRect
    chips: dict[str, QRect]
    slots: dict[Stage, QRect]
    states: dict[Stage, QRect]
    buttons: dict[str, QRect]
    compact: bool = False
    checks: QRect = field(default_factory=QRect)  # the prompt checks' marker, left of the star
    #: Per stage, the filmstrip of the other takes: (place, render id; -1: "+n more").
    takes: dict[Stage, tuple[tuple[QRect, int], ...]] = field(default_factory=dict)

    def hit(self, pos: QPoint) -> str | None:
        if self.star.contains(pos):
            return "star"
        if self.checks.contains(pos):
            return "checks"
        for strip in self.takes.values():
            for rect, render_id in strip:
                if render_id >= 0 and rect.contains(pos):
                    return f"take:{render_id}"
        for name, rect in self.buttons.items():
            if rect.contains(pos):
                return f"button:{name}"
        for name, rect in self.chips.items():
            if rect.contains(pos):
                return f"chip:{name}"
        for stage, rect in self.slots.items():
            if rect.contains(pos):
                return f"slot:{stage.value}"
        return None


def card_layout(rect: QRect, cell: Cell | None = None, by_likeness: bool = False
                ) -> CardLayout:
    """The parts of a card in ``rect``; ``cell`` says which image a thumbnail shows and
    which takes its filmstrips hold (``by_likeness``: the most like the character first)."""
    if rect.width() < COMPACT_BELOW:
        return _compact_layout(rect, shown_stage(cell))
    r = rect.adjusted(3, 3, -3, -3)
    x0, y = r.left() + MARGIN, r.top() + MARGIN
    width = r.width() - 2 * MARGIN
    star = QRect(r.right() - MARGIN - 24, y - 1, 24, 24)
    checks = QRect(star.left() - 24, y, 22, 22)
    name = QRect(x0, y, width - 54, 22)
    y += 24
    setting = QRect(x0, y, width, 18)
    y += 22
    chip_w = (width - 2 * 6) // 3
    chips = {key: QRect(x0 + i * (chip_w + 6), y, chip_w, 22) for i, (key, _) in enumerate(CHIPS)}
    y += 30
    side = (width - GAP) // 2
    bottom_reserved = 18 + 6 + 28 + MARGIN
    slot_h = max(60, r.bottom() - y - bottom_reserved)
    slots = {Stage.PREVIEW: QRect(x0, y, side, slot_h),
             Stage.FINAL: QRect(x0 + side + GAP, y, side, slot_h)}
    takes: dict[Stage, tuple[tuple[QRect, int], ...]] = {}
    for stage, slot_rect in list(slots.items()):
        others = ordered_takes(cell.slot(stage).other_takes, by_likeness) if cell else ()
        if others:
            slots[stage] = slot_rect.adjusted(0, 0, 0, -(FILM + 4))
            takes[stage] = filmstrip(QRect(slot_rect.left(), slot_rect.bottom() - FILM + 1,
                                           slot_rect.width(), FILM), others)
    y += slot_h + 2
    states = {Stage.PREVIEW: QRect(x0, y, side, 18),
              Stage.FINAL: QRect(x0 + side + GAP, y, side, 18)}
    y += 22
    small, big = 30, (width - 2 * 30 - 5 * 5) // 4
    buttons: dict[str, QRect] = {}
    x = x0
    for key in BUTTONS:
        w = small if key in ("approve", "reject") else big
        if key == "approve":
            x += 5 + (width - (4 * big + 2 * small + 5 * 5))  # push the verdicts to the right
        buttons[key] = QRect(x, y, w, 28)
        x += w + 5
    return CardLayout(r, name, star, setting, chips, slots, states, buttons, checks=checks,
                      takes=takes)


def filmstrip(band: QRect, takes: tuple[Take, ...]) -> tuple[tuple[QRect, int], ...]:
    """Small squares for ``takes`` along ``band``; when they do not all fit, the last square
    says how many more there are (render id -1)."""
    side, gap = band.height(), 4
    fit = max(1, (band.width() + gap) // (side + gap))
    shown = takes if len(takes) <= fit else takes[:fit - 1]
    out = [(QRect(band.left() + i * (side + gap), band.top(), side, side), t.render_id)
           for i, t in enumerate(shown)]
    if len(shown) < len(takes):
        out.append((QRect(band.left() + len(shown) * (side + gap), band.top(), side, side), -1))
    return tuple(out)


def _compact_layout(rect: QRect, stage: Stage) -> CardLayout:
    r = rect.adjusted(3, 3, -3, -3)
    pad = 6
    x0, y = r.left() + pad, r.top() + pad
    width = r.width() - 2 * pad
    star = QRect(r.right() - pad - 20, y - 1, 20, 20)
    checks = QRect(star.left() - 20, y, 18, 18)
    name = QRect(x0, y, width - 42, 18)
    y += 22
    image = QRect(x0, y, width, max(40, r.bottom() - pad - 22 - y))
    state = QRect(x0, image.bottom() + 4, width, 18)
    return CardLayout(r, name, star, QRect(), {}, {stage: image}, {stage: state}, {},
                      compact=True, checks=checks)


def findings_tip(findings: tuple[Finding, ...]) -> str:
    """What the prompt checks found about a scene, and what to do: a card's marker tooltip."""
    if not findings:
        return ""
    lines = ["Prompt checks:"]
    for f in findings:
        lines.append(f"• {f.severity.value.title()}: {f.message}\n   → {f.suggestion}")
    lines.append("The Scene panel shows where.")
    return "\n".join(lines)


def take_tip(take: Take) -> str:
    """A filmstrip take's tooltip: its seed, its likeness where scored, and the click."""
    parts = [f"Take · seed {take.seed}" if take.seed is not None else "Take"]
    if take.distance is not None:
        parts.append(f"identity distance {take.distance:.2f} (smaller: more alike)")
    return " · ".join(parts) + "\nClick to show this take (finals are made from the preview " \
        "shown)."


def card_actions(cell: Cell) -> dict[str, tuple[bool, bool]]:
    """Each button's (enabled, checked) for a cell."""
    p, f = cell.preview, cell.final
    failed = {JobState.FAILED, JobState.CANCELLED}
    done = cell.has_image or p.done or f.done
    return {
        "preview": (not p.active, False),
        "finalize": (not f.active, False),
        "retry": (p.state in failed or f.state in failed, False),
        "cancel": (p.active or f.active, False),
        "approve": (done, cell.approval is Approval.APPROVED),
        "reject": (done, cell.approval is Approval.REJECTED),
    }


class SceneCardDelegate(QStyledItemDelegate):
    """Paints cards; ``actionRequested(scene, action)`` and ``chipRequested(scene, kind, pos)``
    report clicks (actions: the button names, ``star``, ``open:preview``, ``open:final``)."""

    actionRequested = Signal(str, str)
    chipRequested = Signal(str, str, QPoint)

    def __init__(self, catalog: PresetCatalog, images: ImageCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._images = images
        self._hover_pos: QPoint | None = None
        self._cards: OrderedDict[tuple[object, ...], QPixmap] = OrderedDict()
        #: The picture each scene's card showed last (drawn again while a frame is over
        #: budget).
        self._shown: dict[str, QPixmap] = {}
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
        #: Filmstrips list the takes most like the character first (where scored).
        self.takes_by_likeness = False

    def set_hover_pos(self, pos: QPoint | None) -> None:
        self._hover_pos = pos

    def card_size(self) -> QSize:
        return QSize(self.card_width, card_height(self.card_width))

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
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        hover = (card_layout(rect, index.data(Role.CELL), self.takes_by_likeness)
                 .hit(self._hover_pos)
                 if hovered and self._hover_pos is not None else None)
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        key = (index.data(Role.REVISION), index.row(), rect.width(), rect.height(), selected,
               hovered, hover, option.palette.cacheKey(), option.font.key(), ratio,
               card_badges.revision(self.badges), self.takes_by_likeness)
        picture = self._cards.get(key)
        name = str(index.data(Qt.ItemDataRole.DisplayRole))
        shown = self._shown.get(name)
        view = option.widget
        on_screen = isinstance(painter.device(), QWidget)  # not a grab() or a print
        same_size = shown is not None and shown.deviceIndependentSize().toSize() == rect.size()
        if (picture is None and on_screen and self._over_budget()
                and isinstance(view, QAbstractItemView) and (same_size or self.scrolling)):
            # This frame has drawn enough cards: show the card as it was a moment ago (or,
            # while the grid scrolls, its outline and name the first time it comes into sight)
            # and draw it in full in the next frame, so no repaint holds the window for long.
            self._redraw_later(view, index)
            if shown is not None and same_size:
                painter.drawPixmap(rect.topLeft(), shown)
            else:
                self._draw_outline(painter, option, name, selected)
            return
        if picture is None:
            started = time.perf_counter()
            picture = QPixmap(QSize(round(rect.width() * ratio), round(rect.height() * ratio)))
            picture.setDevicePixelRatio(ratio)
            # Opaque, on the grid's own background: drawn as a plain copy, with no blending.
            picture.fill(option.palette.color(QPalette.ColorRole.Base))
            local = QStyleOptionViewItem(option)
            local.rect = QRect(0, 0, rect.width(), rect.height())
            local_hover = (self._hover_pos - rect.topLeft()
                           if self._hover_pos is not None else None)
            card_painter = QPainter(picture)
            try:
                self._draw_card(card_painter, local, index, local_hover)
            finally:
                card_painter.end()
            self._cards[key] = picture
            self._cached_pixels += picture.width() * picture.height()
            while self._cached_pixels > CARD_CACHE_PIXELS and len(self._cards) > 1:
                _, old = self._cards.popitem(last=False)
                self._cached_pixels -= old.width() * old.height()
            self._spend(time.perf_counter() - started)
        else:
            self._cards.move_to_end(key)
        self._shown[name] = picture
        painter.drawPixmap(rect.topLeft(), picture)

    def _over_budget(self) -> bool:
        """Whether one more card would take this frame past its budget (the first card of a
        frame is always drawn): a frame never runs a card's length over it."""
        return (self._frame_spent > 0.0
                and self._frame_spent + self._card_cost > FRAME_BUDGET)

    def _spend(self, seconds: float) -> None:
        """Count drawing time against this frame (it ends when the event loop turns)."""
        if self._frame_spent == 0.0:
            QTimer.singleShot(0, self._new_frame)
        self._frame_spent += seconds
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

    def _draw_outline(self, painter: QPainter, option: QStyleOptionViewItem, name: str,
                      selected: bool) -> None:
        """A card's frame and name only: what a card shows for the one frame before it is
        drawn in full."""
        pal: QPalette = option.palette
        lay = card_layout(option.rect)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight if selected
                                      else QPalette.ColorRole.Mid), 1))
        painter.setBrush(theme.card_background(pal, selected, False))
        painter.drawRoundedRect(lay.card, 8, 8)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        painter.drawText(lay.name, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         QFontMetrics(option.font).elidedText(name, Qt.TextElideMode.ElideRight,
                                                              lay.name.width()))
        painter.restore()

    def _draw_card(self, painter: QPainter, option: QStyleOptionViewItem,
                   index: QModelIndex | QPersistentModelIndex, hover_pos: QPoint | None) -> None:
        scene: Scene | None = index.data(Role.SCENE)
        cell: Cell | None = index.data(Role.CELL)
        if scene is None or cell is None:
            return
        pal: QPalette = option.palette
        rect: QRect = option.rect
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        lay = card_layout(rect, cell, self.takes_by_likeness)
        hover = lay.hit(hover_pos) if hovered and hover_pos is not None else None

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # card
        border = pal.color(QPalette.ColorRole.Mid)
        if cell.approval is Approval.APPROVED:
            border = theme.APPROVED
        elif cell.approval is Approval.REJECTED:
            border = theme.REJECTED
        if selected:
            border = pal.color(QPalette.ColorRole.Highlight)
        painter.setPen(QPen(border, 2 if selected or cell.approval is not Approval.NONE else 1))
        painter.setBrush(theme.card_background(pal, selected, hovered))
        painter.drawRoundedRect(lay.card, 8, 8)

        text = pal.color(QPalette.ColorRole.Text)
        dim = theme.blend(text, pal.color(QPalette.ColorRole.Base), 0.45)
        base_font = QFont(option.font)
        # name and star
        font = QFont(base_font)
        font.setBold(True)
        if not lay.compact:
            font.setPointSizeF(base_font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.setPen(text)
        fm = QFontMetrics(font)
        painter.drawText(lay.name, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         fm.elidedText(scene.name, Qt.TextElideMode.ElideRight, lay.name.width()))
        star_font = QFont(base_font)
        star_font.setPointSizeF(base_font.pointSizeF() * (1.1 if lay.compact else 1.4))
        painter.setFont(star_font)
        painter.setPen(theme.STAR if cell.star else (text if hover == "star" else dim))
        painter.drawText(lay.star, Qt.AlignmentFlag.AlignCenter, "★" if cell.star else "☆")
        findings: tuple[Finding, ...] = index.data(Role.FINDINGS) or ()
        if findings:
            self._paint_checks(painter, lay.checks, findings, base_font)
        # setting
        painter.setFont(base_font)
        painter.setPen(dim)
        fm = QFontMetrics(base_font)
        setting = scene.setting + (f" · seed {scene.seed}" if scene.seed is not None else "")
        if not lay.setting.isEmpty():
            painter.drawText(lay.setting,
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             fm.elidedText(setting, Qt.TextElideMode.ElideRight,
                                           lay.setting.width()))
        # chips
        small = QFont(base_font)
        small.setPointSizeF(base_font.pointSizeF() * 0.88)
        painter.setFont(small)
        sfm = QFontMetrics(small)
        for key, kind in CHIPS:
            if key not in lay.chips:
                continue
            r = lay.chips[key]
            value = getattr(scene, key)
            label = self._catalog.label_for(kind, value) if value else f"No {key}"
            on = hover == f"chip:{key}"
            painter.setPen(QPen(theme.blend(border, text, 0.2) if on else
                                pal.color(QPalette.ColorRole.Mid), 1))
            painter.setBrush(theme.blend(pal.color(QPalette.ColorRole.Base),
                                         pal.color(QPalette.ColorRole.Highlight),
                                         0.22 if on else 0.1))
            painter.drawRoundedRect(r, 11, 11)
            painter.setPen(text)
            painter.drawText(r.adjusted(8, 0, -14, 0),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             sfm.elidedText(label, Qt.TextElideMode.ElideRight, r.width() - 22))
            painter.setPen(dim)
            painter.drawText(r.adjusted(0, 0, -6, 0),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, "▾")
        # the two slots
        stale = {Stage.PREVIEW: bool(index.data(Role.PREVIEW_STALE)),
                 Stage.FINAL: bool(index.data(Role.FINAL_STALE))}
        for stage in lay.slots:
            self._paint_slot(painter, pal, lay, stage, cell.slot(stage), stale[stage], small,
                             hover == f"slot:{stage.value}")
        card_badges.paint(painter, pal, scene.name, lay.slots, cell, self.badges)
        for stage, strip in lay.takes.items():
            self._paint_takes(painter, pal, strip, cell.slot(stage), hover, small)
        # buttons
        actions = card_actions(cell)
        for key in lay.buttons:
            enabled, checked = actions[key]
            self._paint_button(painter, pal, lay.buttons[key], BUTTON_TEXT[key], enabled,
                               checked, hover == f"button:{key}", key, base_font)
        painter.restore()

    def _paint_slot(self, painter: QPainter, pal: QPalette, lay: CardLayout, stage: Stage,
                    slot: Slot, stale: bool, small: QFont, hovered: bool) -> None:
        r = lay.slots[stage]
        text = pal.color(QPalette.ColorRole.Text)
        window = pal.color(QPalette.ColorRole.Window)
        dark_bg = theme.blend(window, QColor("black"), 0.25 if theme.is_dark(pal) else 0.06)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(dark_bg)
        painter.drawRoundedRect(r, 6, 6)
        image = self._images.get(slot.image, THUMB_SIDE) if slot.image is not None else None
        if image is not None:
            target = QSize(image.width(), image.height()).scaled(
                r.size(), Qt.AspectRatioMode.KeepAspectRatio)
            tr = QRect(0, 0, target.width(), target.height())
            tr.moveCenter(r.center())
            painter.drawImage(tr, image)
            if stale:
                painter.fillRect(tr, QColor(0, 0, 0, 70))
        elif slot.state in (JobState.FAILED, JobState.UNCERTAIN):
            # The sentence says what happened and what to do (an uncertain job may have been
            # billed and is not sent again on its own).
            painter.setBrush(theme.blend(dark_bg, theme.status_colour(slot.state, palette=pal),
                                         0.18))
            painter.drawRoundedRect(r, 6, 6)
            painter.setFont(small)
            painter.setPen(text)
            fallback = ("The render failed." if slot.state is JobState.FAILED else
                        "The provider may have accepted (and billed) this render.")
            message = slot.message or fallback
            box = r.adjusted(8, 8, -8, -8)
            # A word wider than the slot (an environment variable's name) breaks anywhere
            # rather than running out of the card; the tooltip has the whole sentence.
            fm = QFontMetrics(small)
            wrap = (Qt.TextFlag.TextWrapAnywhere
                    if any(fm.horizontalAdvance(w) > box.width() for w in message.split())
                    else Qt.TextFlag.TextWordWrap)
            painter.drawText(box, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft | wrap,
                             message)
        else:
            painter.setFont(small)
            painter.setPen(QPen(theme.blend(text, dark_bg, 0.6), 1, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(r.adjusted(4, 4, -4, -4), 6, 6)
            painter.setPen(theme.blend(text, dark_bg, 0.4))
            if slot.active:
                msg = slot.describe()
            elif slot.state is JobState.CANCELLED:
                msg = "Cancelled"
            elif slot.image is not None:
                msg = self._images.problem(slot.image, THUMB_SIDE) or "Loading…"
            else:
                msg = "No preview yet" if stage is Stage.PREVIEW else "No final yet"
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, msg)
        if hovered and image is not None:
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(r.adjusted(1, 1, -1, -1), 6, 6)
        # progress bar for work in flight
        if slot.active:
            bar = QRect(r.left() + 6, r.bottom() - 8, r.width() - 12, 4)
            painter.setBrush(QColor(128, 128, 128, 90))
            painter.drawRoundedRect(bar, 2, 2)
            done = QRect(bar)
            share = _PROGRESS.get(slot.state or JobState.QUEUED, 0.0)
            done.setWidth(max(4, int(bar.width() * share)))
            painter.setBrush(theme.status_colour(slot.state, palette=pal))
            painter.drawRoundedRect(done, 2, 2)
        # state line: the stage's caption beside the image, never over it
        sr = lay.states[stage]
        fm = QFontMetrics(small)
        painter.setFont(small)
        caption = "PREVIEW" if stage is Stage.PREVIEW else "FINAL"
        pill = QRect(sr.left(), sr.top() + 1, fm.horizontalAdvance(caption) + 10, sr.height() - 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.blend(pal.color(QPalette.ColorRole.Base), text, 0.72))
        painter.drawRoundedRect(pill, 4, 4)
        painter.setPen(pal.color(QPalette.ColorRole.Base))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, caption)
        colour = theme.status_colour(slot.state, stale, pal)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        dot = QRect(pill.right() + 6, sr.center().y() - 3, 7, 7)
        painter.drawEllipse(dot)
        painter.setPen(text)
        line = slot.describe(stale)
        if slot.done and slot.model:
            line += f" · {slot.model}"
        left = dot.right() + 5
        painter.drawText(QRect(left, sr.top(), sr.right() - left, sr.height()),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         fm.elidedText(line, Qt.TextElideMode.ElideRight, sr.right() - left))

    def _paint_takes(self, painter: QPainter, pal: QPalette,
                     strip: tuple[tuple[QRect, int], ...], slot: Slot, hover: str | None,
                     font: QFont) -> None:
        """The filmstrip under a slot: the scene's other takes, small, to click."""
        takes = {t.render_id: t for t in slot.takes}
        base = pal.color(QPalette.ColorRole.Base)
        text = pal.color(QPalette.ColorRole.Text)
        for rect, render_id in strip:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.blend(base, text, 0.12))
            painter.drawRoundedRect(rect, 3, 3)
            take = takes.get(render_id)
            if take is None:  # "+n more"
                painter.setFont(font)
                painter.setPen(text)
                more = len(slot.other_takes) - (len(strip) - 1)
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"+{more}")
                continue
            image = self._images.get(take.image, TAKE_SIDE) if take.image else None
            if image is not None:
                painter.save()
                painter.setClipRect(rect)
                fitted = QSize(image.width(), image.height()).scaled(
                    rect.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding)
                target = QRect(0, 0, fitted.width(), fitted.height())
                target.moveCenter(rect.center())
                painter.drawImage(target, image)
                painter.restore()
            if hover == f"take:{render_id}":
                painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 3, 3)

    def _paint_checks(self, painter: QPainter, r: QRect, findings: tuple[Finding, ...],
                      font: QFont) -> None:
        """A round mark for the prompt checks' findings about this scene: red for an error,
        amber for a warning (the tooltip says what and how to fix it)."""
        error = any(f.severity is Severity.ERROR for f in findings)
        colour = theme.status_colour(JobState.FAILED if error else JobState.UNCERTAIN)
        side = min(r.width(), r.height()) - 2
        mark = QRect(0, 0, side, side)
        mark.moveCenter(r.center())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(mark)
        bold = QFont(font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(QColor("white"))
        painter.drawText(mark, Qt.AlignmentFlag.AlignCenter, "!")

    def _paint_button(self, painter: QPainter, pal: QPalette, r: QRect, label: str,
                      enabled: bool, checked: bool, hovered: bool, key: str,
                      font: QFont) -> None:
        text = pal.color(QPalette.ColorRole.ButtonText)
        button = pal.color(QPalette.ColorRole.Button)
        if key == "finalize" and enabled:
            button = theme.blend(button, pal.color(QPalette.ColorRole.Highlight), 0.35)
        if checked:
            button = theme.APPROVED if key == "approve" else theme.REJECTED
            text = QColor("white")
        elif hovered and enabled:
            button = theme.blend(button, pal.color(QPalette.ColorRole.Highlight), 0.25)
        if not enabled:
            text = theme.blend(text, button, 0.6)
        painter.setPen(QPen(theme.blend(button, QColor("black"), 0.2), 1))
        painter.setBrush(button)
        painter.drawRoundedRect(r, 5, 5)
        painter.setFont(font)
        painter.setPen(text)
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, label)

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
