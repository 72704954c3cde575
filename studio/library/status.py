"""Where every cell of a sheet stands: each scene's latest preview and final, and whether it is
out of date against the sheet as it is now (``studio status``; the one staleness rule)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Sheet

from .binding import find_sheet_record, render_staleness
from .library import Library
from .models import RenderRecord
from .recording import reference_data


@dataclass(frozen=True, slots=True)
class CellStatus:
    """One scene at one stage: the render shown for it, and why it is out of date."""

    render: RenderRecord
    reasons: tuple[str, ...]
    takes: int
    #: ``{"distance", "verdict"}`` of the render's identity score; None when not scored.
    identity: Mapping[str, Any] | None = None

    def to_data(self) -> dict[str, Any]:
        """The ``CELL`` object of ``studio status --json`` (DESIGN.md)."""
        render = self.render
        return {
            "render": render.id,
            "state": render.state.value,
            "seed": render.seed_requested,
            "seed_returned": render.seed_returned,
            "provider": render.provider,
            "model": render.model,
            "image": None if render.image_path is None else str(render.image_path),
            "approval": render.approval.value,
            "star": render.star,
            "out_of_date": bool(self.reasons),
            "reasons": list(self.reasons),
            "references": reference_data(render.references),
            "takes": self.takes,
            "identity": None if self.identity is None else dict(self.identity),
        }


@dataclass(frozen=True, slots=True)
class SceneStatus:
    scene: str
    cells: Mapping[Stage, CellStatus]

    def to_data(self) -> dict[str, Any]:
        return {"scene": self.scene,
                **{stage.value: (None if stage not in self.cells
                                 else self.cells[stage].to_data()) for stage in Stage}}


#: A render's identity figures (``{"distance", "verdict"}``), or None when it is not scored.
IdentityLookup = Callable[[RenderRecord], Mapping[str, Any] | None]


def sheet_status(library: Library | None, sheet: Sheet, path: Path,
                 catalog: PresetCatalog,
                 identity: IdentityLookup | None = None) -> list[SceneStatus]:
    """Every scene of ``sheet`` in sheet order with its latest preview and final (none where
    the library has nothing, or when there is no library at all). ``identity`` gives each
    cell's identity score (the identity measure lives above the library)."""
    cells: dict[tuple[str, Stage], CellStatus] = {}
    if library is not None:
        record = find_sheet_record(library, sheet, path)
        if record is not None:
            takes = library.renders.take_counts(record.id)
            for cell in library.renders.cells(record.id):
                scene = sheet.scene(cell.scene.name)
                if scene is None:
                    continue
                reasons = render_staleness(library, sheet, scene, cell.render, catalog)
                cells[(scene.name, cell.stage)] = CellStatus(
                    cell.render, reasons, takes.get((cell.scene.id, cell.stage), 1),
                    None if identity is None else identity(cell.render))
    return [SceneStatus(scene.name, {stage: cells[(scene.name, stage)] for stage in Stage
                                     if (scene.name, stage) in cells})
            for scene in sheet.scenes]
