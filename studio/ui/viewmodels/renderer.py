"""The render view-model: drives the render queue for the open sheet and turns its Qt-free events
into the scene cards' states (queued, sending, sent, processing with ETA, downloading, done,
failed with the reason, cancelled, uncertain with its sentence).

It owns the queue and the providers it is given and closes them in :meth:`SheetRenderer.aclose`.
The queue and the providers' network exchanges run on the render thread
(:mod:`studio.ui.viewmodels.render_thread`), which this view-model starts and ends; their events
come back to it on the GUI thread. Blocking library calls run on the window's background helper;
nothing here waits on the GUI thread. What the library holds of the sheet (the cards' stored
renders, verdicts, history) is :class:`~studio.ui.viewmodels.sheet_library.SheetLibrary`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.lifecycle import Approval, JobState
from studio.core.request import Stage
from studio.core.settings import Settings
from studio.core.sheet import Sheet
from studio.library import Library, LibraryError, RenderRecord
from studio.providers.base import Provider
from studio.providers.errors import provider_name
from studio.render import (
    BatchEstimate,
    BatchPlanned,
    JobCancelled,
    JobDone,
    JobDownloading,
    JobFailed,
    JobProcessing,
    JobQueued,
    JobSending,
    JobSubmitted,
    JobUncertain,
    Progress,
    ProviderChoice,
    RenderEvent,
    RenderInputError,
    RenderQueue,
    choose_provider,
    plan_finals,
    plan_previews,
    settings_prices,
)
from studio.render.budget import estimate as budget_estimate
from studio.render.plan import all_notes
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.cells import Cell, Slot
from studio.ui.viewmodels.costs import CostedJobs, cost_line
from studio.ui.viewmodels.render_thread import RenderThread, ThreadedQueue, close_providers
from studio.ui.viewmodels.scenes import SceneListModel
from studio.ui.viewmodels.shared_failures import Failure, SharedFailures
from studio.ui.viewmodels.sheet_library import SheetLibrary
from studio.ui.viewmodels.takes import CellBatches, TakeJob, batch_slot

log = logging.getLogger("studio.ui.render")

Confirm = Callable[[str, str], bool]

#: How long a job's steps between its first word and its end wait to reach the cards, so the
#: steps that follow one another within it are drawn once.
STEPS_SHOWN_EVERY_MS = 100


class SheetRenderer(QObject):
    """Renders the scenes of the window's sheet; the cards' buttons and the toolbar call it."""

    message = Signal(str, str)  # text, level
    batchPlanned = Signal(str)  # "4 requests, estimated cost 0.00"
    progressChanged = Signal(object)  # render.Progress
    renderStored = Signal(object)  # library.RenderRecord of a finished job
    #: Many cards failed the same way: one sentence for the sheet, and whether Settings is
    #: where it is fixed.
    sharedFailure = Signal(str, bool)

    def __init__(self, model: SceneListModel, sheet_library: SheetLibrary,
                 providers: Mapping[str, Provider], settings: Settings, background: Background,
                 confirm: Confirm | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.sheet_library = sheet_library
        self.providers = providers
        self.settings = settings
        self._bg = background
        self._confirm = confirm or (lambda title, text: True)
        self._price = settings_prices(settings, providers)
        #: Where the queue and the providers' HTTP run, off the GUI thread.
        self.engine = RenderThread()
        self.queue = self._new_queue()
        self._unsubscribe = self.queue.subscribe(self._on_event)
        #: The jobs of each cell's batch (its takes): the card stands for them all, and
        #: cancelling or retrying a scene reaches every one.
        self._batches = CellBatches()
        #: How many takes of each scene a batch renders (seeds seed, seed+1, ...).
        self.takes = 1
        #: Scenes renamed while their jobs run: the queue knows them by the old name.
        self._aliases: dict[str, str] = {}
        self.last_progress: Progress | None = None
        self._closed = False
        self._warm: asyncio.Task[Any] | None = None
        #: Slots changed by events since the cards were last updated: a batch's events arrive
        #: many at a time, and the cards take them all in one update.
        self._pending: dict[tuple[str, Stage], Slot] = {}
        #: The cards whose new job was queued since the cards were last updated.
        self._queued: set[tuple[str, Stage]] = set()
        #: The pending slots that carry a render just finished, to be shown on the card.
        self._pending_shown: set[tuple[str, Stage]] = set()
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)
        #: Why each failed slot failed, to tell one cause for many.
        self.failures = SharedFailures()
        #: Each scene's job as the cost line prepared it.
        self._costed = CostedJobs()
        model.document.sceneRenamed.connect(self._scene_renamed)

    def _new_queue(self) -> ThreadedQueue:
        queue = RenderQueue(self.library, self.providers, price=self._price,
                            budget_cap=self.settings.budget_cap)
        return ThreadedQueue(queue, self.providers, self.engine, self._bg.loop)

    def warm_up(self) -> None:
        """Do the first-use work of the network stack (module imports, TLS set-up) on a
        worker thread now, so the first batch does not stall the window."""
        providers = [p for pid, p in self.providers.items() if pid != "offline" and p.configured]

        def work() -> None:
            import importlib

            for name in ("httpx", "httpcore", "h11", "sniffio", "anyio",
                         "anyio._backends._asyncio", "httpcore._async.http11"):
                with contextlib.suppress(ImportError):
                    importlib.import_module(name)
            for provider in providers:
                provider.warm_up()  # builds the HTTP client and its TLS context

        self._warm = self._bg.start(self._bg.call(work), "Preparing the network")

    def _scene_renamed(self, old: str, new: str) -> None:
        for known, current in list(self._aliases.items()):
            if current == old:
                self._aliases[known] = new
        self._aliases[old] = new
        self._batches.rename(old, new)
        for stage in Stage:
            if (old, stage) in self._pending:
                self._pending[(new, stage)] = self._pending.pop((old, stage))
            for keys in (self._pending_shown, self._queued):
                if (old, stage) in keys:
                    keys.discard((old, stage))
                    keys.add((new, stage))
            self.failures.rename((old, stage), (new, stage))

    def slot(self, name: str, stage: Stage) -> Slot:
        """The scene's slot as the events say, updates not yet on the card included."""
        return self._pending.get((name, stage)) or self.model.cell(name).slot(stage)

    # ------------------------------------------------------------------ the sheet
    @property
    def document(self) -> Any:
        return self.model.document

    @property
    def library(self) -> Library:
        return self.sheet_library.library

    # ------------------------------------------------------------------ estimates
    def _choice(self, stage: Stage) -> ProviderChoice:
        """The provider and model the stage's batches go to now."""
        profile = self.document.sheet.profile(stage)
        return choose_provider(self.providers, stage, profile.provider, profile.model,
                               default_provider_id=self.settings.stage_provider(stage))

    def estimate(self, stage: Stage, takes: int = 1) -> BatchEstimate:
        """What rendering every scene of the sheet at ``stage`` (``takes`` of each) would cost,
        before anything is sent: the render layer's estimate of the jobs as the provider
        prepares them, the figure the queue then asks to confirm and holds to the budget cap."""
        doc = self.document
        jobs = self._costed.jobs(doc.sheet, doc.catalog, stage, self._choice(stage))
        return budget_estimate(jobs * takes, self._price)

    def cost_summary(self, count: int) -> tuple[str, dict[Stage, str]]:
        """The cost of previewing and finalizing ``count`` scenes, shown before anything is
        sent: the toolbar's short line, and a sentence per stage for its tooltips."""
        return cost_line({stage: self.estimate(stage, self.takes) for stage in Stage}, count,
                         self.takes, {stage: self.provider_label(stage) for stage in Stage})

    def provider_label(self, stage: Stage) -> str:
        choice = self._choice(stage)
        return f"{provider_name(choice.provider.id)} · {choice.model}"

    # ------------------------------------------------------------------ actions
    def preview(self, names: Sequence[str]) -> asyncio.Task[Any] | None:
        return self._bg.start(self._render(Stage.PREVIEW, list(names)), "Rendering previews")

    def finalize(self, names: Sequence[str]) -> asyncio.Task[Any] | None:
        return self._bg.start(self._render(Stage.FINAL, list(names)), "Rendering finals")

    def retry(self, names: Sequence[str]) -> asyncio.Task[Any] | None:
        return self._bg.start(self._retry(list(names)), "Retrying")

    def cancel(self, names: Sequence[str]) -> int:
        """Ask the queue to stop the scenes' unfinished jobs; how many were asked (each one's
        outcome comes back as its event)."""
        asked = 0
        for name in names:
            for stage in Stage:
                if not self.slot(name, stage).active:
                    continue
                for job_id, job in self._batches.jobs((name, stage)).items():
                    if job.state.active:
                        self.queue.cancel(job_id)
                        asked += 1
        return asked

    def cancel_all(self) -> int:
        """Ask the queue to stop every unfinished job; how many it held as the window last
        heard."""
        self.queue.cancel_all()
        progress = self.queue.last_progress
        return 0 if progress is None else progress.total - progress.finished

    def finalize_approved(self) -> bool:
        """Finalize every approved scene; False when none is approved."""
        names = [n for n in self.model.names()
                 if self.model.cell(n).approval is Approval.APPROVED]
        if names:
            self.finalize(names)
        return bool(names)

    def retry_failed(self) -> None:
        names = [n for n in self.model.names() if self.model.cell(n).has_failure]
        if names:
            self.retry(names)

    async def _render(self, stage: Stage, names: list[str]) -> None:
        names = [n for n in names if self.model.row_of(n) is not None
                 and not self.slot(n, stage).active]
        if not names or self._closed:
            return
        if self._warm is not None and not self._warm.done():
            await asyncio.wait([self._warm])
        doc = self.document
        sheet: Sheet = doc.sheet
        catalog = doc.catalog
        call = self._bg.call
        try:
            choice = self._choice(stage)
            binding = await self.sheet_library.bind(sheet)
            planner = plan_previews if stage is Stage.PREVIEW else plan_finals
            plan = await call(lambda: planner(self.library, binding, sheet, catalog, choice,
                                              names, takes=self.takes))
        except (RenderInputError, LibraryError) as exc:
            self.message.emit(str(exc), "error")
            return
        batch = self.queue.estimate(plan.jobs)
        cap = self.queue.budget_cap
        over_cap = cap is not None and (batch.cost is None or batch.cost > cap + 1e-9)
        # Over the cap the queue refuses with its own sentence; no point asking first.
        if not over_cap and batch.cost is not None and batch.cost > 0 and not self._confirm(
                "Send this batch?",
                f"{stage.value.title()}s of {len(plan.jobs)} scene(s) on "
                f"{provider_name(choice.provider.id)} ({choice.model}): {batch.sentence()}."):
            return
        # The offline fallback is explained by the window's banner; cells show staleness.
        notes = [n for n in all_notes(plan) if "out of date" not in n and n != choice.note]
        if notes:
            self.message.emit(" ".join(notes[:3]), "info")
        cells = [(job.scene, job.stage) for job in plan.jobs]
        self._batches.expect(cells)
        self.sheet_library.hold_takes(key for key, count in Counter(cells).items() if count > 1)
        try:
            await self.queue.add(plan.jobs)
        except RenderInputError as exc:
            for key in set(cells):
                self.sheet_library.release_takes(key)
            self.message.emit(str(exc), "error")

    async def _retry(self, names: list[str]) -> None:
        fresh: dict[Stage, list[str]] = {Stage.PREVIEW: [], Stage.FINAL: []}
        lost_jobs: list[int] = []
        for name in names:
            cell = self.model.cell(name)
            for stage in Stage:
                slot = cell.slot(stage)
                if slot.state not in (JobState.FAILED, JobState.CANCELLED):
                    continue
                lost = [job_id for job_id, job in self._batches.jobs((name, stage)).items()
                        if job.state in (JobState.FAILED, JobState.CANCELLED)]
                if not lost:
                    fresh[stage].append(name)
                lost_jobs += lost
        # In one call: every card goes back in line together, one batch on the progress bar.
        outcomes = await self.queue.retry_many(lost_jobs) if lost_jobs else []
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                self.message.emit(str(outcome), "error")
        for stage, listed in fresh.items():
            if listed:
                await self._render(stage, listed)

    # ------------------------------------------------------------------ events
    def _on_event(self, event: RenderEvent) -> None:
        if self._closed:
            return
        if isinstance(event, Progress):
            self.last_progress = event
            self.progressChanged.emit(event)
            return
        if isinstance(event, BatchPlanned):
            self.batchPlanned.emit(_batch_sentence(event))
            return
        ref = event.job
        scene = self._aliases.get(ref.scene, ref.scene)
        key = (scene, ref.stage)
        if isinstance(event, JobProcessing):
            take = TakeJob(JobState.PROCESSING, event.eta, event.position)
        elif isinstance(event, JobFailed | JobCancelled | JobUncertain):
            take = TakeJob(event.state, message=event.message)
        elif isinstance(event, JobQueued | JobSending | JobSubmitted | JobDownloading | JobDone):
            take = TakeJob(event.state)
        else:  # pragma: no cover - every event kind is handled above
            return
        jobs = self._batches.follow(key, ref.job_id, take)
        if isinstance(event, JobFailed):
            self.failures.failed(key, Failure(
                ref.provider, event.kind, event.message.replace(f" for scene “{ref.scene}”", ""),
                ref.job_id))
        if isinstance(event, JobDone):
            self.renderStored.emit(event.render)
        if isinstance(event, JobDone) or all(job.state.finished for job in jobs.values()):
            self.sheet_library.release_takes(key)  # a take is out (and pinned), or none will be
        if self.model.row_of(scene) is None:
            return
        slot = self.slot(scene, ref.stage)
        new = batch_slot(replace(slot, provider=ref.provider, model=ref.model), jobs)
        if isinstance(event, JobDone) and self._shows(key, slot, event.render, len(jobs) > 1):
            render = event.render
            new = replace(new, image=render.image_path, render_id=render.id, cost=render.cost,
                          made_with=render.fingerprint)
            self._pending_shown.add(key)
        if isinstance(event, JobQueued):
            self._queued.add(key)
        self._pending[key] = new
        # A job's first word, its end and a render to show reach the card in this turn; the
        # steps between (sending, accepted, processing, downloading) follow one another within
        # milliseconds and are shown together a moment later: each shown step drew the card
        # again, the most of the window's work while a batch rendered.
        soon = isinstance(event, JobQueued) or new.state is None or new.state.finished \
            or key in self._pending_shown
        timer = self._flush_timer
        if soon and (not timer.isActive() or timer.interval() > 0):
            timer.start(0)
        elif not timer.isActive():
            timer.start(STEPS_SHOWN_EVERY_MS)

    def _shows(self, key: tuple[str, Stage], slot: Slot, render: RenderRecord,
               takes: bool) -> bool:
        """Whether the card shows ``render``, just finished: not over a picked take; of a batch
        of takes, the first to finish (kept in the library as the picked take), the others
        joining the filmstrip; a single render, as the newest."""
        if not takes:
            return not slot.chosen
        if not self._batches.first_done(key, render.id):
            return False
        self.sheet_library.keep_first_take(key[0], key[1], render)
        return not slot.chosen

    def _flush(self) -> None:
        """The cards take what the events said: the state of each slot, and a render to show;
        the rest (the render shown otherwise, its takes) is the library's, as the card holds it
        now (it may have been read again since the events came)."""
        pending, self._pending = self._pending, {}
        shown, self._pending_shown = self._pending_shown, set()
        queued, self._queued = self._queued, set()
        model, cells = self.model, dict[str, Cell]()
        # A card whose new job was queued and ended since the last update is shown under way
        # first: the toolbar's batch counts the cards that start work, and would miss it (a
        # retry refused at once counted 1 of its 4 failed cards).
        started: dict[str, Cell] = {}
        for name, stage in queued:
            update = pending.get((name, stage))
            if update is None or model.row_of(name) is None or update.active:
                continue
            cell = started.get(name, model.cell(name))
            if not cell.slot(stage).active:
                started[name] = cell.with_slot(stage, replace(cell.slot(stage),
                                                              state=JobState.QUEUED))
        if started:
            model.set_cells(started)
        for (name, stage), slot in pending.items():
            if model.row_of(name) is None:
                continue
            cell = cells.get(name, model.cell(name))
            new = replace(cell.slot(stage), state=slot.state, eta=slot.eta,
                          position=slot.position, message=slot.message,
                          provider=slot.provider, model=slot.model)
            if (name, stage) in shown:
                new = replace(new, image=slot.image, render_id=slot.render_id, cost=slot.cost,
                              made_with=slot.made_with)
            cells[name] = cell.with_slot(stage, new)
        model.set_cells(cells)
        self._tell_shared_failures()

    def _tell_shared_failures(self) -> None:
        for sentence, in_settings in self.failures.notices(self._shows_failure):
            self.sharedFailure.emit(sentence, in_settings)

    def _shows_failure(self, card: tuple[str, Stage]) -> bool:
        name, stage = card
        return (self.model.row_of(name) is not None
                and self.model.cell(name).slot(stage).state is JobState.FAILED)

    @property
    def busy(self) -> bool:
        return self.queue.busy

    async def reconfigure(self, providers: Mapping[str, Provider], settings: Settings) -> bool:
        """Use new providers and settings (after Settings were saved). Only while nothing
        renders; False (and nothing changed) otherwise."""
        if self.busy or self._closed:
            await close_providers(providers)  # never used: nothing of theirs is on the engine
            return False
        self._unsubscribe()
        await self.queue.aclose()  # and the providers it ran on
        self.providers = providers
        self.settings = settings
        self._costed.clear()
        self._price = settings_prices(settings, providers)
        self.queue = self._new_queue()
        self._unsubscribe = self.queue.subscribe(self._on_event)
        self._batches.clear()
        self.sheet_library.release_all_takes()
        self.warm_up()
        return True

    # ------------------------------------------------------------------ closing
    async def resume(self) -> None:
        """Follow the jobs a crash or a closed window left unfinished (never resent)."""
        if self._closed:
            return
        refs = await self.queue.resume()
        if refs:
            self.message.emit(f"Picking up {len(refs)} render(s) left unfinished last time; "
                              "none is sent twice.", "info")

    async def aclose(self) -> None:
        """Stop following jobs (they stay in the library for resume), then close the providers,
        end the render thread, and close the library."""
        if not self._begin_closing():
            return
        try:
            with contextlib.suppress(RuntimeError):  # the engine has ended: nothing runs there
                await self.queue.aclose()
        finally:
            await self.engine.aclose()
            self.sheet_library.close()
            await self._bg.call(self.library.close)

    def abandon(self) -> None:
        """:meth:`aclose` when the window's event loop has ended under it (its display went
        away): the same steps, each waited for here, on the GUI thread."""
        if not self._begin_closing():
            return
        try:
            with contextlib.suppress(RuntimeError):
                self.queue.close()
        finally:
            self.engine.close()
            self.sheet_library.close()
            self.library.close()

    def _begin_closing(self) -> bool:
        if self._closed:
            return False
        self._closed = True
        self._unsubscribe()
        return True


def _batch_sentence(event: BatchPlanned) -> str:
    return BatchEstimate(event.requests, event.cost, event.unpriced).sentence()
