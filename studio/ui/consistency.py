"""Every final of the sheet in one grid, to judge whether the character stays the same person.

Scenes without a final show their preview, marked as such; scenes with neither are left out.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from studio.ui.images import ImageCache
from studio.ui.scene_model import SceneListModel

TILE = 260


class ConsistencyView(QWidget):
    def __init__(self, model: SceneListModel, images: ImageCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consistencyView")
        self.setWindowTitle("Consistency")
        self._model = model
        self._images = images
        layout = QVBoxLayout(self)
        self.summary = QLabel(self)
        layout.addWidget(self.summary)
        self.grid = QListWidget(self)
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(TILE, TILE))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSpacing(8)
        self.grid.setUniformItemSizes(True)
        self.grid.setWordWrap(True)
        layout.addWidget(self.grid, 1)
        images.loaded.connect(self._image_loaded)
        model.cellsChanged.connect(self.refresh)
        model.modelReset.connect(self.refresh)
        self.resize(1180, 760)
        self.refresh()

    def refresh(self) -> None:
        self.grid.clear()
        finals = previews = 0
        for name in self._model.names():
            cell = self._model.cell(name)
            slot, label = cell.final, name
            if not slot.done or slot.image is None:
                slot, label = cell.preview, f"{name} (preview)"
                if not slot.done or slot.image is None:
                    continue
                previews += 1
            else:
                finals += 1
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, str(slot.image))
            item.setToolTip(f"{name}: seed, prompt and settings in the inspector")
            item.setSizeHint(QSize(TILE + 16, TILE + 40))
            self._set_icon(item)
            self.grid.addItem(item)
        self.summary.setText(f"{finals} final(s) and {previews} preview(s) of "
                             f"{self._model.rowCount()} scenes: does every panel show the same "
                             "person?")

    def paths(self) -> list[str]:
        return [self.grid.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.grid.count())]

    def _set_icon(self, item: QListWidgetItem) -> None:
        from pathlib import Path

        image = self._images.get(Path(item.data(Qt.ItemDataRole.UserRole)), TILE)
        item.setIcon(QIcon(_tile(image)))

    def _image_loaded(self, path: str) -> None:
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                self._set_icon(item)


def _tile(image: QImage | None) -> QPixmap:
    pix = QPixmap(TILE, TILE)
    pix.fill(QColor(50, 50, 50))
    if image is not None:
        p = QPainter(pix)
        scaled = image.scaled(TILE, TILE, Qt.AspectRatioMode.KeepAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        p.drawImage((TILE - scaled.width()) // 2, (TILE - scaled.height()) // 2, scaled)
        p.end()
    return pix
