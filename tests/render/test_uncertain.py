"""What the queue does when a provider may have billed a job without the studio learning its id,
refuses the key, or throttles: journal first, never silently twice, and say so."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from studio.core.lifecycle import JobState
from studio.core.presets import PresetCatalog
from studio.core.sheet import Sheet
from studio.library import Library
from studio.providers.base import Provider
from studio.providers.http import Deadlines
from studio.providers.imageapi import ImageApiProvider
from studio.providers.modelslab import ModelsLabProvider
from studio.providers.offline import OfflineProvider
from studio.providers.replicate import ReplicateProvider
from studio.render import (
    JobCancelled,
    JobDone,
    JobFailed,
    JobSending,
    JobSubmitted,
    JobUncertain,
    RateLimitWait,
    RenderQueue,
)
from tests.fakes.fixtures import FakeClock
from tests.fakes.imageapi import FakeImageApi
from tests.fakes.replicate import THROTTLED, FakeReplicate
from tests.fakes.server import Recorded, Reply
from tests.render.conftest import Recorder, preview_plan
from tests.render.fakes import ScriptedModelsLab

pytestmark = pytest.mark.asyncio

Queues = Callable[..., RenderQueue]


@pytest_asyncio.fixture
async def built() -> AsyncIterator[Callable[..., Provider]]:
    """``built(cls, server, **kw)``: a provider on a fake, closed after the test."""
    made: list[Provider] = []

    def build(cls: type[Any], server: Any, key: str = "", **kw: Any) -> Provider:
        kw.setdefault("deadlines", Deadlines(10, 10, 10))
        provider = cls(api_key=key or server.api_key, base_url=server.base_url, **kw)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.aclose()


def plan_for(library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
             provider: Provider) -> Any:
    provs = {provider.id: provider, "offline": OfflineProvider()}
    return provs, preview_plan(library, sheet, sheet_path, catalog, provs,
                               provider_id=provider.id)[1]


async def test_sending_is_journaled_before_the_request_leaves(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Any, queues: Queues, ml_server: ScriptedModelsLab,
) -> None:
    seen_at_server: list[JobState] = []
    plain = ml_server._text2img

    def text2img(req: Recorded, match: re.Match[str]) -> Reply:
        # What the library says about this job at the moment its request arrives.
        prompt = req.json["prompt"]
        states = {rec.request.prompt: rec.state for rec in library.jobs.unfinished()}
        seen_at_server.append(states[prompt])
        return plain(req, match)

    ml_server.route("POST", r"/api/v6/(?P<ep>images|realtime)/text2img", text2img)
    provs = providers()
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    queue = queues(library, provs)
    await queue.add(plan.jobs)
    await queue.wait()
    assert seen_at_server == [JobState.SENDING] * 4


async def test_a_held_blocking_call_cut_off_is_uncertain_and_sent_again_only_on_request(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder, built: Any, api_key: str,
) -> None:
    with FakeImageApi(api_key) as server:
        server.hold("submit", 1)  # the first call is taken and held, like a slow generation
        provider = built(ImageApiProvider, server, concurrency=1,
                         deadlines=Deadlines(submit=0.5, poll=10, download=10))
        provs, plan = plan_for(library, sheet, sheet_path, catalog, provider)
        queue = queues(library, provs)
        queue.subscribe(recorder)
        await queue.add(plan.jobs)
        await queue.wait()
        (uncertain,) = recorder.of(JobUncertain)
        assert uncertain.job.scene == "Rooftop"
        assert "may have accepted “Rooftop” and billed it" in uncertain.message
        assert "--resend-uncertain" in uncertain.message
        record = library.jobs.get(uncertain.job.job_id)
        assert record.state is JobState.UNCERTAIN and record.error == uncertain.message
        assert len(recorder.of(JobDone)) == 3
        assert queue.progress().uncertain == 1 and queue.progress().idle
        assert server.accepted_count("rooftop") == 1  # taken once; not sent again on its own
        assert library.jobs.unfinished() == []

        server.release()
        views = await queue.uncertain()
        assert [v.ref.job_id for v in views] == [uncertain.job.job_id]
        assert views[0].may_be_billed
        ref = await queue.resend(uncertain.job.job_id)
        await queue.wait()
        assert ref.job_id == uncertain.job.job_id
        assert queue.job(ref.job_id).state is JobState.DONE
        assert server.accepted_count("rooftop") == 2  # the user asked for the second
        with pytest.raises(ValueError, match="only an uncertain job"):
            await queue.resend(ref.job_id)


async def test_a_job_found_sending_at_resume_is_uncertain_and_listed_until_resent(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Any, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    provs = providers()
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    # A crash while the request was on its way: journaled sending, no id recorded.
    rec = library.jobs.create(plan.jobs[0].draft)
    library.jobs.set_state(rec.id, JobState.SENDING)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    assert await queue.resume() == ()
    await queue.wait()
    (uncertain,) = recorder.of(JobUncertain)
    assert "the studio stopped while its request was on the way" in uncertain.message
    assert library.jobs.get(rec.id).state is JobState.UNCERTAIN
    assert ml_server.submits() == 0

    # Listed by every later resume, never sent on its own.
    listing = queues(library, provs)
    assert await listing.resume() == ()
    assert [(v.ref.job_id, v.state) for v in listing.jobs()] == [(rec.id, JobState.UNCERTAIN)]
    assert ml_server.submits() == 0

    resend = queues(library, provs)
    refs = await resend.resume(resend_uncertain=True)
    await resend.wait()
    assert [r.job_id for r in refs] == [rec.id]
    assert resend.job(rec.id).state is JobState.DONE and ml_server.submits() == 1


async def test_a_refused_key_stops_the_batch_and_resume_sends_after_the_fix(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Any, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
    api_key: str,
) -> None:
    provs = providers(concurrency=4)
    wrong = {**provs, "modelslab": ModelsLabProvider(api_key="a-wrong-key-12345",
                                                     base_url=ml_server.base_url)}
    try:
        _, plan = preview_plan(library, sheet, sheet_path, catalog, wrong)
        queue = queues(library, wrong)
        queue.subscribe(recorder)
        await queue.add(plan.jobs)
        await queue.wait()
    finally:
        await wrong["modelslab"].aclose()
    assert len(ml_server.requests) == 1  # one request, not four
    failed = recorder.of(JobFailed)
    assert sorted(f.kind for f in failed) == ["authentication"] + ["key_refused"] * 3
    assert all(f.kept_for_resume and f.retryable for f in failed)
    refused = [f for f in failed if f.kind == "key_refused"]
    assert all(f.message.startswith("Not sent: the key was refused.") for f in refused)
    assert len(recorder.of(JobSending)) == 1  # the others were never journaled as sending
    pending = library.jobs.unfinished()
    assert [j.state for j in pending] == [JobState.QUEUED] * 4
    assert all(not j.provider_request_id for j in pending)

    fixed = queues(library, provs)  # the key is fixed
    again = Recorder()
    fixed.subscribe(again)
    await fixed.resume()
    await fixed.wait()
    assert len(again.of(JobDone)) == 4 and len(ml_server.accepted) == 4
    assert ml_server.submits() == 1 + 4  # the refused one, then each job once
    assert library.jobs.unfinished() == []


async def test_a_429_storm_without_retry_after_is_waited_out_with_fewer_in_flight(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder, built: Any, api_key: str,
) -> None:
    with FakeReplicate(api_key) as server:
        create = "/v1/models/black-forest-labs/flux-schnell/predictions"
        server.script("POST", create, *[Reply(429, THROTTLED)] * 5)
        provider = built(ReplicateProvider, server, concurrency=4, clock=FakeClock())
        provs, plan = plan_for(library, sheet, sheet_path, catalog, provider)
        queue = queues(library, provs)
        queue.subscribe(recorder)
        limits: list[int] = []
        recorder.hooks.append(lambda e: limits.append(queue.lane(provider).limit)
                              if isinstance(e, RateLimitWait) else None)
        await queue.add(plan.jobs)
        await queue.wait()
        assert len(recorder.of(JobDone)) == 4 and recorder.of(JobFailed) == []
        waits = recorder.of(RateLimitWait)
        assert waits and {w.message for w in waits} == {
            "waiting for Replicate's rate limit, resets in about 30 s"}
        assert all(w.provider == "replicate" for w in waits)
        assert min(limits) <= 2  # narrowed while throttled
        assert queue.lane(provider).limit == 4  # and widened again as jobs were taken
        assert len(server.accepted) == 4 and server.submits() == 9


class HeldClock(FakeClock):
    """Virtual time whose waits last until released (a rate limit that is really waited)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()
        self.go = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.waiting.set()
        await self.go.wait()


