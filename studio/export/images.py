"""Reading the images an export places: their size, their pixels as 8-bit RGB, and the main
colours of a set of them (a model sheet's palette strip).

Every image is opened through the library's one image opener (``library.decoding``): only the
formats a library may hold, and never more pixels than the studio opens, checked from the
header before anything is decoded. An image stored before those limits existed (a 30000x30000
PNG) is drawn as unreadable and :func:`unreadable_images` names it in a sentence.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterable, Iterator

from PIL import Image, ImageOps, ImageStat

from studio.library.decoding import STORED_FORMATS, open_image
from studio.library.errors import ImageImportError

_BACKGROUND = (255, 255, 255)
_LABEL = "The image"
_REFUSED = "it is drawn as “Image could not be read”"


class UnreadableImageError(ValueError):
    """The bytes are not an image the studio opens (the cell is drawn as unreadable); the
    message is a sentence saying why."""


@contextlib.contextmanager
def _opened(data: bytes, label: str = _LABEL, refused: str = _REFUSED) -> Iterator[Image.Image]:
    """The image opened lazily within the limits; any refusal or decoding failure (also
    while the caller decodes it) is an :class:`UnreadableImageError`."""
    try:
        with open_image(data, label, formats=STORED_FORMATS, refused=refused) as image, \
                warnings.catch_warnings():
            # The pixel limit was checked above, below Pillow's warning threshold.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield image
    except ImageImportError as exc:
        raise UnreadableImageError(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableImageError(f"{label} is truncated or damaged; {refused}.") from exc


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels, read from the header only (EXIF rotation applied)."""
    with _opened(data) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
    if orientation in (5, 6, 7, 8):  # rotated a quarter turn
        return height, width
    return width, height


def can_open(data: bytes) -> bool:
    """Whether the image opens within the limits (from its header only)."""
    try:
        with _opened(data):
            return True
    except UnreadableImageError:
        return False


def unreadable_images(images: Iterable[tuple[str, bytes]], *,
                      bundle: bool = False) -> list[str]:
    """For each ``(label, image bytes)`` that cannot be placed, a sentence naming it, why, and
    what the export does with it (``bundle``: also left out of the bundle); from the header
    only, nothing is decoded. Empty bytes (no image) are not reported."""
    refused = _REFUSED + (" and left out of the bundle" if bundle else "")
    found = []
    for label, data in images:
        if not data:
            continue
        try:
            with _opened(data, label, refused):
                pass
        except UnreadableImageError as exc:
            found.append(str(exc))
    return found


def decode_rgb(data: bytes, size: tuple[int, int] | None = None) -> Image.Image:
    """The image as RGB (transparency flattened onto white); resampled to exactly ``size``
    with a high-quality filter when given."""
    with _opened(data) as opened:
        if size is not None and opened.format == "JPEG":
            opened.draft("RGB", size)  # decode a JPEG at a reduced scale directly
        image = ImageOps.exif_transpose(opened)
        image.load()
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


#: How close (RGB distance) a colour may be to a picture's backdrop and still count as the
#: character's: the templates' plain grey seamless background would otherwise fill the palette.
_BACKDROP_DISTANCE = 40
_PALETTE_SIDE = 96
_SAME_SHADE = 14


def _backdrop(picture: Image.Image) -> tuple[int, int, int]:
    """The median colour of the picture's outer ring of pixels: its backdrop."""
    ring = Image.new("RGB", (2 * (picture.width + picture.height), 1))
    top = picture.crop((0, 0, picture.width, 1))
    bottom = picture.crop((0, picture.height - 1, picture.width, picture.height))
    left = picture.crop((0, 0, 1, picture.height)).transpose(Image.Transpose.ROTATE_90)
    right = picture.crop((picture.width - 1, 0, picture.width, picture.height)).transpose(
        Image.Transpose.ROTATE_90)
    x = 0
    for strip in (top, bottom, left, right):
        ring.paste(strip, (x, 0))
        x += strip.width
    red, green, blue = (int(v) for v in ImageStat.Stat(ring).median)
    return red, green, blue


@functools.lru_cache(maxsize=8)
def palette(images: tuple[bytes, ...], count: int = 8) -> tuple[tuple[tuple[int, int, int],
                                                                      float], ...]:
    """The ``count`` main colours of the pictures with their share of the pixels, most
    common first, leaving out each picture's backdrop (the colour of its edges). Unreadable
    pictures are skipped; no pictures give no colours."""
    thumbs: list[tuple[Image.Image, tuple[int, int, int]]] = []
    for data in images:
        try:
            with _opened(data) as opened:
                opened.draft("RGB", (_PALETTE_SIDE * 2, _PALETTE_SIDE * 2))
                picture = ImageOps.exif_transpose(opened).convert("RGB")
        except UnreadableImageError:
            continue
        # One height for all, so the strip they are pasted into has no uncovered canvas.
        width = max(1, round(picture.width * _PALETTE_SIDE / max(1, picture.height)))
        picture = picture.resize((width, _PALETTE_SIDE), Image.Resampling.BILINEAR)
        thumbs.append((picture, _backdrop(picture)))
    if not thumbs:
        return ()
    sheet = Image.new("RGB", (sum(t.width for t, _ in thumbs), _PALETTE_SIDE))
    x = 0
    for thumb, _ in thumbs:
        sheet.paste(thumb, (x, 0))
        x += thumb.width
    used = sheet.width * sheet.height
    quantized = sheet.quantize(colors=count + 12, method=Image.Quantize.MEDIANCUT)
    flat = quantized.getpalette() or []
    backdrops = [b for _, b in thumbs]
    found: list[tuple[tuple[int, int, int], float]] = []
    for pixels, index in quantized.getcolors(count + 12) or []:
        if not isinstance(index, int):
            continue
        rgb = (flat[3 * index], flat[3 * index + 1], flat[3 * index + 2])
        if any(_distance(rgb, b) < _BACKDROP_DISTANCE for b in backdrops):
            continue
        found.append((rgb, pixels / used))
    found.sort(key=lambda item: -item[1])
    # Shades a reader cannot tell apart count as one colour (the commoner one).
    merged: list[tuple[tuple[int, int, int], float]] = []
    for rgb, share in found:
        twin = next((i for i, (kept, _) in enumerate(merged)
                     if _distance(rgb, kept) < _SAME_SHADE), None)
        if twin is None:
            merged.append((rgb, share))
        else:
            merged[twin] = (merged[twin][0], merged[twin][1] + share)
    return tuple(merged[:count])


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5)
