"""Every final of the sheet in one grid, to judge whether the character stays the same person.

Scenes without a final show their preview, marked as such; scenes with neither are left out. The
character's identity (its reference images, else its approved renders) comes first, in a row of
its own; each tile carries its identity badge, and the grid can be sorted by distance (furthest
first) and narrowed to the panels that drift. It binds to
:class:`~studio.ui.viewmodels.consistency.ConsistencyModel`.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui import card_badges
from studio.ui.viewmodels.consistency import ConsistencyModel, IdentityImage, Tile
from studio.ui.viewmodels.images import ImageCache

TILE = 260
SOURCE_TILE = 96


class ConsistencyView(QWidget):
    def __init__(self, tiles: ConsistencyModel, images: ImageCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consistencyView")
        self.setWindowTitle("Consistency")
        self._tiles = tiles
        self._images = images
        layout = QVBoxLayout(self)
        self.identity_label = QLabel(self)
        self.identity_label.setObjectName("consistencyIdentity")
        self.identity_label.setWordWrap(True)
        layout.addWidget(self.identity_label)
        self.identity_row = QListWidget(self)
        self.identity_row.setObjectName("consistencySource")
        self.identity_row.setViewMode(QListView.ViewMode.IconMode)
        self.identity_row.setFlow(QListView.Flow.LeftToRight)
        self.identity_row.setWrapping(False)
        self.identity_row.setIconSize(QSize(SOURCE_TILE, SOURCE_TILE))
        self.identity_row.setMovement(QListView.Movement.Static)
        self.identity_row.setFixedHeight(SOURCE_TILE + 56)
        self.identity_row.setSpacing(4)
        self.identity_row.setWordWrap(True)
        self.identity_row.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.identity_row.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.identity_row.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.identity_row)
        controls = QHBoxLayout()
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        controls.addWidget(self.summary, 1)
        self.sort_box = QCheckBox("Sort by distance, furthest first", self)
        self.sort_box.setObjectName("consistencySort")
        self.sort_box.setToolTip("The panels least like the character's identity first")
        self.sort_box.toggled.connect(tiles.set_sort_by_distance)
        self.drift_box = QCheckBox("Only drifting", self)
        self.drift_box.setObjectName("consistencyOnlyDrifting")
        self.drift_box.setToolTip("Only the panels judged drifting or a different person (a "
                                  "panel that cannot be scored is never counted)")
        self.drift_box.toggled.connect(tiles.set_only_drifting)
        controls.addWidget(self.sort_box)
        controls.addWidget(self.drift_box)
        layout.addLayout(controls)
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
            tip = f"{tile.scene}: seed, prompt and settings in the inspector"
            if tile.score is not None:
                tip = f"{tile.score.explanation}\n{tip}"
            item.setToolTip(tip)
            item.setSizeHint(QSize(TILE + 16, TILE + 40))
            self._set_icon(item, tile)
            self.grid.addItem(item)
        self.identity_row.clear()
        for source in self._tiles.identity:
            item = QListWidgetItem(source.caption)
            item.setData(Qt.ItemDataRole.UserRole, str(source.image))
            item.setToolTip(str(source.image))
            item.setSizeHint(QSize(SOURCE_TILE + 84, SOURCE_TILE + 44))
            self._set_source_icon(item, source)
            self.identity_row.addItem(item)
        line = self._tiles.identity_line
        self.identity_label.setText(line)
        self.identity_label.setVisible(bool(line))
        self.identity_row.setVisible(bool(self._tiles.identity))
        self.summary.setText(self._tiles.summary)

    def paths(self) -> list[str]:
        return [self.grid.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.grid.count())]

    def labels(self) -> list[str]:
        return [self.grid.item(i).text() for i in range(self.grid.count())]

    def identity_paths(self) -> list[str]:
        return [self.identity_row.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.identity_row.count())]

    def _set_icon(self, item: QListWidgetItem, tile: Tile) -> None:
        pix = _tile(self._images.get(tile.image, TILE), TILE)
        text = card_badges.identity_text_of(tile.score)
        if text is not None and tile.score is not None:
            painter = QPainter(pix)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            card_badges.paint_identity(painter, pix.rect(), tile.score)
            painter.end()
        item.setIcon(QIcon(pix))

    def _set_source_icon(self, item: QListWidgetItem, source: IdentityImage) -> None:
        item.setIcon(QIcon(_tile(self._images.get(source.image, SOURCE_TILE * 2),
                                 SOURCE_TILE)))

    def _image_loaded(self, path: str) -> None:
        tiles = {str(t.image): t for t in self._tiles.tiles}
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == path and path in tiles:
                self._set_icon(item, tiles[path])
        sources = {str(s.image): s for s in self._tiles.identity}
        for i in range(self.identity_row.count()):
            item = self.identity_row.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == path and path in sources:
                self._set_source_icon(item, sources[path])


def _tile(image: QImage | None, side: int) -> QPixmap:
    pix = QPixmap(side, side)
    pix.fill(QColor(50, 50, 50))
    if image is not None:
        p = QPainter(pix)
        scaled = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        p.drawImage((side - scaled.width()) // 2, (side - scaled.height()) // 2, scaled)
        p.end()
    return pix
