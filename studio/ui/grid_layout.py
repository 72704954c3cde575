"""The scene grid's layout and its drawing around the cards: where every card and section
header goes for a width and a card size (cards in columns that fill the row, a new row under a
header for each template group), and the headers, the empty sheet's hint and the drop marker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QPainter, QPalette, QPen

from studio.core.text import counted
from studio.ui import theme
from studio.ui.card_geometry import card_height

SPACING = 6
HEADER_H = 30
#: How much wider than asked a card may grow to fill its row.
STRETCH = 1.25
EMPTY_TEXT = ("No scenes yet.\nScene › Add scene (Ctrl+Shift+N), or Scene › Add from template "
              "(Ctrl+Shift+M) for a turnaround, expressions, poses, outfits or storyboard shots.")

@dataclass(frozen=True)
class GridPlan:
    """Where every card and section header is, in the grid's content coordinates."""

    cards: tuple[QRect, ...]
    headers: tuple[tuple[QRect, str], ...]
    tops: tuple[int, ...]  # each card's top, in row order (ascending)
    height: int
    columns: int
    card_width: int


def plan_grid(groups: Sequence[str], width: int, target: int,
              label: Callable[[str], str], spacing: int = SPACING,
              header_h: int = HEADER_H) -> GridPlan:
    """Cards ``target`` wide (grown by up to a quarter so the columns fill ``width``), in as
    many columns as fit; when any scene belongs to a template group, each run of one group
    starts a row under a header saying its name and size."""
    inner = max(1, width - spacing)
    columns = max(1, inner // (target + spacing))
    card_w = min(int(target * STRETCH), inner // columns - spacing)
    card_w = max(card_w, min(target, 120))
    card_h = card_height(card_w)
    sections = any(groups)
    runs: list[tuple[str, int, int]] = []  # group, first row, count
    for row, group in enumerate(groups):
        if runs and runs[-1][0] == group:
            runs[-1] = (group, runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((group, row, 1))
    if not sections:
        runs = [("", 0, len(groups))] if groups else []
    cards: list[QRect] = []
    headers: list[tuple[QRect, str]] = []
    y = spacing
    for group, _first, count in runs:
        if sections:
            headers.append((QRect(spacing, y, width - 2 * spacing, header_h),
                            f"{label(group)} · {counted(count, 'scene')}"))
            y += header_h
        for i in range(count):
            col = i % columns
            if col == 0 and i:
                y += card_h + spacing
            cards.append(QRect(spacing + col * (card_w + spacing), y, card_w, card_h))
        if count:
            y += card_h + spacing
    return GridPlan(tuple(cards), tuple(headers), tuple(c.top() for c in cards), y, columns,
                    card_w)


def group_label(group: str) -> str:
    """A section's name when the templates do not give one: its id in words."""
    return group.replace("-", " ").replace("_", " ").capitalize() if group else "Other scenes"


def paint_headers(painter: QPainter, palette: QPalette, font: QFont, plan: GridPlan,
                  offset: int, top: int, bottom: int) -> None:
    """The section headers between ``top`` and ``bottom`` (content coordinates), scrolled by
    ``offset``: the group's name and size over a rule."""
    text = palette.color(QPalette.ColorRole.Text)
    bold = QFont(font)
    bold.setBold(True)
    painter.setFont(bold)
    for rect, title in plan.headers:
        if rect.bottom() < top or rect.top() > bottom:
            continue
        r = rect.translated(0, -offset)
        painter.setPen(text)
        painter.drawText(r.adjusted(4, 0, 0, -4),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, title)
        painter.setPen(QPen(theme.blend(text, palette.color(QPalette.ColorRole.Base), 0.7), 1))
        painter.drawLine(r.left() + 4, r.bottom() - 1, r.right() - 4, r.bottom() - 1)


def paint_empty(painter: QPainter, palette: QPalette, area: QRect) -> None:
    """What an empty sheet's grid says: how to add scenes."""
    painter.setPen(theme.blend(palette.color(QPalette.ColorRole.Text),
                               palette.color(QPalette.ColorRole.Base), 0.35))
    painter.drawText(area.adjusted(24, 24, -24, -24),
                     Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, EMPTY_TEXT)


def paint_drop(painter: QPainter, palette: QPalette, plan: GridPlan, offset: int,
               row: int | None) -> None:
    """Where a dragged card would land: a bar before the card at ``row`` (after the last
    card past the end)."""
    if row is None or not plan.cards:
        return
    if row < len(plan.cards):
        card = plan.cards[row]
        x = card.left() - SPACING // 2
    else:
        card = plan.cards[-1]
        x = card.right() + SPACING // 2
    painter.fillRect(QRect(x - 1, card.top() - offset, 3, card.height()),
                     palette.color(QPalette.ColorRole.Highlight))
