"""Hostile sheet files: every one ends in a SheetError sentence, in bounded time and memory.

The deep and long inputs are the sizes that broke before (a RecursionError traceback for 500
nested arrays and 450 nested inline tables, gigabytes for a 50,000-part dotted key, a
1,000,000-character lighting blamed on the provider); the fuzzing generates the rest.
"""

from __future__ import annotations

import json
import string
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import limits, tomlfile
from studio.core.errors import SheetError
from studio.core.prescan import scan_toml
from studio.core.presets import PresetCatalog, load_catalog
from studio.core.sheet import load_sheet, parse_sheet

_CATALOG = load_catalog()
HEAD = ('format = 1\n[character]\nname = "Emma"\nanchor = "Emma, 30-year-old woman"\n'
        'seed = 42\n')


def scene(**keys: str) -> str:
    body = {"name": "Rooftop", "setting": "rooftop at dusk", **keys}
    return "[[scenes]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in body.items())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hostile.sheet.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------- the measured cases


@pytest.mark.parametrize(("value", "line"), [
    ("[" * 500 + "]" * 500, 9),
    ("{a = " * 450 + "1" + "}" * 450, 9),
], ids=["array-500", "inline-table-450"])
def test_deep_nesting_is_a_sentence_not_a_recursion_error(
        tmp_path: Path, catalog: PresetCatalog, value: str, line: int) -> None:
    path = write(tmp_path, HEAD + scene() + f"notes = {value}\n")
    with pytest.raises(SheetError) as caught:
        load_sheet(path, catalog)
    assert str(caught.value) == (
        f"{path}:{line}: nests arrays or tables more than 16 levels deep, past the limit of 16; "
        "a sheet needs two levels at most: is it really a sheet file?")


def test_a_dotted_key_50000_parts_deep_is_refused_before_parsing(
        tmp_path: Path, catalog: PresetCatalog) -> None:
    key = ".".join(["a"] * 50_000)  # about 100 KB: 9.9 GB of memory in the TOML reader before
    path = write(tmp_path, HEAD + f"{key} = 1\n")
    assert 99_000 < path.stat().st_size < 101_000
    with pytest.raises(SheetError, match=r":6: has a dotted key or table name of more than 16 "
                       r"parts, past the limit of 16; a sheet needs two levels at most"):
        load_sheet(path, catalog)


def test_a_table_header_with_too_many_parts_is_refused(catalog: PresetCatalog) -> None:
    with pytest.raises(SheetError, match="dotted key or table name of more than 16 parts"):
        parse_sheet(HEAD + "[" + ".".join(["t"] * 40) + "]\n", catalog, "x.sheet.toml")


def test_a_million_character_lighting_names_the_scene_and_key(
        tmp_path: Path, catalog: PresetCatalog) -> None:
    path = write(tmp_path, HEAD + scene(lighting="warm light " * 90_910))
    with pytest.raises(SheetError) as caught:
        load_sheet(path, catalog)
    assert str(caught.value) == (
        f"{path}:9: 'scenes[1].lighting' of the scene \"Rooftop\" is 1,000,010 characters "
        "long, over the limit of 1,000; shorten it: a phrase or a few sentences is what the "
        "models read")


@pytest.mark.parametrize("key", ["setting", "lighting", "lens", "notes", "framing", "pattern"])
def test_each_scene_text_is_held_to_its_limit(catalog: PresetCatalog, key: str) -> None:
    most = limits.SHEET_TEXT_MAX[key]
    over = HEAD + scene(**{key: "a b" + "c" * (most - 2)})
    with pytest.raises(SheetError, match=rf"'scenes\[1\]\.{key}' of the scene \"Rooftop\" is "
                       rf"{most + 1:,} characters long, over the limit of {most:,}"):
        parse_sheet(over, catalog)


def test_text_at_the_limit_is_accepted(catalog: PresetCatalog) -> None:
    sheet = parse_sheet(HEAD + scene(setting="s" * limits.SHEET_TEXT_MAX["setting"],
                                     notes="n" * limits.SHEET_TEXT_MAX["notes"]), catalog)
    assert len(sheet.scenes[0].setting) == limits.SHEET_TEXT_MAX["setting"]


