"""Jobs that need the user: *uncertain* ones (the provider may have accepted, and billed, a request
the studio never heard back about) and providers' rate-limit waits.

An uncertain job is never sent again on its own. Its card says so and offers "Send again" (after
the user confirms it may be billed twice) and "Forget"; both go through the render queue
(:meth:`RenderQueue.resend`, :meth:`RenderQueue.forget`). Uncertain jobs left by an earlier
session are read from the library when the sheet is shown. A rate-limit wait is shown on the
status line and on the cards queued for that provider until it ends or the provider takes a job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.scenes import SceneListModel

if TYPE_CHECKING:
    from studio.library import Library
    from studio.render import RenderEvent
    from studio.ui.viewmodels.render_thread import ThreadedQueue

Confirm = Callable[[str, str], bool]

RESEND_TITLE = "Send again?"


@dataclass(frozen=True, slots=True)
class RateWait:
    """A provider's rate limit holds its jobs back until about ``until`` (monotonic seconds)."""

    provider: str
    seconds: float
    until: float
    message: str

    def line(self, now: float | None = None) -> str:
        """``waiting 30 s: rate limit of Replicate``."""
        from studio.providers.errors import provider_name  # read once a provider waits

        left = max(0.0, self.until - (time.monotonic() if now is None else now))
        return f"waiting {left:.0f} s: rate limit of {provider_name(self.provider)}"


class JobAttention(QObject):
    """``changed`` when an uncertain job or a rate-limit wait came or went; ``message(text,
    level)`` for the window's message bar."""

    changed = Signal()
    message = Signal(str, str)

    def __init__(self, model: SceneListModel, background: Background, confirm: Confirm,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._bg = background
        self._confirm = confirm
        self._rendering: Any = None
        self._subscribed: ThreadedQueue | None = None
        self._unsubscribe: Callable[[], None] | None = None
        #: (scene, stage) -> the uncertain job shown on that card.
        self.uncertain: dict[tuple[str, Stage], int] = {}
        self.waits: dict[str, RateWait] = {}
        self.revision = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._expire)
        model.document.sceneRenamed.connect(self._scene_renamed)

    # ------------------------------------------------------------------ following the queue
    def follow(self, rendering: Any) -> None:
        """Listen to the queue of ``rendering``'s renderer (a ``StudioRendering``; asked again
        by :meth:`resubscribe` after Settings gave it a new one)."""
        self._rendering = rendering
        self.resubscribe()

    def _queue(self) -> ThreadedQueue | None:
        renderer = getattr(self._rendering, "renderer", None)
        return getattr(renderer, "queue", None)

    def resubscribe(self) -> None:
        queue = self._queue()
        if queue is self._subscribed:
            return
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._subscribed, self._unsubscribe = queue, None
        if queue is not None:
            self._unsubscribe = queue.subscribe(self._on_event)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = self._subscribed = None
        self._timer.stop()

    def _on_event(self, event: RenderEvent) -> None:
        from studio.render import JobQueued, JobSubmitted, JobUncertain, RateLimitWait

        if isinstance(event, RateLimitWait):
            seconds = max(1.0, float(event.seconds))
            self.waits[event.provider] = RateWait(event.provider, seconds,
                                                  time.monotonic() + seconds, event.message)
            self._arm()
            self._bump()
            return
        job = getattr(event, "job", None)
        if job is None:
            return
        key = (job.scene, job.stage)
        if isinstance(event, JobUncertain):
            self.uncertain[key] = job.job_id
            self._bump()
        elif key in self.uncertain and (self.uncertain[key] == job.job_id
                                         or isinstance(event, JobQueued)):
            del self.uncertain[key]  # sent again, forgotten, or a new job for the card
            self._bump()
        if isinstance(event, JobSubmitted) and job.provider in self.waits:
            del self.waits[job.provider]  # the provider takes jobs again
            self._bump()

    def _arm(self) -> None:
        if self.waits:
            soonest = min(w.until for w in self.waits.values())
            self._timer.start(max(50, int((soonest - time.monotonic()) * 1000) + 50))

    def _expire(self) -> None:
        now = time.monotonic()
        gone = [p for p, w in self.waits.items() if w.until <= now]
        for provider in gone:
            del self.waits[provider]
        if gone:
            self._bump()
        self._arm()

    def _scene_renamed(self, old: str, new: str) -> None:
        for stage in Stage:
            if (old, stage) in self.uncertain:
                self.uncertain[(new, stage)] = self.uncertain.pop((old, stage))

    def _bump(self) -> None:
        self.revision += 1
        self.changed.emit()

    # ------------------------------------------------------------------ reading
    def wait_line(self, provider: str) -> str:
        wait = self.waits.get(provider)
        return wait.line() if wait is not None else ""

    def status_line(self) -> str:
        """The status line's words for every wait (empty when none)."""
        return " · ".join(w.line() for w in self.waits.values())

    def load_earlier(self, library: Library, sheet_path: Any, sheet: Any) -> None:
        """Show the uncertain jobs an earlier session left for this sheet (read on a worker)."""
        def read() -> list[tuple[str, Stage, int, str]]:
            from studio.library.binding import find_sheet_record

            record = find_sheet_record(library, sheet, sheet_path)
            if record is None:
                return []
            return [(rec.draft.scene_name, rec.draft.stage, rec.id, rec.error)
                    for rec in library.jobs.uncertain() if rec.draft.sheet_id == record.id]

        self._bg.run(read, self._earlier, owner=self, what="Reading uncertain renders")

    def _earlier(self, found: list[tuple[str, Stage, int, str]]) -> None:
        shown = False
        for scene, stage, job_id, error in found:
            if self._model.row_of(scene) is None:
                continue
            slot = self._model.cell(scene).slot(stage)
            if slot.active:
                continue
            self.uncertain[(scene, stage)] = job_id
            # A card showing an image keeps it; its uncertain badge says the rest.
            if slot.state is not JobState.DONE:
                self._model.update_slot(scene, stage, state=JobState.UNCERTAIN, message=error)
            shown = True
        if shown:
            self._bump()

    # ------------------------------------------------------------------ the user's choices
    def card_action(self, scene: str, action: str) -> bool:
        """``resend:<stage>`` or ``forget:<stage>`` from a card; False for other actions."""
        verb, _, stage_text = action.partition(":")
        if verb not in ("resend", "forget") or stage_text not in {s.value for s in Stage}:
            return False
        stage = Stage(stage_text)
        job_id = self.uncertain.get((scene, stage))
        queue = self._queue()
        if job_id is None or queue is None:
            self.message.emit(f"“{scene}” has no uncertain {stage.value} any more.", "info")
            return True
        if verb == "resend":
            self.resend(scene, stage, job_id, queue)
        else:
            self._bg.start(queue.forget(job_id), f"Forgetting the uncertain render of {scene}",
                           on_failure=lambda exc: self.message.emit(str(exc), "error"))
        return True

    def resend(self, scene: str, stage: Stage, job_id: int, queue: ThreadedQueue) -> None:
        from studio.providers.errors import provider_name

        slot = self._model.cell(scene).slot(stage)
        where = provider_name(slot.provider) if slot.provider else "the provider"
        if not self._confirm(
                RESEND_TITLE,
                f"The {stage.value} of “{scene}” may already have been accepted by {where}, "
                "which may bill it. Sending it again may be billed twice. Check your account "
                f"on {where} first if you can. Send it again?"):
            return
        self._bg.start(queue.resend(job_id), f"Sending the {stage.value} of {scene} again",
                       on_failure=lambda exc: self.message.emit(str(exc), "error"))
