"""The jobs of a card's current batch, as the render events tell them: one job per take when a batch
renders several takes of a scene. The card's slot stands for the batch as a whole (rendering
while any take is, done when one came out), and the first take to finish is told apart, since
the card keeps showing it (or the take picked before) while the others arrive.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.ui.viewmodels.cells import Slot

CellKey = tuple[str, Stage]

#: The lifecycle's order: of several takes under way, the card shows the furthest along.
_ORDER = {state: i for i, state in enumerate(JobState)}


@dataclass(frozen=True, slots=True)
class TakeJob:
    """One job of a batch as its latest event left it."""

    state: JobState
    eta: float | None = None
    position: int | None = None
    message: str = ""


def batch_slot(base: Slot, jobs: Mapping[int, TakeJob]) -> Slot:
    """``base`` standing for ``jobs``: the state of the take furthest along while any is under
    way; once all have ended, done when any came out (with a note on those that did not), else
    uncertain, failed or cancelled, with the sentence of the first take that ended so."""
    running = [job for job in jobs.values() if job.state.active]
    if running:
        lead = max(running, key=lambda job: _ORDER[job.state])
        return replace(base, state=lead.state, eta=lead.eta, position=lead.position, message="")
    ended = list(jobs.values())
    if any(job.state is JobState.DONE for job in ended):
        lost = [job for job in ended if job.state is not JobState.DONE]
        note = (f"{len(lost)} of {len(ended)} takes did not come out: {lost[0].message}"
                if lost else "")
        return replace(base, state=JobState.DONE, eta=None, position=None, message=note)
    for state in (JobState.UNCERTAIN, JobState.FAILED, JobState.CANCELLED):
        first = next((job for job in ended if job.state is state), None)
        if first is not None:
            return replace(base, state=state, eta=None, position=None, message=first.message)
    return base


class CellBatches:
    """Per card and stage, the jobs of the batch under way (or the last one)."""

    def __init__(self) -> None:
        self._jobs: dict[CellKey, dict[int, TakeJob]] = {}
        self._first_done: dict[CellKey, int] = {}
        #: How many jobs a batch being sent has still to announce: they join it even when a
        #: take already finished before the next is queued.
        self._expected: dict[CellKey, int] = {}

    def expect(self, cells: Iterable[CellKey]) -> None:
        """A batch is about to be sent with a job for each of ``cells`` (a cell once per take):
        each starts a new batch of that many."""
        for key, count in Counter(cells).items():
            self._jobs[key] = {}
            self._first_done.pop(key, None)
            self._expected[key] = count

    def follow(self, key: CellKey, job_id: int, job: TakeJob) -> dict[int, TakeJob]:
        """Record ``job``'s new state. A job new to the cell joins the batch being sent; else,
        when the cell's batch has ended, it starts the next one (a job retried, or followed
        again after a restart, joins the batch under way). The batch."""
        jobs = self._jobs.get(key)
        if jobs is None or job_id not in jobs:
            expected = self._expected.get(key, 0)
            if expected:
                self._expected[key] = expected - 1
            elif jobs is None or all(j.state.finished for j in jobs.values()):
                jobs = self._jobs[key] = {}
                self._first_done.pop(key, None)
        assert jobs is not None
        jobs[job_id] = job
        return jobs

    def jobs(self, key: CellKey) -> dict[int, TakeJob]:
        return self._jobs.get(key, {})

    def first_done(self, key: CellKey, render_id: int) -> bool:
        """Whether ``render_id`` is the first take of the cell's batch to come out."""
        if key in self._first_done:
            return self._first_done[key] == render_id
        self._first_done[key] = render_id
        return True

    def rename(self, old: str, new: str) -> None:
        for stage in Stage:
            if (old, stage) in self._jobs:
                self._jobs[(new, stage)] = self._jobs.pop((old, stage))
            if (old, stage) in self._first_done:
                self._first_done[(new, stage)] = self._first_done.pop((old, stage))
            if (old, stage) in self._expected:
                self._expected[(new, stage)] = self._expected.pop((old, stage))

    def clear(self) -> None:
        self._jobs.clear()
        self._first_done.clear()
        self._expected.clear()
