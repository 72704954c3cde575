"""Turning what a provider returned into verified image bytes.

Accepts ``data:`` URIs, raw base64 and bytes that are themselves base64 text (ModelsLab's
``base64`` output links). Checks the magic bytes, then decodes the image with Pillow under a
pixel limit (decompression bombs) before anyone calls it done.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import sys
import threading
import zlib
from dataclasses import dataclass

from studio.core import limits

# The same caps as images imported into the library (core.limits).
MAX_IMAGE_BYTES = limits.IMAGE_FILE_MAX_BYTES
MAX_IMAGE_PIXELS = limits.IMAGE_PIXELS_MAX

_BASE64_RE = re.compile(rb"^[A-Za-z0-9+/_\-\s]+={0,2}\s*$")


class ImageRejected(ValueError):
    """The bytes are not an image we accept; the message says why, in plain words."""


@dataclass(frozen=True, slots=True)
class VerifiedImage:
    data: bytes
    format: str
    width: int
    height: int


def sniff_format(data: bytes) -> str | None:
    """The image format from its magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def is_data_uri(ref: str) -> bool:
    return ref[:5].lower() == "data:"


def decode_data_uri(ref: str) -> bytes:
    header, sep, payload = ref.partition(",")
    if not sep or ";base64" not in header.lower():
        raise ImageRejected("the data URI is not base64 image data")
    return b64decode(payload.encode("ascii", "ignore"))


def looks_like_base64(data: bytes) -> bool:
    return len(data) >= 16 and _BASE64_RE.match(data[:4096]) is not None


def b64decode(data: bytes) -> bytes:
    compact = b"".join(data.split())
    compact += b"=" * (-len(compact) % 4)
    try:
        if b"-" in compact or b"_" in compact:
            return base64.urlsafe_b64decode(compact)
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageRejected("the image data is not valid base64") from exc


def unwrap(data: bytes) -> bytes:
    """Image bytes from bytes that may be base64 text or a data URI in a file."""
    if sniff_format(data):
        return data
    stripped = data.strip()
    if stripped[:5].lower() == b"data:":
        return decode_data_uri(stripped.decode("ascii", "ignore"))
    if looks_like_base64(stripped):
        return b64decode(stripped)
    return data


def verify_image(data: bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> VerifiedImage:
    """Check magic bytes and decode fully; blocking, so run it in a worker thread."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRejected(f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected("the file is not a PNG, JPEG or WebP image")
    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG", "WEBP")) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise ImageRejected(
                    f"the image claims {width}x{height} pixels, far more than a render has "
                    "(a decompression bomb?)"
                )
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("the image claims far more pixels than a render has "
                            "(a decompression bomb?)") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageRejected):
            raise
        raise ImageRejected("the image is damaged and cannot be decoded") from exc
    return VerifiedImage(data=data, format=fmt, width=width, height=height)


def _tiny_png() -> bytes:
    """A valid 1x1 PNG, built here so preloading needs no file."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes((8, 0, 0, 0, 0))  # 1x1, 8-bit grey
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def preload_decoder() -> threading.Thread | None:
    """Load the image decoder (Pillow and its format plugins: tens of milliseconds the first
    time) on a worker thread, by checking a tiny image the way every download is checked.
    Meant for while the first jobs are being made, so the first image to arrive does not pay
    for it; None when it is loaded already."""
    if "PIL.PngImagePlugin" in sys.modules:
        return None
    worker = threading.Thread(target=verify_image, args=(_tiny_png(),), name="image-decoder",
                              daemon=True)
    worker.start()
    return worker