@pytest.mark.parametrize(("text", "expected"), [
    (HEAD.replace('"Emma, 30-year-old woman"', json.dumps("x" * 4001)),
     r"'character\.anchor' is 4,001 characters long, over the limit of 4,000"),
    (HEAD + '[character.fields]\nhair = "' + "h" * 1001 + '"\n',
     r"'character\.fields\.hair' is 1,001 characters long"),
    (HEAD.replace('name = "Emma"', 'name = "' + "E" * 201 + '"'),
     r"'character\.name' is 201 characters long, over the limit of 200"),
    ('title = "' + "t" * 201 + '"\n' + HEAD, r"'title' is 201 characters long"),
    (HEAD + "skin = [" + ", ".join(['"a b"'] * 33) + "]\n",
     r"'character\.skin' lists 33 values, over the limit of 32"),
    (HEAD + 'quality = ["' + "q " * 600 + '"]\n', r"'character\.quality' is 1,200 characters"),
    (HEAD + '[preview]\nmodel = "' + "m" * 201 + '"\n', r"'preview\.model' is 201 characters"),
    (HEAD + "[final]\nsteps = 1000000000000000000000000000000\n",
     r"'final\.steps' is 10000000000000000000… \(31 characters\), outside 1\.\.10,000"),
    (HEAD + "[final]\nsteps = 0\n", r"'final\.steps' is 0, outside 1\.\.10,000"),
    (HEAD + "[final]\nguidance = nan\n", r"'final\.guidance' is nan, outside 0\.\.100"),
    (HEAD + "[preview]\nguidance = -inf\n", r"'preview\.guidance' is -inf, outside 0\.\.100"),
    (HEAD + "[preview]\nguidance = 1e999\n", r"'preview\.guidance' is inf, outside"),
    (HEAD.replace("seed = 42", "seed = " + "9" * 5000),
     r"is not valid TOML \(Exceeds the limit \(4300 digits\)"),
    (HEAD.replace("seed = 42", "seed = 1180591620717411303424"),
     r"'character\.seed' is 11805916207174113034… \(22 characters\), outside 0\.\.4294967295"),
    (HEAD + scene(lens="x-" * 499 + "xy"),
     r"'scenes\[1\]\.lens' names an unknown lens preset \"(x-){30}… \(1,000 characters\)\""),
    (HEAD + ("z" * 5000) + " = 1\n",
     r"'character\.z{40}… \(5,000 characters\)' is not a key of the sheet format"),
])
def test_out_of_range_values_are_one_sentence(catalog: PresetCatalog, text: str,
                                              expected: str) -> None:
    with pytest.raises(SheetError, match=expected) as caught:
        parse_sheet(text, catalog, "odd.sheet.toml")
    assert len(str(caught.value)) < 400  # the value is quoted short, never whole


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path,
                                                      catalog: PresetCatalog) -> None:
    path = tmp_path / "huge.sheet.toml"
    with path.open("wb") as fh:  # sparse: no real 16 MB on disk
        fh.truncate(limits.SHEET_FILE_MAX_BYTES + 1)
    with pytest.raises(SheetError) as caught:
        load_sheet(path, catalog)
    assert str(caught.value) == (
        f"{path}: is 16.0 MB, over the limit of 16 MB for a sheet file; split its scenes over "
        "several sheets (a sheet holds at most 50,000 scenes)")


def test_text_handed_over_directly_is_held_to_the_same_size(
        catalog: PresetCatalog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "SHEET_FILE_MAX_BYTES", 1000)
    with pytest.raises(SheetError, match="is 1,001 bytes of text, over the limit of 1,000 bytes"):
        parse_sheet("#" * 1001, catalog, "big.sheet.toml")


def test_more_scenes_than_the_maximum_are_refused(catalog: PresetCatalog,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "SHEET_SCENES_MAX", 3)
    text = HEAD + "".join(scene(name=f"S{i}") for i in range(4))
    with pytest.raises(SheetError, match=r"'scenes' holds 4 scenes, over the limit of 3; split "
                       r"the scenes over several sheets"):
        parse_sheet(text, catalog, "many.sheet.toml")


