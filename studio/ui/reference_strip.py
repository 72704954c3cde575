"""The reference strip of the character panel: up to four thumbnails of the character's reference
images, each with its role, arrows to reorder and a remove button; image files dropped on it
(or chosen with Add…) join the set, a thumbnail dragged onto another takes its place.

It binds to :class:`~studio.ui.viewmodels.references.ReferenceSet`; every change is one undoable
step of the document, and a file that cannot be used is one sentence under the strip.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import (
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QMouseEvent,
    QPixmap,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.anchor import REFERENCES_MAX, ReferenceImage, ReferenceRole
from studio.ui.viewmodels.images import ImageCache
from studio.ui.viewmodels.references import ROLE_LABELS, ReferenceSet
from studio.ui.widgets import FlowLayout

TILE_MIME = "application/x-studio-reference-index"
THUMB = 76
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp);;All files (*)"


def local_files(mime: QMimeData | None) -> list[Path]:
    """The local files of a drop, whatever their kind: the check says why one cannot be used."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class ReferenceTile(QFrame):
    """One reference image: thumbnail, role, move left/right, remove. ``dragged`` when the
    pointer pulls the thumbnail away (the strip starts the drag)."""

    dragged = Signal(int)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.setObjectName(f"referenceTile-{index}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAcceptDrops(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(3)
        self.thumb = QLabel(self)
        self.thumb.setObjectName(f"referenceThumb-{index}")
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet("background: palette(alternate-base); border-radius: 4px;")
        column.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignHCenter)
        self.role = QComboBox(self)
        self.role.setObjectName(f"referenceRole-{index}")
        for role, label in ROLE_LABELS.items():
            self.role.addItem(label, role.value)
        self.role.setToolTip("What this image shows of the character")
        column.addWidget(self.role)
        row = QHBoxLayout()
        row.setSpacing(2)
        self.left = QToolButton(self)
        self.left.setObjectName(f"referenceLeft-{index}")
        self.left.setText("◀")
        self.left.setToolTip("Move earlier (the first images count most)")
        self.right = QToolButton(self)
        self.right.setObjectName(f"referenceRight-{index}")
        self.right.setText("▶")
        self.right.setToolTip("Move later")
        self.remove = QToolButton(self)
        self.remove.setObjectName(f"referenceRemove-{index}")
        self.remove.setText("✕")
        self.remove.setToolTip("Remove this reference image (Undo brings it back)")
        row.addWidget(self.left)
        row.addWidget(self.right)
        row.addStretch(1)
        row.addWidget(self.remove)
        column.addLayout(row)
        self._press: QPoint | None = None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is not None and (event.position().toPoint() - self._press
                                        ).manhattanLength() > 8:
            self._press = None
            self.dragged.emit(self.index)
        super().mouseMoveEvent(event)


