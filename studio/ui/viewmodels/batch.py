"""The grid's current batch: every (scene, stage) sent since the grid was last idle, in the order
it was sent, with what that says for the window: how far the batch is (by stage and outcome),
when it should be finished, each queued card's place in the line, and the progress line.

Owned by :class:`~studio.ui.viewmodels.scenes.SceneListModel`, which tells it each slot that
changes; the cells themselves stay the model's (the batch reads them through ``cell``).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import replace

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.core.text import counted
from studio.ui.viewmodels.cells import Cell, Slot
from studio.ui.viewmodels.progress import STAGE_WORDS, GridProgress, StageCounts, eta_words


class RenderBatch:
    """The slots of the current batch. ``cell(name)`` reads a scene's cell, ``scenes`` says
    which scene names are on the sheet (a scene deleted since is left out), ``clock`` reads the
    time for the batch's pace."""

    def __init__(self, cell: Callable[[str], Cell], scenes: Container[str],
                 clock: Callable[[], float]) -> None:
        self._cell = cell
        self._scenes = scenes
        self.clock = clock
        #: (scene, stage) -> the order it was sent in (the line's order).
        self._sent: dict[tuple[str, Stage], int] = {}
        self._serial = 0
        self._started: float | None = None

    def clear(self) -> None:
        self._sent.clear()
        self._started = None

    def rename(self, old: str, new: str) -> None:
        for stage in Stage:
            if (old, stage) in self._sent:
                self._sent[(new, stage)] = self._sent.pop((old, stage))

    def follow(self, changes: Iterable[tuple[str, Stage, Slot, Slot]]) -> None:
        """One update of the cards, as (scene, stage, slot before, slot after), called before
        the update is made: the slots that start work join the batch, in the order given; the
        first after the grid was idle starts a new batch. Whether the grid is idle is read once,
        as the cards stood before the update: cards that start as others end in one update
        join the batch those others are in, whatever the order the update lists them."""
        joining = [(name, stage) for name, stage, old, new in changes
                   if new.active and not old.active]
        if not joining:
            return
        if not self.running():
            self._sent.clear()
            self._started = self.clock()
        for key in joining:
            self._sent.pop(key, None)  # sent again while the batch runs: at the end of the line
            self._sent[key] = self._serial
            self._serial += 1

    def running(self) -> bool:
        return any(self._cell(name).slot(stage).active for name, stage in self._sent
                   if name in self._scenes)

    def number_the_line(self) -> dict[str, Cell]:
        """Queued slots waiting here (not yet at a provider), numbered in the order they were
        sent: the position a card shows ("Queued · #3"). The cells whose number changed."""
        waiting = sorted((order, name, stage) for (name, stage), order in self._sent.items()
                         if name in self._scenes
                         and self._cell(name).slot(stage).state is JobState.QUEUED)
        changed: dict[str, Cell] = {}
        for position, (_, name, stage) in enumerate(waiting):
            cell = changed.get(name, self._cell(name))
            slot = cell.slot(stage)
            if slot.position != position:
                changed[name] = cell.with_slot(stage, replace(slot, position=position))
        return changed

    def counts(self) -> dict[Stage, StageCounts]:
        """The batch's slots by stage and outcome (scenes deleted since are left out)."""
        tallies: dict[Stage, dict[str, int]] = {stage: {} for stage in Stage}
        for name, stage in self._sent:
            if name not in self._scenes:
                continue
            state = self._cell(name).slot(stage).state
            if state is None:
                continue
            if state is JobState.QUEUED:
                word = "queued"
            elif state.active:
                word = "rendering"
            else:
                word = {JobState.DONE: "done", JobState.FAILED: "failed",
                        JobState.CANCELLED: "cancelled"}.get(state, "uncertain")
            tally = tallies[stage]
            tally[word] = tally.get(word, 0) + 1
        return {stage: StageCounts(**tally) for stage, tally in tallies.items()}

    def eta(self, counts: dict[Stage, StageCounts] | None = None) -> float | None:
        """Seconds until the batch is finished, from the pace so far (what has finished over
        the time since it started); None until something has finished."""
        counts = counts if counts is not None else self.counts()
        left = sum(c.active for c in counts.values())
        finished = sum(c.total - c.active for c in counts.values())
        if not left or finished <= 0 or self._started is None:
            return None
        return (self.clock() - self._started) / finished * left

    def progress(self, scenes: int) -> GridProgress:
        """The progress line of a sheet of ``scenes`` scenes: the batch by stage, its ETA."""
        counts = self.counts()
        stages = tuple((stage, c) for stage, c in counts.items() if c.total)
        if not stages:
            return GridProgress(counted(scenes, "scene"), 0, 0, 0, False)
        total = sum(c.total for _, c in stages)
        active = sum(c.active for _, c in stages)
        done = sum(c.done for _, c in stages)
        eta = self.eta(counts)
        if len(stages) == 1:
            stage, c = stages[0]
            text = f"{STAGE_WORDS[stage]}: {c.sentence()}"
        else:
            text = "  |  ".join(f"{STAGE_WORDS[s]}: {c.sentence()}" for s, c in stages)
        if eta is not None:
            text += f" · {eta_words(eta)}"
        tip = "\n".join(f"{STAGE_WORDS[s]} of this batch: {c.sentence()}" for s, c in stages)
        if not active and done < total:
            tip += "\nNot everything came out: Retry failed (Ctrl+Shift+R) sends the rest again."
        return GridProgress(text, active, done, sum(c.failed for _, c in stages), True,
                            cancelled=sum(c.cancelled for _, c in stages),
                            uncertain=sum(c.uncertain for _, c in stages), total=total,
                            stages=stages, eta=eta, tip=tip)
