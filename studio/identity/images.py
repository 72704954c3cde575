"""Reading an image for face analysis: its bytes, bounded, then its pixels upright as 8-bit RGB.

A JPEG more than twice ``WORKING_SIDE`` (1024) pixels long is decoded at a reduced scale that
keeps its longer side at least that long: any face the detector finds (9.4% of the longer side
and more) is then at least 96 px wide, as many pixels as the descriptor's chip takes from it,
and a 24-megapixel photograph decodes in a sixteenth of the time. Other formats are decoded
whole.

A plain PNG (8-bit RGB, no transparency, nothing that could turn it) is decoded by libspng
(the ``pyspng`` wheel) when it is installed: the same pixels as Pillow's decoder in about 60% of
its time, a fifth of the time a 1024-pixel render takes to score. Any other PNG, a PNG libspng
refuses, and every PNG where ``pyspng`` is not installed go through Pillow, as before. Unlike
Pillow's decoder, libspng keeps Python's global lock while it works (about 18 ms), as dlib does
while it describes a face: one more reason a window analyses in a child process.

Pillow and numpy load on first use only, so start-up does not pay for them.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import IdentityImageError

if TYPE_CHECKING:
    from PIL.Image import Image
    from PIL.ImageFile import ImageFile

#: A JPEG is decoded at a reduced scale that keeps its longer side at least this long.
WORKING_SIDE = 1024

#: Bounds on what is decoded: larger than any render or camera photograph.
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_IMAGE_PIXELS = 64 * 1024 * 1024


def read_image(path: Path) -> bytes:
    """An image file's bytes, bounded; IdentityImageError (a sentence) when it cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise IdentityImageError(
                f"the image {path} is {size // (1024 * 1024)} MB, more than the "
                f"{MAX_IMAGE_BYTES // (1024 * 1024)} MB identity scoring reads; use a smaller copy")
        return path.read_bytes()
    except OSError as exc:
        raise IdentityImageError(
            f"cannot read the image {path}: {exc.strerror or exc}; check the path") from exc


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An image ready for analysis: ``pixels`` upright 8-bit RGB, at most 2 (JPEG: 8) times
    smaller than the image itself but never under ``WORKING_SIDE`` on its longer side (when
    the image is larger), and ``size``, the image's own upright size, in which boxes are
    reported."""

    pixels: Image
    size: tuple[int, int]

    @property
    def scale(self) -> tuple[float, float]:
        """The image's own pixels per working pixel, across and down (1.0: full size)."""
        return self.size[0] / self.pixels.width, self.size[1] / self.pixels.height


def decode_image(data: bytes, working_side: int = WORKING_SIDE) -> DecodedImage | None:
    """The image upright (EXIF rotation applied) as 8-bit RGB, transparency on white; None when
    the bytes are not an image or claim far more pixels than any render or photograph.

    A JPEG larger than ``working_side`` is decoded at a reduced scale (libjpeg's draft mode
    skips most of the work); a plain PNG by libspng where it is installed; other formats are
    decoded whole by Pillow.
    """
    # Pillow is imported where it is used, so importing identity scoring costs start-up nothing.
    from PIL import ExifTags, ImageOps, UnidentifiedImageError
    from PIL import Image as Pillow

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Pillow.DecompressionBombWarning)
            # Not closed by a ``with``: the bytes are in memory and the loaded pixels are used.
            header = Pillow.open(io.BytesIO(data))
            width, height = header.size
            if width < 1 or height < 1 or width * height > MAX_IMAGE_PIXELS:
                return None
            if header.format == "PNG":
                plain = plain_png_pixels(data, header)
                if plain is not None:
                    return DecodedImage(plain, (width, height))
                header = Pillow.open(io.BytesIO(data))  # the header read again, untouched
            image: Image = header
            longer = max(width, height)
            if header.format == "JPEG" and longer >= 2 * working_side:
                # The most reduced scale whose longer side is still ``working_side`` or more.
                header.draft(None, (-(-width * working_side // longer),
                                   -(-height * working_side // longer)))
            image.load()
            # Only a photograph that says it is turned is turned (a copy of every image costs).
            if image.getexif().get(ExifTags.Base.Orientation, 1) in range(2, 9):
                before = image.size
                image = ImageOps.exif_transpose(image)
                if image.size != before:  # a quarter turn: the image's own size turns too
                    width, height = height, width
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Pillow.DecompressionBombError, Pillow.DecompressionBombWarning):
        return None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Pillow.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    return DecodedImage(image, (width, height))


def plain_png_pixels(data: bytes, header: ImageFile) -> Image | None:
    """The pixels of a PNG whose header Pillow has read, decoded by libspng, when it is plain
    8-bit RGB with no transparency and nothing that could turn it (so its pixels are exactly
    what Pillow would give); None otherwise, when ``pyspng`` is not installed, or when libspng
    cannot decode it (Pillow then tries, and says what is wrong)."""
    from PIL import ExifTags
    from PIL import Image as Pillow

    tile = header.tile
    # One zlib stream of 8-bit samples (16-bit RGB is "RGB;16B"), no transparent colour.
    if (header.mode != "RGB" or len(tile) != 1 or tile[0].args != "RGB"
            or "transparency" in header.info or not _only_pixels_after(data, tile[0].offset)):
        return None
    # The chunks before the pixels (Pillow has read them) say no turn: EXIF, a raw EXIF
    # profile, XMP, as Pillow reads them; the PNG's own ``getexif`` would decode the pixels.
    if Pillow.Image.getexif(header).get(ExifTags.Base.Orientation, 1) in range(2, 9):
        return None
    try:
        import pyspng
    except ImportError:  # no wheel for this system: Pillow decodes it
        return None
    try:
        pixels = pyspng.load(data, "RGB")
    except (RuntimeError, ValueError, MemoryError):
        return None
    return Pillow.fromarray(pixels)


def _only_pixels_after(data: bytes, first_pixels: int) -> bool:
    """Whether every chunk from the one whose data starts at ``first_pixels`` to the end is
    image data (IDAT) or the end (IEND): nothing after the pixels (EXIF, text) that Pillow would
    read once it has decoded them."""
    from PIL.PngImagePlugin import ChunkStream

    stream = ChunkStream(io.BytesIO(data))
    assert stream.fp is not None
    stream.fp.seek(first_pixels - 8)
    try:
        while True:
            kind, start, length = stream.read()
            if kind == b"IEND":
                return True
            if kind != b"IDAT" or start + length + 4 > len(data):
                return False
            stream.fp.seek(start + length + 4)  # past the data and its CRC
    except (SyntaxError, ValueError, OSError, struct.error):
        return False
    finally:
        stream.close()
