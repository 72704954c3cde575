"""Every limit the studio puts on what it reads, in one place.

Files, images and bundles come from anywhere: a limit here keeps each of them to bounded time and
memory, and a refusal says which file broke which limit and what to do, in one sentence. The
numbers are far above anything the studio itself writes (README, "Limits").
"""

from __future__ import annotations

import math
from pathlib import Path

from studio.core.errors import StudioInputError

MIB = 1024 * 1024

# ------------------------------------------------------------------ sheet files (*.sheet.toml)
#: A 50,000-scene sheet with a few lines per scene is about 8 MB; twice that leaves room for notes.
SHEET_FILE_MAX_BYTES = 16 * MIB
#: The most scenes one sheet may hold (a 20,000-scene storyboard is well inside).
SHEET_SCENES_MAX = 50_000
#: Arrays and inline tables inside one another (a table header's brackets count too). The sheet
#: format itself needs two; the TOML reader recurses once per level.
SHEET_NESTING_MAX = 16
#: Parts of one dotted key or table header (``character.fields.hair`` has three).
SHEET_KEY_PARTS_MAX = 16
#: Characters of one key name, quoted or bare.
SHEET_KEY_MAX_CHARS = 100
#: Characters of each text value, by key. Prompt parts stay far below what the models read
#: (FLUX reads about 512 tokens, some 2,000 characters); notes never reach a prompt.
SHEET_TEXT_MAX: dict[str, int] = {
    "title": 200,
    "name": 200,
    "anchor": 4_000,
    "negative": 4_000,
    "setting": 4_000,
    "lighting": 1_000,
    "lens": 1_000,
    "pattern": 200,
    "framing": 200,
    "notes": 10_000,
    "provider": 200,
    "model": 200,
    "template": 200,
    "group": 200,
    "outfit": 1_000,
    "image": 1_000,  # a reference image's path
    # template files
    "id": 200,
    "label": 200,
    "layout": 200,
    "description": 4_000,
    "text": 4_000,
}
#: Each structured anchor field (age, hair, eyes...).
SHEET_ANCHOR_FIELD_MAX = 1_000
#: Items of a preset list (``skin``, ``quality``) and the characters of each.
SHEET_LIST_MAX_ITEMS = 32
SHEET_LIST_ITEM_MAX = 1_000
#: Steps and guidance a stage may ask for: wider than any model takes (lint names the model's
#: own range); past these a value is a typo or an attack.
STEPS_MIN, STEPS_MAX = 1, 10_000
GUIDANCE_MIN, GUIDANCE_MAX = 0.0, 100.0

# ------------------------------------------------------------------ images
#: Decoded pixels of one image, downloaded or imported (8192 x 8192; renders are 1-2 MP).
IMAGE_PIXELS_MAX = 64 * MIB
#: Bytes of one image file.
IMAGE_FILE_MAX_BYTES = 32 * MIB
#: Bytes of one PNG text chunk (``parameters``, ``studio``) the studio reads.
PNG_TEXT_CHUNK_MAX_BYTES = 1 * MIB

# ------------------------------------------------------------------ A1111 ``parameters`` numbers
#: A seed must fit SQLite's signed 64-bit integer; ComfyUI writes seeds up to 2**64 - 1.
PARAM_SEED_MIN, PARAM_SEED_MAX = 0, 2**63 - 1
PARAM_STEPS_MIN, PARAM_STEPS_MAX = STEPS_MIN, STEPS_MAX
PARAM_GUIDANCE_MIN, PARAM_GUIDANCE_MAX = GUIDANCE_MIN, GUIDANCE_MAX
#: Width or height in a ``Size: WxH`` item.
PARAM_SIDE_MIN, PARAM_SIDE_MAX = 1, 65_535
#: Digits read for one number: enough for any value in range, and int() stays linear.
PARAM_NUMBER_MAX_CHARS = 40

# ------------------------------------------------------------------ bundles and JSON
#: Entries of one bundle (ZIP): a preview and a final for each scene of the largest sheet.
BUNDLE_ENTRIES_MAX = 2 * SHEET_SCENES_MAX + 10_000
#: Uncompressed bytes of one entry, and of all entries together.
BUNDLE_ENTRY_MAX_BYTES = 512 * MIB
BUNDLE_TOTAL_MAX_BYTES = 8 * 1024 * MIB
#: Uncompressed over compressed size, checked for each entry over the floor and for all the
#: entries together once their total is over it (many entries each just under the floor).
BUNDLE_RATIO_MAX = 100.0
BUNDLE_RATIO_FLOOR_BYTES = 1 * MIB
#: Bytes of a bundle's ``settings.json`` for each image it holds (the studio writes about 2 KB
#: a row; the longest prompts and notes stay far below this); never more than JSON_MAX_BYTES.
BUNDLE_SETTINGS_BYTES_PER_IMAGE = 256 * 1024
#: The most a bundle's settings may say one render cost (in dollars).
COST_MAX = 1_000_000.0
#: One JSON document read from a file (bundle manifest, settings rows, the ``studio`` chunk).
JSON_MAX_BYTES = 32 * MIB
#: Arrays and objects inside one another in such a document (records are two or three deep).
JSON_DEPTH_MAX = 32
#: Bytes of JSON text for each array or object in it, at the least. A row the studio writes
#: holds a few in about 2 KB; text that is nothing but ``{},{},...`` (three bytes each) would
#: cost some 24 bytes of memory for every byte read, 800 MB for a 32 MB settings file.
JSON_BYTES_PER_CONTAINER_MIN = 32


