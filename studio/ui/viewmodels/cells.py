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
class Take:
    """One render of a scene at a stage (a cell keeps every one as a take); ``distance`` is
    its identity distance from the character when it was scored (smaller: more alike)."""

    render_id: int
    image: Path | None
    seed: int | None = None
    distance: float | None = None


def ordered_takes(takes: tuple[Take, ...], by_likeness: bool = False) -> tuple[Take, ...]:
    """``takes`` (newest first, as the library lists them) in the order a filmstrip shows them:
    the order they were made, so a take keeps its place while more arrive; or, ``by_likeness``,
    the most like the character first where scores exist (the unscored after them, in the order
    they were made)."""
    made = tuple(reversed(takes))
    if not by_likeness or all(t.distance is None for t in takes):
        return made
    order = {t.render_id: i for i, t in enumerate(made)}
    return tuple(sorted(made, key=lambda t: (t.distance is None, t.distance or 0.0,
                                             order[t.render_id])))


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
    #: Every take of the scene at this stage, newest first, when it has more than one.
    takes: tuple[Take, ...] = ()
    #: The render shown is the take picked for the cell (by the user, or the first to finish
    #: of a batch of takes while none was picked): renders that finish later join the
    #: filmstrip instead of taking its place.
    chosen: bool = False
    #: The verdict and star of the render shown (the card's: :attr:`Cell.approval` and
    #: :attr:`Cell.star`).
    approval: Approval = Approval.NONE
    star: bool = False

    @property
    def other_takes(self) -> tuple[Take, ...]:
        """The takes besides the one shown."""
        return tuple(t for t in self.takes if t.render_id != self.render_id)

    def with_distances(self, distances: dict[int, float | None]) -> Slot:
        """The slot with its takes' identity distances from ``distances`` where it has them."""
        takes = tuple(replace(t, distance=distances[t.render_id])
                      if t.render_id in distances and distances[t.render_id] != t.distance
                      else t for t in self.takes)
        return self if takes == self.takes else replace(self, takes=takes)

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

    @property
    def approval(self) -> Approval:
        """The card's verdict: its final's when that has one, else its preview's."""
        for slot in (self.final, self.preview):
            if slot.approval is not Approval.NONE:
                return slot.approval
        return Approval.NONE

    @property
    def star(self) -> bool:
        return self.preview.star or self.final.star

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
