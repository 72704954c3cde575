"""What every layout draws the same way: a scene's image or its placeholder, the status
caption under it (preview, out of date), the character's reference images beside the anchor,
the title naming the kind of page, the facts under it and the footer."""

from __future__ import annotations

from collections.abc import Sequence

from studio.core.request import Stage
from studio.export.canvas import (
    BOX,
    FRAME,
    MUTED,
    PREVIEW,
    STALE,
    BoxOp,
    Color,
    ImageOp,
    PageWriter,
    Rect,
    fit,
)
from studio.export.images import UnreadableImageError, image_size
from studio.export.model import ExportCell, ExportReference, SheetDocument


def image_aspect(cell: ExportCell) -> float | None:
    """Height over width of the cell's image, or None when it has none (or it is unreadable)."""
    if cell.image is None:
        return None
    try:
        w, h = image_size(cell.image)
    except UnreadableImageError:
        return None
    return h / w if w else None


def cell_status(cell: ExportCell) -> tuple[str, str, Color] | None:
    """(tag, explanation, colour) for a cell whose image is not a current final."""
    if cell.image is None:
        return None
    if cell.out_of_date:
        why = " and ".join({"anchor": "anchor changed", "scene": "scene changed"}.get(r, r)
                           for r in cell.out_of_date)
        if cell.is_preview_stand_in:
            why += "; a preview, no final yet"
        return "OUT OF DATE", why, STALE
    if cell.is_preview_stand_in:
        return "PREVIEW", "no final yet", PREVIEW
    return None


def status_line(w: PageWriter, x: float, top: float, cell: ExportCell, size: float,
                width: float) -> float:
    """The cell's status as a coloured tag and its explanation on one caption line, below the
    image (never on it); returns the next line's top (``top`` when there is nothing to say)."""
    status = cell_status(cell)
    if status is None:
        return top
    word, why, color = status
    right = w.tag(x, top, word, size, color, max_width=width)
    gap = size * 0.4
    room = x + width - right - gap
    # The explanation when it fits, cut when most of it does, else the tag alone says it.
    if room > 0 and len(w.m.elide(why, size, room, True)) >= min(len(why), 10):
        w.line(right + gap, top, why, size, bold=True, color=color, max_width=room)
    return top + w.m.line_height(size)


def draw_image(w: PageWriter, box: Rect, cell: ExportCell, *, panel: bool,
               bottom: bool | None = None) -> Rect | None:
    """The cell's image fitted in ``box`` (sitting on its bottom edge unless a ``panel``), or a
    placeholder box; returns where the image went. A storyboard ``panel`` has a framed light
    ground. Nothing is drawn over the image: status labels go in the caption."""
    size: tuple[int, int] | None = None
    if cell.image is not None:
        try:
            size = image_size(cell.image)
        except UnreadableImageError:
            size = None
    if panel or size is None:
        w.ops.append(BoxOp(box, fill=BOX))
    if cell.image is None or size is None:
        text = "Not rendered yet" if cell.image is None else "Image could not be read"
        fs = max(6.0, min(10.0, box.w / 16))
        tw = min(w.m.width(text, fs), box.w - 8)
        w.line(box.x + (box.w - tw) / 2, box.y + box.h / 2 - w.m.line_height(fs) / 2, text, fs,
               color=MUTED, max_width=box.w - 8)
        w.ops.append(BoxOp(box, stroke=FRAME))
        return None
    placed = fit(box, size, bottom=not panel if bottom is None else bottom)
    w.ops.append(ImageOp(placed, cell.image, cell.scene))
    if panel:
        w.ops.append(BoxOp(box, stroke=FRAME))
    return placed


#: The most reference images shown beside the anchor, and their height in points.
REFERENCES_SHOWN = 4
REFERENCE_THUMB_H = 72.0
_REFERENCE_GAP = 8.0
_REFERENCE_EDGE: Color = (150, 150, 160)


