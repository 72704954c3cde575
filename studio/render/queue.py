"""The render queue: jobs of a stage run through their providers, recorded at every step.

Each job is written to the library before anything is sent (state ``queued``), again as soon as
the provider accepts it (its request id and serialised submission), when it starts processing,
and when it ends (the image and its render record, or the failure, or the cancellation). After a
crash, :meth:`RenderQueue.resume` polls every job that has a provider request id (it is never
sent again) and submits once the jobs never accepted.

A provider runs at most ``provider.concurrency`` jobs at once; a job holds its provider's slot
from submit to the end of the download, so ``STUDIO_<ID>_CONCURRENCY`` bounds what the account
has in flight. Listeners get :mod:`studio.render.events` through a plain callback
(:meth:`RenderQueue.subscribe`) or an async iterator (:meth:`RenderQueue.events`). No Qt: the
window runs the same coroutines on its qasync loop.

Library calls block, so they run in worker threads (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from studio.core.lifecycle import JobState, Outcome
from studio.core.request import GenerationRequest
from studio.library import (
    JobRecord,
    Library,
    LibraryError,
    LibraryStorageError,
    RenderRecord,
)
from studio.providers.base import (
    Downloading,
    GenerationResult,
    Processing,
    Provider,
    ProviderEvent,
    Queued,
    Submission,
)
from studio.providers.errors import (
    ProviderError,
    ProviderTimeout,
    RenderCancelled,
    provider_name,
)
from studio.providers.keys import missing_setup
from studio.render.budget import BatchEstimate, PriceLookup, check_budget, estimate
from studio.render.events import (
    BatchPlanned,
    JobCancelled,
    JobDone,
    JobDownloading,
    JobEvent,
    JobFailed,
    JobProcessing,
    JobQueued,
    JobRef,
    JobSubmitted,
    Progress,
    RenderEvent,
    RenderListener,
)
from studio.render.plan import JobSpec, RenderInputError

log = logging.getLogger("studio.render")

T = TypeVar("T")

_BILLED_NOTE = ("Cancelled after it was sent; {name} has no way to stop a job, so it may still "
                "finish there and be billed.")


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as the queue last saw it (for summaries and for a window opened mid-batch)."""

    ref: JobRef
    state: JobState
    render: RenderRecord | None = None
    error: str = ""
    kind: str = ""
    seconds: float | None = None
    may_be_billed: bool = False
    kept_for_resume: bool = False


class EventStream(AsyncIterator[RenderEvent]):
    """The queue's events as an async iterator; buffered, so nothing is missed between reads."""

    def __init__(self, registry: list[EventStream]) -> None:
        self._registry = registry
        self._items: asyncio.Queue[RenderEvent | None] = asyncio.Queue()
        self._ended = False

    def put(self, event: RenderEvent | None) -> None:
        self._items.put_nowait(event)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> RenderEvent:
        if self._ended:
            raise StopAsyncIteration
        event = await self._items.get()
        if event is None:
            self.close()
            raise StopAsyncIteration
        return event

    def close(self) -> None:
        """Stop receiving events; iteration ends."""
        self._ended = True
        with contextlib.suppress(ValueError):
            self._registry.remove(self)


@dataclass(eq=False)
class _Job:
    ref: JobRef
    request: GenerationRequest | None = None  # to submit; None when following a submission
    submission: Submission | None = None
    state: JobState = JobState.QUEUED
    #: waiting (for a slot) | submitting | following | storing | finished
    phase: str = "waiting"
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False
    #: Stop after the submission is recorded and leave the job for resume (closing).
    detach: bool = False
    resumed: bool = False
    started: float | None = None
    render: RenderRecord | None = None
    error: str = ""
    kind: str = ""
    seconds: float | None = None
    may_be_billed: bool = False
    kept_for_resume: bool = False
    notes: tuple[str, ...] = ()
    pending_write: asyncio.Future[Any] | None = None
    last_progress_event: JobEvent | None = field(default=None, repr=False)

    def view(self) -> JobView:
        return JobView(self.ref, self.state, self.render, self.error, self.kind, self.seconds,
                       self.may_be_billed, self.kept_for_resume)


