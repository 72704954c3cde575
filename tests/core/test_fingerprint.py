"""The one staleness rule, on its own: what makes a cell out of date and what does not."""

from __future__ import annotations

import dataclasses

from studio.core.fingerprint import (
    REASONS,
    STAGE_PARTS,
    Fingerprint,
    RenderEvidence,
    adopt_legacy,
    describe_reasons,
    fingerprint,
    fingerprint_texts,
    fingerprints,
    staleness,
)
from studio.core.presets import PresetCatalog
from studio.core.prompt import compose_prompt
from studio.core.request import Stage
from studio.core.sheet import Sheet


def _first(sheet: Sheet, **changes: object) -> Sheet:
    scene = dataclasses.replace(sheet.scenes[0], **changes)
    return sheet.with_scenes((scene, *sheet.scenes[1:]))


def test_the_same_sheet_gives_the_same_fingerprint(emma: Sheet, catalog: PresetCatalog) -> None:
    scene = emma.scenes[0]
    a = fingerprint(emma, scene, Stage.PREVIEW, catalog)
    assert a == fingerprint(emma, scene, Stage.PREVIEW, catalog)
    assert staleness(a, a) == ()
    assert a.digest == fingerprint(emma, scene, Stage.PREVIEW, catalog).digest
    assert set(a.parts) == set(REASONS)


def test_notes_and_order_do_not_count_but_every_part_does(emma: Sheet,
                                                          catalog: PresetCatalog) -> None:
    scene = emma.scenes[0]
    before = fingerprint(emma, scene, Stage.FINAL, catalog)
    moved = emma.with_scenes((*emma.scenes[1:], dataclasses.replace(scene, notes="new")))
    assert staleness(before, fingerprint(moved, moved.scenes[-1], Stage.FINAL, catalog)) == ()
    changed = _first(emma, setting="rooftop", lens="sigma-35", framing="full-body", seed=7)
    assert staleness(before, fingerprint(changed, changed.scenes[0], Stage.FINAL, catalog)) == (
        "setting", "lens", "framing", "seed")


def test_a_preset_whose_words_change_marks_its_cells(emma: Sheet,
                                                     catalog: PresetCatalog) -> None:
    from studio.core.presets import PresetCatalog as Catalog
    from studio.core.presets import PresetKind

    scene = emma.scenes[0]
    before = fingerprint(emma, scene, Stage.PREVIEW, catalog)
    presets = [dataclasses.replace(p, text=p.text + ", softer") if
               (p.kind is PresetKind.LIGHTING and p.id == scene.lighting) else p
               for kind in PresetKind for p in catalog.of_kind(kind)]
    edited = Catalog(presets)
    assert staleness(before, fingerprint(emma, scene, Stage.PREVIEW, edited)) == ("lighting",)


def test_a_final_keeps_its_previews_prompt_parts_and_its_own_stage_parts(
        emma: Sheet, catalog: PresetCatalog) -> None:
    scene = emma.scenes[0]
    preview_then = fingerprint(emma, scene, Stage.PREVIEW, catalog)
    changed = dataclasses.replace(emma, character=dataclasses.replace(
        emma.character, anchor=emma.character.anchor + ", freckles"))
    final_now = fingerprint(changed, changed.scenes[0], Stage.FINAL, catalog)
    made = final_now.for_final(preview_then)
    # Made from the old preview: out of date for the anchor, not for its own stage settings.
    assert staleness(made, final_now) == ("anchor",)
    assert all(made.part(p) == final_now.part(p) for p in STAGE_PARTS)
    assert final_now.for_final(None) == final_now


def test_parts_added_later_compare_equal_when_unused() -> None:
    old = Fingerprint({name: Fingerprint.of_texts({}).part(name) for name in REASONS
                       if name != "reference"})
    assert staleness(old, Fingerprint.of_texts({})) == ()
    assert staleness(None, Fingerprint.of_texts({"anchor": "x"})) == ()


def test_reasons_in_words() -> None:
    assert describe_reasons(["anchor"]) == "the character's anchor"
    assert describe_reasons(["skin", "lighting", "seed"]) == (
        "the skin details, the lighting and the seed")


def test_a_legacy_render_is_judged_by_what_its_record_proves(emma: Sheet,
                                                             catalog: PresetCatalog) -> None:
    scene = emma.scenes[0]
    texts = fingerprint_texts(emma, scene, Stage.PREVIEW, catalog)
    evidence = RenderEvidence(
        prompt=compose_prompt(emma, scene, catalog), negative="", model=emma.preview.model,
        steps=emma.preview.steps, guidance=emma.preview.guidance, seed=42,
        width=int(texts["framing"].split("x")[0]), height=int(texts["framing"].split("x")[1]),
        anchor=emma.character.anchor, same_provider=True)
    current = fingerprint(emma, scene, Stage.PREVIEW, catalog)
    assert staleness(adopt_legacy(evidence, texts), current) == ()
    other = dataclasses.replace(evidence, anchor="someone else", seed=7,
                                prompt=evidence.prompt.replace(scene.setting, "elsewhere"))
    assert staleness(adopt_legacy(other, texts), current) == ("anchor", "setting", "seed")


def test_every_stage_at_once_equals_each_stage_alone(emma: Sheet, catalog: PresetCatalog) -> None:
    """``fingerprints`` composes a scene's prompt once for all stages (binding a sheet of
    thousands of scenes): it must give exactly what ``fingerprint`` gives stage by stage, for
    the example and for every built-in template."""
    from studio.core.templates import load_templates, sheet_from_template

    sheets = [emma] + [sheet_from_template(t, "Mara", 7, anchor="30-year-old woman, red hair")
                       for t in load_templates(catalog).all()]
    checked = 0
    for sheet in sheets:
        for scene in sheet.scenes:
            together = fingerprints(sheet, scene, catalog)
            assert set(together) == set(Stage)
            for stage in Stage:
                assert together[stage] == fingerprint(sheet, scene, stage, catalog)
                checked += 1
    assert checked > 40
