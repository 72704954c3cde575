"""The library browser: every project and render with thumbnails, full-text search, filters
(stage, provider, approval, stars, trash), verdicts, trash and restore, and opening a render's
sheet. Queries and thumbnails run on worker threads; the list loads a page at a time.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core.request import Stage
from studio.core.settings import PROVIDER_IDS
from studio.library import Approval, Library, RenderFilter, RenderPage, RenderRecord
from studio.ui.images import decode_scaled
from studio.ui.tasks import Background

THUMB = 176
PAGE = 120

Index = QModelIndex | QPersistentModelIndex


def _thumbnail(library: Library, render: RenderRecord) -> QImage:
    """The render's library thumbnail, made if needed, read as an image (worker thread)."""
    path = library.files.thumbnail(render).result(timeout=60)
    return decode_scaled(Path(path), THUMB)


class RenderListModel(QAbstractListModel):
    """Renders matching a filter, newest first, loaded a page at a time."""

    pageLoaded = Signal()
    searchFailed = Signal(str)

    def __init__(self, library: Library, background: Background, parent: Any = None) -> None:
        super().__init__(parent)
        self._library = library
        self._bg = background
        self._items: list[RenderRecord] = []
        self._next: int | None = None
        self._filter = RenderFilter()
        self._generation = 0
        self._loading = False
        self._thumbs: dict[int, QPixmap] = {}
        self._asked: set[int] = set()

    # ------------------------------------------------------------------ loading
    @property
    def loading(self) -> bool:
        return self._loading or bool(self._bg.pending)

    def set_filter(self, where: RenderFilter) -> None:
        self._filter = where
        self._generation += 1
        self.beginResetModel()
        self._items = []
        self._next = None
        self.endResetModel()
        self._load(0)

    def refresh(self) -> None:
        self.set_filter(self._filter)

    def _load(self, offset: int) -> None:
        self._loading = True
        generation, where = self._generation, self._filter
        self._bg.run(partial(self._library.renders.page, where, limit=PAGE, offset=offset),
                     partial(self._page, generation), partial(self._failed, generation),
                     what="Searching the library")

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self._loading = False
            self.searchFailed.emit(f"The library search failed: {exc}")

    def _page(self, generation: int, page: RenderPage) -> None:
        if generation != self._generation:
            return
        self._loading = False
        if page.items:
            first = len(self._items)
            self.beginInsertRows(QModelIndex(), first, first + len(page.items) - 1)
            self._items.extend(page.items)
            self.endInsertRows()
        self._next = page.next_offset
        self.pageLoaded.emit()

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._next is not None and not self._loading

    def fetchMore(self, parent: Index) -> None:
        if self._next is not None and not self._loading:
            self._load(self._next)

    # ------------------------------------------------------------------ records
    def render_at(self, row: int) -> RenderRecord:
        return self._items[row]

    def renders(self) -> list[RenderRecord]:
        return list(self._items)

    def replace_record(self, record: RenderRecord) -> None:
        for row, item in enumerate(self._items):
            if item.id == record.id:
                self._items[row] = record
                index = self.index(row)
                self.dataChanged.emit(index, index)

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            marks = ("★ " if r.star else "") + {"approved": "✓ ", "rejected": "✗ "}.get(
                r.approval.value, "")
            name = r.scene_name or "(imported)"
            return f"{marks}{name}\n{r.stage.value} · {r.provider}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{r.character_name} · {r.scene_name}\n{r.prompt}\n\n"
                    f"seed {r.seed} · {r.width}x{r.height} · {r.model} · "
                    f"{r.created.astimezone():%Y-%m-%d %H:%M}")
        if role == Qt.ItemDataRole.DecorationRole:
            pix = self._thumbs.get(r.id)
            if pix is None:
                self._ask_thumbnail(r)
                return QIcon(_blank())
            return QIcon(pix)
        if role == Qt.ItemDataRole.UserRole:
            return r
        return None

    def _ask_thumbnail(self, render: RenderRecord) -> None:
        if render.id in self._asked or render.image_path is None:
            return
        self._asked.add(render.id)
        self._bg.run(partial(_thumbnail, self._library, render),
                     partial(self._thumb_ready, render.id), lambda exc: None,
                     what="Making a thumbnail")

    def _thumb_ready(self, render_id: int, image: QImage) -> None:
        self._thumbs[render_id] = _framed(image)
        for row, item in enumerate(self._items):
            if item.id == render_id:
                index = self.index(row)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def _blank() -> QPixmap:
    pix = QPixmap(THUMB, THUMB)
    pix.fill(QColor(60, 60, 60))
    return pix