class LimitError(StudioInputError):
    """Input over one of the limits above; the message names the file, the limit and the fix."""

    def __init__(self, source: str, what: str, limit: str, todo: str) -> None:
        self.source = source
        super().__init__(f"{source}: {what}, over the limit of {limit}; {todo}")


def bytes_words(count: int) -> str:
    """``16 MB``, ``512 KB``, ``300 bytes``: a size as a user reads it."""
    if count >= MIB:
        return f"{count / MIB:,.0f} MB" if count % MIB == 0 else f"{count / MIB:,.1f} MB"
    if count >= 1024:
        return f"{count / 1024:,.0f} KB"
    return f"{count:,} bytes"


def check_file_size(source: str, size: int, limit: int, todo: str) -> None:
    """Refuse a file of ``size`` bytes over ``limit`` before anything reads it."""
    if size > limit:
        raise LimitError(source, f"the file is {bytes_words(size)}", bytes_words(limit), todo)


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the file at ``path``, read in steps and never more than ``limit`` plus one
    step (never the whole of whatever the path names: a huge file, a device, a pipe), so a
    result longer than ``limit`` says the file is over it. OSErrors are the caller's."""
    chunks: list[bytes] = []
    total = 0
    with path.open("rb") as fh:
        while total <= limit and (chunk := fh.read(1 << 20)):
            chunks.append(chunk)
            total += len(chunk)
    return b"".join(chunks)


def in_range(value: float, low: float, high: float) -> bool:
    """True for a finite ``value`` within ``low..high`` (NaN and infinities are never in range).
    An int is compared as it is: one too large for a float is simply out of range."""
    if isinstance(value, int):
        return low <= value <= high
    return math.isfinite(value) and low <= value <= high


def number_within(value: object, low: float, high: float) -> int | float | None:
    """``value`` when it is a number (an int or a float, not a bool) within ``low..high``;
    None for anything else: text, NaN, infinities, numbers out of range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if in_range(value, low, high) else None


def read_json(text: str, source: str, *, max_bytes: int = JSON_MAX_BYTES,
              max_depth: int = JSON_DEPTH_MAX) -> object:
    """``json.loads`` within the limits: size and depth checked first, no NaN or infinity, no
    integer beyond 64 bits (what SQLite keeps); any refusal is a LimitError or a
    StudioInputError naming ``source``."""
    import json

    from studio.core.prescan import scan_json

    if len(text) > max_bytes:
        raise LimitError(source, f"the JSON text is {bytes_words(len(text))}",
                         bytes_words(max_bytes), "is it really a file the studio wrote?")
    most = max(1_000, len(text) // JSON_BYTES_PER_CONTAINER_MIN)
    excess = scan_json(text, max_depth=max_depth, max_containers=most)
    if excess is not None and excess.kind == "containers":
        raise LimitError(source, f"the JSON text holds more than {most:,} arrays and objects",
                         f"one for every {JSON_BYTES_PER_CONTAINER_MIN} bytes",
                         "is it really a file the studio wrote?")
    if excess is not None:
        raise LimitError(source, f"arrays and objects nest more than {max_depth} levels deep "
                         f"(from line {excess.line})", f"{max_depth} levels",
                         "is it really a file the studio wrote?")

    def refuse_constant(name: str) -> object:
        raise StudioInputError(f"{source}: holds {name}, which is not a number the studio "
                               "keeps; replace it with a number")

    def bounded_int(digits: str) -> int:
        if len(digits.lstrip("-")) > 19 or not -(2**63) <= int(digits) < 2**63:
            raise StudioInputError(f"{source}: holds the number {digits[:24]}"
                                   f"{'...' if len(digits) > 24 else ''}, beyond the 64-bit "
                                   "range the studio keeps; use a smaller number")
        return int(digits)

    try:
        return json.loads(text, parse_constant=refuse_constant, parse_int=bounded_int)
    except RecursionError:  # the scan above rules it out; never let it become a traceback
        raise LimitError(source, "the JSON text nests too deep", f"{max_depth} levels",
                         "is it really a file the studio wrote?") from None
    except ValueError as exc:
        if isinstance(exc, StudioInputError):
            raise
        raise StudioInputError(f"{source}: is not valid JSON ({exc}); is it really a file "
                               "the studio wrote?") from None
