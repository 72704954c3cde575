"""Sheet templates: the built-ins as artists know them, the user's merged over them, strict
one-sentence errors for bad files, and sheets made from them that read back and lint clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.anchor import AnchorFields
from studio.core.checks import lint_sheet
from studio.core.errors import TemplateError
from studio.core.presets import PresetCatalog
from studio.core.prompt import compose_prompt
from studio.core.sheet import dump_sheet, load_sheet, parse_sheet
from studio.core.templates import (
    SheetLayout,
    UnknownTemplateError,
    append_template,
    character_anchor,
    default_layout,
    load_templates,
    sheet_from_template,
)

ANGLES = ["Front", "Three-quarter front", "Profile", "Three-quarter back", "Back"]
ANCHOR = "30-year-old woman, short red hair, green eyes, freckles, wearing a green parka"


@pytest.fixture(scope="module")
def templates(catalog: PresetCatalog):  # type: ignore[no-untyped-def]
    return load_templates(catalog)


def labels(template, optional: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.label for c in template.chosen_cells(optional)]


def test_the_built_in_templates_in_order(templates) -> None:  # type: ignore[no-untyped-def]
    assert templates.ids() == ["turnaround", "head-turn", "expressions", "poses", "outfits",
                               "storyboard"]
    assert labels(templates.get("turnaround")) == ANGLES
    assert labels(templates.get("head-turn")) == ANGLES
    expressions = templates.get("expressions")
    assert labels(expressions) == ["Neutral", "Happy", "Sad", "Angry", "Surprised", "Fearful",
                                   "Disgusted", "Confident"]
    assert [c.label for c in expressions.cells if c.optional] == [
        "Smug", "Embarrassed", "Exhausted", "Determined"]
    assert labels(templates.get("poses")) == ["Idle", "Walk", "Run", "Sit", "Jump",
                                              "Signature action"]
    assert labels(templates.get("outfits")) == ["Default", "Casual", "Formal", "Bad weather"]
    assert labels(templates.get("storyboard")) == [
        "Establishing wide", "Medium", "Close-up", "Over-the-shoulder", "Low angle",
        "High angle"]
    layouts = {t.id: t.layout for t in templates.all()}
    assert layouts == {"turnaround": SheetLayout.TURNAROUND, "head-turn": SheetLayout.TURNAROUND,
                       "expressions": SheetLayout.EXPRESSIONS, "poses": SheetLayout.SHEET,
                       "outfits": SheetLayout.SHEET, "storyboard": SheetLayout.STORYBOARD}


def test_every_cell_shares_one_flat_studio_lighting(templates, catalog) -> None:  # type: ignore[no-untyped-def]
    flat = catalog.get("lighting", "flat-studio")
    assert flat is not None and "light grey seamless background" in flat.text
    for template in templates.all():
        scenes = template.scenes(include_optional=True)
        assert {s.lighting for s in scenes} == {"flat-studio"}, template.id
        assert {s.group for s in scenes} == {template.id}
        assert all(s.setting for s in scenes)
    turnaround = templates.get("turnaround").scenes()
    assert {s.framing for s in turnaround} == {"full-body"}
    assert all("neutral A-pose" in s.setting for s in turnaround)
    assert {s.framing for s in templates.get("head-turn").scenes()} == {"portrait"}


@pytest.mark.parametrize("optional", [False, True])
def test_every_template_makes_a_sheet_that_reads_back_and_lints_clean(
        templates, catalog: PresetCatalog, optional: bool) -> None:  # type: ignore[no-untyped-def]
    for template in templates.all():
        sheet = sheet_from_template(template, "Mara", 7, anchor=ANCHOR,
                                    include_optional=optional)
        assert sheet.template == template.id
        assert len(sheet.scenes) == len(template.chosen_cells(optional))
        text = dump_sheet(sheet)
        assert f'template = "{template.id}"' in text
        again = parse_sheet(text, catalog, f"{template.id}.sheet.toml")
        assert again == sheet
        assert lint_sheet(again, catalog) == [], template.id


def test_outfit_cells_swap_only_the_outfit(templates, catalog: PresetCatalog) -> None:  # type: ignore[no-untyped-def]
    sheet = sheet_from_template(templates.get("outfits"), "Mara", 7, anchor=ANCHOR)
    default, casual = (compose_prompt(sheet, s, catalog) for s in sheet.scenes[:2])
    assert default.startswith(f"Mara, {ANCHOR}, full body")
    assert casual.startswith("Mara, 30-year-old woman, short red hair, green eyes, freckles, "
                             "wearing a plain t-shirt, jeans and white sneakers, full body")
    assert "green parka" not in casual


def test_user_templates_replace_built_ins_by_id_and_add_new_ones(
        tmp_path: Path, catalog: PresetCatalog) -> None:
    user_file = tmp_path / "templates.toml"
    user_file.write_text(
        'format = 1\n'
        '[[template]]\nid = "turnaround"\nlabel = "My turnaround"\nlayout = "turnaround"\n'
        'lighting = "soft-studio"\nframing = "full-body"\n'
        '[[template.cells]]\nlabel = "Front"\ntext = "front view, T-pose"\n'
        '[[template.cells]]\nlabel = "Back"\ntext = "back view, T-pose"\n',
        encoding="utf-8")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "night.toml").write_text(
        'format = 1\n[[template]]\nid = "night-poses"\nlabel = "Night poses"\n'
        'lighting = "candlelight, warm flicker"\nsetting = "dark alley"\n'
        '[[template.cells]]\nlabel = "Lurk"\n', encoding="utf-8")
    templates = load_templates(catalog, user_file=user_file, user_dir=folder)
    assert templates.ids() == ["turnaround", "head-turn", "expressions", "poses", "outfits",
                               "storyboard", "night-poses"]
    mine = templates.get("turnaround")
    assert mine.source == "user" and mine.label == "My turnaround"
    assert labels(mine) == ["Front", "Back"]
    night = templates.get("night-poses")
    assert night.layout is SheetLayout.SHEET and night.source == "user"
    assert night.scenes()[0].setting == "dark alley"
    assert night.scenes()[0].lighting == "candlelight, warm flicker"
    # missing user files and folders are fine
    assert len(load_templates(catalog, user_file=tmp_path / "none.toml",
                              user_dir=tmp_path / "none")) == 6


HEAD = 'format = 1\n[[template]]\nid = "mine"\nlabel = "Mine"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("format = 1\n[[template]\n", r"templates\.toml:2: is not valid TOML"),
        ('[[template]]\nid = "x"\n', r"templates\.toml: 'format' is missing; add format = 1"),
        ('format = 2\n', r"templates\.toml:1: 'format' is 2, not a template format"),
        (HEAD + 'colour = "red"\n[[template.cells]]\nlabel = "A"\ntext = "a"\n',
         r"templates\.toml:5: 'template \"mine\"\.colour' is not a key of the template format"),
        ('format = 1\n[[template]]\nid = "My Template"\nlabel = "x"\n',
         r":3: 'template\[1\]\.id' \"My Template\" is not a template id"),
        ('format = 1\n[[template]]\nlabel = "x"\n',
         r"'template\[1\]\.id' is missing; add id = \"my-template\""),
        (HEAD, r"'template \"mine\"' has no cells; add a \[\[template\.cells\]\] table"),
        (HEAD + 'layout = "poster"\n[[template.cells]]\nlabel = "A"\ntext = "a"\n',
         r":5: 'template \"mine\"\.layout' names an unknown layout \"poster\"; use one of: "
         r"sheet, storyboard, turnaround, expressions, model-sheet"),
        (HEAD + 'lighting = "flat-studi"\n[[template.cells]]\nlabel = "A"\ntext = "a"\n',
         r":5: 'template \"mine\"\.lighting' names an unknown lighting preset \"flat-studi\"; "
         r"did you mean \"flat-studio\"\?"),
        (HEAD + '[[template.cells]]\nlabel = "A"\ntext = "a"\n[[template.cells]]\n'
         'label = "B"\ntext = "b"\nframing = "huge"\n',
         r":11: 'template \"mine\"\.cells\[2\]\.framing' \"huge\" is neither a framing preset"),
        (HEAD + '[[template.cells]]\nlabel = "A"\n',
         r"'template \"mine\"\.cells\[1\]' has no text and its template no setting"),
        (HEAD + '[[template.cells]]\nlabel = "A"\ntext = "a"\n[[template.cells]]\n'
         'label = "A"\ntext = "b"\n',
         r":9: 'template \"mine\"\.cells\[2\]\.label' repeats the cell label \"A\""),
        (HEAD + '[[template.cells]]\nlabel = "A"\ntext = "a"\noptional = "yes"\n',
         r":8: 'template \"mine\"\.cells\[1\]\.optional' must be true or false, not the text"),
        (HEAD + '[[template.cells]]\nlabel = "A"\ntext = "a"\n' + HEAD[11:]
         + '[[template.cells]]\nlabel = "A"\ntext = "a"\n',
         r"'template\[2\]\.id' repeats the template id \"mine\""),
    ],
)
def test_a_bad_template_file_gets_one_sentence_naming_file_key_and_fix(
        tmp_path: Path, catalog: PresetCatalog, text: str, expected: str) -> None:
    user = tmp_path / "templates.toml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError, match=expected) as info:
        load_templates(catalog, user_file=user)
    assert "\n" not in str(info.value)


def test_an_unknown_template_id_names_the_known_ones(templates) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownTemplateError, match=r'^There is no template "turnarund"; did '
                       r'you mean "turnaround"\? Use one of: turnaround, head-turn, '):
        templates.require("turnarund")
    with pytest.raises(UnknownTemplateError, match=r'"zzz"; use one of: turnaround'):
        templates.require("zzz")


def test_appending_a_template_keeps_names_unique_and_groups_the_cells(templates) -> None:  # type: ignore[no-untyped-def]
    sheet = sheet_from_template(templates.get("turnaround"), "Mara", 7)
    both = append_template(sheet, templates.get("head-turn"))
    assert both.template == "turnaround"  # the sheet keeps the template it was made from
    names = [s.name for s in both.scenes]
    assert names[:5] == ANGLES
    assert names[5:] == [f"{a} (Head turn)" for a in ANGLES]
    assert [s.group for s in both.scenes] == ["turnaround"] * 5 + ["head-turn"] * 5
    again = append_template(both, templates.get("head-turn"))
    assert [s.name for s in again.scenes][10:] == [f"{a} (Head turn 2)" for a in ANGLES]
    empty = sheet.with_scenes(())
    from dataclasses import replace
    started = append_template(replace(empty, template=""), templates.get("expressions"),
                              include_optional=True)
    assert started.template == "expressions" and len(started.scenes) == 12


def test_a_new_characters_anchor() -> None:
    assert character_anchor("Mara") == "Mara"
    assert character_anchor("Mara", "30-year-old woman") == "Mara, 30-year-old woman"
    assert character_anchor("Mara", "mara, 30-year-old woman") == "mara, 30-year-old woman"
    assert character_anchor("Mara", "", AnchorFields(age="30", hair="red")) == (
        "Mara, 30-year-old, red hair")


def test_the_default_layout_follows_the_sheets_template(
        templates, example_sheet_path: Path, catalog: PresetCatalog) -> None:  # type: ignore[no-untyped-def]
    emma = load_sheet(example_sheet_path, catalog)
    assert default_layout(emma, templates) is SheetLayout.SHEET
    for tid, layout in (("turnaround", SheetLayout.TURNAROUND),
                        ("head-turn", SheetLayout.TURNAROUND),
                        ("expressions", SheetLayout.EXPRESSIONS),
                        ("storyboard", SheetLayout.STORYBOARD),
                        ("poses", SheetLayout.SHEET), ("outfits", SheetLayout.SHEET)):
        sheet = sheet_from_template(templates.get(tid), "Mara", 1)
        assert default_layout(sheet, templates) is layout
    from dataclasses import replace
    # A template this studio does not know (made elsewhere): informational only.
    assert default_layout(replace(emma, template="someone-elses"), templates) is SheetLayout.SHEET


def test_the_readmes_template_example_loads(tmp_path: Path, catalog: PresetCatalog) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Sheet templates"):]
    example = section[section.index("```toml") + 7: section.index("```", section.index(
        "```toml") + 7)]
    user = tmp_path / "templates.toml"
    user.write_text(example, encoding="utf-8")
    night = load_templates(catalog, user_file=user).require("night-poses")
    assert night.scenes()[0].setting == "leaning against a wall, dark alley, full body"
