"""The render queue against the loopback ModelsLab fake and the offline provider: events,
library records at each step, concurrency, failure of one scene, cancel one / all, retry."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.core.presets import PresetCatalog
from studio.core.sheet import Sheet
from studio.library import JobState, Library
from studio.providers.base import Provider
from studio.render import (
    BatchPlanned,
    BudgetExceeded,
    JobCancelled,
    JobDone,
    JobFailed,
    JobProcessing,
    JobQueued,
    JobSending,
    JobSubmitted,
    Progress,
    RenderQueue,
)
from tests.render.conftest import Recorder, preview_plan
from tests.render.fakes import ScriptedModelsLab

pytestmark = pytest.mark.asyncio

Queues = Callable[..., RenderQueue]
Providers = Callable[..., dict[str, Provider]]


def sequence_of(recorder: Recorder, job_id: int) -> list[str]:
    names = [type(e).__name__ for e in recorder.events
             if getattr(e, "job", None) is not None and e.job.job_id == job_id]  # type: ignore
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


async def test_a_sheet_of_previews_is_recorded_at_every_step(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    provs = providers()
    binding, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    states_at_submit: list[JobState] = []
    states_at_sending: list[JobState] = []

    def check_recorded(event: object) -> None:
        # The job is in the library (with its request id) by the time the event arrives;
        # and journaled as sending before its request leaves.
        if isinstance(event, JobSubmitted):
            states_at_submit.append(library.jobs.get(event.job.job_id).state)
        if isinstance(event, JobSending):
            states_at_sending.append(library.jobs.get(event.job.job_id).state)

    queue.subscribe(check_recorded)
    refs = await queue.add(plan.jobs)
    progress = await queue.wait()

    assert progress == Progress(total=4, queued=0, active=0, done=4, failed=0, cancelled=0)
    assert isinstance(recorder.events[0], BatchPlanned) and recorder.events[0].requests == 4
    assert states_at_submit == [JobState.SUBMITTED] * 4
    assert states_at_sending == [JobState.SENDING] * 4
    for ref in refs:
        assert sequence_of(recorder, ref.job_id) == [
            "JobQueued", "JobSending", "JobSubmitted", "JobProcessing", "JobDownloading",
            "JobDone"]
        job = library.jobs.get(ref.job_id)
        assert job.state is JobState.DONE and job.provider_request_id
        render = library.renders.get(job.render_id)  # type: ignore[arg-type]
        assert render.usable and render.image_path is not None
        assert render.image_path.is_file()
        assert render.anchor_version_id == binding.anchor.id
        assert render.scene_id == binding.scenes[ref.scene].id
    seeds = {r.scene: r.seed for r in refs}
    assert seeds == {"Rooftop": 77, "Library": 77, "Harbour": 9001, "Studio": 77}
    assert ml_server.submits() == 4
    # One fetch per job is enough when the fake is ready at the first poll.
    assert ml_server.fetches() == 4
    assert library.jobs.unfinished() == []


async def test_the_concurrency_limit_holds_and_one_failure_leaves_the_rest(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    ml_server.fail["harbour"] = "GPU out of memory"
    ml_server.hold.update({"rooftop", "library"})
    provs = providers(concurrency=2)
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    await queue.add(plan.jobs)
    await recorder.until(lambda: len({e.job.job_id for e in recorder.of(JobProcessing)}) == 2)
    # Two slots, both taken by the held jobs: the other two have not been sent.
    assert ml_server.submits() == 2
    assert queue.progress().queued == 2
    ml_server.release()
    await queue.wait()

    failed = recorder.of(JobFailed)
    assert [f.job.scene for f in failed] == ["Harbour"]
    assert failed[0].kind == "provider_failed" and "Harbour" in failed[0].message
    assert "GPU out of memory" in failed[0].message and not failed[0].kept_for_resume
    assert failed[0].render is not None and failed[0].render.state is JobState.FAILED
    assert sorted(d.job.scene for d in recorder.of(JobDone)) == ["Library", "Rooftop", "Studio"]
    assert queue.progress() == Progress(4, 0, 0, 3, 1, 0)
    assert library.jobs.get(failed[0].job.job_id).state is JobState.FAILED

    # Retry the failed scene once the provider behaves: a new job, linked to the old one.
    del ml_server.fail["harbour"]
    ref = await queue.retry(failed[0].job.job_id)
    await queue.wait()
    assert ref.job_id != failed[0].job.job_id
    assert [q.retry_of for q in recorder.of(JobQueued) if q.job.job_id == ref.job_id] == [
        failed[0].job.job_id]
    assert queue.job(ref.job_id).state is JobState.DONE
    assert library.jobs.get(ref.job_id).state is JobState.DONE


async def test_cancel_one_job_the_others_finish(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    ml_server.hold.add("library")
    provs = providers()
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)

    def cancel_library(event: object) -> None:
        if isinstance(event, JobProcessing) and event.job.scene == "Library":
            queue.cancel(event.job.job_id)

    recorder.hooks.append(cancel_library)
    await queue.add(plan.jobs)
    await queue.wait()

    (cancelled,) = recorder.of(JobCancelled)
    assert cancelled.job.scene == "Library"
    # ModelsLab cannot stop a v6 job: it may still be billed, and the record says so.
    assert cancelled.may_be_billed and "billed" in cancelled.message
    job = library.jobs.get(cancelled.job.job_id)
    assert job.state is JobState.CANCELLED and "billed" in job.error
    assert sorted(d.job.scene for d in recorder.of(JobDone)) == ["Harbour", "Rooftop", "Studio"]
    assert queue.progress() == Progress(4, 0, 0, 3, 0, 1)
    assert ml_server.submits() == 4


async def test_cancel_all_stops_running_and_waiting_jobs(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    ml_server.hold.update({"rooftop", "library", "harbour", "studio"})
    provs = providers(concurrency=2)
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    await queue.add(plan.jobs)
    await recorder.until(lambda: len(recorder.of(JobProcessing)) >= 2)
    assert queue.cancel_all() == 4
    await queue.wait()

    cancelled = {c.job.scene: c for c in recorder.of(JobCancelled)}
    assert set(cancelled) == {"Rooftop", "Library", "Harbour", "Studio"}
    # The two running had been sent (may be billed); the two waiting never were.
    assert sorted(c.may_be_billed for c in cancelled.values()) == [False, False, True, True]
    assert ml_server.submits() == 2
    assert recorder.of(JobDone) == []
    assert queue.progress() == Progress(4, 0, 0, 0, 0, 4)
    assert library.jobs.unfinished() == []
    assert all(library.jobs.get(c.job.job_id).state is JobState.CANCELLED
               for c in cancelled.values())


async def test_cancel_all_before_anything_ran(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder,
) -> None:
    from studio.providers.offline import OfflineProvider

    provs: dict[str, Provider] = {"offline": OfflineProvider()}
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    refs = await queue.add(plan.jobs)
    assert queue.cancel_all() == len(refs) == 4
    await queue.wait()
    assert [c.may_be_billed for c in recorder.of(JobCancelled)] == [False] * 4
    assert recorder.of(JobSubmitted) == []
    assert library.jobs.unfinished() == []


async def test_offline_fallback_and_budget_cap(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder,
) -> None:
    from studio.core.settings import ProviderSettings, Settings
    from studio.providers.modelslab import ModelsLabProvider
    from studio.providers.offline import OfflineProvider
    from studio.render import settings_prices

    provs: dict[str, Provider] = {"modelslab": ModelsLabProvider(api_key=None),
                                  "offline": OfflineProvider()}
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    assert "no API key" in plan.notes[0] and "offline" in plan.notes[0]
    assert {job.provider for job in plan.jobs} == {"offline"}

    settings = Settings(providers={"offline": ProviderSettings(price_per_image=0.25)})
    queue = queues(library, provs, price=settings_prices(settings, provs), budget_cap=0.5)
    queue.subscribe(recorder)
    with pytest.raises(BudgetExceeded, match=r"would cost 1\.00"):
        await queue.add(plan.jobs)
    assert recorder.of(BatchPlanned)[0].cost == 1.0
    assert library.jobs.unfinished() == [] and queue.jobs() == ()

    await queue.add(plan.jobs, budget_cap=1.0)
    await queue.wait()
    done = recorder.of(JobDone)
    assert len(done) == 4 and {d.render.provider for d in done} == {"offline"}
    assert {d.render.cost for d in done} == {0.0}


async def test_resume_submits_a_job_never_accepted_exactly_once(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    provs = providers()
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    # A crash right after recording: the job is in the library, nothing was sent.
    for spec in plan.jobs[:2]:
        library.jobs.create(spec.draft)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    refs = await queue.resume()
    await queue.wait()
    assert [r.scene for r in refs] == ["Rooftop", "Library"]
    assert ml_server.submits() == 2
    assert len(recorder.of(JobDone)) == 2 and library.jobs.unfinished() == []
    # Nothing left: a second resume does nothing.
    assert await queues(library, provs).resume() == ()


async def test_the_async_iterator_carries_the_same_events(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder,
) -> None:
    import asyncio

    from studio.providers.offline import OfflineProvider

    provs: dict[str, Provider] = {"offline": OfflineProvider()}
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    seen: list[object] = []
    stream = queue.events()

    async def consume() -> None:
        async for event in stream:
            seen.append(event)
            if isinstance(event, Progress) and event.total and event.idle:
                stream.close()

    consumer = asyncio.create_task(consume())
    await queue.add(plan.jobs)
    await queue.wait()
    await asyncio.wait_for(consumer, 30)
    assert seen == recorder.events
    assert [type(e).__name__ for e in seen if not isinstance(e, Progress)].count("JobDone") == 4


async def test_a_closed_window_leaves_jobs_that_a_new_queue_resumes_without_resending(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    ml_server.hold.update({"rooftop", "library", "harbour", "studio"})
    provs = providers()
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    await queue.add(plan.jobs)
    await recorder.until(lambda: len(recorder.of(JobProcessing)) == 4)
    await queue.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await queue.add(plan.jobs)
    pending = library.jobs.unfinished()
    assert len(pending) == 4 and all(j.provider_request_id for j in pending)
    assert recorder.of(JobCancelled) == [] and recorder.of(JobFailed) == []

    ml_server.release()
    again = Recorder()
    second = queues(library, provs)
    second.subscribe(again)
    refs = await second.resume()
    await second.wait()
    assert sorted(r.scene for r in refs) == ["Harbour", "Library", "Rooftop", "Studio"]
    assert all(s.resumed for s in again.of(JobSubmitted))
    assert len(again.of(JobDone)) == 4
    assert ml_server.submits() == 4
    assert library.jobs.unfinished() == []


async def test_a_timeout_keeps_the_job_and_retry_polls_it_again(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    ml_server.hold.add("studio")
    provs = providers(job_deadline=0.5)
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    await queue.add(plan.jobs)
    await queue.wait()
    (failed,) = recorder.of(JobFailed)
    assert failed.job.scene == "Studio" and failed.kind == "timeout"
    assert failed.kept_for_resume and "studio resume" in failed.message
    assert [j.id for j in library.jobs.unfinished()] == [failed.job.job_id]

    ml_server.release()
    ref = await queue.retry(failed.job.job_id)
    await queue.wait()
    assert ref.job_id == failed.job.job_id
    assert queue.job(ref.job_id).state is JobState.DONE
    assert ml_server.submits() == 4
    assert library.jobs.unfinished() == []


async def test_a_job_whose_provider_lost_its_key_stays_for_a_later_resume(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder,
) -> None:
    from studio.providers.modelslab import ModelsLabProvider

    provs = providers()
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    library.jobs.create(plan.jobs[0].draft)
    keyless: dict[str, Provider] = {**provs, "modelslab": ModelsLabProvider(api_key=None)}
    queue = queues(library, keyless)
    queue.subscribe(recorder)
    assert await queue.resume() == ()
    (failed,) = recorder.of(JobFailed)
    assert failed.kind == "not_configured" and failed.kept_for_resume
    assert "STUDIO_MODELSLAB_API_KEY" in failed.message
    assert len(library.jobs.unfinished()) == 1


async def test_a_broken_listener_is_reported_and_the_batch_goes_on(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder,
) -> None:
    import asyncio

    from studio.providers.offline import OfflineProvider

    reported: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        provs: dict[str, Provider] = {"offline": OfflineProvider()}
        _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
        queue = queues(library, provs)

        def broken(event: object) -> None:
            if isinstance(event, JobDone):
                raise RuntimeError("listener bug")

        queue.subscribe(broken)
        queue.subscribe(recorder)
        await queue.add(plan.jobs)
        await queue.wait()
    finally:
        loop.set_exception_handler(None)
    assert len(recorder.of(JobDone)) == 4
    assert len(reported) == 4
    assert all(isinstance(c["exception"], RuntimeError) for c in reported)


async def test_a_full_disk_keeps_the_job_and_resume_downloads_it_again(
    tmp_path: Path, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    import errno

    from studio.library.storage import DurableFileWriter

    class FullDisk:
        def write_new(self, path: Path, data: bytes) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    data_dir = tmp_path / "full"
    provs = providers()
    with Library.open(data_dir, file_writer=FullDisk()) as library:
        _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
        queue = queues(library, provs)
        queue.subscribe(recorder)
        await queue.add(plan.jobs[:2])
        await queue.wait()
        failed = recorder.of(JobFailed)
        assert [f.kind for f in failed] == ["storage", "storage"]
        assert all(f.kept_for_resume and "studio resume" in f.message for f in failed)
        assert len(library.jobs.unfinished()) == 2
        await queue.aclose()

    with Library.open(data_dir, file_writer=DurableFileWriter()) as library:
        again = Recorder()
        second = queues(library, provs)
        second.subscribe(again)
        await second.resume()
        await second.wait()
        assert len(again.of(JobDone)) == 2 and library.jobs.unfinished() == []
    assert ml_server.submits() == 2


async def test_closing_right_after_cancel_all_finishes_the_cancellations(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder,
) -> None:
    from studio.providers.offline import OfflineProvider

    provs: dict[str, Provider] = {"offline": OfflineProvider()}
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    await queue.add(plan.jobs)
    queue.cancel_all()
    await queue.aclose()
    assert len(recorder.of(JobCancelled)) == 4
    assert library.jobs.unfinished() == []


async def test_a_freed_place_sends_the_next_job_before_the_finished_image_is_stored(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Storing an image holds the library for a moment: the job waiting for the place a
    # finished job frees journals its request first, so the next request never waits for it.
    order: list[tuple[str, int]] = []
    record_moves, complete_many = library.jobs.record_moves, library.jobs.complete_many

    def recorded_states(states, submitted=None):  # type: ignore[no-untyped-def]
        order.extend(("sending", job) for job, s in states.items() if s is JobState.SENDING)
        return record_moves(states, submitted)

    def recorded_complete(finished):  # type: ignore[no-untyped-def]
        order.extend(("stored", job_id) for job_id, *_ in finished)
        return complete_many(finished)

    monkeypatch.setattr(library.jobs, "record_moves", recorded_states)
    monkeypatch.setattr(library.jobs, "complete_many", recorded_complete)
    provs = providers(concurrency=1)
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    refs = await queue.add(plan.jobs)
    await queue.wait()
    ids = [ref.job_id for ref in refs]
    assert queue.progress().done == 4
    for before, after in itertools.pairwise(ids):
        assert order.index(("sending", after)) < order.index(("stored", before))


async def test_a_place_is_freed_once_the_provider_has_made_the_image(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Providers, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    # One place: the first job's image is held at the file host, and the second job is sent
    # while it downloads (the provider has finished with the first one).
    from tests.fakes.server import FakeServer

    # The base fake's job-number holds (the scripted fake's own ``hold`` names markers).
    FakeServer.hold(ml_server, "download", 1)
    provs = providers(concurrency=1)
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    first, second = await queue.add(plan.jobs[:2])
    await recorder.until(lambda: len(recorder.of(JobSubmitted)) == 2)
    assert [e.job.job_id for e in recorder.of(JobSubmitted)] == [first.job_id, second.job_id]
    assert not recorder.of(JobDone)
    assert library.jobs.get(first.job_id).state is not JobState.DONE
    FakeServer.release(ml_server)
    await queue.wait()
    assert queue.progress().done == 2
    assert ml_server.submits() == 2 and ml_server.fetches() == 2
