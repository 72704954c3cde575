"""The scene grid's model: one row per scene of the open sheet, with its render cell.

Rows follow ``SheetDocument.sheet.scenes``; the render state of each scene (a ``Cell``) is kept
here, keyed by scene name, and follows a scene through renames and moves. Whether a cell is out
of date, and why, is the one staleness rule (``studio.core.fingerprint``) applied to the
fingerprint its render was made with: the card, its tooltip and ``studio status`` agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from studio.core.checks import Finding, Severity
from studio.core.fingerprint import Fingerprint, describe_reasons, fingerprint, staleness
from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.core.sheet import Scene
from studio.ui.viewmodels.batch import RenderBatch
from studio.ui.viewmodels.cells import Cell, Slot, state_label
from studio.ui.viewmodels.document import SheetDocument
from studio.ui.viewmodels.progress import GridProgress
from studio.ui.viewmodels.scene_moves import ROW_MIME, SceneRowMoves

__all__ = ["ROW_MIME", "Role", "SceneListModel", "slot_tip"]

Index = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    SCENE = Qt.ItemDataRole.UserRole + 1
    CELL = Qt.ItemDataRole.UserRole + 2
    PREVIEW_STALE = Qt.ItemDataRole.UserRole + 3
    FINAL_STALE = Qt.ItemDataRole.UserRole + 4
    FINGERPRINT = Qt.ItemDataRole.UserRole + 5
    PREVIEW_TIP = Qt.ItemDataRole.UserRole + 6
    FINAL_TIP = Qt.ItemDataRole.UserRole + 7
    #: Changes whenever anything a card shows changes (painters cache cards by it).
    REVISION = Qt.ItemDataRole.UserRole + 8
    #: The prompt checks' warnings and errors about the scene (a tuple of ``Finding``).
    FINDINGS = Qt.ItemDataRole.UserRole + 9


def slot_tip(slot: Slot, stage: Stage, reasons: tuple[str, ...]) -> str:
    """What a card's preview or final says when the pointer rests on it."""
    lines = [f"{stage.value.title()}: {slot.describe(bool(reasons))}"]
    if slot.done and slot.model:
        lines[0] += f" · {slot.provider} · {slot.model}" if slot.provider else f" · {slot.model}"
    if reasons:
        lines.append(f"Out of date: {describe_reasons(reasons)} changed since it was made.")
    if slot.message:
        lines.append(slot.message)
    if slot.image is not None:
        lines.append("Double-click to open it in the viewer; right-click for more.")
    return "\n".join(lines)


def with_distances(cell: Cell, distances: dict[int, float | None]) -> Cell:
    """``cell`` with the identity distances its takes have among ``distances``."""
    if not distances or not (cell.preview.takes or cell.final.takes):
        return cell
    return replace(cell, preview=cell.preview.with_distances(distances),
                   final=cell.final.with_distances(distances))


#: The cell of a scene with no render state yet (frozen: one serves every scene).
_NO_CELL = Cell()


