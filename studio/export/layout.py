"""Page layout of character sheets and storyboards, as lists of drawing operations in points.

Laying out is separate from drawing: ``sheet_pages`` and ``storyboard_pages`` turn a
``SheetDocument`` into ``Page`` values (text runs, boxes and images at positions in points,
1/72 inch; ``studio.export.canvas``), and the PNG and PDF writers only carry the operations
out. So the PNG, the PDF and the preview in the Export dialog show the same page. What every
layout draws the same way (a scene's image and its status caption, the reference images,
titles and footers) is in ``studio.export.page_parts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from studio.export.canvas import INK, MUTED, Color, Page, PageWriter, Rect, margin_for
from studio.export.model import ExportCell, SheetDocument, SheetOptions, StoryboardOptions
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
    titled,
)
from studio.export.text import TextMeasure

# ----------------------------------------------------------------------------- character sheet


def _caption_lines(cell: ExportCell) -> list[tuple[str, bool, Color]]:
    """(text, bold, colour) of each caption line after the scene name (the status tag line,
    if any, comes after these)."""
    lines: list[tuple[str, bool, Color]] = []
    lines.append((f"Lighting: {cell.lighting or '—'}", False, MUTED))
    lines.append((f"Lens: {cell.lens or '—'}", False, MUTED))
    if cell.outfit:
        lines.append((f"Outfit: {cell.outfit}", False, MUTED))
    bits = [f"Seed {cell.seed}" if cell.seed is not None else "Seed —"]
    if cell.model:
        bits.append(cell.model)
    if cell.provider:
        bits.append(cell.provider)
    lines.append((" · ".join(bits), False, MUTED))
    return lines


def _page_count(image_h: float, caption_hs: Sequence[float], gap: float, first_top: float,
                cont_top: float, bottom: float) -> int:
    pages, top, on_page = 1, first_top, 0
    for caption_h in caption_hs:
        if on_page and top + image_h + caption_h > bottom:
            pages, top, on_page = pages + 1, cont_top, 0
        top += image_h + caption_h + gap
        on_page += 1
    return pages


@dataclass(frozen=True, slots=True)
class GridStyle:
    """What a grid layout shows: ``details`` adds each cell's lighting, lens and seed lines
    under its name (the character sheet); without them the settings every cell shares are
    named once in the header (the expression sheet)."""

    kind: str = "character sheet"
    details: bool = True


def sheet_pages(doc: SheetDocument, options: SheetOptions, measure: TextMeasure, *,
                continuous: bool = False, style: GridStyle | None = None) -> list[Page]:
    """The character sheet on pages of ``options``' size; ``continuous`` makes one page as
    tall as the content (the PNG). ``style`` makes the same grid an expression sheet."""
    style = style or GridStyle()
    page_w, page_h = options.page_points
    margin = margin_for(page_w, page_h)
    content_w = page_w - 2 * margin
    footer_h = margin * 0.5 + measure.line_height(7.0)
    cols = options.columns
    gap_x = max(8.0, min(16.0, content_w * 0.025))
    gap_y = gap_x * 1.2
    cell_w = (content_w - gap_x * (cols - 1)) / cols
    name_size = max(6.5, min(11.0, cell_w / 20))
    detail_size = max(5.5, name_size - 1.5)
    shared = "" if style.details else shared_settings(doc)

    pages: list[PageWriter] = []

    def new_page(first: bool) -> tuple[PageWriter, float]:
        w = PageWriter(measure, page_w, page_h)
        pages.append(w)
        top = margin
        if first:
            top = w.paragraph(margin, top, doc.display_title, 20.0, content_w, bold=True,
                              max_lines=2)
            top = w.line(margin, top + 2, header_facts(doc), 9.5, color=MUTED,
                         max_width=content_w)
            if shared:
                top = w.line(margin, top, shared, 9.5, color=MUTED, max_width=content_w)
            refs_w = references_width(doc.references, content_w * 0.45)
            anchor_top = top + 6
            top = w.line(margin, anchor_top, "ANCHOR", 7.0, bold=True, color=MUTED)
            top = w.paragraph(margin, top, doc.anchor, 9.5,
                              content_w - (refs_w + 16 if refs_w else 0), max_lines=6)
            if refs_w:  # the reference images beside the anchor
                top = max(top, draw_references(w, doc.references,
                                               margin + content_w - refs_w, anchor_top, refs_w))
        else:
            top = w.line(margin, top, f"{doc.display_title} (continued)", 11.0, bold=True,
                         max_width=content_w)
        w.rule(margin, top + 5, content_w)
        return w, top + 5 + 12

    writer, top = new_page(True)
    first_top = top
    bottom_limit = page_h - margin - footer_h
    rows = [doc.cells[i : i + cols] for i in range(0, len(doc.cells), cols)]
    if not rows:
        writer.line(margin, top, "This sheet has no scenes yet.", 10.0, color=MUTED)
    name_lines = [measure.wrap(c.scene, name_size, cell_w, bold=True, max_lines=2)
                  for c in doc.cells]
    caption_lines = [_caption_lines(c) if style.details else [] for c in doc.cells]
    tag_lines = [1 if cell_status(c) else 0 for c in doc.cells]
    caption_hs = [
        max(len(name_lines[j]) for j in range(r * cols, r * cols + len(row)))
        * measure.line_height(name_size)
        + max(len(caption_lines[j]) + tag_lines[j]
              for j in range(r * cols, r * cols + len(row)))
        * measure.line_height(detail_size)
        + 4
        for r, row in enumerate(rows)
    ]
    # One image box for the whole grid, as tall as the tallest image needs (within reason),
    # so the sheet reads as a contact sheet.
    aspects = [a for a in (image_aspect(c) for c in doc.cells) if a is not None]
    image_h = cell_w * max(0.5, min(1.6, max(aspects) if aspects else 4 / 3))
    if not continuous and rows:
        # Never let one row be taller than a page; then shrink the images (down to 55 %)
        # when that saves pages, e.g. puts a four-scene grid on one page.
        image_h = max(36.0, min(image_h, bottom_limit - first_top - max(caption_hs)))
        cont_top = margin + measure.line_height(11.0) + 5 + 12
        natural = image_h
        best = (_page_count(natural, caption_hs, gap_y, first_top, cont_top, bottom_limit),
                natural)
        for step in range(1, 10):
            candidate = natural * (1 - 0.05 * step)
            count = _page_count(candidate, caption_hs, gap_y, first_top, cont_top,
                                bottom_limit)
            if count < best[0]:
                best = (count, candidate)
        image_h = best[1]
    on_page = 0
    for r, row in enumerate(rows):
        caption_h = caption_hs[r]
        if not continuous and on_page and top + image_h + caption_h > bottom_limit:
            writer, top = new_page(False)
            on_page = 0
        on_page += 1
        for i, cell in enumerate(row):
            j = r * cols + i
            x = margin + i * (cell_w + gap_x)
            draw_image(writer, Rect(x, top, cell_w, image_h), cell, panel=False)
            y = top + image_h + 4
            for line in name_lines[j]:
                y = writer.line(x, y, line, name_size, bold=True)
            for text, bold, color in caption_lines[j]:
                y = writer.line(x, y, text, detail_size, bold=bold, color=color,
                                max_width=cell_w)
            status_line(writer, x, y, cell, detail_size, cell_w)
        top += image_h + caption_h + gap_y
    if continuous:
        height = top - gap_y + 10 + footer_h + margin
        for w in pages:
            w.height = max(height, 0.0)
        footer(pages[0], doc, style.kind, margin, 1, None)
        return [pages[0].page()]
    for number, w in enumerate(pages, start=1):
        footer(w, doc, style.kind, margin, number, len(pages))
    return [w.page() for w in pages]


# ----------------------------------------------------------------------------- storyboard


def storyboard_grid(panels: int, landscape: bool) -> tuple[int, int]:
    """(columns, rows) for a number of panels per page."""
    wide = {1: (1, 1), 2: (2, 1), 3: (3, 1), 4: (2, 2), 6: (3, 2), 8: (4, 2), 9: (3, 3)}
    tall = {1: (1, 1), 2: (1, 2), 3: (1, 3), 4: (2, 2), 6: (2, 3), 8: (2, 4), 9: (3, 3)}
    return (wide if landscape else tall)[panels]


def _panel_text(w: PageWriter, x: float, top: float, width: float, bottom: float, number: int,
                cell: ExportCell, size: float) -> None:
    """The panel's shot label (a dark "SHOT n" tag and the scene's name), its camera and
    lighting, seed and model, status, and as much of its notes as fits."""
    small = max(5.5, size - 1.5)
    right = w.tag(x, top, f"SHOT {number}", size, INK, max_width=width)
    gap = size * 0.5
    if right + gap + w.m.width(cell.scene, size, True) <= x + width:
        w.line(right + gap, top, cell.scene, size, bold=True)
        top += w.m.line_height(size)
    else:  # a narrow panel: the name under its shot label, wrapped
        top = w.paragraph(x, top + w.m.line_height(size), cell.scene, size, width, bold=True,
                          max_lines=2)
    details = " · ".join(p for p in (cell.framing, cell.lighting, cell.lens) if p)
    if details:
        top = w.paragraph(x, top, details, small, width, color=MUTED, max_lines=2)
    bits = [f"Seed {cell.seed}" if cell.seed is not None else "Seed —"]
    bits += [p for p in (cell.model, cell.provider) if p]
    top = w.line(x, top, " · ".join(bits), small, color=MUTED, max_width=width)
    top = status_line(w, x, top, cell, small, width)
    if cell.notes:
        room = int((bottom - top - 3) // w.m.line_height(size - 0.5))
        if room > 0:
            w.paragraph(x, top + 3, cell.notes, size - 0.5, width, max_lines=room)


def storyboard_pages(doc: SheetDocument, options: StoryboardOptions, measure: TextMeasure, *,
                     continuous: bool = False) -> list[Page]:
    """Scenes in sheet order, ``options.panels_per_page`` panels a page, each with its shot
    label, caption and notes; ``continuous`` puts every panel, at the size a page gives it,
    on one page as tall as they need (the PNG)."""
    page_w, page_h = options.page_points
    margin = margin_for(page_w, page_h)
    content_w = page_w - 2 * margin
    footer_h = margin * 0.5 + measure.line_height(7.0)
    cols, rows = storyboard_grid(options.panels_per_page, options.landscape)
    per_page = cols * rows
    header_h = measure.line_height(13.0) + 3 + 10
    gap = max(10.0, min(18.0, content_w * 0.025))
    cell_w = (content_w - gap * (cols - 1)) / cols
    cell_h = (page_h - margin - footer_h - margin - header_h - gap * (rows - 1)) / rows
    if continuous:
        per_page = max(1, len(doc.cells))
        used_rows = max(1, -(-len(doc.cells) // cols))
        page_h = margin + header_h + used_rows * cell_h + (used_rows - 1) * gap + footer_h \
            + margin
    chunks: Sequence[tuple[ExportCell, ...]] = [
        doc.cells[i : i + per_page] for i in range(0, len(doc.cells), per_page)
    ] or [()]
    size = max(7.0, min(11.0, min(cell_w, cell_h * 1.4) / 26))
    pages: list[PageWriter] = []
    for page_index, chunk in enumerate(chunks):
        w = PageWriter(measure, page_w, page_h)
        pages.append(w)
        top = w.line(margin, margin, titled(doc, "storyboard"), 13.0, bold=True,
                     max_width=content_w * 0.62)
        facts = f"{doc.character} · seed {doc.seed}"
        if doc.anchor_version is not None:
            facts += f" · anchor v{doc.anchor_version}"
        w.right_line(page_w - margin, margin + 3, facts, 8.5)
        w.rule(margin, top + 3, content_w)
        grid_top = top + 3 + 10
        if not chunk:
            w.line(margin, grid_top, "This sheet has no scenes yet.", 10.0, color=MUTED)
        for i, cell in enumerate(chunk):
            number = page_index * per_page + i + 1
            cx = margin + (i % cols) * (cell_w + gap)
            cy = grid_top + (i // cols) * (cell_h + gap)
            aspect = image_aspect(cell) or 0.75
            side_by_side = cell_w / cell_h > 1.4
            if side_by_side:
                image_w = min(cell_h / aspect, cell_w * 0.62)
                box = Rect(cx, cy, image_w, cell_h)
                draw_image(w, box, cell, panel=True)
                text_x = cx + image_w + gap
                _panel_text(w, text_x, cy, cx + cell_w - text_x, cy + cell_h, number, cell,
                            size)
            else:
                text_h = measure.line_height(size) * 2 + measure.line_height(size - 1.5) * 3
                notes_h = measure.line_height(size - 0.5) * (3 if cell.notes else 0)
                image_h = max(cell_h * 0.35, cell_h - text_h - notes_h - 6)
                box = Rect(cx, cy, cell_w, image_h)
                draw_image(w, box, cell, panel=True)
                _panel_text(w, cx, cy + image_h + 4, cell_w, cy + cell_h, number, cell, size)
    for number, w in enumerate(pages, start=1):
        footer(w, doc, "storyboard", margin, number, None if continuous else len(pages))
    return [w.page() for w in pages]
