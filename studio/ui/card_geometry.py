"""Where the parts of a scene card are: the card sizes, a card's height for its width, the
layout of a full card and of a thumbnail (for painting and for hit-testing clicks), the
filmstrip of takes, the buttons a cell allows, and the cards' tooltips.

Pure geometry over Qt's value types; the painting is :mod:`studio.ui.card_painting`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QPoint, QRect

from studio.core.checks import Finding
from studio.core.lifecycle import Approval, JobState
from studio.core.presets import PresetKind
from studio.core.request import Stage
from studio.ui.viewmodels.cells import Cell, Take, ordered_takes

CARD_W = 356
CARD_H = 318
MARGIN = 10
GAP = 10

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
