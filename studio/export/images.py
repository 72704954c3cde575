"""Reading the images an export places: their size, and their pixels as 8-bit RGB."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

_BACKGROUND = (255, 255, 255)


class UnreadableImageError(ValueError):
    """The bytes are not an image Pillow can read (the cell is drawn as unreadable)."""


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels, read from the header only (EXIF rotation applied)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(str(exc)) from exc
    if orientation in (5, 6, 7, 8):  # rotated a quarter turn
        return height, width
    return width, height


def decode_rgb(data: bytes, size: tuple[int, int] | None = None) -> Image.Image:
    """The image as RGB (transparency flattened onto white); resampled to exactly ``size``
    with a high-quality filter when given."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if size is not None and opened.format == "JPEG":
                opened.draft("RGB", size)  # decode a JPEG at a reduced scale directly
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(str(exc)) from exc
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    if size is not None and image.size != size:
        target = (max(1, size[0]), max(1, size[1]))
        image = image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image
