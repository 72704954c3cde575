"""PNG generation metadata: the ``parameters`` and ``studio`` chunks, read and written.

The ``parameters`` text itself (the A1111 layout other tools read) is the domain's:
``studio.core.parameters`` formats and parses it. The studio adds a second chunk, ``studio``,
holding its full record as JSON. Neither ever holds an API key: both are built only from the
fields named here.

``embed_png_metadata`` splices the chunks into PNG bytes without re-encoding the pixels (the
provider's image stays bit-exact and nothing is decoded); ``png_info`` gives the same chunks as
a Pillow ``PngInfo`` for code that encodes its own PNGs (export).
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core import limits
from studio.core.errors import StudioInputError

PARAMETERS_KEY = "parameters"
STUDIO_KEY = "studio"
STUDIO_RECORD_FORMAT = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_TEXT_CHUNKS = (b"tEXt", b"iTXt", b"zTXt")

if TYPE_CHECKING:
    from PIL import PngImagePlugin

# Pillow is imported by the functions that decode or encode (storing a render only splices
# chunks): a command reaches its first request without loading it.

__all__ = [
    "PARAMETERS_KEY", "STUDIO_KEY", "MetadataError", "PngMetadata", "embed_png_metadata",
    "png_info", "read_exif_parameters", "read_png_metadata", "studio_json",
]


class MetadataError(ValueError):
    """Bytes that should be a PNG are not one."""


@dataclass(frozen=True, slots=True)
class PngMetadata:
    parameters: str | None
    studio: Mapping[str, Any] | None
    #: Every text chunk of the file.
    text: Mapping[str, str]


def studio_json(record: Mapping[str, Any]) -> str:
    """The ``studio`` chunk's text: compact, key-sorted JSON, ASCII so it fits a tEXt chunk."""
    body = {"format": STUDIO_RECORD_FORMAT, **record}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _text_chunk(key: str, value: str) -> bytes:
    try:
        return _chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
    except UnicodeEncodeError:
        # iTXt: keyword, NUL, no compression, method 0, empty language tag and translated key.
        payload = key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")
        return _chunk(b"iTXt", payload)


def _iter_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each chunk; raises MetadataError if the bytes are not a PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise MetadataError("not a PNG file")
    chunks: list[tuple[bytes, int, int]] = []
    pos = len(PNG_SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise MetadataError("the PNG file is truncated")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise MetadataError("the PNG file is truncated")
        chunks.append((kind, pos, end))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise MetadataError("the PNG file is truncated or malformed")
    return chunks


def _chunk_key(data: bytes, start: int, end: int) -> bytes:
    body = data[start + 8 : end - 4]
    return body.split(b"\0", 1)[0]


def embed_png_metadata(png: bytes, parameters: str, record: Mapping[str, Any] | None) -> bytes:
    """``png`` with its ``parameters`` and ``studio`` chunks replaced by these ones.

    Other chunks, and the pixel data, are kept byte for byte.
    """
    chunks = _iter_chunks(png)
    ours = {PARAMETERS_KEY.encode(), STUDIO_KEY.encode()}
    # The chunks kept are views, copied once by the join: an image is megabytes, and every
    # copy holds the interpreter lock (the window's thread waits for it).
    whole = memoryview(png)
    out: list[bytes | memoryview] = [PNG_SIGNATURE]
    for kind, start, end in chunks:
        if kind in _TEXT_CHUNKS and _chunk_key(png, start, end) in ours:
            continue
        out.append(whole[start:end])
        if kind == b"IHDR":
            out.append(_text_chunk(PARAMETERS_KEY, parameters))
            if record is not None:
                out.append(_text_chunk(STUDIO_KEY, studio_json(record)))
    return b"".join(out)


def png_info(parameters: str, record: Mapping[str, Any] | None) -> PngImagePlugin.PngInfo:
    """The same two chunks for ``Image.save(..., pnginfo=...)``."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_KEY, parameters)
    if record is not None:
        info.add_text(STUDIO_KEY, studio_json(record))
    return info


def read_png_metadata(source: bytes | Path) -> PngMetadata:
    """The text chunks of a PNG (bytes or a file); a non-PNG image yields empty metadata."""
    from PIL import Image

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        raw = getattr(image, "text", None) or image.info
        # A text chunk over the limit is left unread, as if absent: no tool writes one.
        text = {str(k): v for k, v in raw.items()
                if isinstance(v, str) and len(v) <= limits.PNG_TEXT_CHUNK_MAX_BYTES}
    studio: Mapping[str, Any] | None = None
    if STUDIO_KEY in text:
        try:
            decoded = limits.read_json(text[STUDIO_KEY], "the studio chunk",
                                       max_bytes=limits.PNG_TEXT_CHUNK_MAX_BYTES)
        except StudioInputError:
            decoded = None
        if isinstance(decoded, dict):
            studio = decoded
    return PngMetadata(parameters=text.get(PARAMETERS_KEY), studio=studio, text=text)


_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286


def _oddities(text: str) -> int:
    return sum(1 for c in text if c == "\ufffd" or (not c.isprintable() and c not in "\n\t"))


def read_exif_parameters(data: bytes) -> str | None:
    """The settings text JPEG and WebP tools (AUTOMATIC1111 among them) keep in the EXIF
    ``UserComment``, or None."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        value = image.getexif().get_ifd(_EXIF_IFD).get(_USER_COMMENT)
    if isinstance(value, str):
        return value.strip("\0").strip() or None
    if not isinstance(value, bytes) or len(value) <= 8:
        return None
    prefix, body = value[:8], value[8:]
    if prefix == b"UNICODE\0":
        # The EXIF standard leaves the byte order to the writer; most write big-endian.
        candidates = (body.decode("utf-16-be", "replace"), body.decode("utf-16-le", "replace"))
        text = min(candidates, key=_oddities)
    else:
        text = body.decode("utf-8" if prefix != b"ASCII\0\0\0" else "ascii", errors="replace")
    return text.strip("\0").strip() or None
