"""Takes: several renders of a scene at a stage, each with its own recorded seed, all current
against the sheet; the take the user picks is what finals are made from, across a restart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from studio.core.capabilities import ModelCapabilities
from studio.core.fingerprint import fingerprint
from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Sheet
from studio.library import Approval, Library
from studio.providers.base import Provider
from studio.render import RenderInputError, RenderQueue, bind_sheet, choose_provider
from studio.render.plan import (
    TAKES_MAX,
    out_of_date_cells,
    plan_finals,
    plan_previews,
    preview_for,
    take_seeds,
)
from tests.render.fakes import ScriptedModelsLab

Queues = Callable[..., RenderQueue]
Providers = Callable[..., dict[str, Provider]]

CAPS = ModelCapabilities(provider="fal", model="flux")


# ----------------------------------------------------------------------------- seeds


def test_the_takes_follow_the_cells_seed() -> None:
    assert take_seeds(77, 1, CAPS) == (77,)
    assert take_seeds(77, 4, CAPS) == (77, 78, 79, 80)


def test_past_the_models_top_seed_the_takes_go_on_from_its_bottom() -> None:
    caps = replace(CAPS, seed_min=1, seed_max=100)
    assert take_seeds(99, 4, caps) == (99, 100, 1, 2)


def test_a_seed_the_model_would_replace_by_a_random_one_is_passed_over() -> None:
    caps = replace(CAPS, seed_min=0, seed_max=10, replaced_seeds=(0,))
    # 0 would come back as a random seed: that take could never be made again.
    assert take_seeds(9, 4, caps) == (9, 10, 1, 2)


def test_takes_out_of_range_or_more_than_the_model_has_seeds_are_a_sentence() -> None:
    for count in (0, -1, TAKES_MAX + 1):
        with pytest.raises(RenderInputError, match=rf"--takes {count} .* ask for 1 to 16\."):
            take_seeds(77, count, CAPS)
    tiny = replace(CAPS, seed_min=5, seed_max=7, label="Tiny")
    with pytest.raises(RenderInputError, match="Tiny takes only 3 different seeds, fewer than "
                                               "the 4 takes asked for"):
        take_seeds(5, 4, tiny)


# ----------------------------------------------------------------------------- plans


def test_each_scene_gets_its_takes_with_the_cells_fingerprint(
        library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog) -> None:
    from studio.providers.offline import OfflineProvider

    binding = bind_sheet(library, sheet, sheet_path, catalog)
    choice = choose_provider({"offline": OfflineProvider()}, Stage.PREVIEW, "offline",
                             "placeholder")
    plan = plan_previews(library, binding, sheet, catalog, choice, ["Rooftop", "Harbour"],
                         takes=3)
    assert [(j.scene, j.request.seed) for j in plan.jobs] == [
        ("Rooftop", 77), ("Rooftop", 78), ("Rooftop", 79),
        ("Harbour", 9001), ("Harbour", 9002), ("Harbour", 9003)]
    for job in plan.jobs:
        scene = sheet.scene(job.scene)
        assert scene is not None
        # The seed part speaks of the cell's seed, not the take's: no take is out of date.
        assert job.draft.fingerprint == fingerprint(sheet, scene, Stage.PREVIEW, catalog)
    with pytest.raises(RenderInputError, match="--takes 0"):
        plan_previews(library, binding, sheet, catalog, choice, takes=0)


@pytest.mark.asyncio
async def test_takes_are_sent_and_kept_with_their_seeds_and_the_pick_makes_the_finals(
    tmp_path: Path, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, ml_server: ScriptedModelsLab,
) -> None:
    provs = providers()
    data_dir = tmp_path / "takes-data"
    library = Library.open(data_dir)
    try:
        binding = bind_sheet(library, sheet, sheet_path, catalog)
        choice = choose_provider(provs, Stage.PREVIEW, "modelslab", "flux-schnell")
        plan = plan_previews(library, binding, sheet, catalog, choice, takes=3)
        queue = queues(library, provs)
        refs = await queue.add(plan.jobs)
        await queue.wait()
        sent = [(b["prompt"], b["seed"]) for b in ml_server.submit_bodies()]
        assert len(sent) == 12 and len(set(sent)) == 12
        takes: dict[str, list[int]] = {}
        for ref in refs:
            job = library.jobs.get(ref.job_id)
            assert job.render_id is not None
            render = library.renders.get(job.render_id)
            assert render.seed_requested == ref.seed
            takes.setdefault(ref.scene, []).append(render.id)
        scene_ids = {name: binding.scenes[name].id for name in takes}
        seeds = {name: sorted(r.seed_requested or 0 for r in
                              library.renders.takes(scene_ids[name], Stage.PREVIEW))
                 for name in takes}
        assert seeds == {"Rooftop": [77, 78, 79], "Library": [77, 78, 79],
                         "Harbour": [9001, 9002, 9003], "Studio": [77, 78, 79]}
        assert out_of_date_cells(library, binding) == ()
        counts = library.renders.take_counts(binding.sheet.id)
        assert set(counts.values()) == {3}

        # The middle take of Rooftop is picked; an approved other take does not outrank it.
        rooftop = library.renders.takes(scene_ids["Rooftop"], Stage.PREVIEW)
        picked = next(r for r in rooftop if r.seed_requested == 78)
        other = next(r for r in rooftop if r.seed_requested == 79)
        library.renders.set_approval([other.id], Approval.APPROVED)
        library.renders.choose_take(picked.id)
    finally:
        library.close()

    # A restart: the pick is the library's, not the process's.
    library = Library.open(data_dir)
    try:
        binding = bind_sheet(library, sheet, sheet_path, catalog)
        preview = preview_for(library, binding, "Rooftop")
        assert preview is not None and preview.id == picked.id
        final_choice = choose_provider(provs, Stage.FINAL, "modelslab", "fluxgram-v1")
        finals = plan_finals(library, binding, sheet, catalog, final_choice, ["Rooftop"])
        (job,) = finals.jobs
        assert job.draft.parent_id == picked.id and job.request.seed == 78
        assert job.request.prompt == picked.prompt
        two = plan_finals(library, binding, sheet, catalog, final_choice, ["Rooftop"], takes=2)
        assert [j.request.seed for j in two.jobs] == [78, 79]
        assert {j.draft.parent_id for j in two.jobs} == {picked.id}
        # A pick in the trash gives way: the approved take is next.
        library.renders.trash([picked.id])
        fallback = preview_for(library, binding, "Rooftop")
        assert fallback is not None and fallback.id == other.id
    finally:
        library.close()


def test_changing_the_cells_seed_makes_every_take_out_of_date(
        library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog) -> None:
    from studio.providers.offline import OfflineProvider

    binding = bind_sheet(library, sheet, sheet_path, catalog)
    choice = choose_provider({"offline": OfflineProvider()}, Stage.PREVIEW, "offline",
                             "placeholder")
    plan = plan_previews(library, binding, sheet, catalog, choice, ["Rooftop"], takes=2)
    takes = [library.renders.record(job.draft, _png(job.request.seed or 0))
             for job in plan.jobs]
    assert [t.seed_requested for t in takes] == [77, 78]
    assert out_of_date_cells(library, binding) == ()
    assert [library.renders.staleness(t) for t in takes] == [(), ()]
    reseeded = replace(sheet, character=replace(sheet.character, seed=500))
    binding = bind_sheet(library, reseeded, sheet_path, catalog)
    (cell,) = out_of_date_cells(library, binding)
    assert cell.scene == "Rooftop" and cell.reasons == ("seed",)
    assert [library.renders.staleness(t) for t in takes] == [("seed",), ("seed",)]


def _png(n: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (n % 256, 0, 0)).save(out, "PNG")
    return out.getvalue()
