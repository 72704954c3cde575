"""What a scene card shows about its renders: one slot for the preview, one for the final.

Plain frozen values (no Qt) so the render controller, the model and tests share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from studio.core.request import Stage


class SlotStatus(StrEnum):
    EMPTY = "empty"
    QUEUED = "queued"
    SENT = "sent"
    PROCESSING = "processing"
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in (SlotStatus.QUEUED, SlotStatus.SENT, SlotStatus.PROCESSING,
                        SlotStatus.DOWNLOADING)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SlotStatus.EMPTY: "Not rendered",
    SlotStatus.QUEUED: "Queued",
    SlotStatus.SENT: "Sent",
    SlotStatus.PROCESSING: "Processing",
    SlotStatus.DOWNLOADING: "Downloading",
    SlotStatus.DONE: "Done",
    SlotStatus.FAILED: "Failed",
    SlotStatus.CANCELLED: "Cancelled",
}


class Approval(StrEnum):
    NONE = "none"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Slot:
    """One stage of one scene: its state and, once done, its image.

    ``fingerprint`` is the scene's prompt fingerprint when the image was asked for; a different
    current fingerprint marks the slot out of date.
    """

    status: SlotStatus = SlotStatus.EMPTY
    image: Path | None = None
    render_id: int | None = None
    message: str = ""  # the failure reason, or a note
    eta: float | None = None
    position: int | None = None
    fingerprint: str = ""
    anchor_stale: bool = False
    provider: str = ""
    model: str = ""
    cost: float | None = None

    def describe(self, out_of_date: bool = False) -> str:
        """The short state line a card shows under the image."""
        s = self.status
        if s is SlotStatus.PROCESSING and self.eta is not None and self.eta > 0:
            return f"Processing · about {self.eta:.0f} s"
        if s is SlotStatus.QUEUED and self.position is not None:
            return f"Queued · #{self.position + 1}"
        if s is SlotStatus.DONE and out_of_date:
            return "Out of date"
        return s.label


@dataclass(frozen=True, slots=True)
class Cell:
    """The render state of one scene card."""

    preview: Slot = field(default_factory=Slot)
    final: Slot = field(default_factory=Slot)
    approval: Approval = Approval.NONE
    star: bool = False

    def slot(self, stage: Stage) -> Slot:
        return self.final if stage is Stage.FINAL else self.preview

    def with_slot(self, stage: Stage, slot: Slot) -> Cell:
        return replace(self, final=slot) if stage is Stage.FINAL else replace(self, preview=slot)

    @property
    def active(self) -> bool:
        return self.preview.status.active or self.final.status.active

    @property
    def has_failure(self) -> bool:
        return SlotStatus.FAILED in (self.preview.status, self.final.status) or (
            SlotStatus.CANCELLED in (self.preview.status, self.final.status))

    @property
    def has_image(self) -> bool:
        return self.preview.image is not None or self.final.image is not None
