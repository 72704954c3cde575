"""Opening images that come from outside the studio: only PNG, JPEG and WebP, and never more
pixels than ``core.limits`` allows.

Pillow is told which formats it may open, so a file of any other kind is refused by its first
bytes whatever its name says (an EPS file named ``.png`` is never handed to Ghostscript). The
pixel count is read from the file's header and checked before anything is decoded, so a small
file claiming a huge picture costs nothing. Every refusal is an ``ImageImportError`` whose
message is a sentence naming the image and what to do.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.core import limits

from .errors import ImageImportError

if TYPE_CHECKING:
    from PIL import Image

#: What the studio reads, as Pillow names the formats.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
#: What a library may already hold: older versions also imported GIF files as they were.
STORED_FORMATS = (*IMAGE_FORMATS, "GIF")
#: What a refusal says happened, unless the caller says otherwise (a reference image).
IMPORT_REFUSED = "nothing was imported"


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """An image that opened, fits the limits and (when asked) decoded whole."""

    format: str
    width: int
    height: int


def check_file_size(label: str, size: int, refused: str = IMPORT_REFUSED) -> None:
    """Refuse an image file over the size limit before it is read."""
    if size > limits.IMAGE_FILE_MAX_BYTES:
        raise ImageImportError(
            f"{label} is {limits.bytes_words(size)}, over the limit of "
            f"{limits.bytes_words(limits.IMAGE_FILE_MAX_BYTES)} for one image; {refused} "
            "(save it smaller, as a PNG, JPEG or WebP).")


def _pixels_words(count: int) -> str:
    return f"{count / 1_000_000:,.0f} megapixels"


@contextlib.contextmanager
def open_image(source: Path | bytes, label: str, formats: tuple[str, ...] = IMAGE_FORMATS,
               refused: str = IMPORT_REFUSED) -> Iterator[Image.Image]:
    """The image, opened lazily (header read, nothing decoded yet) and checked to be one of
    ``formats`` (PNG, JPEG or WebP) within the pixel limit. Decoding it (``load``) may still
    fail: the caller reports that as a damaged image (``damaged``)."""
    from PIL import Image, UnidentifiedImageError

    # A file that cannot be read (gone, no permission) raises its OSError as it is.
    check_file_size(label, source.stat().st_size if isinstance(source, Path) else len(source),
                    refused)
    stream = source if isinstance(source, Path) else io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            # The limit below is lower than Pillow's warning threshold: its warning is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream, formats=formats)
    except UnidentifiedImageError as exc:
        raise ImageImportError(f"{label} is not an image the studio can read; choose a PNG, "
                               "JPEG or WebP file.") from exc
    except Image.DecompressionBombError as exc:
        raise ImageImportError(_too_many(label, None, refused)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise damaged(label, exc, refused) from exc
    with image:
        width, height = image.size
        if width * height > limits.IMAGE_PIXELS_MAX:
            raise ImageImportError(_too_many(label, (width, height), refused))
        if width <= 0 or height <= 0:
            raise ImageImportError(f"{label} claims a size of {width}x{height} pixels; it is "
                                   f"damaged and {refused}.")
        yield image


def _too_many(label: str, size: tuple[int, int] | None, refused: str) -> str:
    claims = "" if size is None else (f" ({size[0]:,}x{size[1]:,}, "
                                       f"{_pixels_words(size[0] * size[1])})")
    return (f"{label} claims more pixels{claims} than the studio opens "
            f"({_pixels_words(limits.IMAGE_PIXELS_MAX)}); {refused} (scale it down "
            "first).")


def damaged(label: str, exc: BaseException, refused: str = IMPORT_REFUSED) -> ImageImportError:
    """The error for an image that opened but cannot be decoded."""
    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return ImageImportError(f"{label} is truncated or damaged ({detail}); {refused}.")


def check_image(source: Path | bytes, label: str, *, decode: bool = True,
                refused: str = IMPORT_REFUSED) -> CheckedImage:
    """Check that ``source`` is a PNG, JPEG or WebP within the limits and, with ``decode``,
    that its pixels decode whole. Blocking: run it on a worker. Raises ``ImageImportError``
    whose sentence ends with what was ``refused``."""
    from PIL import Image

    with open_image(source, label, refused=refused) as image:
        checked = CheckedImage(str(image.format), *image.size)
        if decode:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    image.load()
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise damaged(label, exc, refused) from exc
    return checked
