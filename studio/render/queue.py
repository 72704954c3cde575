"""The render queue: jobs of a stage run through their providers, recorded at every step.

Every job is written to the library before anything is sent (state ``queued``), and at every
step after (see :mod:`studio.render.runner`). :class:`RenderQueue` is the one object callers
use; it is made of parts that each own one thing:

* :mod:`studio.render.book`: the jobs held, their counts per state, the listeners;
* :mod:`studio.render.admission`: letting a batch in (checked, priced, journaled in chunks
  while its first jobs already run, so the first request leaves after a bounded time);
* :mod:`studio.render.recovery`: resume after a crash, retry, and the **uncertain** jobs (found
  *sending* after a crash: listed, never sent again unless the user asks);
* :mod:`studio.render.lanes`: how many jobs of a provider run at once, narrowed while the
  provider throttles;
* the queue itself: the jobs' tasks, cancelling, waiting and closing.

Listeners get :mod:`studio.render.events` through a plain callback (:meth:`RenderQueue.subscribe`)
or an async iterator (:meth:`RenderQueue.events`). No Qt: the window runs the same coroutines on
its qasync loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from studio.library import Library
from studio.providers.base import Provider, Throttled
from studio.render.admission import Admission
from studio.render.book import JobBook
from studio.render.budget import BatchEstimate, Priced, PriceLookup, estimate
from studio.render.events import JobEvent, JobRef, Progress, RenderEvent, RenderListener
from studio.render.job import EventStream, JobView, RunningJob
from studio.render.lanes import Lane, Pacing
from studio.render.plan import JobSpec
from studio.render.recovery import Recovery
from studio.render.runner import JobRunner

log = logging.getLogger("studio.render")

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
        self._book = JobBook()
        self._pacing = Pacing(self._book.emit)
        self._closed = False
        self._runner = JobRunner(library, providers, self, clock)
        self._admission = Admission(library, providers, self._price, self._book, self._pacing,
                                    self._start)
        self._recovery = Recovery(library, providers, self._price, self._book, self._runner,
                                  self._start)

    # ------------------------------------------------------------------ listening

    def subscribe(self, listener: RenderListener) -> Callable[[], None]:
        """Call ``listener`` with every event, on the loop's thread; returns the unsubscribe."""
        return self._book.subscribe(listener)

    def events(self) -> EventStream:
        """Every event from the moment of this call until :meth:`aclose` (or until the stream
        is closed): ``async for event in queue.events(): ...``."""
        return self._book.events()

    def _emit(self, event: RenderEvent) -> None:
        self._book.emit(event)

    # ------------------------------------------------------------------ the runner's hooks

    def change(self, job: RunningJob, event: JobEvent) -> None:
        """Move ``job`` to the event's state and tell the listeners (the runner's hook)."""
        self._book.change(job, event)

    def lane(self, provider: Provider) -> Lane:
        return self._pacing.lane(provider)

    def throttled(self, job: RunningJob, provider: Provider, event: Throttled) -> None:
        """The provider's rate limit holds ``job``'s submit back (see :class:`Pacing`)."""
        self._pacing.throttled(job, provider, event)

    def accepted(self, provider: Provider) -> None:
        self._pacing.accepted(provider)

    # ------------------------------------------------------------------ reading state

    def progress(self) -> Progress:
        return self._book.progress()

    def jobs(self) -> tuple[JobView, ...]:
        """Every job this queue has held, in the order they were added."""
        return self._book.views()

    def job(self, job_id: int) -> JobView:
        return self._book.get(job_id).view()

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
        cap = self.budget_cap if budget_cap is None else budget_cap
        return await self._admission.add_planned(planned, record, budget_cap=cap, batch=batch)

    # ------------------------------------------------------------------ recovering work

    async def resume(self, *, resend_uncertain: bool = False) -> tuple[JobRef, ...]:
        """Pick up every job the library holds unfinished (a crash, a closed window).

        A job the provider had accepted is followed (polled and downloaded), never sent again;
        one never sent is sent once; one found *sending* becomes uncertain (unless its provider
        can find it by other means). Every uncertain job in the library is listed (held with
        its state), and with ``resend_uncertain`` sent again. A job whose provider has no key
        now is reported failed and left unfinished for a later resume.
        """
        self._check_open()
        return await self._recovery.resume(resend_uncertain=resend_uncertain)

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
        return await self._recovery.retry_many(job_ids)

    async def uncertain(self) -> tuple[JobView, ...]:
        """Every uncertain job in the library (held from now on, so a window can list them and
        offer Send again through :meth:`resend`)."""
        self._check_open()
        return await self._recovery.uncertain()

    async def resend(self, job_id: int) -> JobRef:
        """Send an uncertain job again, under the same job id: the user has checked (or
        accepts) that the provider may have billed the first request.

        Raises ValueError for a job that is not uncertain, :class:`RenderInputError` when its
        provider has no key now.
        """
        self._check_open()
        return await self._recovery.resend(job_id)

    async def forget(self, job_id: int) -> JobRef:
        """Give up an uncertain job without sending it again: the user has checked with the
        provider (or accepts the loss). It ends cancelled, is no longer listed as uncertain and
        is never sent. Raises ValueError for a job that is not uncertain."""
        self._check_open()
        return await self._recovery.forget(job_id)

    async def resend_uncertain(self) -> tuple[JobRef, ...]:
        """:meth:`resend` every uncertain job in the library."""
        views = await self.uncertain()
        return tuple([await self.resend(view.ref.job_id) for view in views])

    # ------------------------------------------------------------------ cancelling

    def cancel(self, job_id: int) -> bool:
        """Cancel one job; the others go on. False when it has already finished (or is being
        stored). The outcome arrives as :class:`JobCancelled`."""
        job = self._book.get(job_id)
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
        return sum(self.cancel(job_id) for job_id in self._book.ids())

    # ------------------------------------------------------------------ waiting and closing

    async def wait(self) -> Progress:
        """Until every job has finished (done, failed, cancelled or uncertain)."""
        while True:
            tasks = [j.task for j in self._book if j.task is not None and not j.task.done()]
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
            for job in self._book:
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
        self._book.end_streams()

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


def _provider_prices(providers: Mapping[str, Provider]) -> PriceLookup:
    def price(provider_id: str, model: str) -> float | None:
        provider = providers.get(provider_id)
        return None if provider is None else provider.capabilities(model).price_per_image

    return price


def _report_crash(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        task.get_loop().call_exception_handler(
            {"message": f"{task.get_name()} crashed", "exception": exc, "task": task})

