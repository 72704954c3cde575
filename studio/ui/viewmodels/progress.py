"""Where the grid's current batch stands: each stage's renders counted by outcome, the batch's
time left, and the toolbar's summary of it (:class:`GridProgress`), a bar that never reads
"complete" for a batch where something failed or was cancelled."""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.request import Stage


@dataclass(frozen=True, slots=True)
class StageCounts:
    """Where the slots of one stage of the current batch stand."""

    queued: int = 0
    rendering: int = 0  # sent, processing or downloading
    done: int = 0
    failed: int = 0
    cancelled: int = 0
    uncertain: int = 0

    @property
    def active(self) -> int:
        return self.queued + self.rendering

    @property
    def total(self) -> int:
        return (self.active + self.done + self.failed + self.cancelled + self.uncertain)

    def sentence(self) -> str:
        """"3 of 50 done · 12 rendering · 2 failed · 33 cancelled"; every count apart."""
        parts = [f"{self.done} of {self.total} done"]
        for count, word in ((self.rendering, "rendering"), (self.queued, "queued"),
                            (self.failed, "failed"), (self.cancelled, "cancelled"),
                            (self.uncertain, "uncertain")):
            if count:
                parts.append(f"{count} {word}")
        return " · ".join(parts)


STAGE_WORDS = {Stage.PREVIEW: "Previews", Stage.FINAL: "Finals"}


def eta_words(seconds: float) -> str:
    """"about 40 s left", "about 3 min left"."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s left"
    return f"about {round(seconds / 60)} min left"


@dataclass(frozen=True, slots=True)
class GridProgress:
    """The toolbar's summary of the current batch: every slot (scene and stage) that was sent
    since the grid was last idle, counted per stage and by outcome. Before any batch, the
    sheet's size.

    The bar's value is what came out done, over everything in the batch: a batch with failed or
    cancelled renders never reads "complete"."""

    text: str
    active: int
    done: int
    failed: int
    running: bool  # a batch was sent: show the bar
    cancelled: int = 0
    uncertain: int = 0
    total: int = 0
    stages: tuple[tuple[Stage, StageCounts], ...] = ()
    eta: float | None = None
    tip: str = ""

    @property
    def finished(self) -> bool:
        return self.running and self.active == 0

    @property
    def complete(self) -> bool:
        """Every render of the batch came out done."""
        return self.finished and self.done == self.total

    @property
    def outcome(self) -> str:
        """``rendering``, ``complete``, ``incomplete`` (some failed, were cancelled or are
        uncertain) or ``idle`` (nothing sent yet)."""
        if not self.running:
            return "idle"
        if self.active:
            return "rendering"
        return "complete" if self.complete else "incomplete"