def test_a_20000_scene_sheet_is_accepted(catalog: PresetCatalog) -> None:
    text = HEAD + "".join(scene(name=f"Panel {i}", lighting="soft-studio") for i in range(20_000))
    sheet = parse_sheet(text, catalog, "storyboard.sheet.toml")
    assert len(sheet.scenes) == 20_000 and sheet.scenes[-1].name == "Panel 19999"


def test_a_device_is_read_only_up_to_the_limit(catalog: PresetCatalog) -> None:
    zero = Path("/dev/zero")
    if not zero.exists():
        pytest.skip("no /dev/zero here")
    with pytest.raises(SheetError, match="over the limit of 16 MB for a sheet file"):
        load_sheet(zero, catalog)


def test_a_recursion_error_from_a_deep_stack_still_becomes_a_sentence(
        catalog: PresetCatalog, monkeypatch: pytest.MonkeyPatch) -> None:
    # The standard library's reader recurses in Python frames (the compiled tomli, when
    # installed, reads this nesting without nearing the limit).
    monkeypatch.setattr(tomlfile, "_toml_loads", tomllib.loads)
    monkeypatch.setattr(tomlfile, "_TOML_ERRORS", (tomllib.TOMLDecodeError,))
    text = HEAD + scene() + "notes = " + "[" * 16 + "]" * 16 + "\n"  # at the nesting limit

    def parse_near_the_recursion_limit(spare: int) -> None:
        depth = 0
        frame = sys._getframe()
        while frame is not None:
            depth, frame = depth + 1, frame.f_back
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(depth + spare)
        try:
            parse_sheet(text, catalog, "deep.sheet.toml")
        finally:
            sys.setrecursionlimit(old)

    with pytest.raises(SheetError, match="nests too deep to read"):
        parse_near_the_recursion_limit(30)


def test_brackets_in_strings_and_comments_do_not_count(catalog: PresetCatalog) -> None:
    deep = "[" * 40 + "{" * 40
    text = (f"# {deep}\n" + HEAD + scene(notes=deep + '"\\' + deep)
            + f"pattern = ''\nlens = '''{deep}\n{deep}'''\n"
            + f'lighting = """{deep}\\"""{deep}\n"""  # {deep}\n')
    sheet = parse_sheet(text, catalog)
    assert sheet.scenes[0].notes.startswith(deep)
    assert sheet.scenes[0].lens == f"{deep}\n{deep}"


# ----------------------------------------------------------------------- the pre-scan itself

_STRING_CHARS = st.text(alphabet=st.sampled_from(list("[]{}#.=,\"'\\\n ab")), max_size=12)


def _toml_string(value: str, style: int) -> str:
    """``value`` as a TOML string in one of four styles (falling back to basic where the style
    cannot hold it)."""
    if style == 1 and "'" not in value and "\n" not in value:
        return f"'{value}'"
    if style == 2 and "'''" not in value and not value.endswith("'"):
        return f"'''{value}'''"
    if style == 3:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"""{escaped}"""'
    return json.dumps(value)


@st.composite
def nested_values(draw: st.DrawFn, depth: int) -> tuple[str, int]:
    """TOML value text and how deep its arrays and inline tables nest."""
    if depth == 0 or draw(st.booleans()):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            return _toml_string(draw(_STRING_CHARS), draw(st.integers(0, 3))), 0
        if kind == 1:
            return draw(st.sampled_from(["1.5", "-0.25", "1e3", "nan", "true", "7",
                                         "1979-05-27T07:32:00.999Z"])), 0
        return ("[]", 1) if kind == 2 else ("{}", 1)
    items = draw(st.lists(nested_values(depth - 1), min_size=1, max_size=3))
    inner = max(d for _, d in items)
    if draw(st.booleans()):
        sep = draw(st.sampled_from([", ", ",\n  ", ", # [ { a comment\n"]))
        return "[" + sep.join(t for t, _ in items) + "]", inner + 1
    keys = [f'k{i}' if i % 2 else f'"q.{i}[x]"' for i in range(len(items))]
    return "{" + ", ".join(f"{k} = {t}" for k, (t, _) in zip(keys, items, strict=True)) + "}", \
        inner + 1