class ReferenceStrip(QWidget):
    """The reference set of the open sheet's character."""

    def __init__(self, references: ReferenceSet, images: ImageCache | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("referenceStrip")
        self.setAcceptDrops(True)
        self._refs = references
        self._images = images
        #: Asks for image files to add (tests answer it).
        self.choose_files: Callable[[QWidget], list[Path]] = _choose_files
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        # The tiles wrap onto more lines in a narrow panel.
        self.flow_box = QWidget(self)
        self.flow = FlowLayout(self.flow_box, spacing=4)
        column.addWidget(self.flow_box)
        self.tiles: list[ReferenceTile] = []
        self.drop_zone = QFrame(self.flow_box)
        self.drop_zone.setObjectName("referenceDropZone")
        self.drop_zone.setFrameShape(QFrame.Shape.StyledPanel)
        self.drop_zone.setStyleSheet("#referenceDropZone { border: 1px dashed palette(mid); "
                                     "border-radius: 6px; }")
        zone = QVBoxLayout(self.drop_zone)
        zone.setContentsMargins(6, 6, 6, 6)
        self.drop_hint = QLabel(self.drop_zone)
        self.drop_hint.setWordWrap(True)
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        zone.addWidget(self.drop_hint, 1)
        self.add_button = QPushButton("Add…", self.drop_zone)
        self.add_button.setObjectName("referenceAdd")
        self.add_button.setToolTip("Choose PNG, JPEG or WebP images of the character")
        self.add_button.clicked.connect(self.add_clicked)
        zone.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.flow.add(self.drop_zone)
        self.error = QLabel(self)
        self.error.setObjectName("referenceError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.error.hide()
        column.addWidget(self.error)
        references.message.connect(self.show_error)
        references.busyChanged.connect(lambda _busy: self.refresh())
        references.changed.connect(self.refresh)
        if images is not None:
            images.loaded.connect(self._image_loaded)
            images.failedToLoad.connect(lambda path, _why: self._image_loaded(path))
        self._shown: tuple[ReferenceImage, ...] | None = None
        self.refresh()

    # ------------------------------------------------------------------ binding
    def refresh(self) -> None:
        refs = self._refs.references
        if refs != self._shown:
            self._shown = refs
            self._rebuild(refs)
        room = REFERENCES_MAX - len(refs)
        self.drop_zone.setVisible(room > 0)
        self.add_button.setEnabled(not self._refs.busy)
        if self._refs.busy:
            self.drop_hint.setText("Checking…")
        elif refs:
            self.drop_hint.setText(f"Drop {room} more")
        else:
            self.drop_hint.setText("Drop up to 4 images of the character here: a face, the "
                                   "full body, an outfit")
        self.drop_zone.setFixedSize(THUMB + 24 if refs else 250, THUMB + 60)

    def _rebuild(self, refs: tuple[ReferenceImage, ...]) -> None:
        while self.flow.takeAt(0) is not None:
            pass
        for tile in self.tiles:
            tile.hide()
            tile.deleteLater()
        self.tiles = []
        for i, ref in enumerate(refs):
            tile = ReferenceTile(i, self.flow_box)
            tile.role.setCurrentIndex(max(0, tile.role.findData(ref.role.value)))
            tile.role.activated.connect(
                lambda _n, t=tile: self._refs.set_role(
                    t.index, ReferenceRole(str(t.role.currentData()))))
            tile.left.setEnabled(i > 0)
            tile.right.setEnabled(i < len(refs) - 1)
            tile.left.clicked.connect(lambda _=False, k=i: self._refs.move(k, k - 1))
            tile.right.clicked.connect(lambda _=False, k=i: self._refs.move(k, k + 1))
            tile.remove.clicked.connect(lambda _=False, k=i: self._refs.remove(k))
            tile.dragged.connect(self._start_drag)
            tile.setToolTip(f"{ref.path}\n{ROLE_LABELS[ref.role]} · image {ref.short or '…'}")
            self._show_thumb(tile, ref)
            self.flow.add(tile)
            tile.show()
            self.tiles.append(tile)
        self.flow.add(self.drop_zone)
        self.flow_box.updateGeometry()

    def _show_thumb(self, tile: ReferenceTile, ref: ReferenceImage) -> None:
        if self._images is None:
            tile.thumb.setText(ROLE_LABELS[ref.role])
            return
        path = self._refs.file_of(ref)
        image = self._images.get(path, THUMB * 2)
        if image is None:
            problem = self._images.problem(path, THUMB * 2)
            tile.thumb.setText("?" if problem else "…")
            tile.thumb.setToolTip(problem)
            return
        pix = QPixmap.fromImage(image).scaled(
            THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation)
        tile.thumb.setPixmap(pix)

    def _image_loaded(self, path: str) -> None:
        for tile, ref in zip(self.tiles, self._refs.references, strict=False):
            if str(self._refs.file_of(ref)) == path:
                self._show_thumb(tile, ref)

    def show_error(self, sentence: str) -> None:
        self.error.setText(sentence)
        self.error.setVisible(bool(sentence))

    # ------------------------------------------------------------------ adding
    def add_clicked(self) -> None:
        files = self.choose_files(self)
        if files:
            self.add(files)

    def add(self, files: list[Path]) -> None:
        self.show_error("")
        self._refs.add_files(files)

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._offer(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._offer(event)

    @staticmethod
    def _offer(event: QDragMoveEvent) -> None:
        """Take files (any kind: the check says why one cannot be used) and tiles."""
        mime = event.mimeData()
        if local_files(mime) or mime.hasFormat(TILE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        if mime.hasFormat(TILE_MIME):
            source = int(bytes(mime.data(TILE_MIME).data()).decode() or -1)
            self._refs.move(source, self.index_at(event.position().toPoint()))
            event.acceptProposedAction()
            return
        files = local_files(mime)
        if files:
            event.acceptProposedAction()
            self.add(files)
            return
        event.ignore()

    def index_at(self, pos: QPoint) -> int:
        """The place a tile dropped at ``pos`` takes: the tile under it, else the last."""
        for tile in self.tiles:
            if tile.geometry().translated(self.flow_box.pos()).contains(pos):
                return tile.index
        return max(0, len(self.tiles) - 1)

    def _start_drag(self, index: int) -> None:
        mime = QMimeData()
        mime.setData(TILE_MIME, QByteArray(str(index).encode()))
        drag = QDrag(self)
        drag.setMimeData(mime)
        pix = self.tiles[index].thumb.pixmap()
        if pix is not None and not pix.isNull():
            drag.setPixmap(pix)
        drag.exec(Qt.DropAction.MoveAction)


def _choose_files(parent: QWidget) -> list[Path]:
    from PySide6.QtWidgets import QFileDialog  # its class is read when it first opens

    names, _ = QFileDialog.getOpenFileNames(parent, "Add reference images", str(Path.home()),
                                            IMAGE_FILTER)
    return [Path(n) for n in names]
