"""What the library holds for the open sheet's cards, read off the GUI thread, and how a card
takes it in: :func:`read_stored_cells` builds each scene's :class:`StoredCell` (its latest
usable preview and final, or the take picked for it, with its takes and what it was made with),
and :func:`merge_cell` puts one on a card without touching what only the render queue knows.

No Qt here: :class:`~studio.ui.viewmodels.sheet_library.SheetLibrary` decides when to read and
runs the read on its worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from studio.core.fingerprint import Fingerprint
from studio.core.lifecycle import Approval, JobState
from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Sheet
from studio.library import Library, RenderRecord
from studio.library.binding import legacy_fingerprint
from studio.ui.viewmodels.cells import Cell, Slot, Take


@dataclass(frozen=True, slots=True)
class StoredCell:
    """A scene's renders as the library holds them (the latest usable, live one per stage)."""

    renders: dict[Stage, RenderRecord]
    made_with: dict[Stage, Fingerprint | None]
    takes: dict[Stage, tuple[Take, ...]] = field(default_factory=dict)
    #: The stages whose render is the take picked for the cell.
    chosen: set[Stage] = field(default_factory=set)


def merge_cell(shown: Cell, stored: StoredCell | None) -> Cell:
    """The card for ``stored`` renders, keeping what only the render queue knows: a job in
    flight, and a failure, cancellation or uncertain job of this session (their sentences)."""
    stored = stored or StoredCell({}, {})
    slots = {}
    for stage in Stage:
        slot = shown.slot(stage)
        render = stored.renders.get(stage)
        if slot.active or slot.state in (JobState.FAILED, JobState.CANCELLED,
                                         JobState.UNCERTAIN):
            # The queue owns the state; the image under it follows the library.
            slots[stage] = replace(slot, image=render.image_path if render else None,
                                   render_id=render.id if render else None,
                                   takes=stored.takes.get(stage, ()),
                                   chosen=stage in stored.chosen,
                                   approval=render.approval if render else Approval.NONE,
                                   star=render.star if render else False)
        elif render is None:
            slots[stage] = Slot()
        else:
            slots[stage] = Slot(JobState.DONE, image=render.image_path, render_id=render.id,
                                made_with=stored.made_with.get(stage), provider=render.provider,
                                model=render.model, cost=render.cost,
                                takes=stored.takes.get(stage, ()),
                                chosen=stage in stored.chosen, approval=render.approval,
                                star=render.star)
    return Cell(preview=slots[Stage.PREVIEW], final=slots[Stage.FINAL])


def picked_take(library: Library, scene_id: int, stage: Stage) -> int | None:
    """The take picked for the cell while it can be shown (usable, not in the trash)."""
    picked = library.renders.chosen_take(scene_id, stage)
    if picked is None:
        return None
    render = library.renders.get(picked)
    return picked if render.usable and render.trashed is None else None


def read_stored_cells(library: Library, sheet: Sheet, catalog: PresetCatalog, path: Path,
                      aliases: dict[str, str], first_takes: dict[tuple[str, Stage], int],
                      held: dict[tuple[str, Stage], int | None],
                      ) -> tuple[int | None, dict[str, StoredCell]]:
    """The library's side of every card of ``sheet`` (linked from ``path``), by scene name:
    (the sheet's record id, the scenes' stored cells); (None, {}) when the library has no
    record of it. ``aliases`` maps a scene's old names to its name now; ``first_takes`` are
    takes being picked (shown already); ``held`` are cards whose takes are under way (each
    keeps the render it showed). Library reads only: it runs on a worker thread.
    """
    record = library.sheets.for_file(str(path))
    if record is None:
        return None, {}
    out: dict[str, StoredCell] = {}
    counts = library.renders.take_counts(record.id)
    for cell in library.renders.cells(record.id):
        render = cell.render
        name = aliases.get(cell.scene.name, cell.scene.name)
        stored = out.setdefault(name, StoredCell({}, {}))
        known = stored.renders.get(cell.stage)
        if known is not None and (known.created, known.id) > (render.created, render.id):
            continue  # the scene's record under its new name has a newer one
        made_with = render.fingerprint
        scene = sheet.scene(name)
        if made_with is None and scene is not None:
            # Made before fingerprints were kept: what its record proves.
            made_with = legacy_fingerprint(library, sheet, scene, render, catalog)
        stored.renders[cell.stage] = render
        stored.made_with[cell.stage] = made_with
        if counts.get((cell.scene.id, cell.stage), 0) > 1:
            takes = library.renders.takes(cell.scene.id, cell.stage)
            stored.takes[cell.stage] = tuple(
                Take(t.id, t.image_path, t.seed_requested) for t in takes)
            picked = picked_take(library, cell.scene.id, cell.stage)
            first = first_takes.get((name, cell.stage))
            if picked is None and first is not None:
                # Being picked: show it already, not the latest take.
                picked = first if any(t.id == first for t in takes) else None
            # The cell read above may predate the pick (a take picked between the
            # reads): the picked take is what the card shows, never the latest.
            if picked is not None and picked != render.id:
                render = next((t for t in takes if t.id == picked), render)
                stored.renders[cell.stage] = render
                stored.made_with[cell.stage] = render.fingerprint
            if picked == render.id:
                stored.chosen.add(cell.stage)
        key = (name, cell.stage)
        if key in held and cell.stage not in stored.chosen:  # (a first take ends it)
            # Takes under way, none heard of yet: the card keeps what it showed.
            keep = held[key]
            if keep is None:
                del stored.renders[cell.stage]
            elif keep != render.id:
                stored.renders[cell.stage] = library.renders.get(keep)
    return record.id, out
