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
    # Once, after every request that had a place was answered.
    assert submits_then == [places]


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
