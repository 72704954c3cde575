"""The library browser: every project and render with thumbnails, full-text search, filters
(stage, provider, approval, stars, trash), verdicts, trash and restore, and opening a render's
sheet. Double-click opens a render in the viewer; the context menu (built by the window's
image side) has the rest. It binds to
:class:`~studio.ui.viewmodels.library_browser.LibraryBrowserModel`, which reads off the GUI
thread and follows the library's announcements.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QTimer, Signal
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
from studio.library import Approval, RenderFilter, RenderRecord
from studio.ui.viewmodels.library_browser import (
    THUMB,
    LibraryBrowserModel,
    approval_choices,
    stage_choices,
)
from studio.ui.widgets import image_paths, show_verdicts


class LibraryBrowser(QWidget):
    """``openSheetRequested(path)`` when the user opens a render's sheet;
    ``viewRequested(renders, render)`` on a double-click (the renders shown, the one clicked);
    ``menuRequested(renders, render, global position)`` for a render's context menu."""

    openSheetRequested = Signal(object)
    importRequested = Signal(list)
    viewRequested = Signal(list, object)
    menuRequested = Signal(list, object, QPoint)

    def __init__(self, browser: LibraryBrowserModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryBrowser")
        self.setWindowTitle("Library")
        self.setAcceptDrops(True)
        self.browser = browser
        self.model = browser.renders
        self._keep: list[int] = []

        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setObjectName("librarySearch")
        self.search.setPlaceholderText("Search prompts, scenes, characters, notes, tags…")
        self.search.setClearButtonEnabled(True)
        bar.addWidget(self.search, 3)
        self.stage = QComboBox(self)
        for label, stage in stage_choices():
            self.stage.addItem(label, stage)
        self.provider = QComboBox(self)
        self.provider.addItem("Any provider", None)
        for pid in (*PROVIDER_IDS, "import"):
            self.provider.addItem(pid, pid)
        self.approval = QComboBox(self)
        for label, approval in approval_choices():
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
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.doubleClicked.connect(self._activated)
        self.view.customContextMenuRequested.connect(self._context_menu)
        split.addWidget(self.projects)
        split.addWidget(self.view)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)

        actions = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setObjectName("libraryStatus")
        self.status.setWordWrap(True)
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
        self.buttons["star"].clicked.connect(lambda: browser.set_star(self.selected()))
        self.buttons["approve"].clicked.connect(
            lambda: browser.set_approval(self.selected(), Approval.APPROVED))
        self.buttons["reject"].clicked.connect(
            lambda: browser.set_approval(self.selected(), Approval.REJECTED))
        self.buttons["trash"].clicked.connect(lambda: browser.trash(self.selected()))
        self.buttons["restore"].clicked.connect(lambda: browser.restore(self.selected()))
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
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self.model.rowsRemoved.connect(lambda *_: self._update_buttons())
        self.model.dataChanged.connect(lambda *_: self._update_buttons())
        browser.statusChanged.connect(self._show_status)
        browser.projectsChanged.connect(self._show_projects)
        browser.sheetRequested.connect(self.openSheetRequested)
        self.resize(1180, 780)
        self._show_projects()
        self.apply_filter()

    # ------------------------------------------------------------------ filters
    @property
    def busy(self) -> bool:
        return self._timer.isActive() or self.browser.busy

    def _show_projects(self) -> None:
        current = self.projects.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.projects.blockSignals(True)
        self.projects.clear()
        for entry in self.browser.projects:
            item = QListWidgetItem(entry.label)
            item.setData(Qt.ItemDataRole.UserRole, entry.project_id)
            self.projects.addItem(item)
            if entry.project_id == keep:
                self.projects.setCurrentItem(item)
        if self.projects.currentItem() is None:
            self.projects.setCurrentRow(0)
        self.projects.blockSignals(False)

    def current_filter(self) -> RenderFilter:
        item = self.projects.currentItem()
        text = self.search.text().strip()
        # Combo data comes back as plain strings: turn them into the vocabulary's types.
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
        self.browser.set_filter(self.current_filter())

    def _show_status(self) -> None:
        self.status.setText(self.browser.status)
        self._update_buttons()

    # ------------------------------------------------------------------ selection
    def selected(self) -> list[RenderRecord]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.render_at(r) for r in rows if r < self.model.rowCount()]

    def select_render(self, render_id: int) -> bool:
        for row, record in enumerate(self.model.renders()):
            if record.id == render_id:
                self.view.setCurrentIndex(self.model.index(row))
                return True
        return False

    def _remember_selection(self) -> None:
        self._keep = [r.id for r in self.selected()]

    def _restore_selection(self) -> None:
        keep, self._keep = self._keep, []
        for render_id in keep:
            self.select_render(render_id)
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected()
        trashed = self.trash.isChecked()
        for key in ("star", "approve", "reject", "trash"):
            self.buttons[key].setEnabled(bool(chosen) and not trashed)
        show_verdicts(self.buttons, chosen)
        self.buttons["restore"].setEnabled(bool(chosen) and trashed)
        self.buttons["open"].setEnabled(len(chosen) == 1 and chosen[0].sheet_id is not None)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.viewRequested.emit(self.model.renders(), self.model.render_at(index.row()))

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        if not self.view.selectionModel().isSelected(index):
            self.view.setCurrentIndex(index)
        self.menuRequested.emit(self.model.renders(), self.model.render_at(index.row()),
                                self.view.viewport().mapToGlobal(pos))

    def _open_sheet(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            self.browser.open_sheet(chosen[0])

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: Any) -> None:
        if image_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        paths = image_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.importRequested.emit(paths)
