"""Reading the TOML files users write (sheets, templates) with strict, one-sentence errors.

TOML parsers keep no line numbers, so a problem is located by finding its table header and key
in the text. Every failure names the file, the key and, where it can be found, the line, and
says what to write instead; the error type (``SheetError``, ``TemplateError``) is the caller's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from studio.core import limits
from studio.core.errors import FileInputError
from studio.core.prescan import scan_toml
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import SEED_MAX, SEED_MIN
from studio.core.text import shorten
from studio.core.toml_reader import DECODE_ERRORS, loads

# An id-shaped value ("soft-studio") must name a preset; anything with spaces is free text.
ID_SHAPE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")

_TYPE_WORDS: dict[type, str] = {
    str: "text in quotes", int: "a whole number", float: "a number", list: "a list [...]",
    dict: "a table", bool: "true or false",
}


#: The reader (tests put the other one in its place).
_toml_loads, _TOML_ERRORS = loads, DECODE_ERRORS


def text_limit(key: str) -> int:
    """The most characters the text value at ``key`` may hold (``core.limits``)."""
    if key.startswith("character.fields."):
        return limits.SHEET_ANCHOR_FIELD_MAX
    name = key.rpartition(".")[2]
    return limits.SHEET_TEXT_MAX.get(name, min(limits.SHEET_TEXT_MAX.values()))


def describe(value: Any) -> str:
    """A value as a sentence names it: ``the text "42"``, ``a list``."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, str):
        return f"the text \"{shorten(value)}\""
    if isinstance(value, int | float):
        return f"the number {shorten(str(value), 30)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _split_hint(kind: str) -> str:
    if kind == "sheet":
        return ("split its scenes over several sheets (a sheet holds at most "
                f"{limits.SHEET_SCENES_MAX:,} scenes)")
    return f"split it over several {kind} files"


def _check_structure(text: str, path: str, error: type[FileInputError], kind: str) -> None:
    """Refuse text too large or nested too deep for the TOML reader, before it runs."""
    if len(text) > limits.SHEET_FILE_MAX_BYTES:
        raise error(path, f"is {limits.bytes_words(len(text))} of text, over the limit of "
                    f"{limits.bytes_words(limits.SHEET_FILE_MAX_BYTES)}", hint=_split_hint(kind))
    excess = scan_toml(text, max_nesting=limits.SHEET_NESTING_MAX,
                       max_key_parts=limits.SHEET_KEY_PARTS_MAX)
    if excess is None:
        return
    if excess.kind == "nesting":
        most = limits.SHEET_NESTING_MAX
        problem = f"nests arrays or tables more than {most} levels deep, past the limit of {most}"
    else:
        most = limits.SHEET_KEY_PARTS_MAX
        problem = (f"has a dotted key or table name of more than {most} parts, past the limit "
                   f"of {most}")
    raise error(path, problem, line=excess.line,
                hint=f"a {kind} needs two levels at most: is it really a {kind} file?")


def parse_toml(text: str, path: str, error: type[FileInputError],
               kind: str = "sheet") -> dict[str, Any]:
    """The parsed document, or ``error`` naming the line of a syntax mistake. Text too large or
    nested too deep for the reader is refused before it runs (``core.limits``)."""
    _check_structure(text, path, error, kind)
    try:
        return _toml_loads(text)
    except _TOML_ERRORS as exc:
        # tomllib puts the position in the text ("... (at line 2, column 11)") before 3.14.
        found = re.search(r"\s*\(at line (\d+), column \d+\)", str(exc))
        line = int(found.group(1)) if found else getattr(exc, "lineno", None)
        if "(at end of document)" in str(exc):
            # Said in the text; only some readers give a line for it (the last one).
            line = None
        msg = str(exc)[: found.start()] if found else str(exc)
        raise error(path, f"is not valid TOML ({msg})", line=line,
                    hint="check quotes, brackets and '=' on that line") from None
    except ValueError as exc:
        # int() refuses numbers of more than 4,300 digits inside the TOML reader.
        raise error(path, f"is not valid TOML ({shorten(str(exc), 80)})",
                    hint="check the long numbers in it") from None
    except RecursionError:
        # The scan above bounds nesting; should the reader still recurse too deep (a caller
        # already deep in its stack), it is the same refusal, never a traceback.
        raise error(path, "nests too deep to read",
                    hint=f"a {kind} needs two levels at most: is it really a {kind} file?"
                    ) from None


def read_toml_file(path: Path, error: type[FileInputError], kind: str) -> str:
    """The text of a TOML file the user gave, read in steps up to the size limit (never the
    whole of whatever the path names: a huge file, a device, a pipe); ``error`` otherwise."""
    limit = limits.SHEET_FILE_MAX_BYTES
    try:
        raw = limits.read_bounded(path, limit)
    except FileNotFoundError:
        raise error(str(path), "does not exist", hint="check the path") from None
    except IsADirectoryError:
        raise error(str(path), f"is a folder, not a {kind} file",
                    hint=f"pass a {kind} file") from None
    except OSError as exc:
        raise error(str(path), f"cannot be read ({exc.strerror})") from None
    if len(raw) > limit:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        shown = f"{limits.bytes_words(size)}, " if size > limit else ""
        raise error(str(path), f"is {shown}over the limit of {limits.bytes_words(limit)} "
                    f"for a {kind} file", hint=_split_hint(kind))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(str(path), "is not UTF-8 text",
                    hint=f"save it as UTF-8 (is it really a {kind} file?)") from None


