"""Draws a scene card: its frame, name and star, the prompt checks' mark, the setting, the preset
chips, the preview and the final side by side with their states and progress, the filmstrips of
takes, the identity and reference badges, and the buttons.

:class:`CardPainter` draws onto any painter (the delegate draws each card once into a picture
it keeps); where the parts go is :mod:`studio.ui.card_geometry`'s.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QPen,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from studio.core.checks import Finding, Severity
from studio.core.lifecycle import Approval, JobState
from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Scene
from studio.ui import card_badges, theme
from studio.ui.card_geometry import (
    BUTTON_TEXT,
    CHIPS,
    TAKE_SIDE,
    CardLayout,
    card_actions,
    card_layout,
)
from studio.ui.viewmodels.cells import Cell, Slot
from studio.ui.viewmodels.images import ImageCache
from studio.ui.viewmodels.scenes import Role

THUMB_SIDE = 320  # decode size for card images (sharp at 2x on the 180 px slot)
#: The parts of a card drawn on their own (:meth:`CardPainter.parts_of`): its frame, each
#: stage's slot (a :class:`Stage`) and its buttons.
FRAME = "frame"
BUTTONS = "buttons"
CardPart = Stage | str
_PROGRESS = {JobState.QUEUED: 0.08, JobState.SENDING: 0.15, JobState.SUBMITTED: 0.2,
             JobState.PROCESSING: 0.55, JobState.DOWNLOADING: 0.9}


class CardPainter:
    """Draws cards with the catalog's preset labels and the images ``images`` has decoded
    (asking for those it has not: the card is drawn again once they arrive)."""

    def __init__(self, catalog: PresetCatalog, images: ImageCache) -> None:
        self.catalog = catalog
        self.images = images

    def draw_outline(self, painter: QPainter, option: QStyleOptionViewItem, name: str,
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

    def draw(self, painter: QPainter, option: QStyleOptionViewItem,
             index: QModelIndex | QPersistentModelIndex, hover_pos: QPoint | None,
             badges: card_badges.CardBadges | None = None, by_likeness: bool = False) -> None:
        """The whole card of ``index`` in ``option.rect`` (``hover_pos``: the pointer, in the
        same coordinates; ``badges``: the identity, reference and uncertain-job marks;
        ``by_likeness``: filmstrips list the takes most like the character first)."""
        card = _Card.of(option, index, hover_pos, by_likeness)
        if card is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_frame(painter, card)
        for part in (*card.lay.slots, *((BUTTONS,) if card.lay.buttons else ())):
            self._paint_part(painter, card, part, index, badges)
        painter.restore()

    def parts_of(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex, hover_pos: QPoint | None,
                 badges: card_badges.CardBadges | None = None, by_likeness: bool = False
                 ) -> dict[CardPart, tuple[object, ...]] | None:
        """What each part of the card shows (:data:`FRAME`: everything but the slots and
        buttons; each stage: its slot, state line, marks and filmstrip; :data:`BUTTONS`). Two
        pictures of a card that show the same frame differ only in the parts that show
        something else, each inside its :func:`part_area`: :meth:`draw_parts` draws those
        again over the other picture. None: no card to draw."""
        card = _Card.of(option, index, hover_pos, by_likeness)
        if card is None:
            return None
        cell, lay, hover, images = card.cell, card.lay, card.hover, self.images
        frame_hover = (None if hover is not None
                       and hover.startswith(("slot:", "take:", "button:")) else hover)
        parts: dict[CardPart, tuple[object, ...]] = {FRAME: (
            card.scene, cell.approval, cell.star, card.findings, card.selected, card.hovered,
            frame_hover, lay, option.palette.cacheKey(), option.font.key())}
        marks = dict(zip(Stage, card_badges.shown(card.scene.name, cell, badges), strict=True))
        for stage in lay.slots:
            slot = cell.slot(stage)
            strip = lay.takes.get(stage, ())
            takes = {t.render_id: t.image for t in slot.takes}
            parts[stage] = (
                slot, card.stale[stage], marks[stage],
                images.state(slot.image, THUMB_SIDE) if slot.image is not None else None,
                tuple(images.state(image, TAKE_SIDE) if image is not None else None
                      for image in (takes.get(render_id) for _, render_id in strip)),
                hover if hover is not None and hover.startswith(("slot:", "take:")) else None)
        if lay.buttons:
            parts[BUTTONS] = (card_actions(cell),
                              hover if hover is not None and hover.startswith("button:")
                              else None)
        return parts

    def draw_parts(self, painter: QPainter, option: QStyleOptionViewItem,
                   index: QModelIndex | QPersistentModelIndex, hover_pos: QPoint | None,
                   parts: Iterable[CardPart], badges: card_badges.CardBadges | None = None,
                   by_likeness: bool = False) -> None:
        """Draw ``parts`` of the card again (stages and :data:`BUTTONS`) over a picture of the
        same card whose frame (:meth:`parts_of`) is the same: what a render's progress
        changes, at a fraction of the cost of the whole card."""
        card = _Card.of(option, index, hover_pos, by_likeness)
        if card is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        background = theme.card_background(card.pal, card.selected, card.hovered)
        for part in parts:
            painter.fillRect(part_area(card.lay, part), background)
            self._paint_part(painter, card, part, index, badges)
        painter.restore()

    def _paint_frame(self, painter: QPainter, card: _Card) -> None:
        """The frame, name, star, checks' mark, setting and chips."""
        pal, lay, cell, scene, hover = card.pal, card.lay, card.cell, card.scene, card.hover
        border = pal.color(QPalette.ColorRole.Mid)
        if cell.approval is Approval.APPROVED:
            border = theme.APPROVED
        elif cell.approval is Approval.REJECTED:
            border = theme.REJECTED
        if card.selected:
            border = pal.color(QPalette.ColorRole.Highlight)
        painter.setPen(QPen(border, 2 if card.selected or cell.approval is not Approval.NONE
                            else 1))
        painter.setBrush(theme.card_background(pal, card.selected, card.hovered))
        painter.drawRoundedRect(lay.card, 8, 8)

        text = pal.color(QPalette.ColorRole.Text)
        dim = theme.blend(text, pal.color(QPalette.ColorRole.Base), 0.45)
        base_font = card.font
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
        findings: tuple[Finding, ...] = card.findings
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
        small = card.small
        painter.setFont(small)
        sfm = QFontMetrics(small)
        for key, kind in CHIPS:
            if key not in lay.chips:
                continue
            r = lay.chips[key]
            value = getattr(scene, key)
            label = self.catalog.label_for(kind, value) if value else f"No {key}"
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

    def _paint_part(self, painter: QPainter, card: _Card, part: CardPart,
                    index: QModelIndex | QPersistentModelIndex,
                    badges: card_badges.CardBadges | None) -> None:
        """A stage's slot with its state line, the marks over it and its filmstrip; or the
        buttons: each inside its :func:`part_area`."""
        pal, lay, cell, hover = card.pal, card.lay, card.cell, card.hover
        if isinstance(part, Stage):
            slot = cell.slot(part)
            self._paint_slot(painter, pal, lay, part, slot, card.stale[part], card.small,
                             hover == f"slot:{part.value}")
            card_badges.paint(painter, pal, card.scene.name, {part: lay.slots[part]}, cell,
                              badges)
            strip = lay.takes.get(part)
            if strip:
                self._paint_takes(painter, pal, strip, slot, hover, card.small)
            return
        actions = card_actions(cell)
        for key in lay.buttons:
            enabled, checked = actions[key]
            self._paint_button(painter, pal, lay.buttons[key], BUTTON_TEXT[key], enabled,
                               checked, hover == f"button:{key}", key, card.font)

    def _paint_slot(self, painter: QPainter, pal: QPalette, lay: CardLayout, stage: Stage,
                    slot: Slot, stale: bool, small: QFont, hovered: bool) -> None:
        r = lay.slots[stage]
        text = pal.color(QPalette.ColorRole.Text)
        window = pal.color(QPalette.ColorRole.Window)
        dark_bg = theme.blend(window, QColor("black"), 0.25 if theme.is_dark(pal) else 0.06)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(dark_bg)
        painter.drawRoundedRect(r, 6, 6)
        image = self.images.get(slot.image, THUMB_SIDE) if slot.image is not None else None
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
            if slot.state is JobState.UNCERTAIN:  # above its Send again and Forget buttons
                box.setBottom(min(b.top() for b in card_badges.uncertain_rects(r).values()) - 4)
            fm = QFontMetrics(small)
            spacing = fm.lineSpacing()
            lines = message_lines(message, small, box.width(), max(1, box.height() // spacing))
            for n, line in enumerate(lines):
                painter.drawText(QPoint(box.left(), box.top() + n * spacing + fm.ascent()), line)
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
                msg = self.images.problem(slot.image, THUMB_SIDE) or "Loading…"
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
            image = self.images.get(take.image, TAKE_SIDE) if take.image else None
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


def part_area(lay: CardLayout, part: CardPart) -> QRect:
    """Where a part of a card is drawn (a stage: its slot, state line and filmstrip; or the
    buttons), with a margin that reaches into the card's background only: 8 px lie between
    the chips and the slots, 10 between the two slots, 4 between the state lines and the
    buttons."""
    if isinstance(part, Stage):
        rects = [lay.slots[part], lay.states[part],
                 *(rect for rect, _ in lay.takes.get(part, ()))]
    else:
        rects = list(lay.buttons.values())
    area = QRect()
    for rect in rects:
        area = area.united(rect)
    return area.adjusted(-2, -2, 2, 2)


class _Card:
    """What drawing one card starts from: its scene, cell and layout, the pointer over it, its
    palette and fonts."""

    __slots__ = ("cell", "findings", "font", "hover", "hovered", "lay", "pal", "scene",
                 "selected", "small", "stale")

    def __init__(self, scene: Scene, cell: Cell, option: QStyleOptionViewItem,
                 findings: tuple[Finding, ...], stale: dict[Stage, bool],
                 hover_pos: QPoint | None, by_likeness: bool) -> None:
        self.scene, self.cell, self.findings, self.stale = scene, cell, findings, stale
        self.pal: QPalette = option.palette
        state = option.state
        self.selected = bool(state & QStyle.StateFlag.State_Selected)
        self.hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        self.lay = card_layout(option.rect, cell, by_likeness)
        self.hover = (self.lay.hit(hover_pos) if self.hovered and hover_pos is not None
                      else None)
        self.font = QFont(option.font)
        self.small = QFont(self.font)
        self.small.setPointSizeF(self.font.pointSizeF() * 0.88)

    @classmethod
    def of(cls, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex,
           hover_pos: QPoint | None, by_likeness: bool) -> _Card | None:
        scene: Scene | None = index.data(Role.SCENE)
        cell: Cell | None = index.data(Role.CELL)
        if scene is None or cell is None:
            return None
        stale = {Stage.PREVIEW: bool(index.data(Role.PREVIEW_STALE)),
                 Stage.FINAL: bool(index.data(Role.FINAL_STALE))}
        return cls(scene, cell, option, index.data(Role.FINDINGS) or (), stale, hover_pos,
                   by_likeness)


def message_lines(text: str, font: QFont, width: int, most: int) -> list[str]:
    """``text`` in lines of at most ``width`` pixels, ``most`` of them: broken between words,
    only a word wider than a line (an environment variable's name) inside itself; the last
    line ends in "…" when the text goes on (the slot's tooltip has it whole)."""
    text = " ".join(text.split())  # a provider's line breaks are spaces here
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout = QTextLayout(text, font)
    layout.setTextOption(option)
    spans: list[tuple[int, int]] = []
    layout.beginLayout()
    while len(spans) <= most:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        spans.append((line.textStart(), line.textLength()))
    layout.endLayout()
    lines = [text[start:start + length].rstrip() for start, length in spans[:most]]
    if len(spans) > most:  # more than fits: the last line says so
        rest = text[spans[most - 1][0]:].rstrip()
        lines[-1] = QFontMetrics(font).elidedText(rest, Qt.TextElideMode.ElideRight, width)
    return lines
