"""The consistency grid's view-model: every scene's final (its preview where there is none), with
its verdict and star, taken from the cards; so a verdict, a trash or a new final made anywhere
shows here too (the cards follow the library's announcements)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.core.lifecycle import Approval
from studio.ui.viewmodels.scenes import SceneListModel


@dataclass(frozen=True, slots=True)
class Tile:
    scene: str
    image: Path
    is_final: bool
    approval: Approval
    star: bool

    @property
    def label(self) -> str:
        marks = ("★ " if self.star else "") + {Approval.APPROVED: "✓ ",
                                               Approval.REJECTED: "✗ "}.get(self.approval, "")
        return f"{marks}{self.scene}" + ("" if self.is_final else " (preview)")


class ConsistencyModel(QObject):
    """``tilesChanged`` when what the grid shows changed."""

    tilesChanged = Signal()

    def __init__(self, model: SceneListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.tiles: tuple[Tile, ...] = ()
        model.cellsChanged.connect(self.refresh)
        model.modelReset.connect(self.refresh)
        model.dataChanged.connect(lambda *_: self.refresh())
        self.refresh()

    @property
    def scene_count(self) -> int:
        return self._model.rowCount()

    def refresh(self) -> None:
        tiles = []
        for name in self._model.names():
            cell = self._model.cell(name)
            for slot, is_final in ((cell.final, True), (cell.preview, False)):
                if slot.done and slot.image is not None:
                    tiles.append(Tile(name, slot.image, is_final, cell.approval, cell.star))
                    break
        if tuple(tiles) != self.tiles:
            self.tiles = tuple(tiles)
            self.tilesChanged.emit()

    @property
    def summary(self) -> str:
        finals = sum(1 for t in self.tiles if t.is_final)
        previews = len(self.tiles) - finals
        return (f"{finals} final(s) and {previews} preview(s) of {self.scene_count} scenes: "
                "does every panel show the same person?")
