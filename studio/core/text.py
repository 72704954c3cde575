"""User text made safe to show: on a terminal, and inside a sentence.

Scene names, prompts and file names come from sheets and bundles anyone can write. Printed raw,
an escape sequence in them can retitle the terminal, hide lines or recolour what follows, and a
bidi override can make text read backwards; a million-character value would drown the sentence
that quotes it.
"""

from __future__ import annotations

import re

# Bidi embeddings, overrides, isolates and marks, plus the Unicode line and paragraph
# separators: invisible characters that change how the rest of a line reads.
_INVISIBLE = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
              0x2028, 0x2029)


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# C0 controls (ESC among them), DEL and the C1 controls (0x9b is a one-byte CSI).
_TABLE = {code: _escape(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0), *_INVISIBLE)}
_TABLE_KEEP_LINES = {code: text for code, text in _TABLE.items() if code not in (0x09, 0x0A)}
# Whether there is anything to escape at all: most text has nothing, and finding that out is
# many times quicker than translating it (a note per scene of a 20,000-scene sheet).
_UNSAFE = re.compile("[" + "".join(re.escape(chr(code)) for code in _TABLE) + "]")
_UNSAFE_KEEP_LINES = re.compile(
    "[" + "".join(re.escape(chr(code)) for code in _TABLE_KEEP_LINES) + "]")


def for_terminal(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with every control character and bidi override written as a visible escape
    (``\\x1b``, ``\\u202e``). With ``keep_lines``, line feeds and tabs stay as they are (for
    multi-line output the studio lays out itself)."""
    if keep_lines:
        return text.translate(_TABLE_KEEP_LINES) if _UNSAFE_KEEP_LINES.search(text) else text
    return text.translate(_TABLE) if _UNSAFE.search(text) else text


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to about ``limit`` characters with an ellipsis and its full length, for
    quoting a value inside a sentence."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def counted(count: int, noun: str) -> str:
    """``1 scene``, ``4 scenes``: a count and its noun (a plural made with "s")."""
    return f"{count} {noun if count == 1 else noun + 's'}"
