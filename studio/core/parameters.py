"""The A1111-style ``parameters`` text: the settings one image was generated with.

Other tools (AUTOMATIC1111, InvokeAI, Krita AI Diffusion...) lay it out as::

    <prompt, may span lines>
    Negative prompt: <negative>
    Steps: 4, CFG scale: 3.5, Seed: 42, Size: 1024x1024, Model: flux-schnell, Provider: modelslab

The text comes from any image a user drops in, so reading it is linear in its length whatever
it holds (no backtracking regular expression), and a number outside the range the studio keeps
(``core.limits``) reads as absent rather than as an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from studio.core import limits

NEGATIVE_PREFIX = "Negative prompt:"
# A settings line has at least this many "Key: value" items; fewer, and it is prompt text.
_MIN_SETTINGS_ITEMS = 3
# Characters that can never be part of an item's key (keys are word characters, spaces, '-'
# and '/'). One character per match: the search is linear.
_NOT_KEY = re.compile(r"[^\w \-/]")
_WORD = re.compile(r"\w")
_QUOTED_STOP = re.compile(r'[\\"]')
_SPACE = re.compile(r"\s*")


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


# --------------------------------------------------------------------------- writing


def _quote(value: str) -> str:
    if "," not in value and "\n" not in value and ":" not in value and not value.startswith('"'):
        return value
    return json.dumps(value, ensure_ascii=False)


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
        lines.append(f"{NEGATIVE_PREFIX} {params.negative}")
    lines.append(", ".join(f"{key}: {_quote(value)}" for key, value in items))
    return "\n".join(lines)


# --------------------------------------------------------------------------- reading


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value


def _key_before(line: str, start: int, colon: int) -> str | None:
    """The item key ending at ``colon``: the longest run of key characters after ``start``
    that begins with a word character and is at least two characters long."""
    begin = start
    for begin_match in _NOT_KEY.finditer(line, start, colon):
        begin = begin_match.end()
    word = _WORD.search(line, begin, colon)
    if word is None or colon - word.start() < 2:
        return None
    return line[word.start() : colon]


def _quoted_end(line: str, opening: int) -> int | None:
    """The index after the closing quote of the string opening at ``opening``, or None."""
    pos = opening + 1
    while (stop := _QUOTED_STOP.search(line, pos)) is not None:
        if stop.group() == "\\":
            if stop.start() + 1 >= len(line):
                return None
            pos = stop.start() + 2
        else:
            # At least one character between the quotes, as A1111's own pattern asks.
            return stop.start() + 1 if stop.start() > opening + 1 else None
    return None


def settings_items(line: str) -> list[tuple[str, str]]:
    """The ``Key: value`` items of one settings line, in order, keys and values as written.

    Reads what AUTOMATIC1111's own pattern for one item reads (a key of word characters,
    spaces, '-' and '/' before a colon; a value either quoted JSON-style and followed by a comma
    or the line's end, or everything up to the next comma), in one pass: each character is
    looked at a bounded number of times, where the pattern backtracks quadratically.
    """
    items: list[tuple[str, str]] = []
    pos = 0
    while (colon := line.find(":", pos)) >= 0:
        key = _key_before(line, pos, colon)
        if key is None:
            pos = colon + 1
            continue
        value_start = _SPACE.match(line, colon + 1)
        start = colon + 1 if value_start is None else value_start.end()
        if start < len(line) and line[start] == '"':
            end = _quoted_end(line, start)
            if end is not None and (end == len(line) or line[end] == ","):
                items.append((key, line[start:end]))
                pos = end + 1
                continue
        comma = line.find(",", start)
        end = len(line) if comma < 0 else comma
        items.append((key, line[start:end]))
        pos = end + 1
    return items


def _int(value: str | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    value = value.strip()
    # ASCII digits only: int() would also take "1_000", "+5" or other scripts' digits, which no
    # tool writes; every range starts at zero or above, so a sign only ever means out of range.
    if not value or len(value) > limits.PARAM_NUMBER_MAX_CHARS or not (
            value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if low <= number <= high else None


def _float(value: str | None, low: float, high: float) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > limits.PARAM_NUMBER_MAX_CHARS:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if limits.in_range(number, low, high) else None


def _size(value: str) -> tuple[int | None, int | None]:
    width, sep, height = value.partition("x")
    if not sep:
        return None, None
    w = _int(width, limits.PARAM_SIDE_MIN, limits.PARAM_SIDE_MAX)
    h = _int(height, limits.PARAM_SIDE_MIN, limits.PARAM_SIDE_MAX)
    return (w, h) if w is not None and h is not None else (None, None)


def parse_parameters(text: str) -> ImageParameters:
    """Read a ``parameters`` text written by the studio or by AUTOMATIC1111-style tools.

    Unknown items land in ``extra``; a text without a settings line is all prompt. Numbers
    outside the ranges in ``core.limits`` (a seed past 64 bits, NaN guidance) read as None.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    settings: dict[str, str] = {}
    if lines:
        items = settings_items(lines[-1])
        if len(items) >= _MIN_SETTINGS_ITEMS:
            lines.pop()
            for key, value in items:
                settings[key.strip()] = _unquote(value.strip())
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in lines:
        if not in_negative and line.startswith(NEGATIVE_PREFIX):
            in_negative = True
            line = line[len(NEGATIVE_PREFIX) :].removeprefix(" ")
        (negative_lines if in_negative else prompt_lines).append(line)
    width, height = _size(settings.pop("Size", ""))
    steps = _int(settings.pop("Steps", None), limits.PARAM_STEPS_MIN, limits.PARAM_STEPS_MAX)
    guidance = _float(settings.pop("CFG scale", None), limits.PARAM_GUIDANCE_MIN,
                      limits.PARAM_GUIDANCE_MAX)
    seed = _int(settings.pop("Seed", None), limits.PARAM_SEED_MIN, limits.PARAM_SEED_MAX)
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

