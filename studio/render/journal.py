"""Job states written to the library together: the moves of jobs that happen at the same moment
(a batch whose requests leave at once, jobs accepted or starting to process together) share one
transaction, so journaling a job before its request leaves, or keeping its id once accepted,
costs a batch one disk write, not one per job.

Each move is awaited until it is written (or fails). A job's later move is never written before
an earlier one: moves are written batch by batch, in order; a batch keeps only the latest state
of each job, and writes the acceptances it holds before the states (a job accepted and already
processing is recorded with both, in that order).
"""

from __future__ import annotations

import asyncio

from studio.core.lifecycle import JobState
from studio.library import Library, SubmittedJob


class StateJournal:
    """See the module docstring. One per render queue."""

    def __init__(self, library: Library) -> None:
        self._library = library
        self._pending: dict[int, tuple[JobState, list[asyncio.Future[None]]]] = {}
        self._accepted: dict[int, tuple[SubmittedJob, asyncio.Future[None]]] = {}
        self._writer: asyncio.Task[None] | None = None

    def move(self, job_id: int, state: JobState) -> asyncio.Future[None]:
        """Write ``job_id``'s new ``state``; the future is done once it is in the library."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        _, waiting = self._pending.get(job_id, (state, []))
        self._pending[job_id] = (state, [*waiting, done])
        self._start()
        return done

    def submitted(self, job_id: int, accepted: SubmittedJob) -> asyncio.Future[None]:
        """Keep what following ``job_id`` after a crash needs (the provider accepted it: its
        id, poll link and submission); the future is done once it is in the library."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._accepted[job_id] = (accepted, done)
        self._start()
        return done

    def _start(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write(),
                                                                  name="job-journal")

    async def _write(self) -> None:
        while self._pending or self._accepted:
            batch, self._pending = self._pending, {}
            accepted, self._accepted = self._accepted, {}
            waiters = [f for _, waiting in batch.values() for f in waiting]
            waiters += [future for _, future in accepted.values()]
            try:
                await asyncio.to_thread(
                    self._library.jobs.record_moves,
                    {job_id: state for job_id, (state, _) in batch.items()},
                    {job_id: record for job_id, (record, _) in accepted.items()})
            except Exception as exc:  # handed to every waiter: each decides what it means
                for future in waiters:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for future in waiters:
                if not future.done():
                    future.set_result(None)

    async def aclose(self) -> None:
        """Wait for the moves already asked for."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.shield(writer)
