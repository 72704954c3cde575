"""Linear pre-scans of TOML and JSON text: how deep it nests, before a parser sees it.

``tomllib`` and ``json`` recurse once per level of nesting, and ``tomllib`` builds a tuple per
part of a dotted key (quadratic memory: a 100 KB key 50,000 parts long took gigabytes). These
scans walk the text once, understand strings and comments so brackets inside them do not count,
and stop at the first place over a limit. They only need to be exact for valid text; for invalid
text they stay linear and the parser that runs next reports the syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOML_SPECIAL = re.compile(r"[\[\]{}\"'#\n.=,]")
_TOML_BASIC_STOP = re.compile(r'[\\"\n]')
_TOML_ML_BASIC_STOP = re.compile(r'[\\"]')
_TOML_LITERAL_STOP = re.compile(r"['\n]")
_JSON_SPECIAL = re.compile(r'[\[\]{}"]')
_JSON_STRING_STOP = re.compile(r'[\\"]')


@dataclass(frozen=True, slots=True)
class Excess:
    """The first place the text goes over a limit."""

    kind: str  # "nesting" or "key"
    offset: int  # index into the text
    text: str

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.offset) + 1


def _quote_run_end(text: str, index: int, quote: str) -> int:
    """The index after the run of ``quote`` characters starting at ``index``."""
    end = index
    while end < len(text) and text[end] == quote:
        end += 1
    return end


def _skip_toml_string(text: str, start: int) -> int:
    """The index just after the TOML string opening at ``start`` (len(text) if unterminated;
    a one-line string left open ends at its line's end, as far as nesting is concerned)."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        if quote == "'":
            close = text.find("'''", start + 3)
            return len(text) if close < 0 else _quote_run_end(text, close, "'")
        pos = start + 3
        while (found := _TOML_ML_BASIC_STOP.search(text, pos)) is not None:
            if found.group() == "\\":
                pos = found.start() + 2
            elif text.startswith('"""', found.start()):
                # Up to two quotes may end the content just before the closing three.
                return _quote_run_end(text, found.start(), '"')
            else:
                pos = found.start() + 1
        return len(text)
    stop = _TOML_LITERAL_STOP if quote == "'" else _TOML_BASIC_STOP
    pos = start + 1
    while (found := stop.search(text, pos)) is not None:
        char = found.group()
        if char == "\\":
            pos = found.start() + 2
        elif char == "\n":
            return found.start()
        else:
            return found.start() + 1
    return len(text)


def scan_toml(text: str, *, max_nesting: int, max_key_parts: int) -> Excess | None:
    """Where ``text`` first nests arrays/inline tables (or table-header brackets) deeper than
    ``max_nesting``, or has a dotted key or table name of more than ``max_key_parts`` parts;
    None if nowhere.

    Keys are told from values as the TOML reader does: a key starts a line, a table header or
    an inline table's entry; what follows ``=`` is a value (so ``1.5`` is not two parts).
    """
    opened: list[str] = []  # "h" table header, "[" array, "{" inline table
    in_key = True
    parts = 1
    pos = 0
    search = _TOML_SPECIAL.search
    while (found := search(text, pos)) is not None:
        char, index = found.group(), found.start()
        pos = index + 1
        if char == "[":
            opened.append("h" if in_key and (not opened or opened[-1] == "h") else "[")
            in_key = opened[-1] == "h"
            parts = 1
            if len(opened) > max_nesting:
                return Excess("nesting", index, text)
        elif char == "{":
            opened.append("{")
            in_key, parts = True, 1
            if len(opened) > max_nesting:
                return Excess("nesting", index, text)
        elif char in "]}":
            if opened:
                opened.pop()
            in_key = False
        elif char == ".":
            if in_key:
                parts += 1
                if parts > max_key_parts:
                    return Excess("key", index, text)
        elif char == "=":
            in_key = False
        elif char == ",":
            if opened and opened[-1] == "{":
                in_key, parts = True, 1
        elif char == "\n":
            if not opened or opened[-1] == "h":
                opened.clear()  # a header never spans lines; an unclosed one is the reader's
                in_key, parts = True, 1
        elif char == "#":
            end = text.find("\n", index)
            if end < 0:
                break
            pos = end  # the line end itself is scanned next
        else:  # a quote: quoted key parts keep the count, so nothing resets here
            pos = _skip_toml_string(text, index)
    return None


def scan_json(text: str, *, max_depth: int) -> Excess | None:
    """Where ``text`` first nests arrays and objects deeper than ``max_depth``; None if nowhere."""
    depth = 0
    pos = 0
    while (found := _JSON_SPECIAL.search(text, pos)) is not None:
        char, index = found.group(), found.start()
        pos = index + 1
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return Excess("nesting", index, text)
        elif char in "]}":
            depth = max(0, depth - 1)
        else:
            while (stop := _JSON_STRING_STOP.search(text, pos)) is not None:
                pos = stop.start() + (2 if stop.group() == "\\" else 1)
                if stop.group() == '"':
                    break
            else:
                break
    return None