def _framed(image: QImage) -> QPixmap:
    pix = _blank()
    p = QPainter(pix)
    p.drawImage((THUMB - image.width()) // 2, (THUMB - image.height()) // 2, image)
    p.end()
    return pix


class LibraryBrowser(QWidget):
    """``openSheetRequested(path)`` when the user opens a render's sheet."""

    openSheetRequested = Signal(object)
    importRequested = Signal(list)

    def __init__(self, library: Library, background: Background,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryBrowser")
        self.setWindowTitle("Library")
        self.setAcceptDrops(True)
        self.library = library
        self._bg = background
        self.model = RenderListModel(library, background, self)

        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setObjectName("librarySearch")
        self.search.setPlaceholderText("Search prompts, scenes, characters, notes, tags…")
        self.search.setClearButtonEnabled(True)
        bar.addWidget(self.search, 3)
        self.stage = QComboBox(self)
        self.stage.addItem("Any stage", None)
        for stage in Stage:
            self.stage.addItem(stage.value.title() + "s", stage)
        self.provider = QComboBox(self)
        self.provider.addItem("Any provider", None)
        for pid in (*PROVIDER_IDS, "import"):
            self.provider.addItem(pid, pid)
        self.approval = QComboBox(self)
        self.approval.addItem("Any verdict", None)
        for approval in Approval:
            label = "No verdict" if approval is Approval.NONE else approval.value.title()
            self.approval.addItem(label, approval)
        self.starred = QCheckBox("Starred", self)
        self.trash = QCheckBox("Trash", self)
        for widget in (self.stage, self.provider, self.approval, self.starred, self.trash):
            bar.addWidget(widget)
        layout.addLayout(bar)

        split = QSplitter(self)
        self.projects = QListWidget(split)
        self.projects.setObjectName("libraryProjects")
        self.projects.setMaximumWidth(260)
        self.view = QListView(split)
        self.view.setObjectName("libraryRenders")
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setGridSize(QSize(THUMB + 24, THUMB + 52))
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setWordWrap(True)
        self.view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        split.addWidget(self.projects)
        split.addWidget(self.view)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)

        actions = QHBoxLayout()
        self.status = QLabel(self)
        actions.addWidget(self.status, 1)
        self.buttons: dict[str, QPushButton] = {}
        for key, text in (("star", "Star"), ("approve", "Approve"), ("reject", "Reject"),
                          ("trash", "Move to trash"), ("restore", "Restore"),
                          ("open", "Open its sheet")):
            button = QPushButton(text, self)
            button.setObjectName(f"library-{key}")
            actions.addWidget(button)
            self.buttons[key] = button
        layout.addLayout(actions)
        self.buttons["star"].clicked.connect(self._star)
        self.buttons["approve"].clicked.connect(lambda: self._verdict(Approval.APPROVED))
        self.buttons["reject"].clicked.connect(lambda: self._verdict(Approval.REJECTED))
        self.buttons["trash"].clicked.connect(lambda: self._trash(True))
        self.buttons["restore"].clicked.connect(lambda: self._trash(False))
        self.buttons["open"].clicked.connect(self._open_sheet)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        for combo in (self.stage, self.provider, self.approval):
            combo.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.starred.toggled.connect(lambda _b: self.apply_filter())
        self.trash.toggled.connect(lambda _b: self.apply_filter())
        self.projects.currentRowChanged.connect(lambda _r: self.apply_filter())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.model.pageLoaded.connect(self._update_status)
        self.model.searchFailed.connect(self.status.setText)
        self.model.modelReset.connect(self._update_status)
        self.resize(1180, 780)
        self.reload_projects()
        self.apply_filter()

    # ------------------------------------------------------------------ filters
    @property
    def busy(self) -> bool:
        return self._timer.isActive() or self.model.loading

    def reload_projects(self) -> None:
        self._bg.run(self.library.projects.all, self._projects_loaded, what="Listing the projects")

    def _projects_loaded(self, projects: list[Any]) -> None:
        current = self.projects.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.projects.blockSignals(True)
        self.projects.clear()
        all_item = QListWidgetItem("All projects")
        all_item.setData(Qt.ItemDataRole.UserRole, None)
        self.projects.addItem(all_item)
        for project in projects:
            item = QListWidgetItem(f"{project.name}  ({project.render_count})")
            item.setData(Qt.ItemDataRole.UserRole, project.id)
            self.projects.addItem(item)
            if project.id == keep:
                self.projects.setCurrentItem(item)
        if self.projects.currentItem() is None:
            self.projects.setCurrentRow(0)
        self.projects.blockSignals(False)

    def current_filter(self) -> RenderFilter:
        item = self.projects.currentItem()
        text = self.search.text().strip()
        stage, approval = self.stage.currentData(), self.approval.currentData()
        return RenderFilter(
            text=text or None,
            project_id=item.data(Qt.ItemDataRole.UserRole) if item is not None else None,
            stage=Stage(stage) if stage else None,
            provider=self.provider.currentData() or None,
            approval=Approval(approval) if approval else None,
            starred=True if self.starred.isChecked() else None,
            trashed=self.trash.isChecked(),
        )

    def apply_filter(self) -> None:
        self._timer.stop()
        self.model.set_filter(self.current_filter())

    def _update_status(self) -> None:
        n = self.model.rowCount()
        more = " (scroll for more)" if self.model.canFetchMore(QModelIndex()) else ""
        where = "in the trash" if self.trash.isChecked() else "found"
        self.status.setText(f"{n} render{'s' if n != 1 else ''} {where}{more}")
        self._update_buttons()

    # ------------------------------------------------------------------ actions
    def selected(self) -> list[RenderRecord]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.render_at(r) for r in rows]

    def select_render(self, render_id: int) -> bool:
        for row, record in enumerate(self.model.renders()):
            if record.id == render_id:
                self.view.setCurrentIndex(self.model.index(row))
                return True
        return False

    def _update_buttons(self) -> None:
        chosen = self.selected()
        trashed = self.trash.isChecked()
        for key in ("star", "approve", "reject", "trash"):
            self.buttons[key].setEnabled(bool(chosen) and not trashed)
        self.buttons["restore"].setEnabled(bool(chosen) and trashed)
        self.buttons["open"].setEnabled(len(chosen) == 1 and chosen[0].sheet_id is not None)

    def _write(self, fn: Any, records: list[RenderRecord], change: dict[str, Any]) -> None:
        ids = [r.id for r in records]

        def done(_result: object) -> None:
            for record in records:
                self.model.replace_record(replace(record, **change))

        self._bg.run(partial(fn, ids), done, what="Saving to the library")

    def _star(self) -> None:
        chosen = self.selected()
        star = not all(r.star for r in chosen)
        self._write(partial(_call, self.library.renders.set_star, star=star), chosen,
                    {"star": star})

    def _verdict(self, approval: Approval) -> None:
        self._write(partial(_call, self.library.renders.set_approval, approval=approval),
                    self.selected(), {"approval": approval})

    def _trash(self, to_trash: bool) -> None:
        chosen = self.selected()
        fn = self.library.renders.trash if to_trash else self.library.renders.restore
        self._bg.run(partial(fn, [r.id for r in chosen]), lambda _r: self.apply_filter(),
                     what="Moving renders")

    def _open_sheet(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1 or chosen[0].sheet_id is None:
            return
        sheet_id = chosen[0].sheet_id
        self._bg.run(partial(self.library.sheets.get, sheet_id),
                     lambda record: self.openSheetRequested.emit(Path(record.path)),
                     what="Finding the sheet")

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: Any) -> None:
        if image_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        paths = image_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.importRequested.emit(paths)


def _call(fn: Any, ids: list[int], **kwargs: Any) -> Any:
    value = next(iter(kwargs.values()))
    return fn(ids, value)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def image_paths(mime: Any) -> list[Path]:
    """Image files in a drop (PNG, JPEG, WebP)."""
    if mime is None or not mime.hasUrls():
        return []
    out = []
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                out.append(path)
    return out
