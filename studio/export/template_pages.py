"""Page layouts that fit the sheet templates: the turnaround, the expression sheet and the model
sheet, as lists of drawing operations in points (see ``studio.export.canvas``).

A turnaround is drawn as a row at one scale (every image the same height) with head-height
guide lines across it: evenly spaced horizontal lines dividing the frame into ``HEAD_UNITS``
head heights, numbered in the margin, the way turnarounds are drawn by hand. The expression
sheet is the character-sheet grid with only a label under each cell and the settings every
cell shares named once. The model sheet puts the anchor (and, where given, reference images)
above the sheet's sections (one per template group: the turnaround row, the expressions, ...)
and a colour palette strip taken from the finals.

Labels go under the images, never on them; only the guide lines cross an image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from studio.core.request import Stage
from studio.export.canvas import INK, MUTED, BoxOp, Color, Page, PageWriter, Rect, margin_for
from studio.export.images import palette
from studio.export.layout import GridStyle, sheet_pages
from studio.export.model import ExportCell, SheetDocument, SheetOptions
from studio.export.page_parts import (
    cell_status,
    draw_image,
    draw_references,
    footer,
    header_facts,
    image_aspect,
    references_width,
    shared_settings,
    status_line,
)
from studio.export.text import TextMeasure

#: The turnaround frame's height in head heights: a figure about 7.5 heads tall with headroom.
HEAD_UNITS = 8
GUIDE: Color = (110, 155, 215)
SWATCH_EDGE: Color = (150, 150, 160)
#: Template groups drawn as a turnaround row (with guide lines) wherever they appear.
TURN_GROUPS = frozenset({"turnaround", "head-turn"})
_MIN_CELL_W = 64.0
#: The narrowest a model sheet shrinks a cell to fit one page (its label's type shrinks too).
_MIN_FITTED_W = 54.0
_GUTTER = 14.0
_NAME_LINES = 3


def section_title(group: str) -> str:
    """A template group as a section heading: "head-turn" -> "Head turn"."""
    return group.replace("-", " ").capitalize() if group else "Scenes"


def sections(cells: Sequence[ExportCell]) -> list[tuple[str, list[ExportCell]]]:
    """The cells by group, each group where its first cell is in the sheet."""
    found: dict[str, list[ExportCell]] = {}
    for cell in cells:
        found.setdefault(cell.group, []).append(cell)
    return list(found.items())


def _ratios(cells: Sequence[ExportCell]) -> list[float]:
    """Width over height of each cell's image; an unrendered cell takes the others' median."""
    known = [image_aspect(c) for c in cells]
    present = sorted(1 / a for a in known if a)
    default = present[len(present) // 2] if present else 0.75
    return [1 / a if a else default for a in known]


@dataclass(frozen=True, slots=True)
class _Rows:
    """A section as rows of cells at one scale: ``height`` is every image's height."""

    rows: tuple[tuple[int, ...], ...]  # indexes into the section's cells
    ratios: tuple[float, ...]
    height: float

    def width(self, row: Sequence[int], gap: float) -> float:
        return sum(self.ratios[i] * self.height for i in row) + gap * (len(row) - 1)


