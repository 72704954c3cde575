"""The short cuts that let a sheet of thousands of scenes load and compose quickly give the same
answers as the long way: the TOML pre-scan passing over plain lines, the reader checking each
distinct value once, and prompts and fingerprints composed once per sheet."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from studio.core import limits
from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.errors import SheetError
from studio.core.fingerprint import (
    REASONS,
    Fingerprint,
    SheetFingerprints,
    fingerprint,
    fingerprint_texts,
)
from studio.core.prescan import _scan_toml, scan_toml
from studio.core.presets import PresetCatalog, PresetKind, load_catalog
from studio.core.prompt import PromptPart, SheetPrompts, build_request, prompt_parts
from studio.core.request import Stage
from studio.core.sheet import Scene, Sheet, _Reader, parse_sheet

_CATALOG = load_catalog()
HEAD = ('format = 1\n[character]\nname = "Emma"\nanchor = "Emma, 30-year-old woman"\n'
        'seed = 42\n')


# ----------------------------------------------------------------------------- pre-scan

# Lines the plain-line pass takes whole, and lines it must leave to the character scan.
_LINES = [
    "", "   ", "# a comment [[ { .", "[[scenes]]", "[character]", " [ preview ] ",
    'name = "Panel 1"', "key = 'literal [ value'", "seed = 42", "guidance = 3.5",
    "flag = true", "x=-7", 'setting = "a, b. c [d] {e}"  # comment',
    # what plain lines are not: the scan itself must read these
    "a.b.c.d.e.f = 1", "[a.b.c]", "[[a.b]]", "deep = [[[[[[1]]]]]]", "t = {a = {b = {c = 1}}}",
    "arr = [", "  1, [2, [3]],", "]", 'ml = """', 'inside [[[ { "" ', 'still "" """',
    "lit = '''", "[[ not a header ]]]", "'''", 'esc = "a \\" [ b"', "q.'a.b'.c = 1",
    "[a . b . c . d]", "x = 1.5.6", "\r", "key = \"open", "{", "}", "= [",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_LINES), max_size=40), st.integers(2, 6), st.integers(1, 4))
def test_passing_over_plain_lines_finds_what_the_character_scan_finds(
        lines: list[str], nesting: int, parts: int) -> None:
    text = "\n".join(lines) + "\n"
    fast = scan_toml(text, max_nesting=nesting, max_key_parts=parts)
    slow = _scan_toml(text, nesting, parts, skip_plain=False)
    assert (fast and (fast.kind, fast.offset)) == (slow and (slow.kind, slow.offset))


def test_a_deep_value_after_thousands_of_plain_lines_is_still_found() -> None:
    body = "".join(f'[[scenes]]\nname = "Panel {i}"\nsetting = "street"\n\n' for i in range(3000))
    text = HEAD + body + "notes = " + "[" * 40 + "]" * 40 + "\n"
    found = scan_toml(text, max_nesting=limits.SHEET_NESTING_MAX,
                      max_key_parts=limits.SHEET_KEY_PARTS_MAX)
    assert found is not None and found.kind == "nesting"
    assert found.line == text.count("\n")  # the last line


# ----------------------------------------------------------------------------- the reader

def scenes(count: int, **last: str) -> str:
    """``count`` scenes sharing their values, the last one with ``last`` in its own."""
    out = []
    for i in range(count):
        keys = {"name": f"Panel {i}", "setting": "street", "lighting": "soft-studio",
                "lens": "sigma-35", "framing": "768x1024"}
        if i == count - 1:
            keys.update(last)
        out.append("[[scenes]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items()))
    return "".join(out)


@pytest.mark.parametrize(("last", "words"), [
    ({"lighting": "soft-studoi"}, r"scenes\[300\]\.lighting.*unknown lighting preset"),
    ({"framing": "huge"}, r"scenes\[300\]\.framing.*neither a framing preset"),
    ({"setting": "x" * (limits.SHEET_TEXT_MAX["setting"] + 1)},
     r"scenes\[300\]\.setting.*over the limit"),
    ({"name": "Panel 0"}, r"scenes\[300\]\.name.*repeats the scene name"),
    ({"reference": "loud"}, r"scenes\[300\]\.reference.*not a reference strength"),
    ({"colour": "red"}, r"scenes\[300\]\.colour.*not a key"),
])
def test_a_value_checked_once_is_still_refused_in_the_scene_that_gets_it_wrong(
        last: dict[str, str], words: str) -> None:
    text = HEAD + scenes(300, **last)
    with pytest.raises(SheetError, match=words) as caught:
        parse_sheet(text, _CATALOG, "big.sheet.toml")
    key = next(iter(last))
    line = max(n for n, row in enumerate(text.splitlines(), 1) if row.startswith(f"{key} ="))
    assert str(caught.value).startswith(f"big.sheet.toml:{line}: ")


def test_a_sheet_of_many_scenes_reads_every_value() -> None:
    sheet = parse_sheet(HEAD + scenes(500, lighting="warm lamplight", lens="canon-ef-85"),
                        _CATALOG)
    assert len(sheet.scenes) == 500
    assert {s.lighting for s in sheet.scenes} == {"soft-studio", "warm lamplight"}
    assert sheet.scenes[-1].lens == "canon-ef-85" and sheet.scenes[0].framing == "768x1024"


class _LongWay(_Reader):
    """The reader with every scene checked the long way (no short way for plain scenes)."""

    def _plain_scene(self, tbl: dict[str, Any]) -> Scene | None:
        return None


def _read(reader: type[_Reader], text: str) -> Sheet | str:
    try:
        return reader(text, "odd.sheet.toml", _CATALOG).sheet(tomllib.loads(text))
    except SheetError as exc:
        return str(exc)


_LONG = "ab " * 700  # past every scene text limit
#: Values a scene may hold, plain ones (repeated from scene to scene: the short way's case).
_PLAIN_VALUES: dict[str, list[Any]] = {
    "setting": ["street", " rooftop "],
    "lighting": ["", "soft-studio", "warm lamp"],
    "lens": ["", "sigma-35", "zoom lens"],
    "framing": ["", "portrait", "768x1024"],
    "pattern": ["", "editorial"],
    "seed": [0, 42, 2**32 - 1],
    "reference": ["", "off", "light", "strong"],
    "notes": ["", "a note"],
    "group": ["", "turnaround"],
    "outfit": ["", "red coat"],
}
#: And odd ones, each refused (or taken) by the long way with its own sentence.
_ODD_VALUES: dict[str, list[Any]] = {
    "name": ["", "  ", _LONG, 7, "Scene 0"],
    "setting": ["", _LONG, True],
    "lighting": ["soft-studoi", _LONG, 1],
    "lens": ["no-such-lens", "canon-ef-85"],
    "framing": ["huge", "1x1", 3],
    "pattern": ["free text pattern", "no-such", "documentary"],
    "seed": [2**32, -1, True, "42", 1.5],
    "reference": ["loud", "Strong"],
    "notes": [_LONG, ["a list"]],
    "outfit": [_LONG],
    "colour": ["red"],  # not a key of a scene
}
_PLAIN_SCENE = st.fixed_dictionaries(
    {"setting": st.sampled_from(_PLAIN_VALUES["setting"])},
    optional={k: st.sampled_from(v) for k, v in _PLAIN_VALUES.items() if k != "setting"})
_PLAIN_CHANGE = st.sampled_from(sorted(_PLAIN_VALUES)).flatmap(
    lambda key: st.tuples(st.just(key), st.sampled_from(_PLAIN_VALUES[key])))
_ODD_CHANGE = st.sampled_from([(k, v) for k, values in _ODD_VALUES.items() for v in values])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_PLAIN_SCENE, st.lists(st.lists(_PLAIN_CHANGE, max_size=2), min_size=1, max_size=10),
       st.lists(st.tuples(st.integers(0, 9), _ODD_CHANGE | st.sampled_from(["name", "setting"])),
                max_size=2))
# A value the scenes before have made plain, odd only in the last scene.
@example({"setting": "street"}, [[], []], [(0, ("name", "Scene 0"))])
@example({"setting": "street"}, [[], []], [(0, ("reference", "loud"))])
@example({"setting": "street"}, [[], []], [(0, ("name", "  "))])
def test_the_short_way_for_plain_scenes_reads_as_the_long_way(
        first: dict[str, Any], changes: list[list[tuple[str, Any]]],
        odd: list[tuple[int, tuple[str, Any] | str]]) -> None:
    # Each scene the one before it with a few plain values changed, as a storyboard's are.
    tables, table = [], first
    for i, changed in enumerate(changes):
        table = {**table, **dict(changed), "name": f"Scene {i}"}
        tables.append(table)
    for at, change in odd:  # an odd value, or a required key left out, in some scene
        table = tables[-1 - at % len(tables)]
        if isinstance(change, str):
            table.pop(change, None)
        else:
            table[change[0]] = change[1]
    text = HEAD + "".join(f"[[scenes]]\n{tomli_w.dumps(table)}" for table in tables)
    short = _read(_Reader, text)
    assert short == _read(_LongWay, text)
    if isinstance(short, str):  # a refusal names the line of the scene at fault
        assert short.startswith("odd.sheet.toml:")


# ----------------------------------------------------------------------------- composing

_REFS = (ReferenceImage("a" * 64, ReferenceRole.FACE, "refs/face.png"),
         ReferenceImage("b" * 64, ReferenceRole.FULL_BODY, "refs/body.png"),
         ReferenceImage("c" * 64, ReferenceRole.OUTFIT, "refs/coat.png"))

_scene = st.builds(
    Scene,
    name=st.just(""),
    setting=st.sampled_from(["street", "  rooftop at dusk ", "", "café, window, rain"]),
    lighting=st.sampled_from(["", "soft-studio", "golden-hour", "candle light, low"]),
    lens=st.sampled_from(["", "sigma-35", "an old zoom lens"]),
    framing=st.sampled_from(["portrait", "full-body", "landscape", "768x1344", "nonsense"]),
    seed=st.none() | st.integers(0, 2**32 - 1),
    pattern=st.sampled_from(["", "editorial", "documentary"]),
    outfit=st.sampled_from(["", "red dress", " wearing a coat ", "a, b"]),
    reference=st.sampled_from([None, *ReferenceStrength]),
)


def _sheet(catalog: PresetCatalog, scene_list: list[Scene], refs: int, written: bool) -> Sheet:
    base = parse_sheet(HEAD + '[character.fields]\npresentation = "woman"\nhair = "red"\n'
                       if not written else HEAD, catalog)
    if not written:
        base = replace(base, character=replace(base.character, anchor=""))
    character = replace(base.character, references=_REFS[:refs],
                        skin=("pores-subsurface", " freckles "), quality=("skin-pores-4k",))
    named = tuple(replace(s, name=f"Scene {i}") for i, s in enumerate(scene_list))
    return replace(base, character=character, scenes=named)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_scene, min_size=1, max_size=12), st.integers(0, 3), st.booleans())
def test_composing_a_whole_sheet_at_once_gives_each_scene_what_it_gives_alone(
        scene_list: list[Scene], refs: int, written: bool) -> None:
    sheet = _sheet(_CATALOG, scene_list, refs, written)
    prompts = SheetPrompts(sheet, _CATALOG)
    shared = SheetFingerprints(sheet, _CATALOG, prompts)
    # Twice round, in turn: kept values never leak from one scene into the next.
    for scene in [*sheet.scenes, *reversed(sheet.scenes)]:
        assert prompts.parts(scene) == prompt_parts(sheet, scene, _CATALOG)
        for stage in Stage:
            assert prompts.request(scene, stage) == build_request(sheet, scene, stage, _CATALOG)
            assert shared.texts(scene, stage) == fingerprint_texts(sheet, scene, stage,
                                                                   _CATALOG)
            assert shared.of(scene, stage) == fingerprint(sheet, scene, stage, _CATALOG)
        assert shared.stages(scene) == {stage: fingerprint(sheet, scene, stage, _CATALOG)
                                        for stage in Stage}


# The long way, written out as the rules read (the guides' order, every part resolved anew for
# each scene): what the kept shapes of a sheet must give for every scene.

def _long_parts(sheet: Sheet, scene: Scene, catalog: PresetCatalog) -> list[PromptPart]:
    from studio.core.anchor import anchor_subject
    from studio.core.prompt import reference_clause
    from studio.core.sheet import scene_anchor, scene_references

    ch = sheet.character
    anchor = scene_anchor(sheet, scene)
    parts = [PromptPart("reference", reference_clause(anchor_subject(anchor, ch.fields),
                                                      scene_references(sheet, scene))),
             PromptPart("anchor", anchor.strip()),
             *(PromptPart("skin", catalog.text_for(PresetKind.SKIN, s)) for s in ch.skin),
             PromptPart("setting", scene.setting.strip())]
    for role, kind, value in (("pattern", PresetKind.PATTERN, scene.pattern),
                              ("lighting", PresetKind.LIGHTING, scene.lighting),
                              ("lens", PresetKind.LENS, scene.lens)):
        if value:
            parts.append(PromptPart(role, catalog.text_for(kind, value)))
    parts += [PromptPart("quality", catalog.text_for(PresetKind.QUALITY, q)) for q in ch.quality]
    return [p for p in parts if p.text.strip()]


def _long_texts(sheet: Sheet, scene: Scene, stage: Stage,
                catalog: PresetCatalog) -> dict[str, str]:
    from studio.core.fingerprint import REASONS, reference_text
    from studio.core.prompt import stage_negative
    from studio.core.sheet import frame_size

    texts: dict[str, str] = {}
    for part in _long_parts(sheet, scene, catalog):
        text = part.text.strip()
        texts[part.role] = f"{texts[part.role]}\x1f{text}" if part.role in texts else text
    width, height = frame_size(scene.framing, catalog) or (1024, 1024)
    profile = sheet.profile(stage)
    texts.update(reference=reference_text(sheet, scene, texts.get("reference", "")),
                 framing=f"{width}x{height}", seed=str(sheet.seed_for(scene)),
                 negative=stage_negative(sheet, stage, catalog), model=profile.model,
                 steps=str(profile.steps), guidance=repr(float(profile.guidance)))
    return {name: texts.get(name, "") for name in REASONS}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_scene, min_size=1, max_size=12), st.integers(0, 3), st.booleans())
def test_scenes_of_one_shape_compose_as_each_does_the_long_way(
        scene_list: list[Scene], refs: int, written: bool) -> None:
    sheet = _sheet(_CATALOG, scene_list, refs, written)
    prompts = SheetPrompts(sheet, _CATALOG)
    shared = SheetFingerprints(sheet, _CATALOG, prompts)
    for scene in [*sheet.scenes, *reversed(sheet.scenes)]:
        parts = _long_parts(sheet, scene, _CATALOG)
        assert prompts.parts(scene) == parts
        assert prompts.prompt(scene) == ", ".join(
            p.text.strip().strip(",").strip() for p in parts)
        request = prompts.request(scene, Stage.PREVIEW)
        assert (request.prompt, request.seed, request.context.scene) == (
            prompts.prompt(scene), sheet.seed_for(scene), scene.name)
        for stage in Stage:
            texts = _long_texts(sheet, scene, stage, _CATALOG)
            assert shared.texts(scene, stage) == texts
            assert shared.of(scene, stage) == Fingerprint.of_texts(texts)
            # The stored form keeps the parts in the order of the reasons.
            assert list(shared.of(scene, stage).parts) == list(REASONS)
