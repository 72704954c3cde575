"""Every final of the sheet in one grid, to judge whether the character stays the same person.

Scenes without a final show their preview, marked as such; scenes with neither are left out. It
binds to :class:`~studio.ui.viewmodels.consistency.ConsistencyModel`.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from studio.ui.viewmodels.consistency import ConsistencyModel, Tile
from studio.ui.viewmodels.images import ImageCache

TILE = 260


class ConsistencyView(QWidget):
    def __init__(self, tiles: ConsistencyModel, images: ImageCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consistencyView")
        self.setWindowTitle("Consistency")
        self._tiles = tiles
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
        tiles.tilesChanged.connect(self.refresh)
        self.resize(1180, 760)
        self.refresh()

    def refresh(self) -> None:
        self.grid.clear()
        for tile in self._tiles.tiles:
            item = QListWidgetItem(tile.label)
            item.setData(Qt.ItemDataRole.UserRole, str(tile.image))
            item.setToolTip(f"{tile.scene}: seed, prompt and settings in the inspector")
            item.setSizeHint(QSize(TILE + 16, TILE + 40))
            self._set_icon(item, tile)
            self.grid.addItem(item)
        self.summary.setText(self._tiles.summary)

    def paths(self) -> list[str]:
        return [self.grid.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.grid.count())]

    def labels(self) -> list[str]:
        return [self.grid.item(i).text() for i in range(self.grid.count())]

    def _set_icon(self, item: QListWidgetItem, tile: Tile) -> None:
        item.setIcon(QIcon(_tile(self._images.get(tile.image, TILE))))

    def _image_loaded(self, path: str) -> None:
        tiles = {str(t.image): t for t in self._tiles.tiles}
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == path and path in tiles:
                self._set_icon(item, tiles[path])


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
