"""A page as drawing operations in points (1/72 inch), and the writer every layout fills one
with.

A ``Page`` holds text runs, boxes and images at positions in points; the PNG and PDF writers
only carry its operations out, so the PNG, the PDF and the Export dialog's preview show the
same page. ``PageWriter`` is the pen the layouts (``studio.export.layout``,
``studio.export.template_pages``) draw with: lines of text, paragraphs, rules and label tags.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.export.text import TextMeasure

Color = tuple[int, int, int]

INK: Color = (28, 28, 34)
MUTED: Color = (105, 105, 116)
RULE: Color = (200, 200, 208)
BOX: Color = (238, 238, 242)
FRAME: Color = (186, 186, 196)
PREVIEW: Color = (204, 102, 0)
STALE: Color = (178, 34, 34)
WHITE: Color = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(frozen=True, slots=True)
class TextOp:
    """One line of text; ``y`` is its baseline."""

    x: float
    y: float
    text: str
    size: float
    bold: bool = False
    color: Color = INK


@dataclass(frozen=True, slots=True)
class BoxOp:
    rect: Rect
    fill: Color | None = None
    stroke: Color | None = None
    stroke_width: float = 0.6
    #: What the box is for, where a reader of the page needs to know: "guide" for the
    #: head-height lines drawn across a turnaround's images on purpose, "tag" for a label box.
    kind: str = ""


@dataclass(frozen=True, slots=True)
class ImageOp:
    """An image drawn into ``rect`` (already fitted to its aspect ratio)."""

    rect: Rect
    image: bytes
    label: str


Op = TextOp | BoxOp | ImageOp


@dataclass(frozen=True, slots=True)
class Page:
    width: float
    height: float
    ops: tuple[Op, ...]

    @property
    def image_count(self) -> int:
        return sum(1 for op in self.ops if isinstance(op, ImageOp))



def margin_for(width: float, height: float) -> float:
    return max(24.0, min(48.0, min(width, height) * 0.06))


def fit(rect: Rect, size: tuple[int, int], *, bottom: bool = False) -> Rect:
    """The largest rectangle of ``size``'s aspect ratio in ``rect``, centred (or centred
    horizontally and sitting on the bottom edge)."""
    iw, ih = size
    if iw <= 0 or ih <= 0:
        return rect
    scale = min(rect.w / iw, rect.h / ih)
    w, h = iw * scale, ih * scale
    y = rect.bottom - h if bottom else rect.y + (rect.h - h) / 2
    return Rect(rect.x + (rect.w - w) / 2, y, w, h)


class PageWriter:
    """Collects the operations of one page while the layout walks down it (shared by every
    layout: the character sheet, storyboard and the template layouts)."""

    def __init__(self, measure: TextMeasure, width: float, height: float) -> None:
        self.m = measure
        self.width = width
        self.height = height
        self.ops: list[Op] = []

    def line(self, x: float, top: float, text: str, size: float, *, bold: bool = False,
             color: Color = INK, max_width: float | None = None) -> float:
        """Draw one line whose top is ``top``; returns the next line's top."""
        if max_width is not None:
            text = self.m.elide(text, size, max_width, bold)
        lh = self.m.line_height(size)
        baseline = top + (lh - self.m.ascent(size, bold) - self.m.descent(size, bold)) / 2
        baseline += self.m.ascent(size, bold)
        if text:
            self.ops.append(TextOp(x, baseline, text, size, bold, color))
        return top + lh

    def right_line(self, right: float, top: float, text: str, size: float, *,
                   color: Color = MUTED) -> None:
        self.line(right - self.m.width(text, size), top, text, size, color=color)

    def paragraph(self, x: float, top: float, text: str, size: float, width: float, *,
                  bold: bool = False, color: Color = INK, max_lines: int = 0) -> float:
        for line in self.m.wrap(text, size, width, bold=bold, max_lines=max_lines):
            top = self.line(x, top, line, size, bold=bold, color=color)
        return top

    def rule(self, x: float, y: float, w: float) -> None:
        self.ops.append(BoxOp(Rect(x, y, w, 0.8), fill=RULE))

    def tag(self, x: float, top: float, text: str, size: float, color: Color, *,
            max_width: float | None = None) -> float:
        """A filled label box with white bold text on the line whose top is ``top``; returns
        its right edge."""
        pad = size * 0.4
        lh = self.m.line_height(size)
        width = self.m.width(text, size, True) + 2 * pad
        if max_width is not None:
            width = min(width, max_width)
        self.ops.append(BoxOp(Rect(x, top + lh * 0.04, width, lh * 0.92), fill=color,
                              kind="tag"))
        self.line(x + pad, top, text, size, bold=True, color=WHITE,
                  max_width=max(0.0, width - 2 * pad))
        return x + width

    def page(self) -> Page:
        return Page(self.width, self.height, tuple(self.ops))
