"""The short cuts between binding a sheet and planning it: a plan of the sheet just bound takes
what each scene sends from its record, a plan of any other sheet composes it; the scene records
binding returns are those the library reads back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from studio.core.fingerprint import fingerprint
from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Sheet, parse_sheet
from studio.library import Library
from studio.providers.offline import OfflineProvider
from studio.render import bind_sheet, choose_provider
from studio.render.plan import plan_finals, plan_previews


def _offline() -> dict[str, OfflineProvider]:
    return {"offline": OfflineProvider()}


def test_a_plan_of_another_sheet_than_the_one_bound_composes_what_it_sends(
        library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog) -> None:
    binding = bind_sheet(library, sheet, sheet_path, catalog)
    assert binding.bound is sheet
    # Same scenes by name, other words: the records speak of the bound sheet, not of this one.
    edited = sheet.with_scenes(tuple(replace(s, lighting="a single candle")
                                     for s in sheet.scenes))
    choice = choose_provider(_offline(), Stage.PREVIEW, "offline", "placeholder")
    for stage, planner in ((Stage.PREVIEW, plan_previews), (Stage.FINAL, plan_finals)):
        for given in (sheet, edited):
            plan = planner(library, binding, given, catalog, choice)
            assert [job.draft.fingerprint for job in plan.jobs] == [
                fingerprint(given, scene, stage, catalog) for scene in given.scenes]
    assert binding.fingerprint(edited, edited.scenes[0], Stage.PREVIEW) is None


def test_a_sheet_read_from_its_text_alone_is_planned_with_the_hashes_binding_read(
        library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog) -> None:
    parsed = parse_sheet(sheet_path.read_text(encoding="utf-8"), catalog, str(sheet_path))
    binding = bind_sheet(library, parsed, sheet_path, catalog)
    choice = choose_provider(_offline(), Stage.PREVIEW, "offline", "placeholder")
    plan = plan_previews(library, binding, parsed, catalog, choice)
    assert [job.draft.fingerprint for job in plan.jobs] == [
        fingerprint(parsed, scene, Stage.PREVIEW, catalog) for scene in parsed.scenes]


def test_the_scene_records_binding_returns_are_those_the_library_reads_back(
        library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog) -> None:
    first = bind_sheet(library, sheet, sheet_path, catalog)
    assert list(first.scenes.values()) == library.sheets.scenes(first.sheet.id)
    # Reordered, one changed, one gone, one new: kept scenes keep their ids.
    rooftop, library_scene, harbour, studio = sheet.scenes
    changed = sheet.with_scenes((studio, replace(rooftop, setting="rooftop at dawn"),
                                 replace(harbour, name="Quay"), library_scene))
    second = bind_sheet(library, changed, sheet_path, catalog)
    assert list(second.scenes.values()) == library.sheets.scenes(second.sheet.id)
    assert [s.name for s in second.scenes.values()] == ["Studio", "Rooftop", "Quay", "Library"]
    assert second.scenes["Studio"].id == first.scenes["Studio"].id
    assert second.scenes["Rooftop"].id == first.scenes["Rooftop"].id
    assert "Harbour" not in second.scenes
    # Bound again unchanged: nothing to write, the same records.
    third = bind_sheet(library, changed, sheet_path, catalog)
    assert third.scenes == second.scenes
