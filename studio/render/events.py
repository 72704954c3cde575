"""What the render queue tells its listeners: immutable events, one per step of a job, plus the
batch's plan and its overall progress.

The command line prints them on stderr; the window turns them into signals. Nothing here knows
about Qt or the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from studio.core.request import Stage
from studio.library.models import RenderRecord


class JobStatus(StrEnum):
    """Where a job stands, in the words the queue view shows."""

    QUEUED = "queued"  # recorded, waiting for a free slot of its provider
    SUBMITTED = "submitted"  # the provider accepted it
    PROCESSING = "processing"  # in the provider's queue or being generated
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


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
    status = JobStatus.QUEUED


@dataclass(frozen=True, slots=True)
class JobSubmitted:
    job: JobRef
    request_id: str
    #: True when a job already accepted before a restart is being followed again (not resent).
    resumed: bool = False
    status = JobStatus.SUBMITTED


@dataclass(frozen=True, slots=True)
class JobProcessing:
    """In the provider's queue (``position``, 0-based, when told) or being generated (``eta`` in
    seconds, when announced)."""

    job: JobRef
    eta: float | None = None
    position: int | None = None
    status = JobStatus.PROCESSING


@dataclass(frozen=True, slots=True)
class JobDownloading:
    job: JobRef
    source: str = ""
    status = JobStatus.DOWNLOADING


@dataclass(frozen=True, slots=True)
class JobDone:
    """The image is stored in the library (``render.image_path``)."""

    job: JobRef
    render: RenderRecord
    seconds: float
    notes: tuple[str, ...] = ()
    status = JobStatus.DONE


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
    status = JobStatus.FAILED


@dataclass(frozen=True, slots=True)
class JobCancelled:
    """The job was cancelled. ``may_be_billed`` is True when it had been sent to a provider that
    could not be told to stop: it may still finish there and be charged."""

    job: JobRef
    may_be_billed: bool
    message: str
    status = JobStatus.CANCELLED


@dataclass(frozen=True, slots=True)
class Progress:
    """Counts over every job the queue holds, sent after each change."""

    total: int
    queued: int
    active: int
    done: int
    failed: int
    cancelled: int

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.cancelled

    @property
    def idle(self) -> bool:
        return self.finished == self.total


JobEvent = (
    JobQueued | JobSubmitted | JobProcessing | JobDownloading | JobDone | JobFailed | JobCancelled
)
RenderEvent = BatchPlanned | JobEvent | Progress
RenderListener = Callable[[RenderEvent], None]