async def test_cancelling_a_job_waiting_for_a_rate_limit_sends_nothing(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder, built: Any, api_key: str,
) -> None:
    with FakeReplicate(api_key) as server:
        server.script("POST", "/v1/models/black-forest-labs/flux-schnell/predictions",
                      Reply(429, THROTTLED))
        clock = HeldClock()
        provider = built(ReplicateProvider, server, concurrency=1, clock=clock)
        provs, plan = plan_for(library, sheet, sheet_path, catalog, provider)
        queue = queues(library, provs)
        queue.subscribe(recorder)
        (ref,) = await queue.add(plan.jobs[:1])
        await asyncio.wait_for(clock.waiting.wait(), 30)  # throttled, waiting for the reset
        assert library.jobs.get(ref.job_id).state is JobState.QUEUED  # came back: not sent
        assert queue.cancel(ref.job_id)
        await queue.wait()
        (cancelled,) = recorder.of(JobCancelled)
        assert not cancelled.may_be_billed and "nothing is charged" in cancelled.message
        assert library.jobs.get(ref.job_id).state is JobState.CANCELLED
        assert server.accepted == [] and server.submits() == 1


async def test_closing_during_a_held_blocking_call_leaves_it_for_resume_as_uncertain(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder, built: Any, api_key: str,
) -> None:
    with FakeImageApi(api_key) as server:
        server.hold("submit", 1)
        provider = built(ImageApiProvider, server, concurrency=1)
        provs, plan = plan_for(library, sheet, sheet_path, catalog, provider)
        queue = queues(library, provs)
        queue.subscribe(recorder)
        (ref,) = await queue.add(plan.jobs[:1])
        assert await asyncio.to_thread(server.wait_until, lambda: server.held != [])
        await queue.aclose()  # does not wait for a call held until the image exists
        assert library.jobs.get(ref.job_id).state is JobState.SENDING
        assert recorder.of(JobSubmitted) == [] and recorder.of(JobFailed) == []

        resumed = queues(library, provs)
        again = Recorder()
        resumed.subscribe(again)
        await resumed.resume()
        await resumed.wait()
        assert [u.job.job_id for u in again.of(JobUncertain)] == [ref.job_id]
        assert server.accepted_count("rooftop") == 1


async def test_an_uncertain_job_forgotten_is_cancelled_and_never_sent(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: Any, queues: Queues, recorder: Recorder, ml_server: ScriptedModelsLab,
) -> None:
    provs = providers()
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    rec = library.jobs.create(plan.jobs[0].draft)
    library.jobs.set_state(rec.id, JobState.SENDING)
    queue = queues(library, provs)
    queue.subscribe(recorder)
    await queue.resume()
    await queue.wait()
    assert library.jobs.get(rec.id).state is JobState.UNCERTAIN
    ref = await queue.forget(rec.id)
    assert ref.job_id == rec.id
    (cancelled,) = recorder.of(JobCancelled)
    assert cancelled.job.job_id == rec.id and "Forgotten" in cancelled.message
    assert library.jobs.get(rec.id).state is JobState.CANCELLED
    assert library.jobs.uncertain() == [] and queue.progress().uncertain == 0
    with pytest.raises(ValueError, match="only an uncertain job"):
        await queue.forget(rec.id)
    again = queues(library, provs)
    assert await again.resume() == ()
    await again.wait()
    assert ml_server.submits() == 0
