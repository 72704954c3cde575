"""The sheet view-model: edits are exact undo steps; typing merges; scenes keep unique names."""

from __future__ import annotations

import random

import pytest

from studio.core.presets import PresetKind, load_catalog
from studio.core.sheet import load_sheet
from studio.ui.viewmodels.document import SheetDocument, new_character_sheet, unique_name


@pytest.fixture
def doc(qapp, example_sheet_path):  # type: ignore[no-untyped-def]
    catalog = load_catalog()
    return SheetDocument(load_sheet(example_sheet_path, catalog), catalog, example_sheet_path)


def test_typing_merges_into_one_undo_step(doc: SheetDocument) -> None:
    before = doc.sheet
    for text in ("E", "Em", "Emm", "Emmy"):
        doc.set_name(text)
    assert doc.sheet.character.name == "Emmy"
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.sheet == before
    assert not doc.modified


def test_a_composed_anchor_follows_its_fields_and_a_hand_edit_stops_that(qapp) -> None:
    catalog = load_catalog()
    doc = SheetDocument(new_character_sheet(catalog), catalog)
    assert doc.anchor_is_composed()
    doc.set_anchor_field("hair", "short red hair")
    assert "short red hair" in doc.sheet.character.anchor
    doc.set_character("edit", anchor="Emma, a woman with a scar")
    assert not doc.anchor_is_composed()
    doc.set_anchor_field("eyes", "green")
    assert doc.sheet.character.anchor == "Emma, a woman with a scar"
    doc.recompose_anchor()
    assert "green eyes" in doc.sheet.character.anchor


def test_scene_operations_keep_names_unique_and_undo(doc: SheetDocument) -> None:
    names = doc.scene_names()
    copy = doc.duplicate_scene(names[0])
    assert copy is not None and copy.name == f"{names[0]} (copy)"
    assert doc.scene_names()[1] == copy.name
    added = doc.add_scene()
    assert added.name not in names
    doc.move_scene(0, len(doc.scene_names()))
    assert doc.scene_names()[-1] == names[0]
    doc.remove_scenes([names[0]])
    assert names[0] not in doc.scene_names()
    for _ in range(4):
        doc.undo_stack.undo()
    assert doc.scene_names() == names


def test_rename_refuses_a_taken_name(doc: SheetDocument) -> None:
    a, b = doc.scene_names()[:2]
    assert doc.update_scene(a, name=b) == a
    assert doc.update_scene(a, name="Portrait") == "Portrait"


def test_seed_reroll_and_presets(doc: SheetDocument) -> None:
    seed = doc.reroll_seed(random.Random(7))
    assert doc.sheet.character.seed == seed
    doc.toggle_preset(PresetKind.SKIN, "freckles-variation", True)
    assert "freckles-variation" in doc.sheet.character.skin
    doc.toggle_preset(PresetKind.SKIN, "freckles-variation", False)
    assert "freckles-variation" not in doc.sheet.character.skin


def test_scene_from_pattern_takes_its_presets(doc: SheetDocument) -> None:
    scene = doc.add_scene_from_pattern("environmental")
    assert scene.pattern == "environmental"
    assert (scene.lighting, scene.lens, scene.framing) == ("golden-hour", "sigma-35", "landscape")


def test_unique_name() -> None:
    assert unique_name("A", {"A", "A 2"}) == "A 3"
    assert unique_name("B", {"A"}) == "B"


def test_save_and_reopen_round_trip(doc: SheetDocument, tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc.set_name("Maya")
    target = tmp_path / "maya.sheet.toml"
    doc.save(target)
    assert not doc.modified
    again = SheetDocument.open(target, doc.catalog)
    assert again.sheet == doc.sheet