def _plan_rows(cells: Sequence[ExportCell], width: float, gap: float,
               max_height: float, max_per_row: int = 8) -> _Rows:
    """As few rows as the cells fit in at a readable size, every image the same height."""
    ratios = _ratios(cells)
    n = len(cells)
    per_row = max(1, min(max_per_row, n, int((width + gap) // (_MIN_CELL_W + gap))))
    count = -(-n // per_row)
    per_row = -(-n // count)  # spread them evenly: 12 cells at 8 a row are two rows of 6
    rows = tuple(tuple(range(i, min(n, i + per_row))) for i in range(0, n, per_row))
    fits = [(width - gap * (len(row) - 1)) / sum(ratios[i] for i in row) for row in rows]
    return _Rows(rows, tuple(ratios), max(24.0, min([max_height, *fits])))


class _Flow:
    """Places blocks down the pages of a layout, starting a new page when one does not fit
    (or, ``continuous``, growing one page to hold them all)."""

    def __init__(self, doc: SheetDocument, measure: TextMeasure, size: tuple[float, float],
                 kind: str, continuous: bool) -> None:
        self.doc = doc
        self.m = measure
        self.page_w, self.page_h = size
        self.margin = margin_for(*size)
        self.content_w = self.page_w - 2 * self.margin
        self.kind = kind
        self.continuous = continuous
        self.footer_h = self.margin * 0.5 + measure.line_height(7.0)
        self.pages: list[PageWriter] = []
        self.w = PageWriter(measure, self.page_w, self.page_h)
        self.pages.append(self.w)
        self.top = self.margin
        self.page_top = self.margin

    @property
    def bottom(self) -> float:
        return self.page_h - self.margin - self.footer_h

    @property
    def room(self) -> float:
        return self.bottom - self.top

    def need(self, height: float) -> None:
        """Start a new page unless ``height`` fits below (a fresh page takes anything)."""
        if self.continuous or self.top + height <= self.bottom or self.top <= self.page_top:
            return
        self.w = PageWriter(self.m, self.page_w, self.page_h)
        self.pages.append(self.w)
        top = self.w.line(self.margin, self.margin, f"{self.doc.display_title} (continued)",
                          11.0, bold=True, max_width=self.content_w)
        self.w.rule(self.margin, top + 5, self.content_w)
        self.top = self.page_top = top + 5 + 12

    def header(self, shared: str, legend: str = "", anchor_lines: int = 4) -> None:
        w, m, x, width = self.w, self.margin, self.margin, self.content_w
        top = w.paragraph(x, m, self.doc.display_title, 20.0, width, bold=True, max_lines=2)
        top = w.line(x, top + 2, header_facts(self.doc), 9.5, color=MUTED, max_width=width)
        if shared:
            top = w.line(x, top, shared, 9.5, color=MUTED, max_width=width)
        if anchor_lines:
            top = w.line(x, top + 6, "ANCHOR", 7.0, bold=True, color=MUTED)
            top = w.paragraph(x, top, self.doc.anchor, 9.5, width, max_lines=anchor_lines)
        if legend:
            top = w.line(x, top + 2, legend, 7.5, color=GUIDE, max_width=width)
        w.rule(x, top + 5, width)
        self.top = self.page_top = top + 5 + 12

    def finish(self) -> list[Page]:
        if self.continuous:
            self.w.height = self.top + 10 + self.footer_h + self.margin
            footer(self.w, self.doc, self.kind, self.margin, 1, None)
            return [self.w.page()]
        for number, w in enumerate(self.pages, start=1):
            footer(w, self.doc, self.kind, self.margin, number, len(self.pages))
        return [w.page() for w in self.pages]


@dataclass(frozen=True, slots=True)
class _Captions:
    name_size: float
    tag_size: float
    name_lines: int

    def height(self, m: TextMeasure, with_tag: bool) -> float:
        return (4 + self.name_lines * m.line_height(self.name_size)
                + (m.line_height(self.tag_size) if with_tag else 0.0))


def _captions(cells: Sequence[ExportCell], plan: _Rows, m: TextMeasure,
              gap: float) -> _Captions:
    narrowest = min(plan.ratios[i] * plan.height for row in plan.rows for i in row)
    width = narrowest
    name_size = max(6.0, min(10.0, (narrowest + gap) / 11))

    words = {word for c in cells for word in c.scene.split()}

    def lines_at(size: float) -> int:
        return max(len(m.wrap(c.scene, size, width, bold=True)) for c in cells)

    def too_big(size: float) -> bool:
        return (lines_at(size) > _NAME_LINES
                or any(m.width(word, size, True) > width for word in words))

    # Smaller type before a label is cut or a word broken: every label reads in full where
    # it can.
    while name_size > 5.0 and too_big(name_size):
        name_size -= 0.5
    return _Captions(name_size, max(5.0, name_size - 1.5), min(_NAME_LINES, lines_at(name_size)))


def _section(flow: _Flow, title: str, cells: Sequence[ExportCell], plan: _Rows,
             guides: bool, gap: float) -> None:
    """The section's title, then its rows of images with their labels under them; rows of a
    turnaround group get the head-height guide lines."""
    m, w = flow.m, flow.w
    caps = _captions(cells, plan, m, gap)
    with_tag = any(cell_status(c) is not None for c in cells)
    caption_h = caps.height(m, with_tag)
    title_h = m.line_height(8.0) + 3 if title else 0.0
    left = flow.margin + (_GUTTER if guides else 0.0)
    width = flow.content_w - (_GUTTER if guides else 0.0)
    for r, row in enumerate(plan.rows):
        flow.need((title_h if r == 0 else 0.0) + plan.height + caption_h)
        w = flow.w
        if r == 0 and title:
            w.line(flow.margin, flow.top, title.upper(), 8.0, bold=True, color=MUTED)
            flow.top += title_h
        top = flow.top
        x = left + (width - plan.width(row, gap)) / 2
        start = x
        for i in row:
            cell = cells[i]
            cell_w = plan.ratios[i] * plan.height
            draw_image(w, Rect(x, top, cell_w, plan.height), cell, panel=False)
            label_w = cell_w
            w.paragraph(x, top + plan.height + 4, cell.scene, caps.name_size, label_w,
                        bold=True, max_lines=_NAME_LINES)
            status_line(w, x, top + plan.height + 4
                        + caps.name_lines * m.line_height(caps.name_size), cell, caps.tag_size,
                        label_w)
            x += cell_w + gap
        if guides:
            _guides(w, start, x - gap, top, plan.height, m)
        flow.top = top + plan.height + caption_h + gap * 0.6


def _guides(w: PageWriter, start: float, end: float, top: float, height: float,
            m: TextMeasure) -> None:
    """Head-height lines across the row (over the images, on purpose), numbered at the left."""
    step = height / HEAD_UNITS
    size = max(5.0, min(7.0, step * 0.6))
    for k in range(HEAD_UNITS + 1):
        y = top + k * step
        w.ops.append(BoxOp(Rect(start - 4, y - 0.25, end - start + 8, 0.5), fill=GUIDE,
                           kind="guide"))
        if k < HEAD_UNITS:
            label = str(k + 1)
            w.line(start - 6 - m.width(label, size), y + (step - m.line_height(size)) / 2,
                   label, size, color=GUIDE)


def _row_gap(flow: _Flow) -> float:
    return max(8.0, min(14.0, flow.content_w * 0.018))


def _legend() -> str:
    return (f"Blue lines: head heights (each frame is {HEAD_UNITS} heads tall), so every angle "
            "is checked at one scale")


# ----------------------------------------------------------------------------- turnaround


def turnaround_pages(doc: SheetDocument, options: SheetOptions, measure: TextMeasure, *,
                     continuous: bool = False) -> list[Page]:
    """Each group of the sheet as a row at one scale under head-height guide lines (a
    turnaround sheet is one row: front, three-quarter, profile, three-quarter back, back)."""
    flow = _Flow(doc, measure, options.page_points, "turnaround", continuous)
    flow.header(shared_settings(doc), _legend(), anchor_lines=3)
    gap = _row_gap(flow)
    groups = sections(doc.cells)
    if not groups:
        flow.w.line(flow.margin, flow.top, "This sheet has no scenes yet.", 10.0, color=MUTED)
    for group, cells in groups:
        title = section_title(group) if len(groups) > 1 else ""
        caps_room = measure.line_height(10.0) * 2 + measure.line_height(8.5) + 16
        max_h = flow.bottom - flow.page_top - caps_room - (measure.line_height(8.0) + 3)
        if continuous:
            max_h = min(max_h, flow.page_h * 0.6)
        plan = _plan_rows(cells, flow.content_w - _GUTTER, gap, max_h)
        _section(flow, title, cells, plan, guides=True, gap=gap)
    return flow.finish()


# ----------------------------------------------------------------------------- expressions


def expressions_pages(doc: SheetDocument, options: SheetOptions, measure: TextMeasure, *,
                      continuous: bool = False) -> list[Page]:
    """A labelled grid of the faces: the scene name (and status) under each, the settings they
    share named once at the top."""
    return sheet_pages(doc, options, measure, continuous=continuous,
                       style=GridStyle(kind="expressions", details=False))


# ----------------------------------------------------------------------------- model sheet


def _palette_source(doc: SheetDocument) -> tuple[str, tuple[bytes, ...]]:
    finals = tuple(c.image for c in doc.cells if c.image is not None and c.stage is Stage.FINAL)
    if finals:
        return "from the finals", finals
    previews = tuple(c.image for c in doc.cells if c.image is not None)
    return ("from the previews (no finals yet)", previews) if previews else ("", ())


def _palette_strip(flow: _Flow, count: int = 8) -> None:
    source, images = _palette_source(flow.doc)
    m = flow.m
    swatch_h = 26.0
    label_h = m.line_height(8.0) + 3
    flow.need(label_h + swatch_h + m.line_height(6.5) + 6)
    w, x = flow.w, flow.margin
    heading = "PALETTE" + (f" · {source}" if source else "")
    w.line(x, flow.top, heading, 8.0, bold=True, color=MUTED, max_width=flow.content_w)
    flow.top += label_h
    colours = palette(images, count) if images else ()
    if not colours:
        flow.top = w.line(x, flow.top, "No renders yet: the palette comes from the finals.",
                          8.5, color=MUTED)
        return
    gap = 6.0
    swatch_w = min(64.0, (flow.content_w - gap * (count - 1)) / count)
    for rgb, share in colours:
        w.ops.append(BoxOp(Rect(x, flow.top, swatch_w, swatch_h), fill=rgb,
                           stroke=SWATCH_EDGE, stroke_width=0.4))
        code = "#{:02X}{:02X}{:02X}".format(*rgb)
        percent = f"{round(share * 100)}%" if share >= 0.005 else "<1%"
        w.line(x, flow.top + swatch_h + 2, f"{code} {percent}", 6.5, color=INK,
               max_width=swatch_w + gap)
        x += swatch_w + gap
    flow.top += swatch_h + 2 + m.line_height(6.5) + 6


def _anchor_block(flow: _Flow) -> None:
    """The anchor text, with the character's reference images (when there are any) to its
    right, each captioned with its role."""
    doc, w = flow.doc, flow.w
    refs = doc.references
    refs_w = references_width(refs, flow.content_w * 0.45)
    text_w = flow.content_w - (refs_w + 16 if refs else 0)
    x, top = flow.margin, flow.top
    y = w.line(x, top, "ANCHOR", 7.0, bold=True, color=MUTED)
    y = w.paragraph(x, y, doc.anchor, 9.5, text_w, max_lines=5)
    bottom = y
    if refs:
        bottom = max(bottom, draw_references(w, refs, flow.margin + flow.content_w - refs_w,
                                             top, refs_w))
    w.rule(flow.margin, bottom + 5, flow.content_w)
    flow.top = flow.page_top = bottom + 5 + 12


def model_sheet_pages(doc: SheetDocument, options: SheetOptions, measure: TextMeasure, *,
                      continuous: bool = False) -> list[Page]:
    """The model sheet: the anchor (and references), then every group of the sheet (the
    turnaround row with its guide lines, the expressions, ...), each at one scale, sized to
    share one page where they can, and a colour palette strip taken from the finals."""
    flow = _Flow(doc, measure, options.page_points, "model sheet", continuous)
    flow.header(shared_settings(doc), anchor_lines=0)
    _anchor_block(flow)
    gap = _row_gap(flow)
    groups = sections(doc.cells)
    if not groups:
        flow.w.line(flow.margin, flow.top, "This sheet has no scenes yet.", 10.0, color=MUTED)
        flow.top += measure.line_height(10.0) + 8
    palette_h = measure.line_height(8.0) + 3 + 26 + 2 + measure.line_height(6.5) + 6
    fixed = palette_h
    turn = [g for g, _ in groups if g in TURN_GROUPS]
    natural: list[_Rows] = []
    for group, cells in groups:
        is_turn = group in TURN_GROUPS
        width = flow.content_w - (_GUTTER if is_turn else 0.0)
        share = 0.42 if is_turn else (0.3 if turn else 0.4)
        plan = _plan_rows(cells, width, gap, (flow.bottom - flow.page_top) * share,
                          max_per_row=8)
        natural.append(plan)
        caps = _captions(cells, plan, measure, gap)
        with_tag = any(cell_status(c) is not None for c in cells)
        fixed += (measure.line_height(8.0) + 3 + len(plan.rows)
                  * (caps.height(measure, with_tag) + gap * 0.6))
    images_h = sum(len(p.rows) * p.height for p in natural)
    scale = 1.0
    if not continuous and images_h:
        # Shrink every section alike so the whole model sheet shares one page where it can,
        # but never so far that a cell gets too narrow for its label: then it flows on.
        narrowest = min(p.ratios[i] * p.height for p in natural for row in p.rows
                        for i in row)
        floor = min(1.0, max(0.3, _MIN_FITTED_W / narrowest))
        scale = max(floor, min(1.0, (flow.bottom - flow.top - fixed) / images_h))
    for (group, cells), plan in zip(groups, natural, strict=True):
        scaled = _Rows(plan.rows, plan.ratios, plan.height * scale)
        _section(flow, section_title(group), cells, scaled, guides=group in TURN_GROUPS,
                 gap=gap)
    _palette_strip(flow)
    return flow.finish()
