"""Sheet files: the example loads, files round-trip, and every bad file gets one clear message."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.anchor import (
    FIELD_NAMES,
    REFERENCES_MAX,
    AnchorFields,
    ReferenceImage,
    ReferenceRole,
    ReferenceStrength,
)
from studio.core.errors import SheetError
from studio.core.presets import PresetCatalog, PresetKind, load_catalog
from studio.core.request import SEED_MAX, Stage
from studio.core.sheet import (
    Character,
    Scene,
    Sheet,
    dump_sheet,
    load_sheet,
    parse_sheet,
    save_sheet,
)
from studio.core.stages import StageProfile

DATA = Path(__file__).resolve().parents[1] / "data"
_CATALOG = load_catalog()


def test_the_example_sheet_loads(example_sheet_path: Path, catalog: PresetCatalog) -> None:
    sheet = load_sheet(example_sheet_path, catalog)
    assert sheet.character.name == "Emma"
    assert sheet.character.seed == 42
    assert [s.name for s in sheet.scenes] == [
        "Studio headshot", "Coffee-shop window", "Golden-hour street", "Rembrandt editorial"]
    assert sheet.preview.model == "flux-schnell" and sheet.final.model == "fluxgram-v1"


@pytest.mark.parametrize("path", sorted(DATA.glob("*.sheet.toml")), ids=lambda p: p.name)
def test_old_sample_files_still_load(path: Path, catalog: PresetCatalog) -> None:
    sheet = load_sheet(path, catalog)
    assert sheet.scenes


def test_defaults_follow_design_minimum(catalog: PresetCatalog) -> None:
    sheet = parse_sheet('format = 1\n[character]\nname = "Emma"\nanchor = "Emma, woman"\n'
                        'seed = 7\n[[scenes]]\nname = "A"\nsetting = "a park"\n', catalog)
    assert sheet.preview == StageProfile(Stage.PREVIEW, "modelslab", "flux-schnell", 4, 0.0)
    assert sheet.final == StageProfile(Stage.FINAL, "modelslab", "fluxgram-v1", 30, 7.5)
    assert sheet.scenes[0].framing == "portrait"
    assert sheet.character.negative is None


def test_anchor_composes_from_fields_when_absent(catalog: PresetCatalog) -> None:
    sheet = parse_sheet('format = 1\n[character]\nname = "Ben"\nseed = 1\n'
                        '[character.fields]\nage = "40"\npresentation = "man"\n', catalog)
    assert sheet.character.anchor == "Ben, 40-year-old man"


# ----------------------------------------------------------------------- round trip

_text = st.text(alphabet=string.ascii_letters + string.digits + " ,.'-\"\\éü#[]=", max_size=40)
_preset_or_text = lambda kind: st.one_of(  # noqa: E731
    st.sampled_from(_CATALOG.ids(kind)), st.just(""),
    st.text(alphabet=string.ascii_lowercase + " ,", min_size=1, max_size=20).filter(
        lambda t: " " in t.strip()))


@st.composite
def sheets(draw: st.DrawFn) -> Sheet:
    names = draw(st.lists(st.text(alphabet=string.ascii_letters + " -", min_size=1,
                                  max_size=12).filter(str.strip), unique=True, max_size=5))
    scenes = tuple(
        Scene(
            name=n,
            setting=draw(_text),
            lighting=draw(_preset_or_text(PresetKind.LIGHTING)),
            lens=draw(_preset_or_text(PresetKind.LENS)),
            framing=draw(st.one_of(st.sampled_from(_CATALOG.ids(PresetKind.FRAMING)),
                                   st.builds(lambda w, h: f"{w}x{h}", st.integers(64, 2048),
                                             st.integers(64, 2048)))),
            seed=draw(st.none() | st.integers(0, SEED_MAX)),
            pattern=draw(st.sampled_from(["", *_CATALOG.ids(PresetKind.PATTERN)])),
            notes=draw(_text),
            group=draw(st.sampled_from(["", "turnaround", "expressions", "my own group"])),
            outfit=draw(_text),
            reference=draw(st.none() | st.sampled_from(ReferenceStrength)),
        )
        for n in names
    )
    # Reference paths as users write them (folders, spaces, quotes, non-ASCII); the hashes
    # come from the files, never from the text.
    paths = draw(st.lists(st.text(alphabet=string.ascii_letters + string.digits
                                  + " ./_-'\"éü", min_size=1, max_size=30).filter(str.strip),
                          unique=True, max_size=REFERENCES_MAX))
    references = tuple(ReferenceImage(sha256="", role=draw(st.sampled_from(ReferenceRole)),
                                      path=path) for path in paths)
    fields = AnchorFields(**{f: draw(_text) for f in FIELD_NAMES})
    character = Character(
        name=draw(_text), anchor=draw(_text), seed=draw(st.integers(0, SEED_MAX)),
        fields=fields, negative=draw(st.none() | _text),
        skin=tuple(draw(st.lists(st.sampled_from(_CATALOG.ids(PresetKind.SKIN)), max_size=3))),
        quality=tuple(draw(st.lists(st.sampled_from(_CATALOG.ids(PresetKind.QUALITY)),
                                    max_size=2))),
        references=references,
    )
    profiles = [
        StageProfile(stage, draw(st.sampled_from(["modelslab", "replicate", "offline"])),
                     draw(st.text(alphabet=string.ascii_lowercase + "-/.", min_size=1,
                                  max_size=20)),
                     draw(st.integers(1, 60)),
                     draw(st.floats(0, 20, allow_nan=False).map(lambda f: round(f, 3))),
                     draw(st.none() | _text))
        for stage in Stage
    ]
    return Sheet(character=character, scenes=scenes, preview=profiles[0], final=profiles[1],
                 title=draw(_text), template=draw(st.sampled_from(["", "turnaround",
                                                                   "someone-elses"])))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(sheets())
def test_reading_then_writing_gives_back_the_same_sheet(sheet: Sheet) -> None:
    text = dump_sheet(sheet)
    again = parse_sheet(text, _CATALOG, "round.sheet.toml")
    assert again == sheet
    assert dump_sheet(again) == text


def test_save_is_atomic_and_reloads(tmp_path: Path, example_sheet_path: Path,
                                    catalog: PresetCatalog) -> None:
    sheet = load_sheet(example_sheet_path, catalog)
    target = tmp_path / "copy.sheet.toml"
    save_sheet(sheet, target)
    assert load_sheet(target, catalog) == sheet
    assert not list(tmp_path.glob("*.tmp"))


# ----------------------------------------------------------------------- bad files

GOOD_HEAD = 'format = 1\n[character]\nname = "Emma"\nanchor = "Emma, woman"\nseed = 42\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("format = 1\n[character\nname = 'x'", r"bad\.sheet\.toml:2: is not valid TOML"),
        (GOOD_HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\nlighting = "sof-studio"\n',
         r"bad\.sheet\.toml:9: 'scenes\[1\]\.lighting' names an unknown lighting preset "
         r"\"sof-studio\"; did you mean \"soft-studio\"\?"),
        (GOOD_HEAD + '[[scenes]]\nname = "A"\n',
         r"'scenes\[1\]\.setting' is missing; add setting ="),
        ('format = 1\n[character]\nname = "Emma"\nanchor = "x"\nseed = "42"\n',
         r"bad\.sheet\.toml:5: 'character\.seed' must be a whole number, not the text \"42\""),
        ('[character]\nname = "Emma"\nanchor = "x"\nseed = 4\n',
         r"'format' is missing; add format = 1"),
        ('format = 9\n' + GOOD_HEAD[11:],
         r"bad\.sheet\.toml:1: 'format' is 9, newer than this studio reads"),
        (GOOD_HEAD.replace("seed = 42", "seed = 4294967296"),
         r"'character\.seed' is 4294967296, outside 0\.\.4294967295"),
        (GOOD_HEAD + 'colour = "red"\n', r"'character\.colour' is not a key of the sheet format"),
        (GOOD_HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\n[[scenes]]\nname = "A"\n'
         'setting = "y"\n', r":10: 'scenes\[2\]\.name' repeats the scene name \"A\""),
        (GOOD_HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\nframing = "huge"\n',
         r"'scenes\[1\]\.framing' \"huge\" is neither a framing preset nor WIDTHxHEIGHT"),
        ('format = 1\n[character]\nname = "Emma"\nseed = 1\n',
         r"'character\.anchor' is missing"),
        ('format = 1\n', r"'character' is missing; add a \[character\] table"),
        (GOOD_HEAD + '[final]\nsteps = 30.5\n',
         r":7: 'final\.steps' must be a whole number, not the number 30\.5"),
        ('format = 1\ntemplate = 3\n' + GOOD_HEAD[11:],
         r":2: 'template' must be text in quotes, not the number 3; write the id of the "
         r"template"),
        ('format = 1\ntempalte = "turnaround"\n' + GOOD_HEAD[11:],
         r":2: 'tempalte' is not a key of the sheet format; did you mean \"template\"\?"),
        (GOOD_HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\noutfit = ["coat"]\n',
         r":9: 'scenes\[1\]\.outfit' must be text in quotes, not a list"),
        (GOOD_HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\ngroup = 1\n',
         r":9: 'scenes\[1\]\.group' must be text in quotes, not the number 1"),
    ],
)
def test_bad_files_get_one_message_naming_file_key_and_fix(
        tmp_path: Path, catalog: PresetCatalog, text: str, expected: str) -> None:
    path = tmp_path / "bad.sheet.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SheetError, match=expected):
        load_sheet(path, catalog)


def test_unreadable_inputs(tmp_path: Path, catalog: PresetCatalog) -> None:
    with pytest.raises(SheetError, match="does not exist"):
        load_sheet(tmp_path / "missing.sheet.toml", catalog)
    with pytest.raises(SheetError, match="is a folder"):
        load_sheet(tmp_path, catalog)
    binary = tmp_path / "image.sheet.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(SheetError, match="not UTF-8"):
        load_sheet(binary, catalog)


def test_free_text_presets_are_accepted(catalog: PresetCatalog) -> None:
    sheet = parse_sheet(GOOD_HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\n'
                        'lighting = "candlelight, warm flicker"\nlens = "fisheye"\n'
                        'framing = "640x960"\n', catalog)
    assert sheet.scenes[0].lighting == "candlelight, warm flicker"
    assert sheet.scenes[0].lens == "fisheye"


def test_template_group_and_outfit_are_read_and_written(catalog: PresetCatalog) -> None:
    text = ('format = 1\ntemplate = "outfits"\n' + GOOD_HEAD[11:]
            + '[[scenes]]\nname = "Casual"\nsetting = "full body"\ngroup = "outfits"\n'
            'outfit = "jeans, white t-shirt"\n')
    sheet = parse_sheet(text, catalog)
    assert sheet.template == "outfits"
    assert (sheet.scenes[0].group, sheet.scenes[0].outfit) == ("outfits", "jeans, white t-shirt")
    written = dump_sheet(sheet)
    assert 'template = "outfits"' in written and 'group = "outfits"' in written
    # A sheet without them writes none of them (older studios keep reading it).
    plain = parse_sheet(GOOD_HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\n', catalog)
    assert plain.template == "" and plain.scenes[0].group == plain.scenes[0].outfit == ""
    assert "template" not in dump_sheet(plain) and "group" not in dump_sheet(plain)
