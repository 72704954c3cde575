"""The consistency grid's view-model: every scene's final (its preview where there is none), with
its verdict, star and identity score, taken from the cards; so a verdict, a trash or a new final
made anywhere shows here too (the cards follow the library's announcements).

The character's identity (what every tile is measured against: the reference images, else the
approved renders) comes first; the tiles can be sorted by their distance from it, furthest first,
and narrowed to those that drift. A tile that cannot be scored is never counted as drifting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from studio.core.lifecycle import Approval
from studio.core.reference_files import reference_file
from studio.core.request import Stage
from studio.ui.viewmodels.references import ROLE_LABELS
from studio.ui.viewmodels.scenes import SceneListModel

if TYPE_CHECKING:
    from studio.identity import IdentityScore
    from studio.ui.viewmodels.identity import RenderFacts

#: The verdicts the "only drifting" filter keeps.
DRIFTED = ("drifting", "different person")


@dataclass(frozen=True, slots=True)
class Tile:
    scene: str
    image: Path
    is_final: bool
    approval: Approval
    star: bool
    render_id: int | None = None
    score: IdentityScore | None = None

    @property
    def label(self) -> str:
        marks = ("★ " if self.star else "") + {Approval.APPROVED: "✓ ",
                                               Approval.REJECTED: "✗ "}.get(self.approval, "")
        return f"{marks}{self.scene}" + ("" if self.is_final else " (preview)")

    @property
    def distance(self) -> float | None:
        return self.score.distance if self.score is not None else None

    @property
    def drifted(self) -> bool:
        return self.score is not None and self.score.verdict.value in DRIFTED


@dataclass(frozen=True, slots=True)
class IdentityImage:
    """One image the character's identity is made from, as the grid's first row shows it."""

    image: Path
    caption: str


class ConsistencyModel(QObject):
    """``tilesChanged`` when what the grid shows changed."""

    tilesChanged = Signal()

    def __init__(self, model: SceneListModel, facts: RenderFacts | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._facts = facts
        self.tiles: tuple[Tile, ...] = ()
        self.identity: tuple[IdentityImage, ...] = ()
        self.sort_by_distance = False
        self.only_drifting = False
        self._scored: tuple[Tile, ...] = ()
        model.cellsChanged.connect(self.refresh)
        model.modelReset.connect(self.refresh)
        # A method, not a lambda: Qt drops the connection when this view-model is destroyed
        # (the scene model outlives the consistency window).
        model.dataChanged.connect(self._cells_changed)
        if facts is not None:
            facts.changed.connect(self.refresh)
        self.refresh()

    def _cells_changed(self, *_: object) -> None:
        self.refresh()

    @property
    def scene_count(self) -> int:
        return self._model.rowCount()

    def set_sort_by_distance(self, on: bool) -> None:
        if on != self.sort_by_distance:
            self.sort_by_distance = on
            self.refresh(force=True)

    def set_only_drifting(self, on: bool) -> None:
        if on != self.only_drifting:
            self.only_drifting = on
            self.refresh(force=True)

    def _score(self, render_id: int | None) -> IdentityScore | None:
        fact = self._facts.fact(render_id) if self._facts is not None else None
        return fact.score if fact is not None else None

    def refresh(self, force: bool = False) -> None:
        every = []
        for name in self._model.names():
            cell = self._model.cell(name)
            for slot, is_final in ((cell.final, True), (cell.preview, False)):
                if slot.done and slot.image is not None:
                    every.append(Tile(name, slot.image, is_final, cell.approval, cell.star,
                                      slot.render_id, self._score(slot.render_id)))
                    break
        self._scored = tuple(every)
        tiles = [t for t in every if t.drifted] if self.only_drifting else list(every)
        if self.sort_by_distance:
            # Furthest first; tiles without a distance (not scorable, not scored yet) last.
            tiles.sort(key=lambda t: (t.distance is None, -(t.distance or 0.0)))
        identity = self._identity_images(every)
        if force or tuple(tiles) != self.tiles or identity != self.identity:
            self.tiles = tuple(tiles)
            self.identity = identity
            self.tilesChanged.emit()

    def _identity_images(self, tiles: list[Tile]) -> tuple[IdentityImage, ...]:
        source = self._facts.source if self._facts is not None else None
        kind = source.kind.value if source is not None else "none"
        if kind == "references":
            doc = self._model.document
            out = []
            for ref in doc.sheet.character.references:
                path = Path(ref.path)
                if not path.is_absolute() and doc.path is not None:
                    path = reference_file(doc.path, ref)
                out.append(IdentityImage(path, f"Reference · {ROLE_LABELS[ref.role].lower()}"))
            return tuple(out)
        if kind == "approved":
            approved = []
            for name in self._model.names():
                cell = self._model.cell(name)
                if cell.approval is not Approval.APPROVED:
                    continue
                for stage in (Stage.FINAL, Stage.PREVIEW):
                    slot = cell.slot(stage)
                    if slot.done and slot.image is not None:
                        approved.append(IdentityImage(slot.image, f"Approved · {name}"))
                        break
            return tuple(approved)
        return ()

    @property
    def identity_line(self) -> str:
        """Where the character's identity comes from, or why there is none."""
        facts = self._facts
        if facts is None:
            return ""
        if facts.unavailable_reason:
            return facts.unavailable_reason
        source = facts.source
        if source is None:
            return "Scoring the renders…" if facts.busy else ""
        if source.kind.value == "none":
            return ("No identity yet: add reference images of the face in the character panel, "
                    "or approve a render, to measure every panel against it.")
        return f"Identity: {source.describe()}; every panel is measured against it."

    @property
    def summary(self) -> str:
        finals = sum(1 for t in self._scored if t.is_final)
        previews = len(self._scored) - finals
        text = (f"{finals} final(s) and {previews} preview(s) of {self.scene_count} scenes: "
                "does every panel show the same person?")
        drifted = sum(1 for t in self._scored if t.drifted)
        unscorable = sum(1 for t in self._scored
                         if t.score is not None and t.score.distance is None)
        if any(t.score is not None for t in self._scored):
            text += f" {drifted} drifting" + (f", {unscorable} not scorable" if unscorable
                                               else "") + "."
        if self.only_drifting:
            text += f" Showing the {len(self.tiles)} that drift."
        return text
