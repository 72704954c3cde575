"""Previews planned whole, recorded in parts while the first are sent (``studio.render.staged``).

The ordering is proven by events, not by time: the recording of a big sheet's last chunk waits
until a request has reached the provider, so a pipeline that recorded the whole sheet before
sending would never get there.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio

from studio.core import codec
from studio.core.presets import PresetCatalog
from studio.core.request import GenerationRequest, Stage
from studio.core.sheet import load_sheet
from studio.library import Library, LibraryChange
from studio.library.binding import bind_sheet
from studio.providers.base import Provider, Submission
from studio.providers.errors import InvalidRequestError
from studio.providers.offline import OfflineProvider
from studio.render import RenderQueue, choose_provider, plan_previews
from studio.render.plan import JobSpec, RenderInputError
from studio.render.staged import StagedPreviews
from tests.render.fakes import SHEET

pytestmark = pytest.mark.asyncio

#: More scenes than the queue's first chunk (64), so the sheet is recorded in several parts.
SCENES = 70
#: Bounds a hung test only; every wait below is woken by an event.
LIMIT = 60.0


def big_sheet(count: int = SCENES, last: str = "") -> str:
    head = SHEET.split("[[scenes]]")[0].replace('provider = "modelslab"', 'provider = "offline"')
    scenes = "".join(
        f'[[scenes]]\nname = "Panel {i}"\nsetting = "street corner number {i}"\n'
        f'lighting = "{("soft-studio", "golden-hour")[i % 2]}"\nframing = '
        f'"{("256x256", "320x256")[i % 2]}"\nseed = {100 + i}\n\n' for i in range(count))
    return head + scenes + last


class Counting(OfflineProvider):
    """The offline provider, counting each request it is sent by scene; it refuses any scene
    whose setting says "refused" (as a provider refuses a request it cannot honour)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: Counter[str] = Counter()
        self.first_sent = threading.Event()

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, tuple[str, ...]]:
        if "refused" in request.prompt:
            raise InvalidRequestError(self.id, "this scene cannot be rendered here")
        return super().prepare(request)

    async def _submit(self, request: GenerationRequest) -> Submission:
        self.sent[request.context.scene] += 1
        self.first_sent.set()
        return await super()._submit(request)


@pytest_asyncio.fixture
async def counting() -> AsyncIterator[Counting]:
    provider = Counting()
    yield provider
    await provider.aclose()


def staged_previews(library: Library, path: Path, catalog: PresetCatalog,
                    provider: Provider, **kw: object) -> StagedPreviews:
    sheet = load_sheet(path, catalog)
    choice = choose_provider({"offline": provider}, Stage.PREVIEW, "offline", "")
    return StagedPreviews(library, sheet, path, catalog, choice, **kw)  # type: ignore[arg-type]


def drafts(library: Library, jobs: Sequence[JobSpec]) -> list[object]:
    """The jobs' drafts, each naming its scene by the name its record has (ids depend on the
    order scenes were first recorded in)."""
    out: list[object] = []
    for job in jobs:
        data = codec.to_data(job.draft)
        assert job.draft.scene_id is not None
        data["scene_id"] = library.sheets.scene(job.draft.scene_id).name
        out.append((data, job.notes))
    return out


def scenes_of(library: Library, sheet_id: int) -> list[tuple[object, ...]]:
    return [(s.name, s.position, s.setting, s.framing, codec.to_data(s.fingerprints))
            for s in library.sheets.scenes(sheet_id)]


@pytest.mark.parametrize("kw", [{}, {"takes": 2}, {"scenes": ["Panel 7", "Panel 3"]}])
async def test_staged_previews_are_the_plans_jobs_and_leave_the_library_as_binding_does(
    tmp_path: Path, catalog: PresetCatalog, counting: Counting, kw: dict[str, object],
) -> None:
    path = tmp_path / "board.sheet.toml"
    path.write_text(big_sheet(80), encoding="utf-8")
    with Library.open(tmp_path / "planned") as library:
        sheet = load_sheet(path, catalog)
        binding = bind_sheet(library, sheet, path, catalog)
        choice = choose_provider({"offline": counting}, Stage.PREVIEW, "offline", "")
        named = kw.get("scenes")
        plan = plan_previews(library, binding, sheet, catalog, choice,
                             named if isinstance(named, list) else None,
                             takes=int(str(kw.get("takes", 1))))
        expected_scenes = scenes_of(library, binding.sheet.id)
        expected_drafts = drafts(library, plan.jobs)
    with Library.open(tmp_path / "staged") as library:
        staged = staged_previews(library, path, catalog, counting, **kw)
        assert [(j.scene, j.request, j.notes) for j in staged.jobs] == \
            [(j.scene, j.request, j.notes) for j in plan.jobs]
        jobs = [*staged.record(0, 5), *staged.record(5, len(staged.jobs))]
        assert drafts(library, jobs) == expected_drafts
        finished = staged.finish()
        assert scenes_of(library, finished.sheet.id) == expected_scenes
        assert list(finished.scenes) == [s.name for s in sheet.scenes]
    assert not counting.sent


