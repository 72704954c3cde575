"""A job as the render queue holds it, the view listeners get of it, and the queue's events as
an async iterator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.library import JobRecord, RenderRecord
from studio.providers.base import Submission
from studio.render.events import JobEvent, JobRef, RenderEvent
from studio.render.lanes import Lane


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as the queue last saw it (for summaries and for a window opened mid-batch).

    ``may_be_billed``: sent to a provider that may have charged for it without an image here
    (a cancelled job it could not stop, or an uncertain one). ``kept_for_resume``: failed here
    but left unfinished in the library, so ``studio resume`` (or :meth:`RenderQueue.retry`)
    tries it again.
    """

    ref: JobRef
    state: JobState
    render: RenderRecord | None = None
    error: str = ""
    kind: str = ""
    seconds: float | None = None
    may_be_billed: bool = False
    kept_for_resume: bool = False


@dataclass(eq=False)
class RunningJob:
    """A job in the queue: what to send or follow, where it stands, what became of it."""

    ref: JobRef
    request: GenerationRequest | None = None  # to submit; None when following a submission
    submission: Submission | None = None
    state: JobState = JobState.QUEUED
    #: waiting (for a place) | submitting | following | storing | finished
    phase: str = "waiting"
    #: Its request is leaving (journaled ``sending``): a cancel now waits for the answer.
    leaving: bool = False
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
    #: The lane place it holds from before its request leaves until the provider has made its
    #: image (the download and storing happen after it is given back).
    place: Lane | None = field(default=None, repr=False)
    last_progress_event: JobEvent | None = field(default=None, repr=False)

    def view(self) -> JobView:
        return JobView(self.ref, self.state, self.render, self.error, self.kind, self.seconds,
                       self.may_be_billed, self.kept_for_resume)


def job_ref(rec: JobRecord) -> JobRef:
    d = rec.draft
    return JobRef(job_id=rec.id, scene=d.scene_name, stage=d.stage, provider=d.provider,
                  model=d.model, seed=d.request.seed, parent_render_id=d.parent_id)


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
