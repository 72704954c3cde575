"""The render queue: jobs of a stage run through their providers, recorded at every step.

Every job is written to the library before anything is sent (state ``queued``), and at every
step after (see :mod:`studio.render.runner`). After a crash, :meth:`RenderQueue.resume` follows
every job that has a provider request id (it is never sent again), sends once the jobs never
sent, and makes every job found *sending* (its request may have left, no id came back)
**uncertain**: listed, never sent again unless the user asks (:meth:`RenderQueue.resend`, or
``resume(resend_uncertain=True)``).

How many jobs of a provider run at once is decided here, by its lane
(:mod:`studio.render.lanes`), narrowed while the provider throttles. Listeners get
:mod:`studio.render.events` through a plain callback (:meth:`RenderQueue.subscribe`) or an async
iterator (:meth:`RenderQueue.events`). No Qt: the window runs the same coroutines on its qasync
loop.

A big batch starts sending as soon as its first jobs are journaled; the rest are journaled in
chunks while those run, so the first request leaves after a bounded time whatever the batch size.

Library calls block, so they run in worker threads (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from studio.core.lifecycle import JobState
from studio.library import JobRecord, Library
from studio.providers.base import Provider, Submission, Throttled
from studio.providers.errors import MayHaveBeenBilledError, provider_name
from studio.providers.keys import missing_setup
from studio.render.budget import BatchEstimate, Priced, PriceLookup, check_budget, estimate
from studio.render.events import (
    BatchPlanned,
    JobCancelled,
    JobEvent,
    JobQueued,
    JobRef,
    Progress,
    RateLimitWait,
    RenderEvent,
    RenderListener,
)
from studio.render.job import EventStream, JobView, RunningJob, job_ref
from studio.render.lanes import Lane
from studio.render.plan import JobSpec, RenderInputError
from studio.render.runner import JobRunner

log = logging.getLogger("studio.render")

#: Jobs journaled before the first ones start (at least as many as can run at once); the rest
#: follow in chunks of CHUNK once the first request has been answered (or FIRST_WAIT seconds
#: passed), so journaling them never holds the library ahead of the first request's own
#: journal entry.
FIRST_CHUNK = 64
CHUNK = 256
FIRST_WAIT = 2.0

__all__ = ["EventStream", "JobView", "RenderQueue"]


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
        self._jobs: dict[int, RunningJob] = {}
        #: How many jobs are in each state (kept as they move, so progress is O(1)).
        self._counts: dict[JobState, int] = dict.fromkeys(JobState, 0)
        self._lanes: dict[str, Lane] = {}
        self._waiting_announced: set[str] = set()
        self._listeners: list[RenderListener] = []
        self._streams: list[EventStream] = []
        self._closed = False
        self._answered: asyncio.Future[None] | None = None
        self._runner = JobRunner(library, providers, self, clock)

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

    def change(self, job: RunningJob, event: JobEvent) -> None:
        """Move ``job`` to the event's state and tell the listeners (the runner's hook)."""
        if self._answered is not None and event.state in _ANSWERED \
                and not self._answered.done():
            self._answered.set_result(None)
        self._counts[job.state] -= 1
        job.state = event.state
        self._counts[job.state] += 1
        self._emit(event)
        self._emit(self.progress())

    # ------------------------------------------------------------------ lanes

    def lane(self, provider: Provider) -> Lane:
        lane = self._lanes.get(provider.id)
        if lane is None:
            lane = self._lanes[provider.id] = Lane(provider.concurrency)
        return lane

    def throttled(self, job: RunningJob, provider: Provider, event: Throttled) -> None:
        """The provider's rate limit holds ``job``'s submit back: fewer of its jobs at once,
        and say so once per throttled answer."""
        self.lane(provider).narrow()
        if event.fresh or provider.id not in self._waiting_announced:
            self._waiting_announced.add(provider.id)
            message = f"waiting for {provider_name(provider.id)}'s rate limit"
            if event.hint:
                message += f", {event.hint}"
            self._emit(RateLimitWait(job.ref, event.seconds, message))

    def accepted(self, provider: Provider) -> None:
        self._waiting_announced.discard(provider.id)
        self.lane(provider).widen()

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

    def _get(self, job_id: int) -> RunningJob:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise KeyError(f"the queue holds no job {job_id}") from None

    def estimate(self, jobs: Sequence[Priced]) -> BatchEstimate:
        """How many requests ``jobs`` make and, where prices are known, what they cost."""
        return estimate(jobs, self._price)

    # ------------------------------------------------------------------ adding work

    async def add(
        self, jobs: Sequence[JobSpec], *, budget_cap: float | None = None,
        batch: BatchEstimate | None = None,
    ) -> tuple[JobRef, ...]:
        """Record ``jobs`` in the library and start them.

        Emits :class:`BatchPlanned` first; raises :class:`~studio.render.budget.BudgetExceeded`
        (nothing recorded, nothing sent) when the batch would pass ``budget_cap`` (default: the
        queue's), and :class:`RenderInputError` for a provider that is unknown or has no key.
        The first jobs start while the rest are still being journaled. ``batch``: the
        :meth:`estimate` of these very jobs, when the caller has made it already (it is not
        made twice).
        """
        return await self.add_planned(jobs, lambda start, stop: jobs[start:stop],
                                      budget_cap=budget_cap, batch=batch)

    async def add_planned(
        self, planned: Sequence[Priced], record: Callable[[int, int], Sequence[JobSpec]], *,
        budget_cap: float | None = None, batch: BatchEstimate | None = None,
    ) -> tuple[JobRef, ...]:
        """:meth:`add` for a batch planned whole (each job's provider and request: what is
        counted, priced and checked before anything is sent) whose jobs the library does not
        hold yet: ``record(start, stop)`` (blocking: run in a worker thread, a chunk at a time,
        in order) records what ``planned[start:stop]`` belong to and returns them as jobs.
        The first chunk is sent while the rest are recorded (``studio.render.staged``)."""
        self._check_open()
        providers = list(dict.fromkeys(job.provider for job in planned))
        for provider_id in providers:
            provider = self._providers.get(provider_id)
            if provider is None or not provider.configured:
                raise RenderInputError(_not_configured(provider_id))
        if batch is None:
            batch = self.estimate(planned)
        elif batch.requests != len(planned):
            raise ValueError(f"the estimate given counts {batch.requests} requests, the batch "
                             f"{len(planned)}")
        cap = self.budget_cap if budget_cap is None else budget_cap
        self._emit(BatchPlanned(batch.requests, batch.cost, batch.unpriced, cap))
        check_budget(batch, cap)

        refs: list[JobRef] = []
        places = sum(self.lane(self._providers[pid]).capacity for pid in providers)
        start, size = 0, max(FIRST_CHUNK, places)
        while start < len(planned):
            stop = min(start + size, len(planned))
            journaled = await asyncio.to_thread(self._journal, record, start, stop)
            started: list[asyncio.Task[None]] = []
            for spec, rec in journaled:
                job = self._hold(RunningJob(ref=job_ref(rec), request=rec.request,
                                            notes=spec.notes))
                refs.append(job.ref)
                self.change(job, JobQueued(job.ref))
                self._start(job)
                assert job.task is not None
                started.append(job.task)
            if start == 0 and len(planned) > stop:
                await self._first_answer(started)
            start, size = stop, CHUNK
        return tuple(refs)

    def _journal(self, record: Callable[[int, int], Sequence[JobSpec]], start: int,
                 stop: int) -> list[tuple[JobSpec, JobRecord]]:
        """The jobs ``start:stop`` of a batch, recorded (``record``) and journaled as queued,
        with their journal records (a worker thread's share of :meth:`add_planned`)."""
        # The scenes ``record`` keeps and the jobs in one transaction: one disk write each
        # chunk, before its first request can leave.
        with self._library.db.transaction("queue the jobs"):
            specs = record(start, stop)
            if len(specs) != stop - start:
                raise ValueError(f"asked for jobs {start} to {stop} of the batch, given "
                                 f"{len(specs)}")
            records = self._library.jobs.create_many([spec.draft for spec in specs])
        return list(zip(specs, records, strict=True))

    async def _first_answer(self, tasks: Sequence[asyncio.Task[None]]) -> None:
        """Until a job of the batch has had its submit answered (or ended, or FIRST_WAIT
        seconds passed): the first request goes out before the rest of a big batch is
        journaled."""
        answered = self._answered = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait([answered, *tasks], timeout=FIRST_WAIT,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._answered = None
            answered.cancel()

    async def resume(self, *, resend_uncertain: bool = False) -> tuple[JobRef, ...]:
        """Pick up every job the library holds unfinished (a crash, a closed window).

        A job the provider had accepted is followed (polled and downloaded), never sent again;
        one never sent is sent once; one found *sending* becomes uncertain (unless its provider
        can find it by other means). Every uncertain job in the library is listed (held with
        its state), and with ``resend_uncertain`` sent again. A job whose provider has no key
        now is reported failed and left unfinished for a later resume.
        """
        self._check_open()
        records = await asyncio.to_thread(self._library.jobs.unfinished)
        started: list[RunningJob] = []
        to_send: list[JobRecord] = []
        for rec in records:
            known = self._jobs.get(rec.id)
            if known is not None and not known.state.finished:
                continue  # running in this queue already
            job = self._hold(RunningJob(ref=job_ref(rec), resumed=True))
            self.change(job, JobQueued(job.ref))
            provider = self._providers.get(rec.provider)
            if provider is None or not provider.configured:
                self._runner.fail(job, "not_configured", _not_configured(rec.provider,
                                                                         resume=True),
                                  retryable=True, kept=True)
                continue
            try:
                if rec.provider_request_id:
                    job.submission = Submission.from_data(rec.submission)
                elif rec.state is JobState.SENDING:
                    found = await provider.find_sent(rec.request, rec.updated.timestamp())
                    if found is None:
                        await self._runner.uncertain(job, _stopped_while_sending(job))
                        continue
                    await asyncio.to_thread(
                        self._library.jobs.mark_submitted, rec.id,
                        provider_request_id=found.request_id, poll_url=found.poll_url or "",
                        submission=found.to_data())
                    job.submission = found
                else:
                    job.request = rec.request
                    to_send.append(rec)
            except (ValueError, TypeError, KeyError) as exc:
                message = (f"The unfinished job for scene “{job.ref.scene}” cannot be resumed: "
                           f"its stored record is damaged ({exc}). Render the scene again.")
                await self._runner.record_failure(job, "bad_record", message, retryable=False)
                continue
            started.append(job)
        uncertain = await asyncio.to_thread(self._library.jobs.uncertain)
        for rec in uncertain:
            known = self._jobs.get(rec.id)
            if resend_uncertain:
                started.append(await self._requeued(rec.id))
                to_send.append(rec)
            elif known is None:
                self._hold(RunningJob(ref=job_ref(rec), state=JobState.UNCERTAIN,
                                      error=rec.error, kind="uncertain", may_be_billed=True))
        if to_send:
            self._plan(to_send)
        for job in started:
            if job.task is None:
                self._start(job)
        return tuple(job.ref for job in started)

    def _plan(self, records: Sequence[JobRecord]) -> None:
        specs = [rec.draft for rec in records]
        priced = [self._price(d.provider, d.model) for d in specs]
        unpriced = tuple(dict.fromkeys(d.provider for d, p in zip(specs, priced, strict=True)
                                       if p is None))
        cost = None if unpriced else sum(p or 0.0 for p in priced)
        self._emit(BatchPlanned(len(specs), cost, unpriced, None))

    async def retry(self, job_id: int) -> JobRef:
        """Run a failed or cancelled job again.

        A job kept for resume is followed again under the same id when it had been accepted
        (never resent), or sent when it never was (a refused key, a rate limit); any other
        becomes a new job with the same settings (``retry_of`` links them).
        """
        outcome = (await self.retry_many([job_id]))[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def retry_many(self, job_ids: Sequence[int]) -> list[JobRef | Exception]:
        """:meth:`retry` for several jobs, all queued in one step (none of them can end before
        the last is queued: one batch to the listeners). Per job, in order: its new reference,
        or why it cannot be retried (ValueError for a job that is not failed or cancelled,
        KeyError for an unknown one, :class:`RenderInputError` for a provider without a key).
        """
        self._check_open()
        outcomes: list[JobRef | Exception] = []
        olds: list[RunningJob] = []
        for job_id in job_ids:
            try:
                old = self._get(job_id)
                if old.state not in (JobState.FAILED, JobState.CANCELLED):
                    raise ValueError(f"job {job_id} is {old.state.value}; only failed or "
                                     "cancelled jobs can be retried")
                self._require_provider(old.ref.provider)
            except (ValueError, KeyError, RenderInputError) as exc:
                outcomes.append(exc)
                continue
            outcomes.append(old.ref)  # replaced below by the retry's own reference
            olds.append(old)

        def record() -> list[tuple[JobRecord, JobRecord | None]]:
            recs = self._library.jobs.many([old.ref.job_id for old in olds])
            again = [rec.draft for old, rec in zip(olds, recs, strict=True)
                     if not old.kept_for_resume]
            new = iter(self._library.jobs.create_many(again) if again else [])
            return [(rec, None if old.kept_for_resume else next(new))
                    for old, rec in zip(olds, recs, strict=True)]

        recorded = await asyncio.to_thread(record) if olds else []
        refs: dict[int, JobRef] = {}
        again: list[RunningJob] = []
        for old, (rec, new) in zip(olds, recorded, strict=True):
            if new is None:  # kept for resume: the same job, followed or sent
                job = RunningJob(ref=old.ref, resumed=True, notes=old.notes)
                if rec.provider_request_id:
                    job.submission = Submission.from_data(rec.submission)
                else:
                    job.request = rec.request
                self._hold(job)
                self.change(job, JobQueued(job.ref))
            else:
                job = self._hold(RunningJob(ref=job_ref(new), request=new.request,
                                            notes=old.notes))
                self.change(job, JobQueued(job.ref, retry_of=old.ref.job_id))
            refs[old.ref.job_id] = job.ref
            again.append(job)
        for job in again:
            self._start(job)
        return [refs.get(o.job_id, o) if isinstance(o, JobRef) else o for o in outcomes]

    # ------------------------------------------------------------------ uncertain jobs

    async def uncertain(self) -> tuple[JobView, ...]:
        """Every uncertain job in the library (held from now on, so a window can list them and
        offer Send again through :meth:`resend`)."""
        self._check_open()
        for rec in await asyncio.to_thread(self._library.jobs.uncertain):
            if rec.id not in self._jobs:
                self._hold(RunningJob(ref=job_ref(rec), state=JobState.UNCERTAIN,
                                      error=rec.error, kind="uncertain", may_be_billed=True))
        return tuple(job.view() for job in self._jobs.values()
                     if job.state is JobState.UNCERTAIN)

    async def resend(self, job_id: int) -> JobRef:
        """Send an uncertain job again, under the same job id: the user has checked (or
        accepts) that the provider may have billed the first request.

        Raises ValueError for a job that is not uncertain, :class:`RenderInputError` when its
        provider has no key now.
        """
        self._check_open()
        known = self._jobs.get(job_id)
        if known is not None and known.state is not JobState.UNCERTAIN:
            raise ValueError(f"job {job_id} is {known.state.value}; only an uncertain job is "
                             "sent again this way")
        job = await self._requeued(job_id)
        self._start(job)
        return job.ref

    async def forget(self, job_id: int) -> JobRef:
        """Give up an uncertain job without sending it again: the user has checked with the
        provider (or accepts the loss). It ends cancelled, is no longer listed as uncertain and
        is never sent. Raises ValueError for a job that is not uncertain."""
        self._check_open()
        rec = await asyncio.to_thread(self._library.jobs.get, job_id)
        if rec.state is not JobState.UNCERTAIN:
            raise ValueError(f"job {job_id} is {rec.state.value}; only an uncertain job is "
                             "forgotten this way")
        await asyncio.to_thread(self._library.jobs.cancel, job_id)
        job = self._jobs.get(job_id)
        if job is None or job.state is not JobState.UNCERTAIN:
            job = self._hold(RunningJob(ref=job_ref(rec), state=JobState.UNCERTAIN,
                                        error=rec.error, kind="uncertain", may_be_billed=True))
        self.change(job, JobCancelled(job.ref, True, "Forgotten: not sent again. If the "
                                      "provider did render it, it may still be billed."))
        return job.ref

    async def resend_uncertain(self) -> tuple[JobRef, ...]:
        """:meth:`resend` every uncertain job in the library."""
        views = await self.uncertain()
        return tuple([await self.resend(view.ref.job_id) for view in views])

    async def _requeued(self, job_id: int) -> RunningJob:
        rec = await asyncio.to_thread(self._library.jobs.get, job_id)
        if rec.state is not JobState.UNCERTAIN:
            raise ValueError(f"job {job_id} is {rec.state.value}; only an uncertain job is "
                             "sent again this way")
        self._require_provider(rec.provider)
        rec = await asyncio.to_thread(self._library.jobs.requeue, job_id)
        job = self._hold(RunningJob(ref=job_ref(rec), request=rec.request, resumed=True))
        self.change(job, JobQueued(job.ref))
        return job

    def _require_provider(self, provider_id: str) -> None:
        provider = self._providers.get(provider_id)
        if provider is None or not provider.configured:
            raise RenderInputError(_not_configured(provider_id))

    # ------------------------------------------------------------------ cancelling

    def cancel(self, job_id: int) -> bool:
        """Cancel one job; the others go on. False when it has already finished (or is being
        stored). The outcome arrives as :class:`JobCancelled`."""
        job = self._get(job_id)
        if job.state.finished or job.cancel_requested or job.phase in ("storing", "finished"):
            return False
        job.cancel_requested = True
        # A request on its way is let finish, so the job can be recorded and stopped at the
        # provider instead of being left running there unknown; a job still waiting to send
        # (for a place, or for a rate limit) stops at once.
        if not (job.phase == "submitting" and job.leaving) and job.task is not None:
            job.task.cancel()
        return True

    def cancel_all(self) -> int:
        """Cancel every unfinished job; returns how many were asked to stop."""
        return sum(self.cancel(job_id) for job_id in list(self._jobs))

    # ------------------------------------------------------------------ waiting and closing

    async def wait(self) -> Progress:
        """Until every job has finished (done, failed, cancelled or uncertain)."""
        while True:
            tasks = [j.task for j in self._jobs.values()
                     if j.task is not None and not j.task.done()]
            if not tasks:
                return self.progress()
            await asyncio.wait(tasks)

    async def aclose(self) -> None:
        """Stop following jobs without cancelling them: they stay unfinished in the library and
        :meth:`resume` picks them up. Cancellations already asked for are finished first; a
        submit on its way is let finish (one round trip), except on an API whose submit is held
        until the image exists: that job is left *sending*, so resume reports it uncertain."""
        self._closed = True
        while True:
            waiting: list[asyncio.Task[None]] = []
            for job in self._jobs.values():
                task = job.task
                if task is None or task.done():
                    continue
                if not job.detach:
                    job.detach = True
                    provider = self._providers[job.ref.provider]
                    held = job.phase == "submitting" and job.leaving \
                        and not provider.blocking_create
                    if not job.cancel_requested and not held and job.phase != "storing":
                        task.cancel()
                waiting.append(task)
            if not waiting:
                break
            # A cancellation may hand over to a follow-up task; loop until none is left.
            await asyncio.wait(waiting)
        await self._runner.journal.aclose()
        await self._runner.shelf.aclose()
        for stream in list(self._streams):
            stream.put(None)

    def _hold(self, job: RunningJob) -> RunningJob:
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

    def _start(self, job: RunningJob) -> None:
        job.task = asyncio.get_running_loop().create_task(
            self._runner.run(job), name=f"render-job-{job.ref.job_id}")
        job.task.add_done_callback(lambda task: self._task_done(job, task))

    def _task_done(self, job: RunningJob, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            # Cancelled before it ever ran: the runner could not record it, so do it here.
            if job.cancel_requested and not job.state.finished:
                provider = self._providers[job.ref.provider]
                job.task = task.get_loop().create_task(
                    self._runner.finish_cancel(job, provider),
                    name=f"cancel-job-{job.ref.job_id}")
                job.task.add_done_callback(_report_crash)
            return
        _report_crash(task)


#: States a job reaches once its submit has been answered (or it ended without one).
_ANSWERED = frozenset({JobState.SUBMITTED, JobState.FAILED, JobState.CANCELLED,
                       JobState.UNCERTAIN, JobState.DONE})


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


def _stopped_while_sending(job: RunningJob) -> str:
    return MayHaveBeenBilledError(
        job.ref.provider, "the studio stopped while its request was on the way, before the "
        "answer with the job's id was recorded").user_message(job.ref.scene)


def _report_crash(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        task.get_loop().call_exception_handler(
            {"message": f"{task.get_name()} crashed", "exception": exc, "task": task})

