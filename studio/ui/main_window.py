"""The studio window: the character panel, the scene grid, the scene panel, the toolbar with the
sheet-wide render actions, file handling, undo/redo and the first-start banner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from studio import APP_DISPLAY_NAME
from studio.core.errors import StudioInputError
from studio.core.lifecycle import Approval, JobState
from studio.core.presets import PresetKind
from studio.core.request import Stage
from studio.core.sheet import SHEET_SUFFIX, Sheet, load_sheet
from studio.ui.character_panel import CharacterPanel
from studio.ui.compare import CompareView
from studio.ui.consistency import ConsistencyView
from studio.ui.document import SheetDocument, new_character_sheet
from studio.ui.images import ImageCache
from studio.ui.inspector import Inspector
from studio.ui.library_browser import LibraryBrowser, image_paths
from studio.ui.scene_delegate import SceneCardDelegate
from studio.ui.scene_editor import SceneEditor
from studio.ui.scene_grid import SceneGridView
from studio.ui.scene_model import SceneListModel
from studio.ui.services import StudioServices, example_sheet_path

if TYPE_CHECKING:
    from studio.ui.settings_dialog import SettingsDialog
from studio.ui.tasks import Background, TaskOwner
from studio.ui.ui_state import WindowState
from studio.ui.widgets import MessageBar, bring_to_front

log = logging.getLogger("studio.ui")

NO_KEY_TEXT = ("No API key yet: scenes render as offline placeholder cards, right here on "
               "this computer. Add a key in Settings (ModelsLab, Replicate, fal, …) for real "
               "FLUX previews and finals.")


class MainWindow(QMainWindow):
    """One window, one open sheet."""

    sheetOpened = Signal(object)  # the Path, or None for an unsaved sheet
    sheetSaved = Signal(object)  # the Path
    imported = Signal(list)  # library RenderRecords of imported images

    def __init__(self, services: StudioServices, loop: asyncio.AbstractEventLoop | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.services = services
        self.state = WindowState(services.config_dir)
        self.tasks = TaskOwner(loop, self)
        self.background = Background(self)
        self.images = ImageCache(self.background, self)
        self.document = SheetDocument(new_character_sheet(services.catalog), services.catalog,
                                      parent=self, display_name="Untitled sheet")
        self.renderer: Any = None  # the render controller, attached by attach_renderer()
        self.library: Any = None  # the library, when the composition root could open it
        self.unsaved_key: str | None = None
        self._shutdown: Any = None
        self.closed_down = False
        self.actions_by_name: dict[str, QAction] = {}
        self._closing = False

        self.model = SceneListModel(self.document, self)
        self.delegate = SceneCardDelegate(services.catalog, self.images, self)
        self.images.loaded.connect(self.model.refresh_images)
        self.grid = SceneGridView(self.model, self.delegate, self)
        self.delegate.actionRequested.connect(self.card_action)

        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(6, 6, 6, 0)
        column.setSpacing(6)
        self.banner = MessageBar(central)
        self.banner.setObjectName("keyBanner")
        self.banner.actionTriggered.connect(self.open_settings)
        self.messages = MessageBar(central)
        self.messages.setObjectName("messages")
        column.addWidget(self.banner)
        column.addWidget(self.messages)
        column.addWidget(self.grid, 1)
        self.setCentralWidget(central)

        self.character_panel = CharacterPanel(self.document, parent=self)
        self.character_dock = self._dock("Character", "characterDock", self.character_panel,
                                         Qt.DockWidgetArea.LeftDockWidgetArea)
        self.scene_editor = SceneEditor(self.document, self)
        self.scene_dock = self._dock("Scene", "sceneDock", self.scene_editor,
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.inspector = Inspector(self.document, self)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.scene_dock, self.inspector_dock)
        self.scene_dock.raise_()
        self.inspector.stageChanged.connect(lambda _s: self.refresh_inspector())
        self.model.cellsChanged.connect(self._cells_changed)
        self.compare: CompareView | None = None
        self.consistency: ConsistencyView | None = None
        self.library_browser: LibraryBrowser | None = None
        self.settings_dialog: Any = None
        self._message_action: Callable[[], Any] | None = None
        self.messages.actionTriggered.connect(self._run_message_action)
        self.setAcceptDrops(True)
        self.grid.selectionNamesChanged.connect(self._selection_changed)
        self.grid.sceneActivated.connect(self._scene_activated)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self.statusBar().setSizeGripEnabled(True)
        self.tasks.failed.connect(lambda text: self.show_message(text, "error"))
        self.background.failed.connect(lambda text: self.show_message(text, "error"))

        self.document.changed.connect(self._update_title)
        self.document.pathChanged.connect(self._update_title)
        self.document.modifiedChanged.connect(self._update_title)
        self.document.changed.connect(self._update_actions)
        self.model.cellsChanged.connect(self._update_progress)
        self.model.modelReset.connect(self._update_progress)
        self.model.rowsMoved.connect(self._update_progress)

        self.resize(1440, 900)
        self.setMinimumSize(QSize(900, 600))
        self.setDockNestingEnabled(True)
        self._restore_window()
        self._update_title()
        self._update_actions()
        self._update_progress()
        self.refresh_banner()

    # ------------------------------------------------------------------ construction
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea
              ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        widget.setMinimumWidth(300)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, name: str, text: str, slot: Callable[[], Any],
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setObjectName(f"action-{name}")
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(lambda _=False: slot())
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _build_actions(self) -> None:
        std = QKeySequence.StandardKey
        a = self._action
        a("new", "&New sheet", self.new_sheet, std.New, "Start a new character sheet")
        a("open", "&Open…", self.open_dialog, std.Open, "Open a character sheet file")
        a("save", "&Save", self.save, std.Save, "Save the sheet file")
        a("save_as", "Save &as…", self.save_as, std.SaveAs, "Save the sheet under a new name")
        a("quit", "&Quit", self.close, std.Quit)
        stack = self.document.undo_stack
        undo = a("undo", "&Undo", stack.undo, std.Undo)
        redo = a("redo", "&Redo", stack.redo, std.Redo)
        undo.setEnabled(False)
        redo.setEnabled(False)
        stack.canUndoChanged.connect(undo.setEnabled)
        stack.canRedoChanged.connect(redo.setEnabled)
        stack.undoTextChanged.connect(
            lambda text: undo.setToolTip(f"Undo {text}" if text else "Nothing to undo"))
        stack.redoTextChanged.connect(
            lambda text: redo.setToolTip(f"Redo {text}" if text else "Nothing to redo"))
        a("add_scene", "&Add scene", self.add_scene, "Ctrl+Shift+N", "Add a scene to the sheet")
        a("duplicate_scene", "&Duplicate scene", self.duplicate_scene, "Ctrl+D",
          "Duplicate the selected scene")
        a("delete_scene", "De&lete scene", self.delete_scenes, std.Delete,
          "Delete the selected scenes")
        a("preview_all", "Preview &all", self.preview_all, "Ctrl+R",
          "Render quick previews of every scene")
        a("preview_selected", "&Preview selected", self.preview_selected, "Ctrl+P",
          "Render previews of the selected scenes")
        a("finalize_selected", "&Finalize selected", self.finalize_selected, "Ctrl+Return",
          "Render the photoreal finals of the selected scenes")
        a("finalize_approved", "Finalize app&roved", self.finalize_approved, "Ctrl+Shift+Return",
          "Render the finals of every approved scene")
        a("finalize_all", "Finalize a&ll", self.finalize_all, "Ctrl+Shift+F",
          "Render the finals of every scene")
        a("cancel_all", "&Cancel all", self.cancel_all, "Ctrl+.",
          "Stop every render in flight")
        a("retry_failed", "Re&try failed", self.retry_failed, "Ctrl+Shift+R",
          "Render again every scene that failed")
        a("approve", "Appro&ve", lambda: self._verdict(Approval.APPROVED), "A",
          "Approve the selected scenes")
        a("reject", "Re&ject", lambda: self._verdict(Approval.REJECTED), "X",
          "Reject the selected scenes")
        a("star", "&Star", self._star_selected, "S", "Star or unstar the selected scenes")
        a("settings", "&Settings…", self.open_settings, std.Preferences,
          "Provider keys, models, concurrency and prices")
        a("compare", "&Compare preview and final", self.compare_selected, "Ctrl+K",
          "The selected scene's preview and final at full size, side by side or with a slider")
        a("consistency", "C&onsistency grid", self.open_consistency, "Ctrl+G",
          "Every final of the sheet in one grid")
        a("library", "&Library", self.open_library, "Ctrl+L",
          "Every project and render: search, filter, star, approve, trash, open a sheet")
        a("import", "&Import images…", self.import_dialog, "Ctrl+I",
          "Import PNG, JPEG or WebP images made by other tools (their settings are read)")
        a("export", "&Export…", self.export_dialog, "Ctrl+E",
          "The sheet as a character sheet (PNG/PDF), a storyboard PDF or a ZIP bundle")
        for name in ("approve", "reject", "star"):
            # Single letters belong to the grid, not to text fields.
            self.actions_by_name[name].setShortcutContext(
                Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.removeAction(self.actions_by_name[name])
            self.grid.addAction(self.actions_by_name[name])

    def _build_menus(self) -> None:
        bar = self.menuBar()
        acts = self.actions_by_name
        file_menu = bar.addMenu("&File")
        for name in ("new", "open"):
            file_menu.addAction(acts[name])
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.setObjectName("recentMenu")
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        for name in ("save", "save_as"):
            file_menu.addAction(acts[name])
        file_menu.addSeparator()
        file_menu.addAction(acts["import"])
        file_menu.addAction(acts["export"])
        file_menu.addAction(acts["settings"])
        file_menu.addSeparator()
        file_menu.addAction(acts["quit"])
        self._refresh_recent_menu()

        edit = bar.addMenu("&Edit")
        edit.addAction(acts["undo"])
        edit.addAction(acts["redo"])

        scene = bar.addMenu("&Scene")
        scene.addAction(acts["add_scene"])
        self.pattern_menu = scene.addMenu("Add scene from &pattern")
        self.pattern_menu.setToolTipsVisible(True)
        for preset in self.services.catalog.of_kind(PresetKind.PATTERN):
            action = self.pattern_menu.addAction(preset.label)
            action.setToolTip(preset.tooltip)
            action.triggered.connect(lambda _=False, pid=preset.id: self.add_scene(pid))
        scene.addAction(acts["duplicate_scene"])
        scene.addAction(acts["delete_scene"])
        scene.addSeparator()
        for name in ("approve", "reject", "star"):
            scene.addAction(acts[name])

        render = bar.addMenu("&Render")
        for name in ("preview_all", "preview_selected", "finalize_selected", "finalize_approved",
                     "finalize_all", "retry_failed", "cancel_all"):
            render.addAction(acts[name])

        view = bar.addMenu("&View")
        view.addAction(acts["library"])
        view.addAction(acts["compare"])
        view.addAction(acts["consistency"])
        view.addSeparator()
        view.addAction(self.character_dock.toggleViewAction())
        view.addAction(self.scene_dock.toggleViewAction())
        view.addAction(self.inspector_dock.toggleViewAction())
        self.view_menu = view

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        acts = self.actions_by_name
        for name in ("open", "save"):
            bar.addAction(acts[name])
        bar.addSeparator()
        for name in ("undo", "redo"):
            bar.addAction(acts[name])
        bar.addSeparator()
        bar.addAction(acts["add_scene"])
        bar.addSeparator()
        for name in ("preview_all", "finalize_approved", "finalize_all", "cancel_all"):
            bar.addAction(acts[name])
        bar.addSeparator()
        for name in ("library", "settings"):
            bar.addAction(acts[name])
        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        box = QWidget(bar)
        row = QHBoxLayout(box)
        row.setContentsMargins(6, 0, 6, 0)
        self.cost_label = QLabel(box)
        self.cost_label.setObjectName("costLabel")
        self.progress_label = QLabel(box)
        self.progress_label.setObjectName("progressLabel")
        self.progress_bar = QProgressBar(box)
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setFixedWidth(180)
        self.progress_bar.setTextVisible(False)
        row.addWidget(self.cost_label)
        row.addWidget(self.progress_label)
        row.addWidget(self.progress_bar)
        bar.addWidget(box)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    # ------------------------------------------------------------------ state
    def _restore_window(self) -> None:
        geometry = self.state.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        dock_state = self.state.dock_state()
        if dock_state is not None:
            self.restoreState(dock_state)

    def _update_title(self) -> None:
        doc = self.document
        name = doc.sheet.character.name.strip()
        title = f"{doc.display_name}[*] — {APP_DISPLAY_NAME}"
        if name:
            title = f"{name} — {title}"
        self.setWindowTitle(title)
        self.setWindowModified(doc.modified)

    def _update_actions(self) -> None:
        has_scenes = bool(self.document.sheet.scenes)
        selected = bool(self.grid.selected_names())
        can_render = self.renderer is not None
        acts = self.actions_by_name
        acts["duplicate_scene"].setEnabled(selected)
        acts["delete_scene"].setEnabled(selected)
        for name in ("approve", "reject", "star"):
            acts[name].setEnabled(selected)
        for name in ("preview_all", "finalize_all", "finalize_approved", "retry_failed"):
            acts[name].setEnabled(can_render and has_scenes)
        for name in ("preview_selected", "finalize_selected"):
            acts[name].setEnabled(can_render and selected)
        acts["cancel_all"].setEnabled(can_render and self._active_count() > 0)

    def _active_count(self) -> int:
        counts = self.model.counts()
        return sum(n for s, n in counts.items() if s is not None and s.active)

    def _update_progress(self) -> None:
        counts = self.model.counts()
        active = self._active_count()
        done = counts[JobState.DONE]
        failed = counts[JobState.FAILED]
        total_run = active + done + failed + counts[JobState.CANCELLED]
        if total_run == 0:
            self.progress_label.setText(f"{len(self.document.sheet.scenes)} scenes")
            self.progress_bar.hide()
        else:
            parts = [f"{done} done"]
            if active:
                parts.append(f"{active} rendering")
            if failed:
                parts.append(f"{failed} failed")
            self.progress_label.setText(" · ".join(parts))
            self.progress_bar.show()
            self.progress_bar.setRange(0, max(1, active + done + failed))
            self.progress_bar.setValue(done + failed)
        self.actions_by_name["cancel_all"].setEnabled(self.renderer is not None and active > 0)

    def _selection_changed(self, names: list[str]) -> None:
        self.scene_editor.show_scene(self.grid.current_name() or (names[0] if names else None))
        self._update_actions()
        self.refresh_inspector()

    def _cells_changed(self) -> None:
        name = self.grid.current_name()
        shown = self.inspector.record
        if name is None:
            return
        cell = self.model.cell(name)
        ids = {cell.preview.render_id, cell.final.render_id}
        if shown is None or shown.id not in ids or self.inspector.scene_name != name:
            self.refresh_inspector()

    def refresh_inspector(self) -> None:
        """Show the selected scene's render (the inspector's stage, else the other)."""
        name = self.grid.current_name()
        if name is None or self.renderer is None:
            self.inspector.show_render(name, None)
            return
        cell = self.model.cell(name)
        stage = self.inspector.stage
        other = Stage.FINAL if stage is Stage.PREVIEW else Stage.PREVIEW
        render_id = cell.slot(stage).render_id or cell.slot(other).render_id
        if render_id is None:
            self.inspector.show_render(name, None)
            return
        if self.inspector.record is not None and self.inspector.record.id == render_id \
                and self.inspector.scene_name == name:
            return

        async def fetch(rid: int = render_id, scene: str = name) -> None:
            record = await self.renderer.render_record(rid)
            if self.grid.current_name() == scene:
                self.inspector.show_render(scene, record)

        self.tasks.start(fetch(), "Reading the render's settings")

    def _scene_activated(self, name: str) -> None:
        self.scene_dock.show()
        self.scene_dock.raise_()
        self.scene_editor.show_scene(name)
        self.scene_editor.setting_edit.setFocus()

    def refresh_banner(self) -> None:
        if self.services.key_configured():
            self.banner.hide()
        else:
            self.banner.show_message(NO_KEY_TEXT, "info", "Add a key…", closable=True)

    def show_message(self, text: str, level: str = "info", action: str = "",
                     on_action: Callable[[], Any] | None = None) -> None:
        self._message_action = on_action
        self.messages.show_message(text, level, action if on_action else "")
        self.statusBar().showMessage(text, 8000)

    def _run_message_action(self) -> None:
        action, self._message_action = self._message_action, None
        self.messages.dismiss()
        if action is not None:
            action()

    # ------------------------------------------------------------------ files
    def load_sheet(self, sheet: Sheet, path: Path | None, display_name: str | None = None,
                   unsaved_key: str | None = None) -> None:
        self.unsaved_key = unsaved_key if path is None else None
        if path is None and unsaved_key is None:
            import time

            self.unsaved_key = f"untitled-{time.strftime('%Y%m%d-%H%M%S')}"
        self.document.reset(sheet, path, display_name)
        self.model.reset_cells()
        if path is not None:
            self.state.add_recent(path)
            self._refresh_recent_menu()
        self.state.set_last_sheet(path)
        if self.document.sheet.scenes:
            self.grid.select_name(self.document.sheet.scenes[0].name)
        self._update_actions()
        self.sheetOpened.emit(path)

    def open_path(self, path: Path) -> bool:
        if not self._settle_changes():
            return False
        try:
            sheet = load_sheet(path, self.services.catalog)
        except StudioInputError as exc:
            self.show_message(f"The sheet cannot be opened: {exc}", "error")
            return False
        self.load_sheet(sheet, path.resolve())
        self.show_message(f"Opened {path.name}: {len(sheet.scenes)} scenes.", "ok")
        self.messages.hide()
        return True

    def open_example(self) -> bool:
        path = example_sheet_path()
        if path is None:
            self.load_sheet(new_character_sheet(self.services.catalog), None)
            return False
        try:
            sheet = load_sheet(path, self.services.catalog)
        except StudioInputError as exc:
            self.show_message(f"The example sheet cannot be read: {exc}", "error")
            return False
        # Opened as a new, unsaved sheet: saving asks where, never over the shipped file.
        self.load_sheet(sheet, None, "emma.sheet.toml (example)", unsaved_key="emma-example")
        return True

    def open_dialog(self) -> None:
        start = self.document.path.parent if self.document.path else None
        path = self.services.dialogs.open_sheet_path(self, start)
        if path is not None:
            self.open_path(path)

    def new_sheet(self) -> None:
        if self._settle_changes():
            self.load_sheet(new_character_sheet(self.services.catalog), None, "Untitled sheet")

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        name = self.document.sheet.character.name.strip() or "character"
        folder = self.document.path.parent if self.document.path else Path.home()
        suggested = folder / f"{name.lower().replace(' ', '-')}{SHEET_SUFFIX}"
        path = self.services.dialogs.save_sheet_path(self, suggested)
        if path is None:
            return False
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        previous = self.renderer.library_path() if self.renderer is not None else None
        try:
            saved = self.document.save(path)
        except StudioInputError as exc:
            self.show_message(str(exc), "error")
            return False
        if self.renderer is not None and previous is not None:
            self.renderer.sheet_saved_as(previous, saved)
        self.unsaved_key = None
        self.state.add_recent(saved)
        self.state.set_last_sheet(saved.resolve())
        self._refresh_recent_menu()
        self.statusBar().showMessage(f"Saved {saved.name}", 5000)
        self.sheetSaved.emit(saved)
        return True

    def _settle_changes(self) -> bool:
        """Ask to save unsaved changes; False when the user cancels."""
        if not self.document.modified:
            return True
        choice = self.services.dialogs.ask_save_changes(self, self.document.display_name)
        if choice == "cancel":
            return False
        if choice == "save":
            return self.save()
        return True

    def _refresh_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = [p for p in self.state.recent_files() if p.exists()]
        for path in recent:
            action = menu.addAction(path.name)
            action.setToolTip(str(path))
            action.setData(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if recent:
            menu.addSeparator()
            clear = menu.addAction("Clear the list")
            clear.triggered.connect(self._clear_recent)
        menu.setEnabled(bool(recent))

    def _clear_recent(self) -> None:
        self.state.clear_recent()
        self._refresh_recent_menu()

    # ------------------------------------------------------------------ scenes
    def add_scene(self, pattern_id: str | None = None) -> str:
        doc = self.document
        scene = doc.add_scene_from_pattern(pattern_id) if pattern_id else doc.add_scene()
        self.grid.select_name(scene.name)
        return scene.name

    def duplicate_scene(self) -> None:
        name = self.grid.current_name()
        if name:
            copy = self.document.duplicate_scene(name)
            if copy is not None:
                self.grid.select_name(copy.name)

    def delete_scenes(self) -> None:
        names = self.grid.selected_names()
        if names:
            self.document.remove_scenes(names)

    # ------------------------------------------------------------------ render actions
    def attach_renderer(self, renderer: Any) -> None:
        """Connect the render controller (cards' buttons and the toolbar drive it)."""
        self.renderer = renderer
        renderer.message.connect(self.show_message)
        renderer.batchPlanned.connect(
            lambda text: self.statusBar().showMessage(f"Sent: {text}", 8000))
        renderer.batchPlanned.connect(lambda _text: self.refresh_history())
        self.sheetOpened.connect(lambda _path: self.refresh_history())
        self.sheetOpened.connect(lambda path: renderer.sheet_changed(path, self.unsaved_key))
        self.document.changed.connect(self._update_cost)
        renderer.sheet_changed(self.document.path, self.unsaved_key)
        self._update_actions()
        self._update_progress()
        self._update_cost()
        self.refresh_history()

    def refresh_history(self) -> None:
        """Reload the anchor's version history from the library."""
        if self.renderer is None:
            return

        async def load() -> None:
            self.character_panel.set_history(await self.renderer.anchor_history())

        self.tasks.start(load(), "Reading the anchor's history")

    def _update_cost(self) -> None:
        """The cost of the toolbar's batches, shown before anything is sent."""
        if self.renderer is None:
            self.cost_label.setText("")
            return
        from studio.core.request import Stage

        count = len(self.document.sheet.scenes)
        parts, tips = [], []
        for stage, label in ((Stage.PREVIEW, "Previews"), (Stage.FINAL, "Finals")):
            batch = self.renderer.estimate(stage, count)
            where = self.renderer.provider_label(stage)
            if batch.cost is None:
                cost = "cost unknown"
            elif batch.cost == 0:
                cost = "free"
            else:
                cost = f"≈ {batch.cost:.2f}"
            parts.append(f"{label}: {cost}")
            tips.append(f"{label} of all {count} scenes on {where}: {batch.sentence()}")
        self.cost_label.setText("  ·  ".join(parts) + "   ")
        self.cost_label.setToolTip("\n".join(tips))
        self.actions_by_name["preview_all"].setToolTip(tips[0])
        self.actions_by_name["finalize_all"].setToolTip(tips[1])

    def _render(self, method: str, names: list[str]) -> None:
        if self.renderer is None or not names:
            return
        getattr(self.renderer, method)(names)

    def preview_all(self) -> None:
        self._render("preview", self.model.names())

    def preview_selected(self) -> None:
        self._render("preview", self.grid.selected_names())

    def finalize_selected(self) -> None:
        self._render("finalize", self.grid.selected_names())

    def finalize_all(self) -> None:
        self._render("finalize", self.model.names())

    def finalize_approved(self) -> None:
        names = [n for n in self.model.names()
                 if self.model.cell(n).approval is Approval.APPROVED]
        if not names:
            self.show_message("No scene is approved yet: approve the previews you like (✓ on "
                              "a card, or A), then finalize them.", "info")
            return
        self._render("finalize", names)

    def retry_failed(self) -> None:
        names = [n for n in self.model.names() if self.model.cell(n).has_failure]
        self._render("retry", names)

    def cancel_all(self) -> None:
        if self.renderer is not None:
            self.renderer.cancel_all()

    def card_action(self, name: str, action: str) -> None:
        if action in ("preview", "finalize", "retry", "cancel"):
            self._render(action, [name])
        elif action == "approve":
            self.set_approval([name], Approval.APPROVED)
        elif action == "reject":
            self.set_approval([name], Approval.REJECTED)
        elif action == "star":
            self.set_star([name], not self.model.cell(name).star)
        elif action.startswith("open:"):
            self.open_compare(name)

    def set_approval(self, names: list[str], approval: Approval) -> None:
        from dataclasses import replace

        for name in names:
            cell = self.model.cell(name)
            verdict = Approval.NONE if cell.approval is approval else approval
            self.model.set_cell(name, replace(cell, approval=verdict))
            if self.renderer is not None and hasattr(self.renderer, "record_verdict"):
                self.renderer.record_verdict(name, verdict)

    def set_star(self, names: list[str], star: bool) -> None:
        from dataclasses import replace

        for name in names:
            self.model.set_cell(name, replace(self.model.cell(name), star=star))
            if self.renderer is not None and hasattr(self.renderer, "record_star"):
                self.renderer.record_star(name, star)

    def _verdict(self, approval: Approval) -> None:
        self.set_approval(self.grid.selected_names(), approval)

    def _star_selected(self) -> None:
        names = self.grid.selected_names()
        if names:
            self.set_star(names, not all(self.model.cell(n).star for n in names))

    # ------------------------------------------------------------------ other windows
    def open_settings(self) -> SettingsDialog:
        from studio.ui.settings_dialog import SettingsDialog, SystemKeyStore

        providers = self.renderer.providers if self.renderer is not None else {}
        keys = self.services.extras.get("keys") or SystemKeyStore()
        dialog = SettingsDialog(self.services.settings, self.services.config_dir,
                                self.services.provider_envs, providers, keys, self.tasks.start,
                                self)
        dialog.saved.connect(self.apply_settings)
        if self.settings_dialog is not None:
            self.settings_dialog.deleteLater()
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def apply_settings(self, settings: Any) -> None:
        """Saved settings take effect: new providers for the next batch."""
        self.services.settings = settings
        build = self.services.extras.get("build_providers")
        if self.renderer is None or build is None:
            return
        try:
            providers = build(settings)
        except ValueError as exc:
            self.show_message(f"The settings were saved but cannot be used: {exc}", "error")
            return

        async def swap() -> None:
            if await self.renderer.reconfigure(providers, settings):
                self.services.key_configured = lambda: any(
                    p.configured for pid, p in providers.items() if pid != "offline")
                self.refresh_banner()
                self._update_cost()
                self.show_message("Settings saved; the next batch uses them.", "ok")
            else:
                self.show_message("Settings saved; they apply once the renders in progress "
                                  "have finished (save them again then).", "warning")

        self.tasks.start(swap(), "Applying the settings")

    def compare_selected(self) -> None:
        name = self.grid.current_name()
        if name:
            self.open_compare(name)

    def open_compare(self, name: str) -> CompareView | None:
        cell = self.model.cell(name)
        preview, final = cell.preview.image, cell.final.image
        if preview is None and final is None:
            self.show_message(f"\u201c{name}\u201d has no render to compare yet: preview it "
                              "first.", "info")
            return None
        if self.compare is None:
            self.compare = CompareView(self.background, self)
            self.compare.setWindowFlag(Qt.WindowType.Window)
        info = []
        for label, slot in (("Preview", cell.preview), ("Final", cell.final)):
            if slot.image is not None:
                info.append(f"{label}: {slot.provider} · {slot.model}")
        self.compare.show_pair(name, preview, final, "   ·   ".join(info))
        bring_to_front(self.compare)
        return self.compare

    def open_library(self) -> LibraryBrowser | None:
        if self.library is None:
            self.show_message("The library is not open, so there is nothing to browse.", "error")
            return None
        if self.library_browser is None:
            browser = LibraryBrowser(self.library, self.background, self)
            browser.setWindowFlag(Qt.WindowType.Window)
            browser.openSheetRequested.connect(self.open_path)
            browser.importRequested.connect(self.import_images)
            self.library_browser = browser
        else:
            self.library_browser.reload_projects()
            self.library_browser.apply_filter()
        bring_to_front(self.library_browser)
        return self.library_browser

    # ------------------------------------------------------------------ importing images
    def export_dialog(self) -> Any:
        """Export the sheet's latest renders; the dialog reads and writes off the GUI thread."""
        if self.library is None or self.renderer is None:
            self.show_message("Exports need the library, which is not open; see the message "
                              "above.", "error")
            return None
        from studio.export.gather import gather_sheet
        from studio.ui.export_dialog import ExportDialog

        library, catalog = self.library, self.services.catalog
        sheet, path = self.document.sheet, self.renderer.library_path()
        start = self.document.path.parent if self.document.path else Path.home()
        dialog = ExportDialog(lambda: gather_sheet(library, sheet, path, catalog),
                              library=library, start_dir=start, parent=self)
        dialog.exported.connect(
            lambda out: self.statusBar().showMessage(f"Exported {out}", 8000))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def import_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        names, _ = QFileDialog.getOpenFileNames(self, "Import images", str(Path.home()),
                                                "Images (*.png *.jpg *.jpeg *.webp)")
        if names:
            self.import_images([Path(n) for n in names])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if image_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = image_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.import_images(paths)
        else:
            super().dropEvent(event)

    def import_images(self, paths: list[Path]) -> None:
        """Import images from other tools into this sheet's project; offer the first one's
        settings as a new scene."""
        library = self.library
        if library is None:
            self.show_message("The library is not open, so images cannot be imported.", "error")
            return
        from studio.library.binding import project_name

        project = project_name(self.document.sheet) or "Imported"

        def work() -> list[Any]:
            project_id = library.projects.ensure(project).id
            results, errors = [], []
            for path in paths:
                try:
                    results.append(library.maintenance.import_image(path, project_id))
                except Exception as exc:  # a sentence per file; the others go on
                    errors.append(str(exc))
            return [results, errors]

        def done(outcome: list[Any]) -> None:
            results, errors = outcome
            if errors:
                self.show_message(" ".join(errors), "error")
            if not results:
                return
            first = results[0]
            found = first.suggestion
            what = (f"its settings (seed {found.seed}, {found.width}x{found.height})"
                    if found.prompt else "no settings in it")
            text = (f"Imported {len(results)} image(s) into “{project}”; "
                    f"{paths[0].name} has {what}.")
            if found.prompt:
                self.show_message(text, "ok", "Add as a scene",
                                  lambda: self.add_scene_from_import(paths[0].stem, found))
            else:
                self.show_message(text, "ok")
            if self.library_browser is not None:
                self.library_browser.reload_projects()
                self.library_browser.apply_filter()
            self.imported.emit([r.render for r in results])

        self.background.run(work, done, what="Importing images")

    def add_scene_from_import(self, name: str, found: Any) -> str:
        from studio.core.sheet import Scene

        doc = self.document
        anchor = doc.sheet.character.anchor.strip()
        setting = found.prompt.replace(anchor, "").strip(" ,") if anchor else found.prompt
        framing = "portrait"
        if found.width and found.height:
            w, h = found.width - found.width % 8, found.height - found.height % 8
            framing = next((p.id for p in doc.catalog.of_kind(PresetKind.FRAMING)
                            if (p.width, p.height) == (w, h)), f"{w}x{h}")
        seed = found.seed if found.seed is not None and found.seed != doc.sheet.character.seed \
            else None
        scene = doc.add_scene(Scene(name=name, setting=setting or found.prompt, framing=framing,
                                    seed=seed))
        self.grid.select_name(scene.name)
        return scene.name

    def open_consistency(self) -> ConsistencyView:
        if self.consistency is None:
            self.consistency = ConsistencyView(self.model, self.images, self)
            self.consistency.setWindowFlag(Qt.WindowType.Window)
        self.consistency.refresh()
        bring_to_front(self.consistency)
        return self.consistency

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and not self._settle_changes():
            event.ignore()
            return
        if not self._closing or self._shutdown is None:
            self.state.save_window(self.saveGeometry(), self.saveState())
            self.state.mark_started()
        self._closing = True
        if self.renderer is not None and not self.closed_down:
            # Jobs in flight stay in the library for the next start; the providers and the
            # library are closed before the window goes.
            event.ignore()
            if self._shutdown is None:
                self._shutdown = self.tasks.start(self._shut_down(), "Closing the studio")
            return
        self.closed_down = True
        for extra in (self.compare, self.consistency, self.library_browser):
            if extra is not None:
                extra.close()
        self.tasks.close()
        self.background.close()
        self.images.clear()
        super().closeEvent(event)

    async def _shut_down(self) -> None:
        try:
            await self.tasks.drain(keep=asyncio.current_task())
            await self.renderer.aclose()
        finally:
            self.closed_down = True
            QTimer.singleShot(0, self.close)

    def force_close(self) -> None:
        """Close without asking about unsaved changes (tests, session end)."""
        self._closing = True
        self.close()
