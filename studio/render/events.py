"""What the render queue tells its listeners: immutable events, one per step of a job, plus the
batch's plan and its overall progress.

The command line prints them on stderr; the window turns them into signals. Nothing here knows
about Qt or the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.library.models import RenderRecord


@dataclass(frozen=True, slots=True)
class JobRef:
    """Which job an event is about. ``job_id`` is the library's job id (stable across restarts)."""

    job_id: int
    scene: str
    stage: Stage
    provider: str
    model: str
    seed: int | None
    #: The render this job finalizes (its preview), if any.
    parent_render_id: int | None = None


@dataclass(frozen=True, slots=True)
class BatchPlanned:
    """Before anything is sent: how many requests the batch makes and what it costs.

    ``cost`` is None when a provider's price per image is not known (``unpriced`` lists them).
    """

    requests: int
    cost: float | None
    unpriced: tuple[str, ...] = ()
    budget_cap: float | None = None


@dataclass(frozen=True, slots=True)
class JobQueued:
    job: JobRef
    #: The failed or cancelled job this one retries.
    retry_of: int | None = None
    state = JobState.QUEUED


@dataclass(frozen=True, slots=True)
class JobSubmitted:
    job: JobRef
    request_id: str
    #: True when a job already accepted before a restart is being followed again (not resent).
    resumed: bool = False
    state = JobState.SUBMITTED


@dataclass(frozen=True, slots=True)
class JobProcessing:
    """In the provider's queue (``position``, 0-based, when told) or being generated (``eta`` in
    seconds, when announced)."""

    job: JobRef
    eta: float | None = None
    position: int | None = None
    state = JobState.PROCESSING


@dataclass(frozen=True, slots=True)
class JobDownloading:
    job: JobRef
    source: str = ""
    state = JobState.DOWNLOADING


@dataclass(frozen=True, slots=True)
class JobDone:
    """The image is stored in the library (``render.image_path``)."""

    job: JobRef
    render: RenderRecord
    seconds: float
    notes: tuple[str, ...] = ()
    state = JobState.DONE


@dataclass(frozen=True, slots=True)
class JobFailed:
    """The job failed. ``message`` is the sentence for the user (scene, provider, what to do);
    ``kind`` a stable short name (``authentication``, ``rate_limited``, ``timeout``, …,
    ``storage``, ``not_configured``, ``internal``).

    ``kept_for_resume`` is True when the job stays unfinished in the library (e.g. the image
    could not be saved, or the provider has no key now), so ``resume`` tries it again.
    """

    job: JobRef
    kind: str
    message: str
    retryable: bool
    render: RenderRecord | None = None
    kept_for_resume: bool = False
    state = JobState.FAILED


@dataclass(frozen=True, slots=True)
class JobCancelled:
    """The job was cancelled. ``may_be_billed`` is True when it had been sent to a provider that
    could not be told to stop: it may still finish there and be charged."""

    job: JobRef
    may_be_billed: bool
    message: str
    state = JobState.CANCELLED


@dataclass(frozen=True, slots=True)
class Progress:
    """Counts over every job the queue holds, sent after each change."""

    total: int
    queued: int
    active: int
    done: int
    failed: int
    cancelled: int
    uncertain: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.cancelled + self.uncertain

    @property
    def idle(self) -> bool:
        return self.finished == self.total


@dataclass(frozen=True, slots=True)
class JobSending:
    """The request is leaving for the provider (journaled first: a crash from here on is never
    followed by a silent second send)."""

    job: JobRef
    state = JobState.SENDING


@dataclass(frozen=True, slots=True)
class JobUncertain:
    """The job may have been accepted (and billed) by the provider without the studio learning
    its id; it is not sent again unless the user asks (``message`` says so)."""

    job: JobRef
    message: str
    state = JobState.UNCERTAIN


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    """A provider's rate limit holds its next jobs back for about ``seconds`` (``job`` is the
    one whose request was just throttled); the queue sends fewer at once until the provider
    takes one again. ``message`` is the line to show ("waiting for Replicate's rate limit,
    resets in about 30 s"); it concerns every job of ``provider``."""

    job: JobRef
    seconds: float
    message: str

    @property
    def provider(self) -> str:
        return self.job.provider


JobEvent = (
    JobQueued | JobSending | JobSubmitted | JobProcessing | JobDownloading | JobDone | JobFailed
    | JobCancelled | JobUncertain
)
RenderEvent = BatchPlanned | JobEvent | Progress | RateLimitWait
RenderListener = Callable[[RenderEvent], None]