def find_line(lines: Sequence[str], table: str, key: str | None,
              index: int | None = None) -> int | None:
    """The 1-based line of ``key`` in ``table`` (its ``index``-th header for an array of
    tables), or of the header itself when ``key`` is None; None when it cannot be found."""
    header = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$") if table else None
    any_header = re.compile(r"^\s*\[")
    start, seen = (0 if header is None else None), -1
    for i, line in enumerate(lines):
        if header is not None and header.match(line):
            seen += 1
            if index is None or seen == index:
                start = i
                if key is None:
                    return i + 1
                continue
        if start is None:
            continue
        if i > start and any_header.match(line):
            if header is None:
                break
            return None
        if key is not None and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return i + 1
    return None


class TomlReader:
    """Typed reads from a parsed document, raising ``error`` at the first problem."""

    #: The error raised; subclasses name their own.
    error: type[FileInputError] = FileInputError
    #: How a sentence names the file format ("the sheet format").
    format_name = "the file format"

    def __init__(self, text: str, path: str, catalog: PresetCatalog) -> None:
        self._source = text
        self.path = path
        self.catalog = catalog

    @functools.cached_property
    def lines(self) -> list[str]:
        """The file's lines, split when a problem needs its line (a good file never does)."""
        return self._source.splitlines()

    def _line_of(self, table: str, key: str | None, index: int | None = None) -> int | None:
        return find_line(self.lines, table, key, index)

    def fail(self, problem: str, *, key: str, table: str = "", index: int | None = None,
             hint: str = "", field_name: str | None = None) -> FileInputError:
        line = self._line_of(table, field_name, index) if table or field_name else None
        return self.error(self.path, problem, key=key, line=line, hint=hint)

    def get(self, tbl: Mapping[str, Any], name: str, kind: type | tuple[type, ...], *,
            key: str, table: str = "", index: int | None = None, required: bool = False,
            hint: str = "", scene: str | None = None) -> Any:
        if name not in tbl:
            if required:
                raise self.fail("is missing", key=key, table=table, index=index,
                                hint=hint or f"add {name} = ... to the table")
            return None
        value = tbl[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            wanted = " or ".join(_TYPE_WORDS.get(k, k.__name__) for k in kinds)
            raise self.fail(f"must be {wanted}, not {describe(value)}", key=key, table=table,
                            index=index, field_name=name, hint=hint)
        if isinstance(value, str):
            self.check_length(value, text_limit(key), key=key, table=table, index=index,
                              name=name, scene=scene)
        return value

    def check_length(self, value: str, limit: int, *, key: str, table: str,
                     index: int | None, name: str, scene: str | None = None) -> None:
        """Refuse text over ``limit`` characters here, not later at a provider."""
        if len(value) <= limit:
            return
        of_scene = f"of the scene \"{shorten(scene, 40)}\" " if scene else ""
        raise self.fail(f"{of_scene}is {len(value):,} characters long, over the limit of "
                        f"{limit:,}", key=key, table=table, index=index, field_name=name,
                        hint="shorten it: a phrase or a few sentences is what the models read")

    def seed(self, value: int, *, key: str, table: str, index: int | None = None) -> int:
        if not SEED_MIN <= value <= SEED_MAX:
            raise self.fail(f"is {shorten(str(value), 20)}, outside {SEED_MIN}..{SEED_MAX}",
                            key=key, table=table, index=index, field_name="seed",
                            hint="write a whole number from 0 to 4294967295")
        return value

    def preset_value(self, kind: PresetKind, value: str, *, key: str, table: str,
                     index: int | None, name: str) -> str:
        """``value`` when it names a preset or is free text; an id-shaped unknown fails."""
        if self.catalog.get(kind, value) is not None or not ID_SHAPE.match(value):
            return value
        near = self.catalog.suggest(kind, value)
        hint = f"did you mean \"{near}\"?" if near else (
            f"use one of: {', '.join(self.catalog.ids(kind))}")
        hint += " (free text with spaces is also accepted)"
        raise self.fail(f"names an unknown {kind.value} preset \"{shorten(value)}\"", key=key,
                        table=table, index=index, field_name=name, hint=hint)

    def no_unknown(self, tbl: Mapping[str, Any], allowed: AbstractSet[str], prefix: str, table: str,
                   index: int | None = None) -> None:
        for key in tbl:
            if key not in allowed:
                import difflib  # only for a mistake

                near = (difflib.get_close_matches(key, sorted(allowed), n=1)
                        if len(key) <= limits.SHEET_KEY_MAX_CHARS else [])
                hint = f"did you mean \"{near[0]}\"?" if near else (
                    "known keys: " + ", ".join(sorted(allowed)))
                shown = shorten(key, 40)
                full = f"{prefix}.{shown}" if prefix else shown
                raise self.fail(f"is not a key of {self.format_name}", key=full, table=table,
                                index=index, field_name=key, hint=hint)
