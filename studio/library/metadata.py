"""PNG generation metadata: the A1111-style ``parameters`` text and the studio's JSON record.

Other tools (AUTOMATIC1111, InvokeAI, Krita AI Diffusion...) read the ``parameters`` text chunk
laid out as::

    <prompt, may span lines>
    Negative prompt: <negative>
    Steps: 4, CFG scale: 3.5, Seed: 42, Size: 1024x1024, Model: flux-schnell, Provider: modelslab

The studio adds a second chunk, ``studio``, holding its full record as JSON. Neither ever holds
an API key: both are built only from the fields named here.

``embed_png_metadata`` splices the chunks into PNG bytes without re-encoding the pixels (the
provider's image stays bit-exact and nothing is decoded); ``png_info`` gives the same chunks as
a Pillow ``PngInfo`` for code that encodes its own PNGs (export).
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

PARAMETERS_KEY = "parameters"
STUDIO_KEY = "studio"
STUDIO_RECORD_FORMAT = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_TEXT_CHUNKS = (b"tEXt", b"iTXt", b"zTXt")
_NEGATIVE_PREFIX = "Negative prompt:"
# AUTOMATIC1111's own pattern for one "Key: value" item of the settings line.
_PARAM_RE = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE_RE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")


class MetadataError(ValueError):
    """Bytes that should be a PNG are not one."""


@dataclass(frozen=True, slots=True)
class ImageParameters:
    """The settings one image was generated with, as the ``parameters`` text carries them."""

    prompt: str
    negative: str = ""
    steps: int | None = None
    guidance: float | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    model: str = ""
    provider: str = ""
    #: Other items of the settings line (sampler, hashes...), as text, in their order.
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PngMetadata:
    parameters: str | None
    studio: Mapping[str, Any] | None
    #: Every text chunk of the file.
    text: Mapping[str, str]


def _quote(value: str) -> str:
    if "," not in value and "\n" not in value and ":" not in value and not value.startswith('"'):
        return value
    return json.dumps(value, ensure_ascii=False)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else repr(value)


def format_parameters(params: ImageParameters) -> str:
    """The ``parameters`` text for ``params``: prompt, negative line, settings line."""
    items: list[tuple[str, str]] = []
    if params.steps is not None:
        items.append(("Steps", str(params.steps)))
    if params.guidance is not None:
        items.append(("CFG scale", _number(params.guidance)))
    if params.seed is not None:
        items.append(("Seed", str(params.seed)))
    if params.width is not None and params.height is not None:
        items.append(("Size", f"{params.width}x{params.height}"))
    if params.model:
        items.append(("Model", params.model))
    if params.provider:
        items.append(("Provider", params.provider))
    items.extend(params.extra.items())
    lines = [params.prompt]
    if params.negative:
        lines.append(f"{_NEGATIVE_PREFIX} {params.negative}")
    lines.append(", ".join(f"{key}: {_quote(value)}" for key, value in items))
    return "\n".join(lines)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_parameters(text: str) -> ImageParameters:
    """Read a ``parameters`` text written by the studio or by AUTOMATIC1111-style tools.

    Unknown items land in ``extra``; a text without a settings line is all prompt.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    settings: dict[str, str] = {}
    if lines and len(_PARAM_RE.findall(lines[-1])) >= 3:
        for key, value in _PARAM_RE.findall(lines.pop()):
            settings[key.strip()] = _unquote(value.strip())
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in lines:
        if not in_negative and line.startswith(_NEGATIVE_PREFIX):
            in_negative = True
            line = line[len(_NEGATIVE_PREFIX) :].removeprefix(" ")
        (negative_lines if in_negative else prompt_lines).append(line)
    width = height = None
    size = _SIZE_RE.match(settings.pop("Size", ""))
    if size:
        width, height = int(size.group(1)), int(size.group(2))
    steps = _int(settings.pop("Steps", None))
    guidance = _float(settings.pop("CFG scale", None))
    seed = _int(settings.pop("Seed", None))
    return ImageParameters(
        prompt="\n".join(prompt_lines),
        negative="\n".join(negative_lines),
        steps=steps,
        guidance=guidance,
        seed=seed,
        width=width,
        height=height,
        model=settings.pop("Model", ""),
        provider=settings.pop("Provider", ""),
        extra=settings,
    )


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
    out = [PNG_SIGNATURE]
    for kind, start, end in chunks:
        if kind in _TEXT_CHUNKS and _chunk_key(png, start, end) in ours:
            continue
        out.append(png[start:end])
        if kind == b"IHDR":
            out.append(_text_chunk(PARAMETERS_KEY, parameters))
            if record is not None:
                out.append(_text_chunk(STUDIO_KEY, studio_json(record)))
    return b"".join(out)


def png_info(parameters: str, record: Mapping[str, Any] | None) -> PngImagePlugin.PngInfo:
    """The same two chunks for ``Image.save(..., pnginfo=...)``."""
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_KEY, parameters)
    if record is not None:
        info.add_text(STUDIO_KEY, studio_json(record))
    return info


def read_png_metadata(source: bytes | Path) -> PngMetadata:
    """The text chunks of a PNG (bytes or a file); a non-PNG image yields empty metadata."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        raw = getattr(image, "text", None) or image.info
        text = {str(k): v for k, v in raw.items() if isinstance(v, str)}
    studio: Mapping[str, Any] | None = None
    if STUDIO_KEY in text:
        try:
            decoded = json.loads(text[STUDIO_KEY])
        except ValueError:
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
