"""The small marks painted over a card's preview and final: the identity badge (distance to the
character's face, coloured by verdict, "?" when the render cannot be scored), the references badge
(the render was sent with reference images), an uncertain job's "Send again…" and "Forget", and
a provider's rate-limit wait.

Everything here is sized from the slot's rectangle, so the marks follow the card from dense to
large. The card delegate calls :func:`paint` after drawing a card's slots, asks :func:`action_at`
on a click and :func:`tooltip_at` for a tooltip; what the marks say comes from
:class:`CardBadges` (the render facts and the jobs that need the user).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen

from studio.core.fingerprint import part_digest
from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.core.text import counted
from studio.ui import theme
from studio.ui.viewmodels.attention import JobAttention
from studio.ui.viewmodels.cells import Cell, Slot
from studio.ui.viewmodels.identity import RenderFact, RenderFacts
from studio.ui.viewmodels.references import ROLE_LABELS

if TYPE_CHECKING:
    from studio.identity import IdentityScore

VERDICT_COLOURS = {"same person": "#2e7d32", "drifting": "#b7791f",
                   "different person": "#c62828", "not scorable": "#6b7280"}
_NO_REFERENCE = part_digest("")


@dataclass
class CardBadges:
    """What the marks read: the renders' facts (references, identity) and the jobs that need
    the user (uncertain ones, rate-limit waits). Either may be missing (an editing-only
    window)."""

    facts: RenderFacts | None = None
    attention: JobAttention | None = None


# --------------------------------------------------------------------------- geometry
def badge_side(slot: QRect) -> int:
    """The height of a mark: a share of the slot, within what stays legible and unobtrusive."""
    return max(16, min(30, round(min(slot.width(), slot.height()) * 0.13)))


def _font(side: int, base: QFont | None = None, bold: bool = True) -> QFont:
    font = QFont(base) if base is not None else QFont()
    font.setPixelSize(max(9, round(side * 0.6)))
    font.setBold(bold)
    return font


def identity_rect(slot: QRect, text: str) -> QRect:
    side = badge_side(slot)
    pad = max(4, side // 4)
    width = QFontMetrics(_font(side)).horizontalAdvance(text) + side // 2 + 4
    return QRect(slot.right() - pad - width + 1, slot.bottom() - pad - side + 1, width, side)


def references_rect(slot: QRect) -> QRect:
    side = badge_side(slot)
    pad = max(4, side // 4)
    return QRect(slot.right() - pad - side + 1, slot.top() + pad, side, side)


def uncertain_rects(slot: QRect) -> dict[str, QRect]:
    """The two buttons along the bottom of an uncertain job's slot."""
    height = max(20, min(30, round(slot.height() * 0.15)))
    pad = max(3, height // 7)
    width = (slot.width() - 3 * pad) // 2
    top = slot.bottom() - pad - height + 1
    return {"resend": QRect(slot.left() + pad, top, width, height),
            "forget": QRect(slot.left() + 2 * pad + width, top, width, height)}


# --------------------------------------------------------------------------- what is shown
def _shown(slot: Slot) -> bool:
    return slot.done and slot.image is not None


def _fact(badges: CardBadges | None, slot: Slot) -> RenderFact | None:
    if badges is None or badges.facts is None or not _shown(slot):
        return None
    return badges.facts.fact(slot.render_id)


def identity_text(fact: RenderFact | None) -> str | None:
    """The badge's words: the distance, "?" when not scorable; None when there is no score."""
    return identity_text_of(fact.score if fact is not None else None)


def identity_text_of(score: IdentityScore | None) -> str | None:
    if score is None:
        return None
    return "?" if score.distance is None else f"{score.distance:.2f}"


def paint_identity(painter: QPainter, image_rect: QRect, score: IdentityScore) -> None:
    """The identity badge in the bottom-right corner of ``image_rect`` (any picture of a
    render: a card's slot, a tile of the consistency grid)."""
    text = identity_text_of(score) or "?"
    _pill(painter, identity_rect(image_rect, text), text,
          QColor(VERDICT_COLOURS.get(score.verdict.value, "#6b7280")))


def has_references(slot: Slot, fact: RenderFact | None) -> bool:
    if not _shown(slot):
        return False
    if fact is not None:
        return bool(fact.references)
    made = slot.made_with
    return made is not None and made.part("reference") != _NO_REFERENCE


def _uncertain(badges: CardBadges | None, scene: str, stage: Stage) -> bool:
    return (badges is not None and badges.attention is not None
            and (scene, stage) in badges.attention.uncertain)


def _wait(badges: CardBadges | None, slot: Slot) -> str:
    if badges is None or badges.attention is None or slot.state is not JobState.QUEUED:
        return ""
    return badges.attention.wait_line(slot.provider)


def shown(scene: str, cell: Cell, badges: CardBadges | None) -> tuple[object, ...]:
    """What the marks of one card show, per stage (painters keep a card's picture while it is
    the same: a score arriving for one card leaves every other card's picture as it is)."""
    out: list[object] = []
    for stage in Stage:
        slot = cell.slot(stage)
        fact = _fact(badges, slot)
        score = fact.score if fact is not None else None
        out.append((identity_text_of(score), score.verdict.value if score is not None else None,
                    has_references(slot, fact), _wait(badges, slot),
                    _uncertain(badges, scene, stage)))
    return tuple(out)


# --------------------------------------------------------------------------- painting
def paint(painter: QPainter, palette: QPalette, scene: str, slots: dict[Stage, QRect],
          cell: Cell, badges: CardBadges | None) -> None:
    """Draw every mark of one card over its slots."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for stage, rect in slots.items():
        slot = cell.slot(stage)
        fact = _fact(badges, slot)
        if fact is not None and fact.score is not None:
            paint_identity(painter, rect, fact.score)
        if has_references(slot, fact):
            _references_mark(painter, references_rect(rect))
        wait = _wait(badges, slot)
        if wait:
            _band(painter, rect, wait[0].upper() + wait[1:], QColor("#9a6b00"))
        if _uncertain(badges, scene, stage):
            _uncertain_buttons(painter, palette, rect, slot)
    painter.restore()


def _pill(painter: QPainter, rect: QRect, text: str, colour: QColor) -> None:
    painter.setPen(QPen(QColor(255, 255, 255, 190), 1))
    painter.setBrush(colour)
    radius = rect.height() / 2
    painter.drawRoundedRect(QRectF(rect), radius, radius)
    painter.setFont(_font(rect.height()))
    painter.setPen(QColor("white"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def _references_mark(painter: QPainter, rect: QRect) -> None:
    """A portrait in a frame: the render was sent with reference images."""
    painter.setPen(QPen(QColor(255, 255, 255, 190), 1))
    painter.setBrush(QColor("#c2185b"))
    painter.drawRoundedRect(QRectF(rect), rect.height() * 0.25, rect.height() * 0.25)
    side = rect.height()
    cx, top = rect.center().x() + 0.5, rect.top()
    head = side * 0.2
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("white"))
    painter.drawEllipse(QRectF(cx - head, top + side * 0.2, head * 2, head * 2))
    body = QPainterPath()
    shoulders = QRectF(cx - side * 0.32, top + side * 0.6, side * 0.64, side * 0.6)
    body.moveTo(shoulders.left(), rect.bottom() - side * 0.14)
    body.arcTo(shoulders, 180, -180)
    body.closeSubpath()
    painter.save()
    painter.setClipRect(rect.adjusted(1, 1, -1, -int(side * 0.14)))
    painter.drawPath(body)
    painter.restore()


def _band(painter: QPainter, slot: QRect, text: str, colour: QColor) -> None:
    """A sentence on a coloured band along the bottom of ``slot`` (on two lines if it must)."""
    side = badge_side(slot)
    font = _font(side, bold=False)
    font.setPixelSize(max(9, round(side * 0.5)))
    width = slot.width() - 16
    flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
    needed = QFontMetrics(font).boundingRect(QRect(0, 0, width, 1000), flags, text).height()
    height = min(max(side + 2, needed + 6), slot.height() // 2)
    rect = QRect(slot.left() + 4, slot.bottom() - height - 12, slot.width() - 8, height)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour.red(), colour.green(), colour.blue(), 225))
    painter.drawRoundedRect(QRectF(rect), 4, 4)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(rect.adjusted(4, 0, -4, 0), flags, text)


def _uncertain_buttons(painter: QPainter, palette: QPalette, slot: QRect, shown: Slot) -> None:
    buttons = uncertain_rects(slot)
    if shown.image is not None:  # over an image: say what the buttons are about
        top = min(r.top() for r in buttons.values())
        _band(painter, QRect(slot.left(), slot.top(), slot.width(), top - slot.top() + 12),
              "Maybe billed: check first", QColor("#9a6b00"))
    button = palette.color(QPalette.ColorRole.Button)
    text = palette.color(QPalette.ColorRole.ButtonText)
    for key, label in (("resend", "Send again…"), ("forget", "Forget")):
        rect = buttons[key]
        fill = theme.blend(button, QColor("#d9a400"), 0.35) if key == "resend" else button
        painter.setPen(QPen(theme.blend(button, QColor("black"), 0.25), 1))
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(rect), 4, 4)
        font = _font(rect.height(), bold=False)
        font.setPixelSize(max(9, round(rect.height() * 0.42)))
        painter.setFont(font)
        painter.setPen(text)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, QFontMetrics(font).elidedText(
            label, Qt.TextElideMode.ElideRight, rect.width() - 4))


# --------------------------------------------------------------------------- pointer
def action_at(scene: str, slots: dict[Stage, QRect], cell: Cell, badges: CardBadges | None,
              pos: QPoint) -> str | None:
    """The card action under ``pos``: ``resend:<stage>`` or ``forget:<stage>``, else None."""
    for stage, rect in slots.items():
        if _uncertain(badges, scene, stage):
            for key, button in uncertain_rects(rect).items():
                if button.contains(pos):
                    return f"{key}:{stage.value}"
    return None


def tooltip_at(scene: str, slots: dict[Stage, QRect], cell: Cell, badges: CardBadges | None,
               pos: QPoint) -> str | None:
    """What a mark under ``pos`` explains, else None."""
    for stage, rect in slots.items():
        slot = cell.slot(stage)
        action = action_at(scene, {stage: rect}, cell, badges, pos)
        if action is not None:
            return (f"Send this {stage.value} again: you are asked first, as the provider may "
                    "bill it twice." if action.startswith("resend") else
                    "Forget this job: it is not sent again (if the provider rendered it, it "
                    "may still be billed).")
        fact = _fact(badges, slot)
        text = identity_text(fact)
        if text is not None and fact is not None and fact.score is not None \
                and identity_rect(rect, text).contains(pos):
            return _identity_tip(fact, badges)
        if has_references(slot, fact) and references_rect(rect).contains(pos):
            return _references_tip(fact)
    return None


def _identity_tip(fact: RenderFact, badges: CardBadges | None) -> str:
    score = fact.score
    assert score is not None
    faces = {0: "no face found", 1: "1 face"}.get(score.faces, f"{score.faces} faces")
    lines = [f"Identity: {score.verdict.value} ({faces})", score.explanation]
    return "\n".join(lines)


def _references_tip(fact: RenderFact | None) -> str:
    if fact is None or not fact.references:
        return "Rendered with the character's reference images."
    roles = ", ".join(ROLE_LABELS[r.role].lower() for r in fact.references)
    return (f"Rendered with {counted(len(fact.references), 'reference image')} ({roles}), strength "
            f"{fact.strength.value}.")
