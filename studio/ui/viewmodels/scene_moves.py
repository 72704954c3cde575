"""Moving the scene grid's rows: what a card can do (select, drag), the drag's data (the rows, as
text), a drop, and the move itself, which the sheet's document then follows.

A part of :class:`~studio.ui.viewmodels.scenes.SceneListModel` (a base class of it): the model
owns the rows and their cells, this how a row moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from studio.core.sheet import Scene

if TYPE_CHECKING:
    from studio.ui.viewmodels.document import SheetDocument

    _Model = QAbstractListModel
else:
    _Model = object

ROW_MIME = "application/x-studio-scene-rows"

Index = QModelIndex | QPersistentModelIndex


class SceneRowMoves(_Model):
    """Drag-and-drop of one scene row to another place (the model's ``_scenes`` in order)."""

    _scenes: list[Scene]
    _doc: SheetDocument
    if TYPE_CHECKING:
        def _refresh_fingerprints(self) -> None: ...

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        return base | Qt.ItemFlag.ItemIsDragEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [ROW_MIME]

    def mimeData(self, indexes: Any) -> QMimeData:
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime = QMimeData()
        mime.setData(ROW_MIME, QByteArray(",".join(map(str, rows)).encode()))
        return mime

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: Index) -> bool:
        return data.hasFormat(ROW_MIME)

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: Index) -> bool:
        if not data.hasFormat(ROW_MIME):
            return False
        raw = bytes(data.data(ROW_MIME).data()).decode()
        rows = [int(r) for r in raw.split(",") if r]
        if row < 0:
            row = parent.row() if parent.isValid() else len(self._scenes)
        if len(rows) == 1:
            self.moveRows(QModelIndex(), rows[0], 1, QModelIndex(), row)
        # The move is done; False keeps the view from removing the source rows itself.
        return False

    def moveRows(self, source_parent: Index, source_row: int, count: int,
                 destination_parent: Index, destination_child: int) -> bool:
        if count != 1 or destination_child in (source_row, source_row + 1):
            return False
        if not 0 <= source_row < len(self._scenes):
            return False
        destination_child = max(0, min(destination_child, len(self._scenes)))
        if not self.beginMoveRows(QModelIndex(), source_row, source_row, QModelIndex(),
                                  destination_child):
            return False
        scene = self._scenes.pop(source_row)
        self._scenes.insert(destination_child - 1 if destination_child > source_row
                            else destination_child, scene)
        self._refresh_fingerprints()
        self.endMoveRows()
        # The document follows; its change then matches our order and only repaints.
        self._doc.move_scene(source_row, destination_child)
        return True
