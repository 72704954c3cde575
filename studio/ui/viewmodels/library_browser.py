"""The library browser's view-model: the renders matching a filter (loaded a page at a time, with
thumbnails), the projects, and the verdicts, stars, trash and restore made from it.

Everything is read off the GUI thread. Nothing is changed here directly: a verdict is written to
the library, and the list (like the cards and the inspector) follows the library's announcement
of it, so what it shows is what the library holds, whoever changed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap

from studio.core.lifecycle import Approval
from studio.core.request import Stage
from studio.library import Library, RenderFilter, RenderPage, RenderRecord
from studio.library.changes import LibraryChange
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.changes import LibraryChanges
from studio.ui.viewmodels.images import decode_scaled

THUMB = 176
PAGE = 120

Index = QModelIndex | QPersistentModelIndex


def still_shown(record: RenderRecord, where: RenderFilter) -> bool:
    """Whether ``record`` still matches ``where`` in what a verdict, a star, the trash or a
    restore can change (the rest of a filter is about what a render is, which never changes)."""
    if (record.trashed is not None) != where.trashed:
        return False
    if where.approval is not None and record.approval is not where.approval:
        return False
    return where.starred is None or record.star == where.starred


@dataclass(frozen=True, slots=True)
class ProjectEntry:
    """One row of the projects list (``project_id`` None: every project)."""

    label: str
    project_id: int | None


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
        return self._loading

    @property
    def filter(self) -> RenderFilter:
        return self._filter

    def set_filter(self, where: RenderFilter) -> None:
        self._filter = where
        self._generation += 1
        self.beginResetModel()
        self._items = []
        self._next = None
        self.endResetModel()
        self._load(0, PAGE, replace=False)

    def reload(self) -> None:
        """Read again as many renders as are shown (new ones come in at the top)."""
        self._generation += 1
        self._load(0, max(PAGE, len(self._items)), replace=True)

    def _load(self, offset: int, limit: int, replace: bool) -> None:
        self._loading = True
        generation, where, library = self._generation, self._filter, self._library
        self._bg.run(lambda: library.renders.page(where, limit=limit, offset=offset),
                     lambda page: self._page(generation, page, replace),
                     lambda exc: self._failed(generation, exc),
                     owner=self, what="Searching the library")

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self._loading = False
            self.searchFailed.emit(f"The library search failed: {exc}")

    def _page(self, generation: int, page: RenderPage, replace: bool) -> None:
        if generation != self._generation:
            return
        self._loading = False
        if replace:
            self.beginResetModel()
            self._items = list(page.items)
            self.endResetModel()
        elif page.items:
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
            self._load(self._next, PAGE, replace=False)

    # ------------------------------------------------------------------ records
    def render_at(self, row: int) -> RenderRecord:
        return self._items[row]

    def renders(self) -> list[RenderRecord]:
        return list(self._items)

    def ids(self) -> set[int]:
        return {r.id for r in self._items}

    def update_records(self, records: list[RenderRecord], gone: set[int]) -> None:
        """Show the library's latest ``records``; drop those the filter no longer matches and
        the ``gone`` ones."""
        fresh = {r.id: r for r in records}
        for row in reversed(range(len(self._items))):
            item = self._items[row]
            record = fresh.get(item.id)
            if item.id in gone or (record is not None and not still_shown(record, self._filter)):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._items[row]
                self.endRemoveRows()
                if self._next is not None:
                    self._next -= 1
            elif record is not None and record != item:
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

    # ------------------------------------------------------------------ thumbnails
    @property
    def thumbnails_pending(self) -> int:
        return len(self._asked) - len(self._thumbs)

    def _ask_thumbnail(self, render: RenderRecord) -> None:
        if render.id in self._asked or render.image_path is None:
            return
        self._asked.add(render.id)
        try:
            future = self._library.files.thumbnail(render)
        except RuntimeError:  # the library closed (the window is closing)
            self._no_thumbnail(render.id)
            return
        self._bg.follow(future,
                        lambda path: self._decode(render.id, path),
                        lambda _exc: self._no_thumbnail(render.id),
                        owner=self, what="Making a thumbnail")

    def _decode(self, render_id: int, path: Path) -> None:
        self._bg.run(lambda: decode_scaled(Path(path), THUMB),
                     lambda image: self._thumb_ready(render_id, image),
                     lambda _exc: self._no_thumbnail(render_id), owner=self,
                     what="Reading a thumbnail")

    def _no_thumbnail(self, render_id: int) -> None:
        # The blank tile stays: the render's image is missing or unreadable, which the
        # library check reports; one sentence per tile would drown the window.
        self._thumbs[render_id] = _blank()

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


class LibraryBrowserModel(QObject):
    """The browser's state: its filter, the projects, the status line and the actions.

    ``projectsChanged`` when the projects list was read; ``statusChanged`` when the status
    line changed; ``sheetOpened(Path)`` when the user asked to open a render's sheet.
    """

    projectsChanged = Signal()
    statusChanged = Signal()
    sheetRequested = Signal(object)

    def __init__(self, library: Library, changes: LibraryChanges, background: Background,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._bg = background
        self.renders = RenderListModel(library, background, self)
        self.projects: list[ProjectEntry] = [ProjectEntry("All projects", None)]
        self.status = ""
        self._working = 0
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(250)  # a batch of new renders costs one reload
        self._refresh.timeout.connect(self._reload)
        self.renders.pageLoaded.connect(self._update_status)
        self.renders.modelReset.connect(self._update_status)
        self.renders.rowsRemoved.connect(self._update_status)
        self.renders.searchFailed.connect(self._set_status)
        changes.changed.connect(self._library_changed)
        self.load_projects()

    @property
    def busy(self) -> bool:
        return self.renders.loading or self._working > 0 or self._refresh.isActive()

    # ------------------------------------------------------------------ reading
    def load_projects(self) -> None:
        def done(projects: list[Any]) -> None:
            self._working -= 1
            self.projects = [ProjectEntry("All projects", None)] + [
                ProjectEntry(f"{p.name}  ({p.render_count})", p.id) for p in projects]
            self.projectsChanged.emit()

        def failed(exc: BaseException) -> None:
            self._working -= 1
            self._set_status(f"The projects cannot be listed: {exc}")

        self._working += 1  # busy until the projects list is read too
        self._bg.run(self.library.projects.all, done, failed, owner=self,
                     what="Listing the projects")

    def set_filter(self, where: RenderFilter) -> None:
        self._refresh.stop()
        self.renders.set_filter(where)

    def _reload(self) -> None:
        self.renders.reload()
        self.load_projects()

    def _library_changed(self, change: LibraryChange) -> None:
        if not change.renders and not change.projects:
            return
        shown = change.renders & self.renders.ids()
        if change.renders - shown or change.projects:
            self._refresh.start()  # new, restored or newly matching renders
        if shown:
            library, ids = self.library, sorted(shown)

            def done(records: list[RenderRecord]) -> None:
                self._working -= 1
                self.renders.update_records(records, set(ids) - {r.id for r in records})

            def failed(exc: BaseException) -> None:
                self._working -= 1
                self._set_status(f"The changed renders cannot be read: {exc}")

            self._working += 1
            self._bg.run(lambda: library.renders.many(ids), done, failed,
                         owner=self, what="Reading the changed renders")

    def _update_status(self) -> None:
        n = self.renders.rowCount()
        more = " (scroll for more)" if self.renders.canFetchMore(QModelIndex()) else ""
        where = "in the trash" if self.renders.filter.trashed else "found"
        self._set_status(f"{n} render{'s' if n != 1 else ''} {where}{more}")

    def _set_status(self, text: str) -> None:
        self.status = text
        self.statusChanged.emit()

    # ------------------------------------------------------------------ actions
    def set_star(self, records: list[RenderRecord]) -> None:
        """Star the renders, or unstar them when every one is starred."""
        self._write(self.library.renders.toggle_star, records, "Saving the star")

    def set_approval(self, records: list[RenderRecord], approval: Approval) -> None:
        """Give the renders ``approval``; the same verdict again takes it back (as on cards)."""
        self._write(lambda ids: self.library.renders.toggle_approval(ids, approval), records,
                    "Saving the verdict")

    def trash(self, records: list[RenderRecord]) -> None:
        self._write(self.library.renders.trash, records, "Moving renders to the trash")

    def restore(self, records: list[RenderRecord]) -> None:
        self._write(self.library.renders.restore, records, "Restoring renders")

    def _write(self, fn: Callable[[list[int]], Any], records: list[RenderRecord],
               what: str) -> None:
        ids = [r.id for r in records]
        if not ids:
            return
        self._working += 1

        def ended(_result: object = None) -> None:
            self._working -= 1

        def failed(exc: BaseException) -> None:
            ended()
            self._set_status(f"{what} failed: {exc}")

        self._bg.run(lambda: fn(ids), ended, failed, owner=self, what=what, in_order=True)

    def open_sheet(self, record: RenderRecord) -> None:
        sheet_id = record.sheet_id
        if sheet_id is None:
            return
        self._bg.run(lambda: self.library.sheets.get(sheet_id),
                     lambda sheet: self.sheetRequested.emit(Path(sheet.path)),
                     lambda exc: self._set_status(f"The render's sheet cannot be found: {exc}"),
                     owner=self, what="Finding the sheet")


def stage_choices() -> list[tuple[str, Stage | None]]:
    return [("Any stage", None)] + [(stage.value.title() + "s", stage) for stage in Stage]


def approval_choices() -> list[tuple[str, Approval | None]]:
    return [("Any verdict", None)] + [
        ("No verdict" if a is Approval.NONE else a.value.title(), a) for a in Approval]
