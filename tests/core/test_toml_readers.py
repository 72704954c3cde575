"""The two TOML readers a sheet may meet: the compiled ``tomli`` when installed (the faster
one), else the standard library's ``tomllib``. A sheet reads the same with either: the same
values, the same sentence and line for every mistake, and TOML 1.1 (which ``tomli`` reads from
2.4) refused by both."""

from __future__ import annotations

import sys
import tomllib
import types
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import toml_reader, tomlfile
from studio.core.errors import SheetError
from studio.core.presets import load_catalog
from studio.core.sheet import Sheet, parse_sheet

tomli = pytest.importorskip("tomli")

_CATALOG = load_catalog()
HEAD = ('format = 1\n[character]\nname = "Emma"\nanchor = "Emma, 30-year-old woman"\n'
        'seed = 42\n')
SCENE = '[[scenes]]\nname = "Rooftop"\nsetting = "rooftop at dusk"\n'

_READERS: dict[str, tuple[Callable[[str], dict[str, Any]], tuple[type[ValueError], ...]]] = {
    "tomli": (tomli.loads, (tomli.TOMLDecodeError, tomllib.TOMLDecodeError)),
    "tomllib": (tomllib.loads, (tomllib.TOMLDecodeError,)),
}


def _read_with(reader: str, text: str, monkeypatch: pytest.MonkeyPatch) -> Sheet | str:
    """The sheet ``text`` makes with ``reader``, or the sentence that refuses it."""
    loads, errors = _READERS[reader]
    with monkeypatch.context() as patch:
        patch.setattr(tomlfile, "_toml_loads", loads)
        patch.setattr(tomlfile, "_TOML_ERRORS", errors)
        try:
            return parse_sheet(text, _CATALOG, "odd.sheet.toml")
        except SheetError as exc:
            return str(exc)


def _fake_tomli(version: str) -> types.ModuleType:
    module = types.ModuleType("tomli")
    module.__dict__.update(__version__=version, loads=lambda text: {},
                           TOMLDecodeError=type("TOMLDecodeError", (ValueError,), {}))
    return module


@pytest.mark.parametrize(("version", "faster"), [
    ("2.0.1", False),  # not compiled: no faster than the standard library's
    ("2.1.0", True), ("2.3.2", True),
    ("2.4.0", False), ("3.0", False),  # TOML 1.1
])
def test_tomli_is_used_only_where_it_reads_the_toml_tomllib_reads(
        monkeypatch: pytest.MonkeyPatch, version: str, faster: bool) -> None:
    fake = _fake_tomli(version)
    monkeypatch.setitem(sys.modules, "tomli", fake)
    loads, errors = toml_reader.fast_reader()
    if faster and sys.version_info < (3, 15):
        assert loads is fake.loads and fake.TOMLDecodeError in errors
    else:
        assert loads is tomllib.loads and errors == (tomllib.TOMLDecodeError,)


def test_without_tomli_the_standard_library_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tomli", None)  # import tomli: ImportError
    assert toml_reader.fast_reader() == (tomllib.loads, (tomllib.TOMLDecodeError,))


@pytest.mark.parametrize("text", [
    HEAD + SCENE,
    HEAD + SCENE + 'notes = "a \\u00e9 \\t"\nseed = 0x1F\n',
    HEAD + SCENE + "lighting = 'warm [lamp]'  # a comment\n[preview]\nguidance = 3.5e0\n",
    # mistakes: each with its line
    HEAD + SCENE + 'lens = "open\n',
    HEAD + SCENE + "seed = 1__0\n",
    HEAD + SCENE + "[character]\n",
    HEAD + SCENE + "notes = 1979-05-27T07:32:00Z\n",
    HEAD + SCENE + "seed = " + "9" * 5000 + "\n",
    HEAD.replace("seed = 42", "seed = 42 name = 1"),
    # TOML 1.1, which the standard library of Python 3.11 to 3.14 refuses
    HEAD + SCENE + "notes = { a = 1, }\n",
    HEAD + SCENE + "notes = { a = 1,\n b = 2 }\n",
    HEAD + SCENE + 'notes = "\\e[31m"\n',
    HEAD + SCENE + 'notes = "\\x41"\n',
    HEAD + SCENE + "notes = 07:32\n",
], ids=lambda text: repr(text[len(HEAD):])[:40])
def test_a_sheet_reads_the_same_with_either_reader(
        monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    compiled = _read_with("tomli", text, monkeypatch)
    standard = _read_with("tomllib", text, monkeypatch)
    assert compiled == standard
    if "TOML" in str(standard):
        assert str(standard).startswith("odd.sheet.toml:")  # the line is named


_FRAGMENTS = st.sampled_from([
    "[[scenes]]\n", "[character]\n", "[preview]\n", 'name = "Panel"\n', 'setting = "street"\n',
    "seed = ", "notes = ", "lighting = ", "1", "-0", "0x1F", "1e5", "inf", "nan", "true",
    '"text"', "'lit'", '"""', "'''", "\\", "\\u00e9", "\\e", "{", "}", "[", "]", ",", "=",
    ".", " ", "\n", "#", "1979-05-27", "07:32", "T", "Z", "é", "\x00", "\r\n", "a.b",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, max_size=40).map("".join))
def test_any_text_reads_the_same_with_either_reader(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for body in (HEAD + SCENE + text, text):
            assert (_read_with("tomli", body, monkeypatch)
                    == _read_with("tomllib", body, monkeypatch))


def test_every_studio_file_is_read_by_the_one_reader() -> None:
    # Sheets, templates, presets and settings: one parser, so the standard library's copy is
    # not imported beside the compiled one at every start-up.
    from studio.core import presets as presets_file
    from studio.core import settings as settings_file

    assert presets_file.toml_reader.loads is tomlfile._toml_loads \
        is settings_file.toml_reader.loads
