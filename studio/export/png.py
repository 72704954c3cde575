"""Drawing laid-out pages with Pillow: the character sheet PNG and page previews.

The sheet PNG carries the metadata chunks every PNG of the studio carries (DESIGN.md "Image
metadata"): a ``parameters`` text (the anchor as prompt, the locked seed, the size, the model)
and a ``studio`` JSON record listing every cell's settings.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from studio.core.templates import SheetLayout
from studio.export.canvas import BoxOp, ImageOp, Page, TextOp
from studio.export.files import write_atomic
from studio.export.images import UnreadableImageError, decode_rgb
from studio.export.metadata import sheet_parameters, sheet_record
from studio.export.model import (
    CancelToken,
    ProgressCallback,
    SheetDocument,
    SheetOptions,
    Steps,
    StoryboardOptions,
)
from studio.export.pages import LAYOUT_NAMES, layout_pages
from studio.export.text import FontFiles, find_fonts, measure_for
from studio.library.metadata import png_info

_WHITE = (255, 255, 255)


class _Fonts:
    def __init__(self, files: FontFiles, scale: float) -> None:
        self._files = files
        self._scale = scale
        self._cache: dict[tuple[float, bool], ImageFont.FreeTypeFont] = {}

    def get(self, size: float, bold: bool) -> ImageFont.FreeTypeFont:
        key = (size, bold)
        font = self._cache.get(key)
        if font is None:
            data = self._files.bold if bold else self._files.regular
            font = ImageFont.truetype(io.BytesIO(data), max(1.0, size * self._scale))
            self._cache[key] = font
        return font


def render_page(
    page: Page,
    dpi: float,
    *,
    fonts: FontFiles | None = None,
    on_image: Callable[[str], None] | None = None,
) -> Image.Image:
    """The page as an RGB image at ``dpi``; ``on_image`` is called before each image is drawn
    (progress and cancel hook)."""
    scale = dpi / 72.0
    size = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
    canvas = Image.new("RGB", size, _WHITE)
    draw = ImageDraw.Draw(canvas)
    faces = _Fonts(fonts or find_fonts(), scale)

    def px(value: float) -> int:
        return round(value * scale)

    for op in page.ops:
        if isinstance(op, TextOp):
            draw.text((op.x * scale, op.y * scale), op.text, font=faces.get(op.size, op.bold),
                      fill=op.color, anchor="ls")
        elif isinstance(op, BoxOp):
            x0, y0 = px(op.rect.x), px(op.rect.y)
            x1 = max(x0, px(op.rect.right) - 1)
            y1 = max(y0, px(op.rect.bottom) - 1)
            if op.fill is not None:
                draw.rectangle((x0, y0, x1, y1), fill=op.fill)
            if op.stroke is not None:
                width = max(1, round(op.stroke_width * scale))
                draw.rectangle((x0, y0, x1, y1), outline=op.stroke, width=width)
        elif isinstance(op, ImageOp):
            if on_image is not None:
                on_image(op.label)
            x0, y0 = px(op.rect.x), px(op.rect.y)
            target = (max(1, px(op.rect.right) - x0), max(1, px(op.rect.bottom) - y0))
            try:
                picture = decode_rgb(op.image, target)
            except UnreadableImageError:
                continue  # the layout already labelled an unreadable image
            canvas.paste(picture, (x0, y0))
            picture.close()
    return canvas


def layout_png_bytes(
    doc: SheetDocument,
    layout: SheetLayout = SheetLayout.SHEET,
    options: SheetOptions | None = None,
    storyboard: StoryboardOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> bytes:
    """The sheet in ``layout`` as one PNG, as tall as its content, with metadata chunks, at
    ``options``' resolution (``storyboard`` sets the storyboard's panels and paper)."""
    options = options or SheetOptions()
    fonts = find_fonts()
    (page,) = layout_pages(doc, layout, options, storyboard or StoryboardOptions(),
                           measure_for(fonts), continuous=True)
    steps = Steps(page.image_count + 2, progress, cancel)
    steps.step(f"Laying out the {LAYOUT_NAMES[layout]}")
    image = render_page(page, options.dpi, fonts=fonts,
                        on_image=lambda label: steps.step(f"Drawing {label}"))
    steps.step("Encoding the PNG")
    info = png_info(sheet_parameters(doc, image.width, image.height), sheet_record(doc))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, optimize=False, compress_level=6,
               dpi=(options.dpi, options.dpi))
    steps.finish()
    return buffer.getvalue()


def sheet_png_bytes(
    doc: SheetDocument,
    options: SheetOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> bytes:
    """The character sheet as one PNG, as tall as its content, with metadata chunks."""
    return layout_png_bytes(doc, SheetLayout.SHEET, options, progress=progress, cancel=cancel)


def write_layout_png(
    doc: SheetDocument,
    path: Path,
    layout: SheetLayout = SheetLayout.SHEET,
    options: SheetOptions | None = None,
    storyboard: StoryboardOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write the sheet in ``layout`` as a PNG to ``path`` (through a temporary name)."""
    data = layout_png_bytes(doc, layout, options, storyboard, progress=progress, cancel=cancel)
    write_atomic(Path(path), data)
    return Path(path)


def write_sheet_png(
    doc: SheetDocument,
    path: Path,
    options: SheetOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write the character sheet PNG to ``path`` (through a temporary name)."""
    return write_layout_png(doc, path, SheetLayout.SHEET, options, progress=progress,
                            cancel=cancel)
