"""The jobs a render queue holds, how many are in each state, and who hears of them.

:class:`JobBook` is the render queue's shared ledger: admission (:mod:`studio.render.admission`)
and recovery (:mod:`studio.render.recovery`) put jobs in it, the runner moves them through
:meth:`JobBook.change`, and every move reaches the listeners (plain callbacks and
:class:`~studio.render.job.EventStream` iterators) followed by the new :class:`Progress`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

from studio.core.lifecycle import JobState
from studio.render.events import JobEvent, Progress, RenderEvent, RenderListener
from studio.render.job import EventStream, JobView, RunningJob


class JobBook:
    """Every job a queue has held, in the order added, with a count per state."""

    def __init__(self) -> None:
        self._jobs: dict[int, RunningJob] = {}
        #: How many jobs are in each state (kept as they move, so progress is O(1)).
        self._counts: dict[JobState, int] = dict.fromkeys(JobState, 0)
        self._listeners: list[RenderListener] = []
        self._streams: list[EventStream] = []

    # ------------------------------------------------------------------ listening

    def subscribe(self, listener: RenderListener) -> Callable[[], None]:
        """Call ``listener`` with every event, on the loop's thread; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def events(self) -> EventStream:
        """Every event from now until :meth:`end_streams` (or until the stream is closed)."""
        stream = EventStream(self._streams)
        self._streams.append(stream)
        return stream

    def emit(self, event: RenderEvent) -> None:
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

    def end_streams(self) -> None:
        """Every event stream ends (the queue is closed)."""
        for stream in list(self._streams):
            stream.put(None)

    # ------------------------------------------------------------------ the jobs

    def change(self, job: RunningJob, event: JobEvent) -> None:
        """Move ``job`` to the event's state and tell the listeners."""
        self._counts[job.state] -= 1
        job.state = event.state
        self._counts[job.state] += 1
        self.emit(event)
        self.emit(self.progress())

    def hold(self, job: RunningJob) -> RunningJob:
        """Keep ``job`` (replacing an earlier run of the same id) and count it."""
        previous = self._jobs.get(job.ref.job_id)
        if previous is not None:
            self._counts[previous.state] -= 1
        self._jobs[job.ref.job_id] = job
        self._counts[job.state] += 1
        return job

    def get(self, job_id: int) -> RunningJob:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise KeyError(f"the queue holds no job {job_id}") from None

    def find(self, job_id: int) -> RunningJob | None:
        return self._jobs.get(job_id)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __iter__(self) -> Iterator[RunningJob]:
        return iter(self._jobs.values())

    def ids(self) -> list[int]:
        return list(self._jobs)

    def progress(self) -> Progress:
        counts = self._counts
        active = sum(counts[s] for s in JobState if s.active and s is not JobState.QUEUED)
        return Progress(total=len(self._jobs), queued=counts[JobState.QUEUED], active=active,
                        done=counts[JobState.DONE], failed=counts[JobState.FAILED],
                        cancelled=counts[JobState.CANCELLED],
                        uncertain=counts[JobState.UNCERTAIN])

    def views(self) -> tuple[JobView, ...]:
        return tuple(job.view() for job in self._jobs.values())
