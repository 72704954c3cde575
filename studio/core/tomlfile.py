"""Reading the TOML files users write (sheets, templates) with strict, one-sentence errors.

TOML parsers keep no line numbers, so a problem is located by finding its table header and key
in the text. Every failure names the file, the key and, where it can be found, the line, and
says what to write instead; the error type (``SheetError``, ``TemplateError``) is the caller's.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from studio.core.errors import FileInputError
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import SEED_MAX, SEED_MIN

# An id-shaped value ("soft-studio") must name a preset; anything with spaces is free text.
ID_SHAPE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")

_TYPE_WORDS: dict[type, str] = {
    str: "text in quotes", int: "a whole number", float: "a number", list: "a list [...]",
    dict: "a table", bool: "true or false",
}


def describe(value: Any) -> str:
    """A value as a sentence names it: ``the text "42"``, ``a list``."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, str):
        return f"the text \"{value}\""
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def parse_toml(text: str, path: str, error: type[FileInputError]) -> dict[str, Any]:
    """The parsed document, or ``error`` naming the line of a syntax mistake."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts the position in the text ("... (at line 2, column 11)") before 3.14.
        found = re.search(r"\s*\(at line (\d+), column \d+\)", str(exc))
        line = int(found.group(1)) if found else getattr(exc, "lineno", None)
        msg = str(exc)[: found.start()] if found else str(exc)
        raise error(path, f"is not valid TOML ({msg})", line=line,
                    hint="check quotes, brackets and '=' on that line") from None


class TomlReader:
    """Typed reads from a parsed document, raising ``error`` at the first problem."""

    #: The error raised; subclasses name their own.
    error: type[FileInputError] = FileInputError
    #: How a sentence names the file format ("the sheet format").
    format_name = "the file format"

    def __init__(self, text: str, path: str, catalog: PresetCatalog) -> None:
        self.lines = text.splitlines()
        self.path = path
        self.catalog = catalog

    def _line_of(self, table: str, key: str | None, index: int | None = None) -> int | None:
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$") if table else None
        any_header = re.compile(r"^\s*\[")
        start, seen = (0 if header is None else None), -1
        for i, line in enumerate(self.lines):
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

    def fail(self, problem: str, *, key: str, table: str = "", index: int | None = None,
             hint: str = "", field_name: str | None = None) -> FileInputError:
        line = self._line_of(table, field_name, index) if table or field_name else None
        return self.error(self.path, problem, key=key, line=line, hint=hint)

    def get(self, tbl: Mapping[str, Any], name: str, kind: type | tuple[type, ...], *,
            key: str, table: str = "", index: int | None = None, required: bool = False,
            hint: str = "") -> Any:
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
        return value

    def seed(self, value: int, *, key: str, table: str, index: int | None = None) -> int:
        if not SEED_MIN <= value <= SEED_MAX:
            raise self.fail(f"is {value}, outside {SEED_MIN}..{SEED_MAX}", key=key, table=table,
                            index=index, field_name="seed",
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
        raise self.fail(f"names an unknown {kind.value} preset \"{value}\"", key=key,
                        table=table, index=index, field_name=name, hint=hint)

    def no_unknown(self, tbl: Mapping[str, Any], allowed: set[str], prefix: str, table: str,
                   index: int | None = None) -> None:
        for key in tbl:
            if key not in allowed:
                near = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"did you mean \"{near[0]}\"?" if near else (
                    "known keys: " + ", ".join(sorted(allowed)))
                full = f"{prefix}.{key}" if prefix else key
                raise self.fail(f"is not a key of {self.format_name}", key=full, table=table,
                                index=index, field_name=key, hint=hint)
