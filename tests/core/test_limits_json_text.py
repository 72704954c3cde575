"""JSON within the limits, and user text made safe for a terminal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core import limits
from studio.core.errors import StudioInputError
from studio.core.prescan import scan_json
from studio.core.text import for_terminal, shorten

# ----------------------------------------------------------------------- JSON


@pytest.mark.parametrize(("text", "expected"), [
    ("[" * 100_000 + "]" * 100_000,
     r"^settings\.json: arrays and objects nest more than 32 levels deep \(from line 1\), over "
     r"the limit of 32 levels; is it really a file the studio wrote\?$"),
    ('{"a":\n' * 40 + "1" + "}" * 40,
     r"nest more than 32 levels deep \(from line 33\)"),
    ('{"guidance": NaN}', r"^settings\.json: holds NaN, which is not a number the studio keeps"),
    ('[Infinity]', r"holds Infinity"),
    ('{"seed": 1180591620717411303424}',
     r"holds the number 1180591620717411303424, beyond the 64-bit range"),
    ('{"steps": ' + "9" * 5000 + "}", r"holds the number 9{24}\.\.\., beyond the 64-bit range"),
    ('{"a": ', r"^settings\.json: is not valid JSON \(Expecting value"),
])
def test_hostile_json_is_one_sentence(text: str, expected: str) -> None:
    with pytest.raises(StudioInputError, match=expected):
        limits.read_json(text, "settings.json")


def test_json_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(limits.LimitError, match=r"^big\.json: the JSON text is 2 KB, over the "
                       r"limit of 1 KB"):
        limits.read_json(" " * 2048, "big.json", max_bytes=1024)


def test_json_of_nothing_but_empty_containers_is_refused_before_parsing() -> None:
    """``{},{},...``: three bytes each, some 24 bytes of memory each once parsed (800 MB for a
    32 MB settings file); refused by the count of arrays and objects, before json.loads."""
    text = '[{"file": "a.png", "tags": [' + "{}," * 200_000 + "{}]}]"
    with pytest.raises(limits.LimitError, match=r"^settings\.json: the JSON text holds more "
                       r"than [\d,]+ arrays and objects, over the limit of one for every 32 "
                       r"bytes; is it really a file the studio wrote\?$"):
        limits.read_json(text, "settings.json")
    # the studio's own rows are far from it: a typical row, many times over
    row = {"file": "images/001.png", "prompt": "Emma, 30-year-old woman, " * 8, "seed": 42,
           "tags": ["beach"], "loras": [], "references": [{"sha256": "ab" * 32, "role": "face"}]}
    rows = json.dumps([row] * 500)
    assert limits.read_json(rows, "settings.json") == [row] * 500


def test_json_within_the_limits_reads_as_usual() -> None:
    text = json.dumps({"rows": [{"seed": 2**63 - 1, "guidance": 3.5, "nested": [[["ok"]]]}],
                       "brackets": "[[[[{{{{ \\\" ]]"})
    assert limits.read_json(text, "x.json") == json.loads(text)


_json_leaves = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(
    alphabet=st.sampled_from(list('[]{}"\\ab\n')), max_size=8)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(st.recursive(_json_leaves, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(alphabet='[]{"\\k', max_size=4), inner,
                                      max_size=3), max_leaves=20))
def test_the_json_scan_measures_exactly_the_depth_json_reads(value: Any) -> None:
    text = json.dumps(value, indent=None if _depth(value) % 2 else 1)
    depth = _depth(value)
    assert scan_json(text, max_depth=depth) is None
    if depth:
        assert scan_json(text, max_depth=depth - 1) is not None


def _open_levels(prefix: str) -> int:
    """How many arrays and objects are open at the end of ``prefix`` of valid JSON text
    (a plain character walk, the reference for the scan)."""
    depth, in_string, escaped = 0, False, False
    for char in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return depth


@settings(max_examples=300, deadline=None)
@given(st.recursive(_json_leaves, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(alphabet='[]{"\\k', max_size=4), inner,
                                      max_size=3), min_leaves=1, max_leaves=20),
       st.integers(0, 3))
def test_the_json_scan_names_the_first_bracket_past_the_limit(value: Any, over: int) -> None:
    text = json.dumps(value, indent=1 if over % 2 else None)
    depth = _depth(value)
    if depth <= over:
        return
    excess = scan_json(text, max_depth=depth - 1 - over)
    assert excess is not None and excess.text is text
    assert text[excess.offset] in "[{"  # a bracket outside any string...
    assert _open_levels(text[:excess.offset]) == depth - 1 - over  # ...opening one too many
    assert excess.line == text.count("\n", 0, excess.offset) + 1


# ----------------------------------------------------------------------- terminal text


@pytest.mark.parametrize(("raw", "shown"), [
    ("evil\x1b]0;pwned\x07\x1b[31mred", "evil\\x1b]0;pwned\\x07\\x1b[31mred"),
    ("csi\x9b31m", "csi\\x9b31m"),  # the one-byte C1 CSI
    ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
    ("\u2066iso\u2069 \u200emark", "\\u2066iso\\u2069 \\u200emark"),
    ("nul\x00del\x7f", "nul\\x00del\\x7f"),
    ("two\nlines\tand tab\r", "two\\x0alines\\x09and tab\\x0d"),
    ("café 桜 👩‍👩‍👧 ok", "café 桜 👩‍👩‍👧 ok"),  # letters and emoji joiners stay
])
def test_control_characters_are_written_as_visible_escapes(raw: str, shown: str) -> None:
    assert for_terminal(raw) == shown


def test_the_studios_own_line_breaks_can_be_kept() -> None:
    assert for_terminal("a\x1b[2J\nb\tc\r", keep_lines=True) == "a\\x1b[2J\nb\tc\\x0d"


@given(st.text())
def test_nothing_a_terminal_acts_on_survives(text: str) -> None:
    shown = for_terminal(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u202a\u202b\u202c\u202d"
                   "\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u2028\u2029"
                   for c in shown)


@given(st.text() | st.text(st.sampled_from("ab\x1b\n\t\r\x7f\x9b\u202e\u2028“”–é")),
       st.booleans())
def test_text_found_to_need_no_escape_is_what_escaping_it_gives(text: str,
                                                                keep_lines: bool) -> None:
    from studio.core.text import _TABLE, _TABLE_KEEP_LINES

    assert for_terminal(text, keep_lines=keep_lines) == text.translate(
        _TABLE_KEEP_LINES if keep_lines else _TABLE)


def test_shorten_quotes_a_long_value_with_its_length() -> None:
    assert shorten("x" * 10, 20) == "x" * 10
    assert shorten("y" * 1_000_000, 5) == "yyyyy… (1,000,000 characters)"
