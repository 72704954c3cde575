"""Image files the user names (a sheet's reference images): which format their bytes are, and
reading one within the size limit.

Only the bytes are looked at here (the magic numbers, the size); decoding, and so the pixel
limit, belongs to the layers that may use Pillow (the library stores a reference only after
decoding it; ``studio lint`` decodes each one).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from studio.core import limits

#: The formats the studio keeps as they are (what the image APIs accept as references).
FORMAT_WORDS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "GIF": "GIF"}


class ImageFileError(OSError):
    """An image file cannot be used; ``problem`` completes "the file ..." and ``hint`` says
    what to do (the caller names the file and where it was named)."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


def sniff_format(data: bytes) -> str:
    """The image format of ``data`` from its magic bytes: PNG, JPEG, WEBP, GIF or ``""``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return ""


def read_image_file(path: Path, *, formats: tuple[str, ...] = ("PNG", "JPEG", "WEBP"),
                    limit: int | None = None) -> bytes:
    """The bytes of the image file at ``path``, read in steps up to ``limit`` (the image file
    limit by default; never the whole of whatever the path names: a device, a pipe, a huge
    file); :class:`ImageFileError` when it is missing, a folder, unreadable, over the limit or
    not one of ``formats``."""
    limit = limits.IMAGE_FILE_MAX_BYTES if limit is None else limit
    hint_path = "check the path (it is relative to the sheet file)"
    try:
        data = limits.read_bounded(path, limit)
    except FileNotFoundError:
        raise ImageFileError("does not exist", hint_path) from None
    except IsADirectoryError:
        raise ImageFileError("is a folder, not an image file", "name an image file") from None
    except OSError as exc:
        raise ImageFileError(f"cannot be read ({exc.strerror or exc})",
                             "check that the file is readable") from None
    if len(data) > limit:
        raise ImageFileError(f"is over the limit of {limits.bytes_words(limit)} for an image",
                             "save a smaller copy (about one megapixel is plenty for a "
                             "reference)")
    fmt = sniff_format(data)
    if fmt not in formats:
        what = "an empty file" if not data else (
            f"a {FORMAT_WORDS[fmt]} image" if fmt else "not an image the studio reads")
        wanted = ", ".join(FORMAT_WORDS[f] for f in formats)
        raise ImageFileError(f"is {what}", f"save it as {wanted}")
    return data


def content_hash(data: bytes) -> str:
    """The sha256 of ``data``: the name the library keeps an image under."""
    return hashlib.sha256(data).hexdigest()