async def test_the_scenes_a_sheet_no_longer_lists_are_removed_once_it_is_recorded(
    tmp_path: Path, catalog: PresetCatalog, counting: Counting,
) -> None:
    path = tmp_path / "board.sheet.toml"
    path.write_text(big_sheet(40), encoding="utf-8")
    with Library.open(tmp_path / "data") as library:
        bind_sheet(library, load_sheet(path, catalog), path, catalog)
        path.write_text(big_sheet(30), encoding="utf-8")
        staged = staged_previews(library, path, catalog, counting)
        staged.record(0, 10)
        binding = staged.finish()
        assert [s.name for s in library.sheets.scenes(binding.sheet.id)] == \
            [f"Panel {i}" for i in range(30)]


async def test_the_first_request_leaves_before_the_last_scene_is_recorded(
    tmp_path: Path, catalog: PresetCatalog, counting: Counting,
) -> None:
    path = tmp_path / "board.sheet.toml"
    path.write_text(big_sheet(), encoding="utf-8")
    with Library.open(tmp_path / "data") as library:
        staged = staged_previews(library, path, catalog, counting)
        last = staged.jobs[-1].scene
        seen_at_first_send: list[list[str]] = []
        sheet_id = staged.binding.sheet.id

        def record(start: int, stop: int) -> Sequence[JobSpec]:
            if stop == len(staged.jobs):
                # The last chunk is recorded only once a request has been sent: a pipeline
                # that recorded (or planned) the whole sheet first never sends one.
                assert counting.first_sent.wait(LIMIT), "nothing was sent before the last chunk"
                seen_at_first_send.append([s.name for s in library.sheets.scenes(sheet_id)])
            return staged.record(start, stop)

        queue = RenderQueue(library, {"offline": counting})
        try:
            refs = await queue.add_planned(staged.jobs, record)
            await queue.wait()
        finally:
            await queue.aclose()
        staged.finish()
        assert seen_at_first_send and last not in seen_at_first_send[0]
        # Every scene once, in sheet order, each job done.
        assert [r.scene for r in refs] == [f"Panel {i}" for i in range(SCENES)]
        assert counting.sent == Counter({f"Panel {i}": 1 for i in range(SCENES)})
        assert all(v.state.result_word == "ok" for v in queue.jobs())


async def test_a_refused_scene_at_the_end_of_the_sheet_sends_nothing(
    tmp_path: Path, catalog: PresetCatalog, counting: Counting,
) -> None:
    path = tmp_path / "board.sheet.toml"
    path.write_text(big_sheet(last='[[scenes]]\nname = "Finale"\nsetting = "refused"\n'),
                    encoding="utf-8")
    with Library.open(tmp_path / "data") as library:
        with pytest.raises(RenderInputError, match="Finale"):
            staged_previews(library, path, catalog, counting)
        assert library.jobs.unfinished() == []
        sheet = library.sheets.for_file(str(path.resolve()))
        assert sheet is None or library.sheets.scenes(sheet.id) == []
    assert not counting.sent


class Crash(Exception):
    """The process dying while the sheet is being recorded."""


async def test_a_crash_mid_pipeline_resumes_without_sending_a_job_twice(
    tmp_path: Path, catalog: PresetCatalog, counting: Counting,
) -> None:
    path = tmp_path / "board.sheet.toml"
    path.write_text(big_sheet(), encoding="utf-8")
    with Library.open(tmp_path / "data") as library:
        staged = staged_previews(library, path, catalog, counting)

        def record(start: int, stop: int) -> Sequence[JobSpec]:
            if start > 0:
                assert counting.first_sent.wait(LIMIT)
                raise Crash
            return staged.record(start, stop)

        queue = RenderQueue(library, {"offline": counting})
        try:
            with pytest.raises(Crash):
                await queue.add_planned(staged.jobs, record)
        finally:
            await queue.aclose()  # as the process ends: unfinished jobs stay in the library
        journaled = {v.ref.scene for v in queue.jobs()}
        assert 0 < len(journaled) < SCENES
        assert sum(counting.sent.values()) >= 1

    with Library.open(tmp_path / "data") as library:
        again = RenderQueue(library, {"offline": counting})
        try:
            await again.resume()
            await again.wait()
        finally:
            await again.aclose()
        assert library.jobs.unfinished() == [] and library.jobs.uncertain() == []
        assert {v.ref.scene for v in again.jobs()} <= journaled
    # Each journaled job was sent once, whether before the crash or by resume.
    assert counting.sent == Counter(dict.fromkeys(journaled, 1))


async def test_the_sheets_records_and_each_chunks_scenes_and_jobs_are_one_write_each(
    tmp_path: Path, catalog: PresetCatalog, counting: Counting,
) -> None:
    path = tmp_path / "board.sheet.toml"
    path.write_text(big_sheet(5), encoding="utf-8")
    with Library.open(tmp_path / "data") as library:
        writes: list[LibraryChange] = []
        library.changes.subscribe(writes.append)
        staged = staged_previews(library, path, catalog, counting)
        # Project, character, anchor version and sheet: recorded together.
        (head,) = writes
        assert head.projects and head.characters and head.sheets
        writes.clear()
        queue = RenderQueue(library, {"offline": counting})
        try:
            refs = await queue.add_planned(staged.jobs, staged.record)
            await queue.wait()
        finally:
            await queue.aclose()
        # The scenes and the jobs that render them: one write, before any job moved on.
        first = writes[0]
        assert first.jobs == {r.job_id for r in refs}
        assert first.sheets == {staged.binding.sheet.id}
        assert all(v.state.result_word == "ok" for v in queue.jobs())
