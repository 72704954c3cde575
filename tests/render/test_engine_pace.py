"""What keeps a batch quick without changing what it does: the image decoder is loaded while
the provider works (not before the first request, not when the first image arrives), and the
modules a render needs before its first request leave Pillow out."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.core.presets import PresetCatalog
from studio.core.sheet import Sheet
from studio.library import Library
from studio.providers.base import Provider
from studio.render import JobDone, RenderQueue
from tests.render.conftest import Recorder, preview_plan
from tests.render.fakes import ScriptedModelsLab

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.asyncio
@pytest.mark.parametrize("places", [2, 4])
async def test_the_decoder_is_prepared_once_when_the_requests_are_out(
    places: int, library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Callable[..., dict[str, Provider]], queues: Callable[..., RenderQueue],
    recorder: Recorder, ml_server: ScriptedModelsLab, monkeypatch: pytest.MonkeyPatch,
) -> None:
    provs = providers(concurrency=places)
    submits_then: list[int] = []
    monkeypatch.setattr(provs["modelslab"], "prepare_images",
                        lambda: submits_then.append(ml_server.submits()))
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    await queue.add(plan.jobs)
    await queue.wait()
    assert len(recorder.of(JobDone)) == 4
    # Once, and not before every request that had a place was answered. (A place freed by a
    # finished job may send the next request first: on a loaded machine the decoder then
    # loads when those are answered too, so "exactly ``places``" would be a race.)
    assert len(submits_then) == 1
    assert submits_then[0] >= places


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(*sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_what_a_render_needs_before_its_first_request_leaves_pillow_out() -> None:
    loaded = _modules_after(
        "import studio.cli, studio.commands.render, studio.library, studio.library.binding\n"
        "import studio.render.queue, studio.render.plan, studio.providers.modelslab")
    assert "PIL" not in loaded


def test_preloading_the_decoder_loads_what_checking_an_image_needs() -> None:
    loaded = _modules_after(
        "from studio.providers.images import preload_decoder\n"
        "worker = preload_decoder()\nworker.join()\nassert preload_decoder() is None")
    assert {"PIL.Image", "PIL.PngImagePlugin"} <= loaded


@pytest.mark.asyncio
async def test_images_finishing_while_one_is_stored_are_stored_together(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Callable[..., dict[str, Provider]], queues: Callable[..., RenderQueue],
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first write is held until all four images have been handed over: the ones it did
    # not hold are then stored as one batch, and every job ends done.
    import threading

    from studio.render.shelf import ImageShelf

    gate = threading.Event()
    batches: list[list[int]] = []
    complete_many = library.jobs.complete_many

    def held_first(finished):  # type: ignore[no-untyped-def]
        batches.append([job_id for job_id, *_ in finished])
        if len(batches) == 1:
            gate.wait(30)
        return complete_many(finished)

    handed = 0
    store = ImageShelf.store

    def counted(self, job_id, image, outcome):  # type: ignore[no-untyped-def]
        nonlocal handed
        handed += 1
        if handed == 4:
            gate.set()
        return store(self, job_id, image, outcome)

    monkeypatch.setattr(library.jobs, "complete_many", held_first)
    monkeypatch.setattr(ImageShelf, "store", counted)
    provs = providers(concurrency=4)
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    refs = await queue.add(plan.jobs)
    await queue.wait()
    assert len(batches) == 2  # the first write, and every image handed over meanwhile
    assert sorted(j for b in batches for j in b) == sorted(r.job_id for r in refs)
    assert len(recorder.of(JobDone)) == 4 and library.jobs.unfinished() == []


@pytest.mark.asyncio
async def test_a_batch_of_images_is_bounded_and_each_waits_for_the_sends_first() -> None:
    from types import SimpleNamespace
    from typing import cast

    from studio.core.lifecycle import Outcome
    from studio.library import LibraryError
    from studio.render.shelf import BATCH, ImageShelf

    batches: list[list[int]] = []
    befores: list[int] = []

    def complete_many(finished):  # type: ignore[no-untyped-def]
        batches.append([job_id for job_id, *_ in finished])
        return [LibraryError("refused") if job_id == 3 else f"render {job_id}"
                for job_id, *_ in finished]

    async def before() -> None:
        befores.append(len(batches))

    library = cast(Library, SimpleNamespace(jobs=SimpleNamespace(complete_many=complete_many)))
    shelf = ImageShelf(library, before)
    count = BATCH * 2 + 1
    futures = [shelf.store(n, b"png", Outcome()) for n in range(count)]
    await shelf.aclose()
    assert [len(b) for b in batches] == [BATCH, BATCH, 1]
    assert befores == [0, 1, 2]  # before every batch
    assert [f.result() for f in futures if not f.exception()] == [
        f"render {n}" for n in range(count) if n != 3]
    assert str(futures[3].exception()) == "refused"