class RenderQueue:
    """Runs render jobs through their providers; see the module docstring.

    The caller owns ``library`` and ``providers`` (opens and closes them); the queue owns its
    tasks and cancels them on :meth:`aclose`, leaving unfinished jobs in the library for
    :meth:`resume`.
    """

    def __init__(
        self,
        library: Library,
        providers: Mapping[str, Provider],
        *,
        price: PriceLookup | None = None,
        budget_cap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._library = library
        self._providers = providers
        self._price: PriceLookup = price or _provider_prices(providers)
        self.budget_cap = budget_cap
        self._clock = clock
        self._jobs: dict[int, _Job] = {}
        #: How many jobs are in each state (kept as they move, so progress is O(1)).
        self._counts: dict[JobState, int] = dict.fromkeys(JobState, 0)
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._listeners: list[RenderListener] = []
        self._streams: list[EventStream] = []
        self._closed = False

    # ------------------------------------------------------------------ listening

    def subscribe(self, listener: RenderListener) -> Callable[[], None]:
        """Call ``listener`` with every event, on the loop's thread; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def events(self) -> EventStream:
        """Every event from the moment of this call until :meth:`aclose` (or until the stream
        is closed): ``async for event in queue.events(): ...``."""
        stream = EventStream(self._streams)
        self._streams.append(stream)
        return stream

    def _emit(self, event: RenderEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception as exc:  # a broken listener must not stop the renders
                loop = asyncio.get_running_loop()
                loop.call_exception_handler({
                    "message": f"render listener {listener!r} failed on {type(event).__name__}",
                    "exception": exc,
                })
        for stream in self._streams:
            stream.put(event)

    def _change(self, job: _Job, event: JobEvent) -> None:
        self._counts[job.state] -= 1
        job.state = event.state
        self._counts[job.state] += 1
        self._emit(event)
        self._emit(self.progress())

    # ------------------------------------------------------------------ reading state

    def progress(self) -> Progress:
        counts = self._counts
        active = sum(counts[s] for s in JobState if s.active and s is not JobState.QUEUED)
        return Progress(total=len(self._jobs), queued=counts[JobState.QUEUED], active=active,
                        done=counts[JobState.DONE], failed=counts[JobState.FAILED],
                        cancelled=counts[JobState.CANCELLED],
                        uncertain=counts[JobState.UNCERTAIN])

    def jobs(self) -> tuple[JobView, ...]:
        """Every job this queue has held, in the order they were added."""
        return tuple(job.view() for job in self._jobs.values())

    def job(self, job_id: int) -> JobView:
        return self._get(job_id).view()

    def _get(self, job_id: int) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise KeyError(f"the queue holds no job {job_id}") from None

    def estimate(self, jobs: Sequence[JobSpec]) -> BatchEstimate:
        """How many requests ``jobs`` make and, where prices are known, what they cost."""
        return estimate(jobs, self._price)

    # ------------------------------------------------------------------ adding work

    async def add(
        self, jobs: Sequence[JobSpec], *, budget_cap: float | None = None
    ) -> tuple[JobRef, ...]:
        """Record ``jobs`` in the library and start them.

        Emits :class:`BatchPlanned` first; raises :class:`~studio.render.budget.BudgetExceeded`
        (nothing recorded, nothing sent) when the batch would pass ``budget_cap`` (default: the
        queue's), and :class:`RenderInputError` for a provider that is unknown or has no key.
        """
        self._check_open()
        for spec in jobs:
            provider = self._providers.get(spec.provider)
            if provider is None or not provider.configured:
                raise RenderInputError(_not_configured(spec.provider))
        batch = self.estimate(jobs)
        cap = self.budget_cap if budget_cap is None else budget_cap
        self._emit(BatchPlanned(batch.requests, batch.cost, batch.unpriced, cap))
        check_budget(batch, cap)

        records = await asyncio.to_thread(self._library.jobs.create_many,
                                          [spec.draft for spec in jobs])
        refs = []
        for spec, rec in zip(jobs, records, strict=True):
            job = self._hold(_Job(ref=_ref(rec), request=rec.request, notes=spec.notes))
            refs.append(job.ref)
            self._change(job, JobQueued(job.ref))
        for ref in refs:
            self._start(self._jobs[ref.job_id])
        return tuple(refs)

    async def resume(self) -> tuple[JobRef, ...]:
        """Pick up every job the library holds unfinished (a crash, a closed window).

        A job the provider had accepted is followed (polled and downloaded), never sent again;
        one never accepted is submitted once. A job whose provider has no key now is reported
        failed and left unfinished for a later resume.
        """
        self._check_open()
        records = await asyncio.to_thread(self._library.jobs.unfinished)
        started: list[_Job] = []
        to_submit: list[JobRecord] = []
        for rec in records:
            known = self._jobs.get(rec.id)
            if known is not None and not known.state.finished:
                continue  # running in this queue already
            job = self._hold(_Job(ref=_ref(rec), resumed=True))
            self._change(job, JobQueued(job.ref))
            provider = self._providers.get(rec.provider)
            if provider is None or not provider.configured:
                self._fail(job, "not_configured", _not_configured(rec.provider, resume=True),
                           retryable=True, kept=True)
                continue
            try:
                if rec.provider_request_id:
                    job.submission = Submission.from_dict(rec.submission)
                else:
                    job.request = rec.request
                    to_submit.append(rec)
            except (ValueError, TypeError, KeyError) as exc:
                message = (f"The unfinished job for scene “{job.ref.scene}” cannot be resumed: "
                           f"its stored record is damaged ({exc}). Render the scene again.")
                await self._record_failure(job, "bad_record", message, retryable=False)
                continue
            started.append(job)
        if to_submit:
            specs = [rec.draft for rec in to_submit]
            priced = [self._price(d.provider, d.model) for d in specs]
            unpriced = tuple(dict.fromkeys(d.provider for d, p in zip(specs, priced, strict=True)
                                           if p is None))
            cost = None if unpriced else sum(p or 0.0 for p in priced)
            self._emit(BatchPlanned(len(specs), cost, unpriced, None))
        for job in started:
            self._start(job)
        return tuple(job.ref for job in started)

    async def retry(self, job_id: int) -> JobRef:
        """Run a failed or cancelled job again.

        A job kept for resume (it had been accepted) is followed again under the same id, never
        resent; any other becomes a new job with the same settings (``retry_of`` links them).
        """
        self._check_open()
        old = self._get(job_id)
        if old.state not in (JobState.FAILED, JobState.CANCELLED):
            raise ValueError(f"job {job_id} is {old.state.value}; only failed or cancelled jobs "
                             "can be retried")
        provider = self._providers.get(old.ref.provider)
        if provider is None or not provider.configured:
            raise RenderInputError(_not_configured(old.ref.provider))
        if old.kept_for_resume:
            rec = await asyncio.to_thread(self._library.jobs.get, job_id)
            fresh = _Job(ref=old.ref, resumed=True)
            if rec.provider_request_id:
                fresh.submission = Submission.from_dict(rec.submission)
            else:
                fresh.request = rec.request
            self._hold(fresh)
            self._change(fresh, JobQueued(fresh.ref))
            self._start(fresh)
            return fresh.ref
        rec = await asyncio.to_thread(self._library.jobs.get, job_id)
        new = await asyncio.to_thread(self._library.jobs.create, rec.draft)
        job = self._hold(_Job(ref=_ref(new), request=new.request, notes=old.notes))
        self._change(job, JobQueued(job.ref, retry_of=job_id))
        self._start(job)
        return job.ref

    # ------------------------------------------------------------------ cancelling

    def cancel(self, job_id: int) -> bool:
        """Cancel one job; the others go on. False when it has already finished (or is being
        stored). The outcome arrives as :class:`JobCancelled`."""
        job = self._get(job_id)
        if job.state.finished or job.cancel_requested or job.phase in ("storing", "finished"):
            return False
        job.cancel_requested = True
        # A submit in flight is let finish, so the job can be recorded and stopped at the
        # provider instead of being left running there unknown.
        if job.phase != "submitting" and job.task is not None:
            job.task.cancel()
        return True

    def cancel_all(self) -> int:
        """Cancel every unfinished job; returns how many were asked to stop."""
        return sum(self.cancel(job_id) for job_id in list(self._jobs))

    # ------------------------------------------------------------------ waiting and closing

    async def wait(self) -> Progress:
        """Until every job has finished (done, failed or cancelled)."""
        while True:
            tasks = [j.task for j in self._jobs.values()
                     if j.task is not None and not j.task.done()]
            if not tasks:
                return self.progress()
            await asyncio.wait(tasks)

    async def aclose(self) -> None:
        """Stop following jobs without cancelling them: they stay unfinished in the library and
        :meth:`resume` picks them up. Cancellations already asked for are finished first."""
        self._closed = True
        while True:
            waiting: list[asyncio.Task[None]] = []
            for job in self._jobs.values():
                task = job.task
                if task is None or task.done():
                    continue
                if not job.detach:
                    job.detach = True
                    if not job.cancel_requested and job.phase not in ("submitting", "storing"):
                        task.cancel()
                waiting.append(task)
            if not waiting:
                break
            # A cancellation may hand over to a follow-up task; loop until none is left.
            await asyncio.wait(waiting)
        for stream in list(self._streams):
            stream.put(None)

    def _hold(self, job: _Job) -> _Job:
        """Keep ``job`` (replacing an earlier run of the same id) and count it."""
        previous = self._jobs.get(job.ref.job_id)
        if previous is not None:
            self._counts[previous.state] -= 1
        self._jobs[job.ref.job_id] = job
        self._counts[job.state] += 1
        return job

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the render queue is closed")

    # ------------------------------------------------------------------ running a job

    def _slot(self, provider: Provider) -> asyncio.Semaphore:
        slot = self._slots.get(provider.id)
        if slot is None:
            slot = self._slots[provider.id] = asyncio.Semaphore(max(1, provider.concurrency))
        return slot

    def _start(self, job: _Job) -> None:
        job.task = asyncio.get_running_loop().create_task(
            self._run(job), name=f"render-job-{job.ref.job_id}")
        job.task.add_done_callback(lambda task: self._task_done(job, task))

    def _task_done(self, job: _Job, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            # Cancelled before it ever ran: the runner could not record it, so do it here.
            if job.cancel_requested and not job.state.finished:
                provider = self._providers[job.ref.provider]
                job.task = task.get_loop().create_task(
                    self._finish_cancel(job, provider), name=f"cancel-job-{job.ref.job_id}")
                job.task.add_done_callback(_report_crash)
            return
        _report_crash(task)

    async def _db(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(func, *args, **kwargs)

    async def _settle_writes(self, job: _Job) -> None:
        pending, job.pending_write = job.pending_write, None
        if pending is not None:
            try:
                await pending
            except LibraryError as exc:
                log.warning("could not record the progress of job %s: %s", job.ref.job_id, exc)

    async def _run(self, job: _Job) -> None:
        provider = self._providers[job.ref.provider]
        try:
            async with self._slot(provider):
                if job.started is None:
                    job.started = self._clock()
                if job.submission is None:
                    job.phase = "submitting"
                    await self._submit(job, provider)
                elif job.resumed:
                    self._change(job, JobSubmitted(job.ref, job.submission.request_id,
                                                   resumed=True))
                if job.cancel_requested:
                    await self._finish_cancel(job, provider)
                    return
                if job.detach:
                    job.phase = "finished"
                    return
                job.phase = "following"
                assert job.submission is not None
                result = await provider.follow(job.submission, lambda e: self._on_event(job, e))
            job.phase = "storing"
            await self._store(job, result)
        except asyncio.CancelledError:
            if not job.cancel_requested:
                job.phase = "finished"
                raise  # closing: the job stays unfinished in the library for resume
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self._finish_cancel(job, provider)
        except ProviderError as exc:
            await self._provider_failed(job, provider, exc)
        except LibraryStorageError as exc:
            self._fail(job, "storage", _storage_sentence(job, exc), retryable=True, kept=True)
        except LibraryError as exc:  # the library refused the image itself (not a disk fault)
            message = (f"The image {provider_name(job.ref.provider)} sent for “{job.ref.scene}” "
                       f"could not be kept: {exc} Retry the scene.")
            await self._record_failure(job, "bad_response", message, retryable=True)
        except Exception as exc:  # our bug: say so on the job, never lose it silently
            log.exception("render job %s failed unexpectedly", job.ref.job_id)
            message = (f"Rendering “{job.ref.scene}” stopped on an internal error "
                       f"({type(exc).__name__}: {exc}); this is a bug in the studio. "
                       "Retry the scene; the job is kept so `studio resume` can finish it.")
            self._fail(job, "internal", message, retryable=True, kept=True)
        finally:
            job.phase = "finished"

    async def _submit(self, job: _Job, provider: Provider) -> None:
        assert job.request is not None
        submission = await provider.submit(job.request)
        job.submission = submission
        # Recorded before anything else happens, so a crash from here on resumes polling.
        await self._db(self._library.jobs.mark_submitted, job.ref.job_id,
                       provider_request_id=submission.request_id,
                       poll_url=submission.poll_url or "", submission=submission.to_dict())
        self._change(job, JobSubmitted(job.ref, submission.request_id))

    def _on_event(self, job: _Job, event: ProviderEvent) -> None:
        update: JobEvent | None = None
        if isinstance(event, Queued):
            update = JobProcessing(job.ref, position=event.position)
        elif isinstance(event, Processing):
            update = JobProcessing(job.ref, eta=event.eta)
        elif isinstance(event, Downloading):
            update = JobDownloading(job.ref, event.source)
        if update is None or update == job.last_progress_event:
            return
        job.last_progress_event = update
        if isinstance(update, JobProcessing) and job.state is not JobState.PROCESSING \
                and job.pending_write is None:
            job.pending_write = asyncio.ensure_future(self._db(
                self._library.jobs.set_state, job.ref.job_id, JobState.PROCESSING))
        self._change(job, update)

    async def _store(self, job: _Job, result: GenerationResult) -> None:
        await self._settle_writes(job)
        outcome = Outcome(request_id=result.request_id, seed_returned=result.seed,
                          timings=result.timings, cost=result.cost)
        render = await self._db(self._library.jobs.complete, job.ref.job_id, result.image, outcome)
        job.render = render
        job.seconds = self._clock() - (job.started or self._clock())
        notes = tuple(dict.fromkeys((*job.notes, *result.notes)))
        self._change(job, JobDone(job.ref, render, job.seconds, notes))

    async def _provider_failed(self, job: _Job, provider: Provider, exc: ProviderError) -> None:
        if job.cancel_requested and job.submission is None:
            await self._finish_cancel(job, provider)  # never accepted: nothing to stop
            return
        if isinstance(exc, RenderCancelled):
            await self._settle_writes(job)
            await self._db(self._library.jobs.cancel, job.ref.job_id)
            message = f"{provider_name(job.ref.provider)} cancelled the job for “{job.ref.scene}”."
            self._cancelled(job, may_be_billed=False, message=message)
            return
        message = exc.user_message(job.ref.scene)
        if isinstance(exc, ProviderTimeout) and job.submission is not None:
            # Accepted and maybe still running: keep it so resume (or retry) polls it again.
            await self._settle_writes(job)
            self._fail(job, exc.kind, f"{message} Run `studio resume` to pick it up later.",
                       retryable=True, kept=True)
            return
        await self._record_failure(job, exc.kind, message, retryable=exc.retryable,
                                   request_id=exc.request_id)

    async def _record_failure(self, job: _Job, kind: str, message: str, *, retryable: bool,
                              request_id: str | None = None) -> None:
        await self._settle_writes(job)
        rid = request_id or (job.submission.request_id if job.submission else "")
        render: RenderRecord | None = None
        try:
            render = await self._db(self._library.jobs.fail, job.ref.job_id, message,
                                    Outcome(request_id=rid))
        except LibraryError as exc:
            log.warning("could not record the failure of job %s: %s", job.ref.job_id, exc)
        self._fail(job, kind, message, retryable=retryable, render=render)

    def _fail(self, job: _Job, kind: str, message: str, *, retryable: bool,
              render: RenderRecord | None = None, kept: bool = False) -> None:
        job.error, job.kind, job.kept_for_resume, job.render = message, kind, kept, render
        if job.started is not None:
            job.seconds = self._clock() - job.started
        self._change(job, JobFailed(job.ref, kind, message, retryable, render, kept))

    async def _finish_cancel(self, job: _Job, provider: Provider) -> None:
        may_be_billed = False
        if job.submission is not None:
            try:
                stopped = await provider.cancel(job.submission)
            except ProviderError as exc:
                log.info("could not cancel job %s at the provider: %s", job.ref.job_id, exc)
                stopped = False
            may_be_billed = not stopped
        name = provider_name(job.ref.provider)
        message = (_BILLED_NOTE.format(name=name) if may_be_billed
                   else f"Cancelled; nothing is charged by {name} for it.")
        await self._settle_writes(job)
        try:
            if may_be_billed:
                current = JobState.PROCESSING if job.state is JobState.PROCESSING \
                    else JobState.SUBMITTED
                await self._db(self._library.jobs.set_state, job.ref.job_id, current,
                               error=message)
            await self._db(self._library.jobs.cancel, job.ref.job_id)
        except LibraryError as exc:
            log.warning("could not record the cancellation of job %s: %s", job.ref.job_id, exc)
        self._cancelled(job, may_be_billed=may_be_billed, message=message)

    def _cancelled(self, job: _Job, *, may_be_billed: bool, message: str) -> None:
        job.may_be_billed, job.error, job.kind = may_be_billed, message, "cancelled"
        self._change(job, JobCancelled(job.ref, may_be_billed, message))


def _ref(rec: JobRecord) -> JobRef:
    d = rec.draft
    return JobRef(job_id=rec.id, scene=d.scene_name, stage=d.stage, provider=d.provider,
                  model=d.model, seed=d.request.seed, parent_render_id=d.parent_id)


def _provider_prices(providers: Mapping[str, Provider]) -> PriceLookup:
    def price(provider_id: str, model: str) -> float | None:
        provider = providers.get(provider_id)
        return None if provider is None else provider.capabilities(model).price_per_image

    return price


def _not_configured(provider_id: str, *, resume: bool = False) -> str:
    name = provider_name(provider_id)
    then = "run `studio resume` again" if resume else "render again"
    lacks, fix = missing_setup(provider_id)
    return f"{name} {lacks}, so nothing was sent; {fix}, then {then}."


def _storage_sentence(job: _Job, exc: LibraryStorageError) -> str:
    return (f"The image of “{job.ref.scene}” arrived but could not be saved in the library "
            f"({exc}). Free some space or fix the folder, then run `studio resume`; the job is "
            "kept.")


def _report_crash(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        task.get_loop().call_exception_handler(
            {"message": f"{task.get_name()} crashed", "exception": exc, "task": task})
