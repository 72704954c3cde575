"""The render view-model: drives the render queue for the open sheet and turns its Qt-free events
into the scene cards' states (queued, sent, processing with ETA, downloading, done, failed with
the reason, cancelled).

It owns the queue, the providers and the library it is given, and closes them in
:meth:`aclose`. Blocking library calls run in worker threads; nothing here waits on the GUI
thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.core.lifecycle import Approval, JobState
from studio.core.request import Stage
from studio.core.settings import Settings
from studio.core.sheet import SHEET_SUFFIX, Sheet, save_sheet
from studio.library import Library, LibraryError, RenderRecord
from studio.library.binding import legacy_fingerprint, project_name, sheet_name
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
    RenderEvent,
    RenderInputError,
    RenderQueue,
    bind_sheet,
    choose_provider,
    plan_finals,
    plan_previews,
    settings_prices,
)
from studio.render.plan import all_notes
from studio.ui.cells import Cell, Slot
from studio.ui.character_panel import AnchorHistoryEntry
from studio.ui.scene_model import SceneListModel
from studio.ui.tasks import TaskOwner

log = logging.getLogger("studio.ui.render")

Confirm = Callable[[str, str], bool]


def slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.strip().lower()).strip("-_") or "sheet"


class RenderController(QObject):
    """Renders the scenes of the window's sheet; the cards' buttons and the toolbar call it."""

    message = Signal(str, str)  # text, level
    batchPlanned = Signal(str)  # "4 requests, estimated cost 0.00"
    progressChanged = Signal(object)  # render.Progress
    renderStored = Signal(object)  # library.RenderRecord of a finished job

    def __init__(self, model: SceneListModel, library: Library,
                 providers: Mapping[str, Provider], settings: Settings, tasks: TaskOwner,
                 unsaved_dir: Path, confirm: Confirm | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.library = library
        self.providers = providers
        self.settings = settings
        self._tasks = tasks
        self._unsaved_dir = unsaved_dir
        self._confirm = confirm or (lambda title, text: True)
        self._price = settings_prices(settings, providers)
        self.queue = RenderQueue(library, providers, price=self._price,
                                 budget_cap=settings.budget_cap)
        self._unsubscribe = self.queue.subscribe(self._on_event)
        self._jobs: dict[tuple[str, Stage], int] = {}
        self.unsaved_path: Path | None = None
        self.last_progress: Progress | None = None
        self._closed = False
        self._warm: asyncio.Task[Any] | None = None

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
                getattr(provider, "client", None)  # builds the HTTP client and its TLS context

        self._warm = self._tasks.start(asyncio.to_thread(work), "Preparing the network")

    # ------------------------------------------------------------------ the sheet
    @property
    def document(self) -> Any:
        return self.model.document

    def library_path(self) -> Path:
        """The file the library links this sheet's renders to (its own, or one kept in the
        data folder while the sheet is unsaved)."""
        doc = self.document
        if doc.path is not None:
            return Path(doc.path).resolve()
        if self.unsaved_path is None:
            name = slug(doc.display_name.removesuffix(" (example)").removesuffix(SHEET_SUFFIX))
            self.unsaved_path = self._unsaved_dir / f"{name}{SHEET_SUFFIX}"
        return self.unsaved_path

    def sheet_saved_as(self, previous: Path, path: Path) -> None:
        """The sheet was saved under a new file: its renders follow it in the library, so the
        cells come back after a restart (an unsaved sheet's renders included)."""
        new = Path(path).resolve()
        if previous == new:
            return

        def move() -> None:
            record = self.library.sheets.for_file(str(previous))
            if record is not None:
                self.library.sheets.move(record.id, sheet_name(new), str(new))

        self.unsaved_path = None
        self._tasks.start(asyncio.to_thread(move), "Linking the renders to the saved sheet")

    def sheet_changed(self, path: Path | None, unsaved_key: str | None = None) -> None:
        """A sheet was opened (or saved under a new name): show what the library has of it."""
        self._jobs.clear()
        if path is None:
            self.unsaved_path = (self._unsaved_dir / f"{slug(unsaved_key)}{SHEET_SUFFIX}"
                                 if unsaved_key else None)
        self._tasks.start(self._load_cells(), "Reading the sheet's renders")

    async def _load_cells(self) -> None:
        path = self.library_path()
        sheet = self.document.sheet
        catalog = self.document.catalog

        def read() -> list[tuple[str, Stage, RenderRecord, Any]]:
            record = self.library.sheets.for_file(str(path))
            if record is None:
                return []
            out = []
            for cell in self.library.renders.cells(record.id):
                scene, render = sheet.scene(cell.scene.name), cell.render
                made_with = render.fingerprint
                if made_with is None and scene is not None:
                    # Made before fingerprints were kept: what its record proves.
                    made_with = legacy_fingerprint(self.library, sheet, scene, render, catalog)
                out.append((cell.scene.name, cell.stage, render, made_with))
            return out

        if self._closed:
            return
        cells = await asyncio.to_thread(read)
        if self.document.sheet is not sheet and self.library_path() != path:
            return  # another sheet was opened meanwhile
        model = self.model
        for name, stage, render, made_with in cells:
            if model.row_of(name) is None:
                continue
            slot = Slot(JobState.DONE, image=render.image_path, render_id=render.id,
                        made_with=made_with, provider=render.provider, model=render.model,
                        cost=render.cost)
            current = model.cell(name)
            if current.slot(stage).active:
                continue
            updated = current.with_slot(stage, slot)
            if render.approval is not Approval.NONE or stage is Stage.FINAL:
                updated = replace(updated, approval=render.approval)
            updated = replace(updated, star=updated.star or render.star)
            model.set_cell(name, updated)

    # ------------------------------------------------------------------ estimates
    def estimate(self, stage: Stage, count: int) -> BatchEstimate:
        """What rendering ``count`` scenes at ``stage`` would cost, before anything is sent."""
        sheet = self.document.sheet
        profile = sheet.profile(stage)
        choice = choose_provider(self.providers, stage, profile.provider, profile.model,
                                 default_provider_id=self.settings.stage_provider(stage))
        each = self._price(choice.provider.id, choice.model)
        if each is None:
            return BatchEstimate(count, None, (choice.provider.id,))
        return BatchEstimate(count, round(each * count, 6))

    def provider_label(self, stage: Stage) -> str:
        sheet = self.document.sheet
        profile = sheet.profile(stage)
        choice = choose_provider(self.providers, stage, profile.provider, profile.model,
                                 default_provider_id=self.settings.stage_provider(stage))
        return f"{provider_name(choice.provider.id)} · {choice.model}"

    # ------------------------------------------------------------------ actions
    def preview(self, names: Sequence[str]) -> asyncio.Task[Any] | None:
        return self._tasks.start(self._render(Stage.PREVIEW, list(names)), "Rendering previews")

    def finalize(self, names: Sequence[str]) -> asyncio.Task[Any] | None:
        return self._tasks.start(self._render(Stage.FINAL, list(names)), "Rendering finals")

    def retry(self, names: Sequence[str]) -> asyncio.Task[Any] | None:
        return self._tasks.start(self._retry(list(names)), "Retrying")

    def cancel(self, names: Sequence[str]) -> int:
        asked = 0
        for name in names:
            for stage in Stage:
                job_id = self._jobs.get((name, stage))
                if job_id is not None and self.model.cell(name).slot(stage).active:
                    asked += self.queue.cancel(job_id)
        return asked

    def cancel_all(self) -> int:
        return self.queue.cancel_all()

    async def _render(self, stage: Stage, names: list[str]) -> None:
        names = [n for n in names if self.model.row_of(n) is not None
                 and not self.model.cell(n).slot(stage).active]
        if not names or self._closed:
            return
        if self._warm is not None and not self._warm.done():
            await asyncio.wait([self._warm])
        doc = self.document
        sheet: Sheet = doc.sheet
        catalog = doc.catalog
        path = self.library_path()
        profile = sheet.profile(stage)
        try:
            choice = choose_provider(self.providers, stage, profile.provider, profile.model,
                                     default_provider_id=self.settings.stage_provider(stage))
            if doc.path is None:
                await asyncio.to_thread(_keep_unsaved, sheet, path)
            binding = await asyncio.to_thread(bind_sheet, self.library, sheet, path, catalog)
            planner = plan_previews if stage is Stage.PREVIEW else plan_finals
            plan = await asyncio.to_thread(planner, self.library, binding, sheet, catalog,
                                           choice, names)
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
        try:
            await self.queue.add(plan.jobs)
        except RenderInputError as exc:
            self.message.emit(str(exc), "error")

    async def _retry(self, names: list[str]) -> None:
        fresh: dict[Stage, list[str]] = {Stage.PREVIEW: [], Stage.FINAL: []}
        for name in names:
            cell = self.model.cell(name)
            for stage in Stage:
                slot = cell.slot(stage)
                if slot.state not in (JobState.FAILED, JobState.CANCELLED):
                    continue
                job_id = self._jobs.get((name, stage))
                if job_id is None:
                    fresh[stage].append(name)
                    continue
                try:
                    await self.queue.retry(job_id)
                except (RenderInputError, ValueError, KeyError) as exc:
                    self.message.emit(str(exc), "error")
        for stage, listed in fresh.items():
            if listed:
                await self._render(stage, listed)

    # ------------------------------------------------------------------ verdicts
    def record_verdict(self, name: str, approval: Approval) -> None:
        ids = self._render_ids(name)
        if ids:
            self._tasks.start(asyncio.to_thread(self.library.renders.set_approval, ids, approval),
                              "Saving the verdict")

    def record_star(self, name: str, star: bool) -> None:
        ids = self._render_ids(name)
        if ids:
            self._tasks.start(asyncio.to_thread(self.library.renders.set_star, ids, star),
                              "Saving the star")

    def _render_ids(self, name: str) -> list[int]:
        cell = self.model.cell(name)
        return [s.render_id for s in (cell.preview, cell.final) if s.render_id is not None]

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
        key = (ref.scene, ref.stage)
        if isinstance(event, JobQueued):
            self._jobs[key] = ref.job_id
        elif self._jobs.setdefault(key, ref.job_id) != ref.job_id:
            return  # an older job of this cell; its successor is shown
        model = self.model
        if model.row_of(ref.scene) is None:
            return
        slot = model.cell(ref.scene).slot(ref.stage)
        base = replace(slot, provider=ref.provider, model=ref.model, eta=None, position=None)
        if isinstance(event, JobQueued):
            new = replace(base, state=JobState.QUEUED, message="")
        elif isinstance(event, JobSending | JobSubmitted | JobDownloading):
            new = replace(base, state=event.state)
        elif isinstance(event, JobProcessing):
            new = replace(base, state=JobState.PROCESSING, eta=event.eta,
                          position=event.position)
        elif isinstance(event, JobDone):
            render = event.render
            new = replace(base, state=JobState.DONE, image=render.image_path,
                          render_id=render.id, cost=render.cost, made_with=render.fingerprint,
                          message="")
            self.renderStored.emit(render)
        elif isinstance(event, JobFailed | JobCancelled | JobUncertain):
            new = replace(base, state=event.state, message=event.message)
        else:  # pragma: no cover - every event kind is handled above
            return
        cell: Cell = model.cell(ref.scene).with_slot(ref.stage, new)
        model.set_cell(ref.scene, cell)

    @property
    def busy(self) -> bool:
        return any(not v.state.finished for v in self.queue.jobs())

    async def reconfigure(self, providers: Mapping[str, Provider], settings: Settings) -> bool:
        """Use new providers and settings (after Settings were saved). Only while nothing
        renders; False (and nothing changed) otherwise."""
        if self.busy or self._closed:
            for provider in providers.values():
                await provider.aclose()
            return False
        old = self.providers
        self._unsubscribe()
        await self.queue.aclose()
        for provider in old.values():
            try:
                await provider.aclose()
            except Exception:
                log.exception("closing %s failed", provider.id)
        self.providers = providers
        self.settings = settings
        self._price = settings_prices(settings, providers)
        self.queue = RenderQueue(self.library, providers, price=self._price,
                                 budget_cap=settings.budget_cap)
        self._unsubscribe = self.queue.subscribe(self._on_event)
        self._jobs.clear()
        self.warm_up()
        return True

    async def anchor_history(self) -> list[AnchorHistoryEntry]:
        """The saved versions of the character's anchor (newest first): one is stamped on
        every render, so older cells can be told apart."""
        sheet = self.document.sheet
        library = self.library

        def read() -> list[Any]:
            project = library.projects.by_name(project_name(sheet))
            if project is None:
                return []
            for character in library.characters.of_project(project.id):
                if character.name == sheet.character.name:
                    return list(library.characters.anchor_versions(character.id))
            return []

        versions = await asyncio.to_thread(read)
        versions.sort(key=lambda v: v.version, reverse=True)
        return [AnchorHistoryEntry(
            label=f"v{v.version} · {v.created.astimezone():%Y-%m-%d %H:%M}"
            + (" (current)" if v.anchor == sheet.character.anchor else ""),
            anchor=v.anchor, seed=v.seed, negative=v.negative or None) for v in versions]

    # ------------------------------------------------------------------ lookups
    async def render_record(self, render_id: int) -> RenderRecord:
        return await asyncio.to_thread(self.library.renders.get, render_id)

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
        """Stop following jobs (they stay in the library for resume), then close the providers
        and the library."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        try:
            await self.queue.aclose()
        finally:
            for provider in self.providers.values():
                try:
                    await provider.aclose()
                except Exception:  # closing must go on for the others
                    log.exception("closing %s failed", provider.id)
            await asyncio.to_thread(self.library.close)


def _keep_unsaved(sheet: Sheet, path: Path) -> None:
    """An unsaved sheet that renders is kept in the data folder, so its renders have a sheet
    file to belong to (and the library browser can open it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_sheet(sheet, path)


def _batch_sentence(event: BatchPlanned) -> str:
    what = f"{event.requests} request{'s' if event.requests != 1 else ''}"
    if event.cost is not None:
        return f"{what} · {'free' if event.cost == 0 else f'about {event.cost:.2f}'}"
    if event.unpriced:
        names = ", ".join(provider_name(p) for p in event.unpriced)
        return f"{what} · cost unknown ({names} has no price set)"
    return what