class SceneListModel(SceneRowMoves, QAbstractListModel):
    """Scenes of the document in order. ``cellsChanged`` fires when any render state moves.
    The current batch is :class:`~studio.ui.viewmodels.batch.RenderBatch`'s, moving rows
    :class:`~studio.ui.viewmodels.scene_moves.SceneRowMoves`'s."""

    cellsChanged = Signal()

    def __init__(self, document: SheetDocument, parent: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._doc = document
        #: The prompt checks' warnings and errors, per scene name.
        self._findings: dict[str, tuple[Finding, ...]] = {}
        #: Each scored take's identity distance (None: not scorable), by render id: the
        #: filmstrips order takes by likeness with them.
        self._distances: dict[int, float | None] = {}
        self._scenes: list[Scene] = list(document.sheet.scenes)
        self._rows: dict[str, int] = {}
        self._cells: dict[str, Cell] = {}
        #: The scenes whose card shows each image (its path as text), as a slot's image or a
        #: take: an image arriving repaints those cards without looking through every cell.
        self._showing: dict[str, set[str]] = {}
        #: The current batch: every (scene, stage) sent since the grid was last idle (``clock``
        #: reads the time for its pace; a test gives its own).
        self._batch = RenderBatch(self.cell, self._rows, clock)
        self._renamed: tuple[str, str] | None = None
        #: Per scene, bumped when its card changes; ``_epoch`` when every card may have.
        self._revisions: dict[str, int] = {}
        self._epoch = 0
        #: Each cell's staleness as last worked out, with the revision it was worked out at.
        self._stale: dict[tuple[str, Stage], tuple[tuple[int, int], tuple[str, ...]]] = {}
        #: What each scene sends now, per stage (the staleness rule's "current").
        self._fingerprints: list[dict[Stage, Fingerprint]] = []
        self._refresh_fingerprints()
        document.sceneRenamed.connect(self._on_scene_renamed)
        document.changed.connect(self._on_document_changed)

    @property
    def document(self) -> SheetDocument:
        return self._doc

    # ------------------------------------------------------------------ sync with the sheet
    def _touch(self, name: str) -> None:
        self._revisions[name] = self._revisions.get(name, 0) + 1

    def _refresh_fingerprints(self) -> None:
        self._epoch += 1
        sheet, catalog = self._doc.sheet, self._doc.catalog
        self._fingerprints = [{stage: fingerprint(sheet, s, stage, catalog) for stage in Stage}
                              for s in self._scenes]
        self._rows.clear()  # in place: the batch looks names up in it
        self._rows.update((s.name, row) for row, s in enumerate(self._scenes))

    def _on_scene_renamed(self, old: str, new: str) -> None:
        self._epoch += 1  # what was known under either name is known no more
        if old in self._cells:
            cell = self._cells.pop(old)
            self._list_images(old, cell, False)
            self._cells[new] = cell
            self._list_images(new, cell, True)
        self._batch.rename(old, new)
        self._renamed = (old, new)

    def _on_document_changed(self) -> None:
        new = list(self._doc.sheet.scenes)
        old_names = [s.name for s in self._scenes]
        new_names = [s.name for s in new]
        renamed, self._renamed = self._renamed, None
        if renamed is not None:
            old_names = [renamed[1] if n == renamed[0] else n for n in old_names]
        if new_names == old_names:
            # The same rows (edited, or one renamed): repaint them, keep the selection.
            self._scenes = new
            self._refresh_fingerprints()
            if new:
                self.dataChanged.emit(self.index(0), self.index(len(new) - 1))
            return
        self.beginResetModel()
        self._scenes = new
        self._refresh_fingerprints()
        self.endResetModel()

    def reset_cells(self) -> None:
        self._epoch += 1
        self._cells.clear()
        self._showing.clear()
        self._batch.clear()
        if self._scenes:
            self.dataChanged.emit(self.index(0), self.index(len(self._scenes) - 1))
        self.cellsChanged.emit()

    # ------------------------------------------------------------------ render state
    def cell(self, name: str) -> Cell:
        cell = self._cells.get(name)
        return _NO_CELL if cell is None else cell  # not a new Cell() on every look-up

    def set_cell(self, name: str, cell: Cell) -> None:
        self.set_cells({name: cell})

    def set_cells(self, cells: dict[str, Cell]) -> None:
        """Replace several cells at once (one ``cellsChanged``); unchanged ones are skipped.
        Slots that start work join the batch, and the queued ones are numbered again."""
        changed: dict[str, None] = {}  # in order, each once
        updates = {name: new for name, cell in cells.items()
                   if (new := with_distances(cell, self._distances)) != self.cell(name)}
        # The batch reads the cards as they stood before the update (see RenderBatch.follow).
        slots = [(name, stage, self.cell(name).slot(stage), cell.slot(stage))
                 for name, cell in updates.items() for stage in Stage]
        self._batch.follow(slots)
        line_moved = any(JobState.QUEUED in (before.state, after.state)
                         for _, _, before, after in slots)
        for name, cell in updates.items():
            self._put(name, cell)
            changed[name] = None
        if line_moved:
            for name, cell in self._batch.number_the_line().items():
                self._put(name, cell)
                changed[name] = None
        # Each card told once, its new place in the line included: a batch's first update
        # changes every card. Cards side by side are told together, one signal a run (each
        # signal runs every listener once: the grid, its checks, the consistency view).
        self._announce_rows(sorted(row for name in changed
                                   if (row := self.row_of(name)) is not None))
        if changed:
            self.cellsChanged.emit()

    def set_take_distances(self, distances: dict[int, float | None]) -> None:
        """Identity distances of renders (scored by the window's identity scoring): the takes
        among them carry them, so a filmstrip can list the most alike first."""
        self._distances.update(distances)
        self.set_cells({name: cell for name, cell in self._cells.items()
                        if cell.preview.takes or cell.final.takes})

    def _put(self, name: str, cell: Cell) -> None:
        old = self._cells.get(name)
        if old is not None:
            self._list_images(name, old, False)
        self._cells[name] = cell
        self._list_images(name, cell, True)
        self._touch(name)

    def _list_images(self, name: str, cell: Cell, shown: bool) -> None:
        """Note (or, ``shown`` False, forget) that ``name``'s card shows ``cell``'s images."""
        preview, final = cell.preview, cell.final
        for image in (preview.image, final.image,
                      *(take.image for take in preview.takes + final.takes)):
            if image is None:
                continue
            path = str(image)
            if shown:
                self._showing.setdefault(path, set()).add(name)
            else:
                names = self._showing.get(path)
                if names is not None:
                    names.discard(name)
                    if not names:
                        del self._showing[path]

    def _announce_rows(self, rows: list[int]) -> None:
        """``dataChanged`` for ``rows`` (sorted), once for each run of neighbours."""
        start = 0
        for at in range(1, len(rows) + 1):
            if at == len(rows) or rows[at] != rows[at - 1] + 1:
                self.dataChanged.emit(self.index(rows[start]), self.index(rows[at - 1]))
                start = at

    def set_slot(self, name: str, stage: Stage, slot: Slot) -> None:
        self.set_cell(name, self.cell(name).with_slot(stage, slot))

    def update_slot(self, name: str, stage: Stage, **changes: Any) -> None:
        self.set_slot(name, stage, replace(self.cell(name).slot(stage), **changes))

    def fingerprint(self, name: str, stage: Stage) -> Fingerprint | None:
        """What the scene sends now at ``stage``."""
        row = self.row_of(name)
        return self._fingerprints[row][stage] if row is not None else None

    def stale_reasons(self, name: str, stage: Stage) -> tuple[str, ...]:
        """Why the cell's render is out of date (the one rule); () when it is current or not
        done."""
        # Asked by every drawing of the card: answered again only once the cell (its
        # revision) or what the scenes send (the epoch) has changed.
        revision = (self._epoch, self._revisions.get(name, 0))
        known = self._stale.get((name, stage))
        if known is not None and known[0] == revision:
            return known[1]
        slot = self.cell(name).slot(stage)
        current = self.fingerprint(name, stage)
        reasons = () if not slot.done or current is None else staleness(slot.made_with, current)
        self._stale[(name, stage)] = (revision, reasons)
        return reasons

    def is_stale(self, name: str, stage: Stage) -> bool:
        return bool(self.stale_reasons(name, stage))

    def slot_tip(self, name: str, stage: Stage) -> str:
        """The tooltip of the card's preview or final: its state and why it is out of date."""
        return slot_tip(self.cell(name).slot(stage), stage, self.stale_reasons(name, stage))

    def counts(self) -> dict[JobState | None, int]:
        """How many slots of the sheet's scenes are in each state (both stages; None: not
        rendered)."""
        out: dict[JobState | None, int] = {None: 0, **dict.fromkeys(JobState, 0)}
        for scene in self._scenes:
            cell = self.cell(scene.name)
            out[cell.preview.state] += 1
            out[cell.final.state] += 1
        return out

    def progress(self) -> GridProgress:
        """The progress line: the current batch by stage, with its ETA."""
        return self._batch.progress(len(self._scenes))

    # ------------------------------------------------------------------ prompt checks
    def set_findings(self, findings: list[Finding]) -> None:
        """The prompt checks' latest findings; the cards of scenes with a warning or an error
        show a marker (notes of information are left to the checks list)."""
        by_scene: dict[str, list[Finding]] = {}
        for finding in findings:
            if finding.scene and finding.severity is not Severity.INFO:
                by_scene.setdefault(finding.scene, []).append(finding)
        new = {name: tuple(found) for name, found in by_scene.items()}
        changed = {n for n in new.keys() | self._findings.keys()
                   if new.get(n) != self._findings.get(n)}
        self._findings = new
        for name in changed:
            row = self.row_of(name)
            if row is not None:
                self._touch(name)
                self.dataChanged.emit(self.index(row), self.index(row))

    def findings(self, name: str) -> tuple[Finding, ...]:
        return self._findings.get(name, ())

    def refresh_images(self, path: str) -> None:
        """Repaint the rows showing ``path`` (its decoded image has arrived): as a slot's
        image or as one of the takes in a filmstrip."""
        names = self._showing.get(path)
        if not names:
            return
        # Looked up, not looked for: one of hundreds of images arrives many times a second
        # while the grid scrolls, and looking through every cell took a millisecond or more.
        rows = sorted(row for name in names
                      if (row := self._rows.get(name)) is not None
                      and row < len(self._scenes) and self._scenes[row].name == name)
        for row in rows:
            self._touch(self._scenes[row].name)
        self._announce_rows(rows)

    # ------------------------------------------------------------------ lookups
    def row_of(self, name: str) -> int | None:
        return self._rows.get(name)

    def scene_at(self, row: int) -> Scene:
        return self._scenes[row]

    def names(self) -> list[str]:
        return [s.name for s in self._scenes]

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._scenes)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._scenes):
            return None
        scene = self._scenes[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return scene.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{scene.name}\n{scene.setting}" + (f"\n\n{scene.notes}" if scene.notes else "")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            cell = self.cell(scene.name)
            return (f"{scene.name}: preview {state_label(cell.preview.state)}, "
                    f"final {state_label(cell.final.state)}")
        if role == Role.SCENE:
            return scene
        if role == Role.CELL:
            return self.cell(scene.name)
        if role == Role.PREVIEW_STALE:
            return self.is_stale(scene.name, Stage.PREVIEW)
        if role == Role.FINAL_STALE:
            return self.is_stale(scene.name, Stage.FINAL)
        if role == Role.FINGERPRINT:
            return self._fingerprints[index.row()][Stage.PREVIEW].digest
        if role == Role.FINDINGS:
            return self.findings(scene.name)
        if role == Role.REVISION:
            return (self._epoch, self._revisions.get(scene.name, 0))
        if role == Role.PREVIEW_TIP:
            return self.slot_tip(scene.name, Stage.PREVIEW)
        if role == Role.FINAL_TIP:
            return self.slot_tip(scene.name, Stage.FINAL)
        return None
