"""Takes: every render of a scene at a stage is kept, and the one the user picks is the cell's."""

from __future__ import annotations

import pytest

from studio.core.request import Stage
from studio.library import Library, LibraryChange, LibraryError, SceneSpec

from .conftest import draft, png_bytes


def _sheet(library: Library) -> tuple[int, int, int]:
    project = library.projects.ensure("Emma")
    sheet = library.sheets.save(project.id, "emma", "/emma.sheet.toml")
    (scene,) = library.sheets.sync_scenes(sheet.id, [SceneSpec("Headshot", "grey")])
    return project.id, sheet.id, scene.id


def test_the_picked_take_is_the_cells_render_until_it_is_trashed(library: Library) -> None:
    project, sheet, scene = _sheet(library)
    takes = [library.renders.record(draft(project, sheet_id=sheet, scene_id=scene, seed=42 + n),
                                    png_bytes(n)).id for n in range(3)]
    (cell,) = library.renders.cells(sheet)
    assert cell.render.id == takes[-1]  # nothing picked: the latest
    assert [r.id for r in library.renders.takes(scene, Stage.PREVIEW)] == takes[::-1]
    assert library.renders.take_counts(sheet) == {(scene, Stage.PREVIEW): 3}
    heard: list[LibraryChange] = []
    library.changes.subscribe(heard.append)
    library.renders.choose_take(takes[0])
    assert heard[-1].renders == {takes[0]} and heard[-1].sheets == {sheet}
    assert library.renders.chosen_take(scene, Stage.PREVIEW) == takes[0]
    (cell,) = library.renders.cells(sheet)
    assert cell.render.id == takes[0] and cell.render.seed_requested == 42
    # A newer take does not replace the pick.
    library.renders.record(draft(project, sheet_id=sheet, scene_id=scene), png_bytes(9))
    assert library.renders.cells(sheet)[0].render.id == takes[0]
    # A trashed pick falls back to the latest; restoring it brings it back.
    library.renders.trash([takes[0]])
    assert library.renders.cells(sheet)[0].render.id != takes[0]
    library.renders.restore([takes[0]])
    assert library.renders.cells(sheet)[0].render.id == takes[0]


def test_a_take_is_picked_per_stage(library: Library) -> None:
    project, sheet, scene = _sheet(library)
    preview = library.renders.record(draft(project, sheet_id=sheet, scene_id=scene), png_bytes(1))
    final = library.renders.record(draft(project, sheet_id=sheet, scene_id=scene,
                                         stage=Stage.FINAL), png_bytes(2))
    library.renders.record(draft(project, sheet_id=sheet, scene_id=scene), png_bytes(3))
    library.renders.choose_take(preview.id)
    cells = {c.stage: c.render.id for c in library.renders.cells(sheet)}
    assert cells == {Stage.PREVIEW: preview.id, Stage.FINAL: final.id}


def test_only_a_kept_render_of_a_scene_can_be_picked(library: Library) -> None:
    project, sheet, scene = _sheet(library)
    loose = library.renders.record(draft(project), png_bytes(1))
    failed = library.renders.record_failure(draft(project, sheet_id=sheet, scene_id=scene),
                                            "refused")
    for render in (loose, failed):
        with pytest.raises(LibraryError, match="cannot be picked"):
            library.renders.choose_take(render.id)
    assert library.renders.chosen_take(scene, Stage.PREVIEW) is None
