"""The one vocabulary of a render's life, shared by the providers, the render queue, the library
and the window: where a job stands, what the user decided about its image, and what the provider
answered besides the image.

A job moves ``queued → sending → submitted → processing → downloading → done``; it can end
``failed`` or ``cancelled`` at any point, and ``uncertain`` when a request may have reached a
provider that had accepted (and billed) it without the studio ever learning its id: such a job is
never sent again without the user's say-so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class JobState(StrEnum):
    """Where one render job stands."""

    QUEUED = "queued"  # recorded, waiting for a free slot of its provider
    SENDING = "sending"  # the request is leaving; a crash now leaves it uncertain or unsent
    SUBMITTED = "submitted"  # the provider accepted it and gave its id
    PROCESSING = "processing"  # in the provider's queue or being generated
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNCERTAIN = "uncertain"  # may have been accepted (and billed); never resent on its own

    @property
    def finished(self) -> bool:
        """Nothing more will happen to the job by itself."""
        return self in _FINISHED

    @property
    def active(self) -> bool:
        """Waiting for a slot or in the hands of a provider."""
        return not self.finished

    @property
    def accepted(self) -> bool:
        """The provider has the job and its id is known: follow it, never send it again."""
        return self in (JobState.SUBMITTED, JobState.PROCESSING, JobState.DOWNLOADING)

    @property
    def label(self) -> str:
        """The state in the words a card or a progress line shows."""
        return _LABELS[self]

    @property
    def result_word(self) -> str:
        """The state as ``studio render --json`` reports a result (DESIGN.md contract)."""
        if self is JobState.DONE:
            return "ok"
        if self in (JobState.CANCELLED, JobState.UNCERTAIN):
            return self.value
        return "failed"


_FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED, JobState.UNCERTAIN})

_LABELS = {
    JobState.QUEUED: "Queued",
    JobState.SENDING: "Sending",
    JobState.SUBMITTED: "Sent",
    JobState.PROCESSING: "Processing",
    JobState.DOWNLOADING: "Downloading",
    JobState.DONE: "Done",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
    JobState.UNCERTAIN: "May have been billed",
}


class Approval(StrEnum):
    """The user's verdict on a render."""

    NONE = "none"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds spent in each phase of a job (0 where the provider gave no way to tell them
    apart)."""

    submit: float = 0.0
    queue: float = 0.0
    processing: float = 0.0
    download: float = 0.0

    @property
    def total(self) -> float:
        return self.submit + self.queue + self.processing + self.download


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a provider answered about a finished job, besides the image.

    ``seed_returned`` is only a seed the provider confirmed (a result field, its logs, its
    metadata); None means it confirmed none, never a copy of the seed sent.
    """

    request_id: str = ""
    seed_returned: int | None = None
    timings: Timings = field(default_factory=Timings)
    cost: float | None = None