@settings(max_examples=300, deadline=None)
@given(nested_values(6), st.integers(1, 5))
def test_the_scan_measures_exactly_the_nesting_the_reader_sees(
        value: tuple[str, int], dots: int) -> None:
    text, depth = value
    key = ".".join(["part"] * dots)
    doc = f"# header [[[\n{key} = {text}\n"
    tomllib.loads(doc)  # the generated text is valid TOML
    assert scan_toml(doc, max_nesting=depth, max_key_parts=dots) is None
    if depth:
        found = scan_toml(doc, max_nesting=depth - 1, max_key_parts=dots)
        assert found is not None and found.kind == "nesting"
    found = scan_toml(doc, max_nesting=depth, max_key_parts=dots - 1) if dots > 1 else None
    if dots > 1:
        assert found is not None and found.kind == "key" and found.line == 2


# ----------------------------------------------------------------------- fuzzing: never a traceback

_FRAGMENTS = st.sampled_from([
    "[", "]", "[[", "]]", "{", "}", "=", ".", ",", "\n", "#", '"', "'", '"""', "'''", "\\",
    "format = 1\n", "[character]\n", "[[scenes]]\n", "name = ", "seed = ", "setting = ",
    "lighting = ", "steps = ", "guidance = ", "nan", "inf", "-0", "1e999", "0x7f", "true",
    "1979-05-27", "07:32:00", "9" * 30, '"x"', "'y'", "a.b.c", "é", "\x00", "\x1b[31m",
    "\u202e", "scenes", "character", "fields", "notes = ", "[preview]\n", "skin = [",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, max_size=60).map("".join))
def test_arbitrary_fragments_end_in_a_sheet_or_a_sentence(text: str) -> None:
    _parse_or_sentence(HEAD + text)
    _parse_or_sentence(text)


_ODD_VALUES = st.recursive(
    st.none().map(lambda _: "x")
    | st.text(max_size=30)
    | st.integers(1000, 4000).map(lambda n: "ab " * n)  # past every text limit
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.dates() | st.datetimes() | st.times(),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["name", "setting", "lighting", "seed", "steps",
                                       "guidance", "a.b", "fields", "hair", "scenes"]),
                      inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(
    st.sampled_from(["format", "title", "character", "scenes", "preview", "final", "extra"]),
    _ODD_VALUES, max_size=6),
    st.dictionaries(st.sampled_from(["name", "anchor", "seed", "skin", "fields", "negative"]),
                    _ODD_VALUES, max_size=6),
    st.lists(st.dictionaries(st.sampled_from(["name", "setting", "lighting", "lens", "seed",
                                              "framing", "pattern", "notes"]),
                             _ODD_VALUES, max_size=8), max_size=3))
def test_odd_types_in_every_key_end_in_a_sheet_or_a_sentence(
        top: dict[str, Any], character: dict[str, Any], scenes: list[dict[str, Any]]) -> None:
    doc: dict[str, Any] = {"format": 1, **top}
    doc.setdefault("character", character)
    if scenes:
        doc.setdefault("scenes", scenes)
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return  # not expressible in TOML (None in a list...): nothing to read
    _parse_or_sentence(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(1, 600), st.sampled_from(["[", "{a=", "a.", "[t."]))
def test_deep_structures_anywhere_end_in_a_sentence(at: int, levels: int, opener: str) -> None:
    base = HEAD + scene(notes="n")
    at = min(at, len(base))
    _parse_or_sentence(base[:at] + opener * levels + base[at:])


def _parse_or_sentence(text: str) -> None:
    try:
        parse_sheet(text, _CATALOG, "fuzz.sheet.toml")
    except SheetError as exc:
        message = str(exc)
        assert message.startswith("fuzz.sheet.toml") and "Traceback" not in message
        assert len(message) < 2000


def test_generated_printable_text_never_escapes_as_another_error() -> None:
    # A few handpicked shapes hypothesis rarely reaches.
    for text in ['a = """' + "x" * 10, "a = '''", 'a = "\\', "[" * 17, "a" + ".b" * 16 + " = 1",
                 "a = [" + "'[', " * 40 + "]", string.printable * 3]:
        _parse_or_sentence(text)
