"""Linear pre-scans of TOML and JSON text: how deep it nests, before a parser sees it.

``tomllib`` and ``json`` recurse once per level of nesting, and ``tomllib`` builds a tuple per
part of a dotted key (quadratic memory: a 100 KB key 50,000 parts long took gigabytes). These
scans walk the text once, understand strings and comments so brackets inside them do not count,
and stop at the first place over a limit. They only need to be exact for valid text; for invalid
text they stay linear and the parser that runs next reports the syntax error.
"""

from __future__ import annotations

import itertools
import operator
import re
from dataclasses import dataclass

_TOML_SPECIAL = re.compile(r"[\[\]{}\"'#\n.=,]")
_TOML_BASIC_STOP = re.compile(r'[\\"\n]')
_TOML_ML_BASIC_STOP = re.compile(r'[\\"]')
_TOML_LITERAL_STOP = re.compile(r"['\n]")
#: A run of whole lines that cannot change what the scan counts, matched at a line's start at
#: the top level: blank lines, comments, one-part table headers and ``key = value`` lines
#: with a bare key and a one-line value without escapes or brackets. Any other line ends the
#: run and is scanned character by character. Atomic groups and possessive repeats: a line
#: matched is never matched again another way, so the run is read in one linear pass inside
#: the regular expression engine.
_TOML_PLAIN_LINES = re.compile(r"""
    (?>
        [ \t]*+
        (?>
            [A-Za-z0-9_-]++ [ \t]*+ = [ \t]*+
            (?> "[^"\\\n]*+" | '[^'\n]*+' | [+-]?[0-9]++ (?:\.[0-9]++)? | true | false )
          | \[\[? [ \t]*+ [A-Za-z0-9_-]++ [ \t]*+ \]\]?
        )?
        [ \t]*+ (?:\#[^\n]*+)? \n
    )*+""", re.VERBOSE)
#: A JSON string with its escapes (one left open runs to the end of the text). Linear: every
#: repetition starts at a backslash, so there is only one way to match.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*"?')
_JSON_BRACKET = re.compile(r"[\[\]{}]")
_MARK = "\x00"  # what a string is cut down to (JSON text holds no NUL outside its strings)
#: Bytes tables: braces as square brackets; every byte but a bracket (a UTF-8 sequence of a
#: character past ASCII holds no ASCII byte, so none is taken for one); open 2, close 0.
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_TWICE_OPENS = bytes.maketrans(b"[]", b"\x02\x00")


@dataclass(frozen=True, slots=True)
class Excess:
    """The first place the text goes over a limit."""

    kind: str  # "nesting", "key" or "containers"
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


def _plain_lines_end(text: str, pos: int) -> int:
    """The end of the run of plain lines starting at ``pos`` (``pos`` when there is none)."""
    found = _TOML_PLAIN_LINES.match(text, pos)
    return pos if found is None else found.end()


def scan_toml(text: str, *, max_nesting: int, max_key_parts: int) -> Excess | None:
    """Where ``text`` first nests arrays/inline tables (or table-header brackets) deeper than
    ``max_nesting``, or has a dotted key or table name of more than ``max_key_parts`` parts;
    None if nowhere.

    Keys are told from values as the TOML reader does: a key starts a line, a table header or
    an inline table's entry; what follows ``=`` is a value (so ``1.5`` is not two parts).
    """
    # Plain lines nest two levels at most (``[[scenes]]``) and have one-part keys.
    return _scan_toml(text, max_nesting, max_key_parts,
                      skip_plain=max_nesting >= 2 and max_key_parts >= 1)


def _scan_toml(text: str, max_nesting: int, max_key_parts: int, *,
               skip_plain: bool) -> Excess | None:
    """:func:`scan_toml`; with ``skip_plain``, runs of plain lines are passed over whole."""
    opened: list[str] = []  # "h" table header, "[" array, "{" inline table
    in_key = True
    parts = 1
    search = _TOML_SPECIAL.search
    pos = _plain_lines_end(text, 0) if skip_plain else 0
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
                if skip_plain:
                    pos = _plain_lines_end(text, pos)
        elif char == "#":
            end = text.find("\n", index)
            if end < 0:
                break
            pos = end  # the line end itself is scanned next
        else:  # a quote: quoted key parts keep the count, so nothing resets here
            pos = _skip_toml_string(text, index)
    return None


def scan_json(text: str, *, max_depth: int, max_containers: int | None = None) -> Excess | None:
    """Where ``text`` first nests arrays and objects deeper than ``max_depth``; None if nowhere.
    With ``max_containers``, text holding more arrays and objects than that is an excess of
    kind "containers" (at the start: the count is of the whole text), unless it nests too deep.

    The loops run inside the regular expression engine and bytes methods, not in Python: each
    string is cut down to one mark and the brackets left are kept as bytes (``{}`` counted as
    ``[]``: nesting is nesting, whichever bracket); taking out every innermost pair
    ``max_depth`` times empties them when nothing nests deeper. Otherwise running depths find
    the place. A close bracket with nothing open makes the text invalid right there, and the
    parser stops at it, so the depths after it need not be exact.
    """
    marked = _JSON_STRING.sub(_MARK, text)  # brackets inside strings do not nest
    brackets = marked.encode("utf-8", "surrogatepass").translate(_AS_SQUARE, _NOT_BRACKETS)
    excess = _nesting(text, marked, brackets, max_depth)
    if excess is None and max_containers is not None \
            and brackets.count(b"[") > max_containers:
        return Excess("containers", 0, text)
    return excess


def _nesting(text: str, marked: str, brackets: bytes, max_depth: int) -> Excess | None:
    rest = brackets
    for _ in range(max_depth):
        if not rest:
            return None
        inner_gone = rest.replace(b"[]", b"")  # one level: its output is not searched again
        if len(inner_gone) == len(rest):
            break  # what is left does not close: invalid text, measured below
        rest = inner_gone
    if not rest:
        return None
    # Depth after the i-th bracket (from 1): twice the opens so far, less i.
    depths = map(operator.sub, itertools.accumulate(brackets.translate(_TWICE_OPENS)),
                 itertools.count(1))
    deeper = itertools.compress(itertools.count(), map(max_depth.__lt__, depths))
    index = next(deeper, None)
    if index is None:
        return None
    at = next(itertools.islice(_JSON_BRACKET.finditer(marked), index, None)).start()
    return Excess("nesting", _offset_in_text(text, marked, at), text)


def _offset_in_text(text: str, marked: str, at: int) -> int:
    """Where the character at ``at`` of ``marked`` (``text`` with each string cut down to one
    mark) is in ``text``: so far past the end of the last string before it."""
    last = marked.rfind(_MARK, 0, at)
    if last < 0:
        return at
    if _MARK in text:  # not JSON; the marks do not all stand for strings, so count them out
        removed = 0
        for found in _JSON_STRING.finditer(text):
            if found.start() - removed > at:
                break
            removed += found.end() - found.start() - 1
        return at + removed
    before = marked.count(_MARK, 0, at)
    string = next(itertools.islice(_JSON_STRING.finditer(text), before - 1, None))
    return string.end() + (at - last - 1)
