"""What the library holds of the open sheet, kept on its cards: each scene's latest usable preview
and final, the verdict and the star, and the anchor's history.

The cards are filled from the library when a sheet opens and refreshed from the library's
announcements afterwards, so a verdict, a star, a trash or a restore made anywhere (the library
browser, the inspector, another card) shows on the cards at once. A card's own verdict and star
are written to the library and come back the same way: the library is the one copy.

A cell shows the take picked for it, else its latest render. When a batch of several takes of a
scene is rendered while none is picked, the first take to finish is picked (stored in the library,
so the card, ``studio status`` and the finals made from it agree), and the takes finishing after
it join the filmstrip instead of taking the card over one after another. What a read finds and
how a card takes it in are :mod:`studio.ui.viewmodels.stored_cells`'s.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.lifecycle import Approval
from studio.core.request import Stage
from studio.core.sheet import SHEET_SUFFIX, Sheet, save_sheet
from studio.library import AnchorVersion, Library, RenderRecord
from studio.library.binding import SheetBinding, bind_sheet, sheet_name
from studio.library.changes import LibraryChange
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.cells import Cell
from studio.ui.viewmodels.changes import LibraryChanges
from studio.ui.viewmodels.history import history_entries, read_versions
from studio.ui.viewmodels.scenes import SceneListModel
from studio.ui.viewmodels.stored_cells import (
    StoredCell,
    merge_cell,
    picked_take,
    read_stored_cells,
)

log = logging.getLogger("studio.ui.library")


def slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.strip().lower()).strip("-_") or "sheet"


#: The least time, in milliseconds, from one read of the sheet's renders to the next that a
#: batch's stores ask for. A batch stores a render every moment and each store was answered
#: with a read of every card (a worker building every scene's records, then a merge on the GUI
#: thread): twelve reads in a batch of 48. Spaced, the first store is answered at once and those
#: that follow within the spacing by one read once it has passed (the cards show each render as
#: it comes out meanwhile: the render queue's events carry it). A verdict, star, trash or
#: restore is read at once. Spaced, the window's longest wait while 48 scenes rendered was
#: under 16 ms in 12 of 30 runs against 7 of 30 (median 17.0 ms against 19.4; interleaved runs
#: of benchmarks/ui_window.py while the host took CPU time); on a quiet host both were near 9 ms.
READ_SPACING_MS = 1000


class SheetLibrary(QObject):
    """The open sheet's side of the library. ``message(text, level)`` reports what failed;
    ``historyChanged(list[AnchorHistoryEntry])`` when the anchor's versions were read;
    ``cellsLoaded`` after the cards were filled from the library (tests wait on it)."""

    message = Signal(str, str)
    historyChanged = Signal(list)
    cellsLoaded = Signal()

    def __init__(self, model: SceneListModel, library: Library, background: Background,
                 changes: LibraryChanges, unsaved_dir: Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.library = library
        self._bg = background
        self._changes = changes
        self._unsaved_dir = unsaved_dir
        self.unsaved_path: Path | None = None
        #: The file the cards' renders are linked to in the library.
        self._linked: Path | None = None
        #: Where each file the sheet was linked to was saved as (a batch bound under the
        #: earlier one follows it).
        self._saved_as: dict[Path, Path] = {}
        self._sheet_id: int | None = None
        self._loading = False
        self._again = False
        self._moving = False
        self._closed = False
        #: Scenes renamed in this session: the library knows them by their old names until
        #: the next render records the sheet again.
        self._aliases: dict[str, str] = {}
        #: The first take to finish of a batch of takes, per cell, until the library holds it
        #: as the picked take (a read meanwhile shows it, not the latest take).
        self._first_takes: dict[tuple[str, Stage], int] = {}
        #: Per cell with a batch of takes under way and none out yet, the render its card
        #: showed when the batch was sent: a read meanwhile keeps showing it (the takes are
        #: stored on the render thread before the window hears which one came out first).
        self._held: dict[tuple[str, Stage], int | None] = {}
        #: Per scene, what the last read found and the card it became: a read during a batch
        #: (one after every render) merges again only the cards whose renders or state moved.
        self._merged: dict[str, tuple[StoredCell | None, Cell]] = {}
        self._resolved: tuple[object, Path] = (None, Path())
        #: When the last read started (time.monotonic), and the read announcements wait for.
        self._read_at = float("-inf")
        self._spaced = QTimer(self)
        self._spaced.setSingleShot(True)
        self._spaced.timeout.connect(self.reload)
        changes.changed.connect(self._library_changed)
        model.document.sceneRenamed.connect(self._scene_renamed)

    # ------------------------------------------------------------------ the sheet's file
    @property
    def document(self) -> Any:
        return self.model.document

    @property
    def loading(self) -> bool:
        """A read is under way or due (tests wait on this)."""
        return self._loading or self._moving or self._spaced.isActive()

    def library_path(self) -> Path:
        """The file the library links this sheet's renders to (its own, or one kept in the
        data folder while the sheet is unsaved)."""
        doc = self.document
        if doc.path is not None:
            # Resolved once per file (a read after every render asks again).
            if self._resolved[0] != doc.path:
                self._resolved = (doc.path, Path(doc.path).resolve())
            return self._resolved[1]
        if self.unsaved_path is None:
            name = slug(doc.display_name.removesuffix(" (example)").removesuffix(SHEET_SUFFIX))
            self.unsaved_path = self._unsaved_dir / f"{name}{SHEET_SUFFIX}"
        return self.unsaved_path

    def sheet_changed(self, path: Path | None, unsaved_key: str | None = None) -> None:
        """A sheet was opened: show what the library has of it."""
        self._sheet_id = None
        self._aliases = {}
        if path is None:
            self.unsaved_path = (self._unsaved_dir / f"{slug(unsaved_key)}{SHEET_SUFFIX}"
                                 if unsaved_key else None)
        self.reload()
        self.load_history()

    def sheet_saved(self, path: Path) -> None:
        """The sheet was saved: when under a new file, its renders follow it in the library, so
        the cards come back after a restart (an unsaved sheet's renders included)."""
        new, previous = Path(path).resolve(), self._linked
        self._linked = new
        if previous is None or previous == new:
            return
        self.unsaved_path = None
        # Where ``new`` was saved as before no longer holds (saved back under an earlier
        # name): the chain of saves from any file ends at the sheet's file, never loops.
        self._saved_as.pop(new, None)
        self._saved_as[previous] = new
        self._move_renders(previous, new)

    async def bind(self, sheet: Sheet) -> SheetBinding:
        """The library's records of ``sheet`` (the open one) for a batch to render: its project,
        character, anchor version and scenes, made where missing. An unsaved sheet is kept in
        the data folder first, so its renders have a file to belong to (and the library browser
        can open it)."""
        library, catalog, path = self.library, self.document.catalog, self.library_path()
        if self.document.path is None:
            await self._bg.call(_keep_unsaved, sheet, path)
        binding = await self._bg.call(bind_sheet, library, sheet, path, catalog)
        self._follow_saves(path)
        return binding

    def _follow_saves(self, bound: Path) -> None:
        """The sheet was bound under ``bound``: when it has been saved under another file
        since, the record the binding made or found follows the saved file too (a record made
        after the move of :meth:`sheet_saved` was left behind, and the cards went blank)."""
        saved = bound
        while (later := self._saved_as.get(saved)) is not None:
            saved = later
        if saved != bound:
            self._move_renders(bound, saved)

    def _move_renders(self, previous: Path, new: Path) -> None:
        library = self.library

        def move() -> None:
            record = library.sheets.for_file(str(previous))
            if record is not None:
                library.sheets.move(record.id, sheet_name(new), str(new))

        def moved(_result: object = None) -> None:
            self._moving = False
            self.reload()

        def failed(exc: BaseException) -> None:
            moved()
            self.message.emit(f"The renders could not be linked to {new.name}: {exc}", "error")

        self._moving = True  # reading now would find no renders under the new name
        self._bg.run(move, moved, failed, owner=self, what="Linking the renders to the saved sheet")

    def _scene_renamed(self, old: str, new: str) -> None:
        for known, current in list(self._aliases.items()):
            if current == old:
                self._aliases[known] = new
        self._aliases.setdefault(old, new)
        self._aliases.pop(new, None)
        for stage in Stage:
            if (old, stage) in self._first_takes:
                self._first_takes[(new, stage)] = self._first_takes.pop((old, stage))
            if (old, stage) in self._held:
                self._held[(new, stage)] = self._held.pop((old, stage))

    # ------------------------------------------------------------------ the cards
    def reload(self) -> None:
        """Read the sheet's renders again (the newest read wins; one runs at a time)."""
        if self._closed:
            return
        if self._loading or self._moving:
            self._again = True
            return
        self._loading = True
        self._again = False
        self._spaced.stop()  # this read answers what was announced so far
        self._read_at = time.monotonic()
        library, sheet, catalog = self.library, self.document.sheet, self.document.catalog
        path, aliases = self.library_path(), dict(self._aliases)
        first_takes, held = dict(self._first_takes), dict(self._held)
        self._linked = path
        # What the cards were last merged with (only an answer changes it, and one read runs
        # at a time): the read finds which scenes' renders moved, off the GUI thread.
        before = {name: last[0] for name, last in self._merged.items()}

        def read() -> tuple[int | None, dict[str, StoredCell], set[str]]:
            record, out = read_stored_cells(library, sheet, catalog, path, aliases,
                                            first_takes, held)
            moved = {name for name in out.keys() | before.keys()
                     if before.get(name) != out.get(name)}
            return record, out, moved

        self._bg.run(read, lambda result: self._loaded(path, *result), self._load_failed,
                     owner=self, what="Reading the sheet's renders")

    def _loaded(self, path: Path, sheet_id: int | None, stored: dict[str, StoredCell],
                moved: set[str]) -> None:
        self._loading = False
        if self._again or self._moving or self.library_path() != path:
            self.reload()  # something changed meanwhile: this answer is already old
            return
        self._sheet_id = sheet_id
        model = self.model
        cells, merged = {}, self._merged
        for name in model.names():
            shown, found = model.cell(name), stored.get(name)
            last = merged.get(name)
            # Merging is idempotent: the same card and the same renders make the same card.
            if last is None or last[1] is not shown or name in moved:
                cells[name] = merge_cell(shown, found)
        model.set_cells(cells)
        self._merged = {name: (stored.get(name), model.cell(name)) for name in model.names()}
        self.cellsLoaded.emit()

    def _load_failed(self, exc: BaseException) -> None:
        self._loading = False
        self.message.emit(f"The sheet's renders cannot be read from the library: {exc}", "error")
        if self._again:
            self.reload()

    def _shown_render_ids(self) -> set[int]:
        ids: set[int] = set()
        for name in self.model.names():
            cell = self.model.cell(name)
            ids.update(i for i in (cell.preview.render_id, cell.final.render_id)
                       if i is not None)
        return ids

    def _library_changed(self, change: LibraryChange) -> None:
        ours = (change.sheets and (self._sheet_id is None or self._sheet_id in change.sheets))
        if ours or change.renders & self._shown_render_ids():
            if change.jobs:  # a batch storing what its jobs made: one read for many
                self._reload_spaced()
            else:  # a verdict, star, trash or restore: shown at once
                self.reload()
        if change.characters:
            self.load_history()

    def _reload_spaced(self) -> None:
        """Read again for a batch's stores: at once when the last read started at least
        :data:`READ_SPACING_MS` ago, else once it has (one read for all stored meanwhile)."""
        if self._closed or self._spaced.isActive():
            return
        wait = READ_SPACING_MS - (time.monotonic() - self._read_at) * 1000
        if wait <= 0:
            self.reload()
        else:
            self._spaced.start(int(wait) + 1)

    # ------------------------------------------------------------------ verdicts
    def render_ids(self, names: list[str]) -> list[int]:
        ids = []
        for name in names:
            cell = self.model.cell(name)
            ids += [s.render_id for s in (cell.preview, cell.final) if s.render_id is not None]
        return ids

    def set_approval(self, names: list[str], approval: Approval) -> None:
        """Give the scenes' renders a verdict (the same one again takes it back)."""
        for name in names:
            verdict = Approval.NONE if self.model.cell(name).approval is approval else approval
            self._write(self.library.renders.set_approval, self.render_ids([name]), verdict,
                        "Saving the verdict")

    def toggle_star(self, names: list[str]) -> None:
        """Star the scenes, or unstar them when every one is starred."""
        if names:
            self.set_star(names, not all(self.model.cell(n).star for n in names))

    def set_star(self, names: list[str], star: bool) -> None:
        self._write(self.library.renders.set_star, self.render_ids(names), star,
                    "Saving the star")

    def hold_takes(self, keys: Iterable[tuple[str, Stage]]) -> None:
        """Batches of takes are about to be sent for these cells: until the first of each
        comes out (:meth:`keep_first_take`) or the batch ends (:meth:`release_takes`), the
        card shows what it shows now, whatever a read finds stored meanwhile."""
        for name, stage in keys:
            self._held[(name, stage)] = self.model.cell(name).slot(stage).render_id

    def release_takes(self, key: tuple[str, Stage]) -> None:
        """The cell's batch of takes ended: reads show what the library holds again."""
        self._held.pop(key, None)

    def release_all_takes(self) -> None:
        """No batch of takes is followed any more (new providers, a new queue)."""
        self._held.clear()

    def keep_first_take(self, name: str, stage: Stage, render: RenderRecord) -> None:
        """``render`` is the first take to finish of a batch of takes of ``name``: unless a
        take is already picked for the cell, pick it (so later takes join the filmstrip), and
        show it meanwhile."""
        self._held.pop((name, stage), None)
        scene_id = render.scene_id
        if scene_id is None:
            return
        self._first_takes[(name, stage)] = render.id
        self.reload()  # a read on its way may show a later take: read again
        library = self.library

        def pick() -> None:
            if picked_take(library, scene_id, stage) is None:
                library.renders.choose_take(render.id)

        def done(_result: object = None) -> None:
            for pinned, render_id in list(self._first_takes.items()):
                if render_id == render.id:  # under the scene's name now
                    del self._first_takes[pinned]

        def failed(exc: BaseException) -> None:
            done()
            self.message.emit(f"The first take of “{name}” could not be kept as the one its "
                              f"card shows: {exc}. Click a take in its filmstrip to pick one.",
                              "error")

        self._bg.run(pick, done, failed, owner=self, what="Keeping the first take")

    def choose_take(self, render_id: int) -> None:
        """Show ``render_id`` as its cell's take (and make finals from it): stored in the
        library, whose announcement brings every view round to it."""
        choose = self.library.renders.choose_take
        self._bg.run(lambda: choose(render_id),
                     on_failure=lambda exc: self.message.emit(
                         f"Picking the take failed: {exc}", "error"),
                     owner=self, what="Picking the take")

    def _write(self, fn: Callable[[list[int], Any], Any], ids: list[int], value: Any,
               what: str) -> None:
        if not ids:
            return
        self._bg.run(lambda: fn(ids, value),
                     on_failure=lambda exc: self.message.emit(f"{what} failed: {exc}", "error"),
                     owner=self, what=what, in_order=True)

    # ------------------------------------------------------------------ the anchor's history
    def load_history(self) -> None:
        """Read the saved versions of the character's anchor (newest first): one is stamped on
        every render, so older cards can be told apart."""
        if self._closed:
            return

        def done(versions: list[AnchorVersion]) -> None:
            self.historyChanged.emit(
                history_entries(versions, self.document.sheet.character.anchor))

        self._bg.run(partial(read_versions, self.library, self.document.sheet), done, owner=self,
                     what="Reading the anchor's history")

    def close(self) -> None:
        self._closed = True
        self._spaced.stop()
        self._bg.forget(self)
        self._changes.close()


def _keep_unsaved(sheet: Sheet, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_sheet(sheet, path)
