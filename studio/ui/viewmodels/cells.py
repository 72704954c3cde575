"""What a scene card shows about its renders: one slot for the preview, one for the final.

Plain frozen values (no Qt) so the render controller, the model and tests share them. A slot's
state is the one job lifecycle of ``studio.core.lifecycle`` (None: nothing rendered yet), and
whether it is out of date is the one staleness rule applied to the fingerprint its render was
made with.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from studio.core.fingerprint import Fingerprint
from studio.core.lifecycle import Approval, JobState
from studio.core.request import Stage

NOT_RENDERED = "Not rendered"


def state_label(state: JobState | None) -> str:
    return NOT_RENDERED if state is None else state.label


@dataclass(frozen=True, slots=True)
class Slot:
    """One stage of one scene: its state and, once done, its image.

    ``made_with`` is the fingerprint of what its render was made from; the staleness rule
    compares it with what the scene sends now.
    """

    state: JobState | None = None
    image: Path | None = None
    render_id: int | None = None
    message: str = ""  # the failure reason, or a note
    eta: float | None = None
    position: int | None = None
    made_with: Fingerprint | None = None
    provider: str = ""
    model: str = ""
    cost: float | None = None

    @property
    def active(self) -> bool:
        return self.state is not None and self.state.active

    @property
    def done(self) -> bool:
        return self.state is JobState.DONE

    def describe(self, out_of_date: bool = False) -> str:
        """The short state line a card shows under the image."""
        s = self.state
        if s is JobState.PROCESSING and self.eta is not None and self.eta > 0:
            return f"Processing · about {self.eta:.0f} s"
        if s is JobState.QUEUED and self.position is not None:
            return f"Queued · #{self.position + 1} in line"
        if s is JobState.PROCESSING and self.position is not None:
            return f"Waiting at the provider · #{self.position + 1}"
        if s is JobState.DONE and out_of_date:
            return "Out of date"
        return state_label(s)


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
        return self.preview.active or self.final.active

    @property
    def has_failure(self) -> bool:
        return bool({JobState.FAILED, JobState.CANCELLED}
                    & {self.preview.state, self.final.state})

    @property
    def has_image(self) -> bool:
        return self.preview.image is not None or self.final.image is not None