def _reference_ratio(data: bytes) -> float:
    try:
        width, height = image_size(data)
    except UnreadableImageError:
        return 1.0
    return width / height if height else 1.0


def references_width(refs: Sequence[ExportReference], most: float) -> float:
    """How wide the row of reference thumbnails is, at most ``most`` points (0: none)."""
    refs = refs[:REFERENCES_SHOWN]
    if not refs:
        return 0.0
    natural = (sum(_reference_ratio(r.image) * REFERENCE_THUMB_H for r in refs)
               + _REFERENCE_GAP * (len(refs) - 1))
    return min(natural, most)


def draw_references(w: PageWriter, refs: Sequence[ExportReference], x: float, top: float,
                    width: float) -> float:
    """The character's reference images in a row from ``x``, within ``width`` points, each
    framed and captioned with its role (the model sheet and the character sheet show them
    beside the anchor); returns the row's bottom."""
    refs = refs[:REFERENCES_SHOWN]
    if not refs:
        return top
    ratios = [_reference_ratio(r.image) for r in refs]
    natural = sum(r * REFERENCE_THUMB_H for r in ratios) + _REFERENCE_GAP * (len(refs) - 1)
    scale = min(1.0, width / max(1.0, natural))
    for ref, ratio in zip(refs, ratios, strict=True):
        box = Rect(x, top, ratio * REFERENCE_THUMB_H * scale, REFERENCE_THUMB_H * scale)
        w.ops.append(ImageOp(box, ref.image, ref.role or "reference"))
        w.ops.append(BoxOp(box, stroke=_REFERENCE_EDGE, stroke_width=0.4))
        w.line(x, box.bottom + 2, ref.role.capitalize() or "Reference", 6.5, color=MUTED,
               max_width=box.w + _REFERENCE_GAP)
        x += box.w + _REFERENCE_GAP
    return top + REFERENCE_THUMB_H * scale + 2 + w.m.line_height(6.5)


def titled(doc: SheetDocument, kind: str) -> str:
    """The sheet's title naming the kind of page, unless it is the character sheet or the
    title already says it ("Mara: turnaround" stays as it is)."""
    title = doc.display_title
    if kind == "character sheet" or kind.split()[0].lower() in title.lower():
        return title
    return f"{title} — {kind}"


def footer(w: PageWriter, doc: SheetDocument, kind: str, margin: float, number: int,
            total: int | None) -> None:
    size = 7.0
    top = w.height - margin * 0.75 - w.m.line_height(size) / 2
    heading = titled(doc, kind)
    left = " · ".join(p for p in (heading, doc.producer, doc.exported) if p)
    width = w.width - 2 * margin
    page_text = f"Page {number} of {total}" if total else ""
    w.line(margin, top, left, size, color=MUTED,
           max_width=width - w.m.width(page_text, size) - 12)
    if page_text:
        w.right_line(w.width - margin, top, page_text, size)


def header_facts(doc: SheetDocument) -> str:
    facts = [f"Character: {doc.character}", f"Seed {doc.seed}"]
    if doc.anchor_version is not None:
        facts.append(f"Anchor version {doc.anchor_version}")
    finals = sum(1 for c in doc.cells if c.image is not None and c.stage is Stage.FINAL)
    previews = sum(1 for c in doc.cells if c.is_preview_stand_in)
    counted = f"{len(doc.cells)} scenes: {finals} final"
    if previews:
        counted += f", {previews} preview"
    facts.append(counted)
    return "   ·   ".join(facts)


def shared_settings(doc: SheetDocument) -> str:
    """"Lighting: … · Lens: … · Framing: …" for what every cell shares, else empty."""
    bits = []
    for word, values in (("Lighting", {c.lighting for c in doc.cells}),
                         ("Lens", {c.lens for c in doc.cells}),
                         ("Framing", {c.framing for c in doc.cells})):
        if len(values) == 1 and next(iter(values)):
            bits.append(f"{word}: {next(iter(values))}")
    return "   ·   ".join(bits)
