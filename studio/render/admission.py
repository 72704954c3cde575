"""Letting a batch into the render queue: checked, priced, journaled, started.

Every job is written to the library before anything is sent (state ``queued``). A big batch
starts sending as soon as its first jobs are journaled; the rest are journaled in chunks while
those run, so the first request leaves after a bounded time whatever the batch size.

Library calls block, so they run in worker threads (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

from studio.core.lifecycle import JobState
from studio.library import JobRecord, Library
from studio.providers.base import Provider
from studio.providers.errors import provider_name
from studio.providers.keys import missing_setup
from studio.render.book import JobBook
from studio.render.budget import BatchEstimate, Priced, PriceLookup, check_budget, estimate
from studio.render.events import BatchPlanned, JobEvent, JobQueued, JobRef, RenderEvent
from studio.render.job import RunningJob, job_ref
from studio.render.lanes import Pacing
from studio.render.plan import JobSpec, RenderInputError

#: Jobs journaled before the first ones start (at least as many as can run at once); the rest
#: follow in chunks of CHUNK once the first request has been answered (or FIRST_WAIT seconds
#: passed), so journaling them never holds the library ahead of the first request's own
#: journal entry.
FIRST_CHUNK = 64
CHUNK = 256
FIRST_WAIT = 2.0

#: States a job reaches once its submit has been answered (or it ended without one).
_ANSWERED = frozenset({JobState.SUBMITTED, JobState.FAILED, JobState.CANCELLED,
                       JobState.UNCERTAIN, JobState.DONE})


class Admission:
    """Adds batches to a queue's :class:`JobBook` and starts their jobs."""

    def __init__(self, library: Library, providers: Mapping[str, Provider], price: PriceLookup,
                 book: JobBook, pacing: Pacing, start: Callable[[RunningJob], None]) -> None:
        self._library = library
        self._providers = providers
        self._price = price
        self._book = book
        self._pacing = pacing
        self._start = start

    async def add_planned(
        self, planned: Sequence[Priced], record: Callable[[int, int], Sequence[JobSpec]], *,
        budget_cap: float | None, batch: BatchEstimate | None,
    ) -> tuple[JobRef, ...]:
        """See :meth:`studio.render.queue.RenderQueue.add_planned`; ``budget_cap`` is the one
        that applies (the caller's, else the queue's)."""
        providers = list(dict.fromkeys(job.provider for job in planned))
        for provider_id in providers:
            require_configured(self._providers, provider_id)
        if batch is None:
            batch = estimate(planned, self._price)
        elif batch.requests != len(planned):
            raise ValueError(f"the estimate given counts {batch.requests} requests, the batch "
                             f"{len(planned)}")
        self._book.emit(BatchPlanned(batch.requests, batch.cost, batch.unpriced, budget_cap))
        check_budget(batch, budget_cap)

        refs: list[JobRef] = []
        places = sum(self._pacing.lane(self._providers[pid]).capacity for pid in providers)
        start, size = 0, max(FIRST_CHUNK, places)
        while start < len(planned):
            stop = min(start + size, len(planned))
            journaled = await asyncio.to_thread(self._journal, record, start, stop)
            started: list[asyncio.Task[None]] = []
            for spec, rec in journaled:
                job = self._book.hold(RunningJob(ref=job_ref(rec), request=rec.request,
                                                 notes=spec.notes))
                refs.append(job.ref)
                self._book.change(job, JobQueued(job.ref))
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
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def heard(event: RenderEvent) -> None:
            if isinstance(event, JobEvent) and event.state in _ANSWERED \
                    and not answered.done():
                answered.set_result(None)

        unsubscribe = self._book.subscribe(heard)
        try:
            await asyncio.wait([answered, *tasks], timeout=FIRST_WAIT,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            unsubscribe()
            answered.cancel()


def require_configured(providers: Mapping[str, Provider], provider_id: str) -> None:
    """Raise :class:`RenderInputError` for a provider that is unknown or has no key."""
    provider = providers.get(provider_id)
    if provider is None or not provider.configured:
        raise RenderInputError(not_configured(provider_id))


def not_configured(provider_id: str, *, resume: bool = False) -> str:
    name = provider_name(provider_id)
    then = "run `studio resume` again" if resume else "render again"
    lacks, fix = missing_setup(provider_id)
    return f"{name} {lacks}, so nothing was sent; {fix}, then {then}."
