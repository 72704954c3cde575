"""The studio window's chrome: the character panel, the scene grid, the scene panel and the
inspector in their docks, the menus and toolbar (built from :mod:`studio.ui.window_actions`),
the progress and cost line, the message bars, and closing.

What the window shows lives in view-models it binds to: the session (open, save, recent files),
the document, the scene grid's model and selection, the renderer and the sheet's side of the
library (created once the library is open, off the GUI thread), the inspector's model. Its
other windows are :class:`~studio.ui.tool_windows.ToolWindows`'.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio import APP_DISPLAY_NAME
from studio.core.lifecycle import Approval
from studio.core.presets import PresetKind
from studio.core.request import Stage
from studio.core.settings import Settings
from studio.ui.character_panel import CharacterPanel
from studio.ui.inspector import Inspector
from studio.ui.scene_delegate import SceneCardDelegate
from studio.ui.scene_editor import SceneEditor
from studio.ui.scene_grid import SceneGridView
from studio.ui.services import Dialogs, RenderingParts, StudioServices, example_sheet_path
from studio.ui.tool_windows import ToolWindows
from studio.ui.viewmodels.background import Background, failure_sentence
from studio.ui.viewmodels.document import SheetDocument, new_character_sheet
from studio.ui.viewmodels.images import ImageCache
from studio.ui.viewmodels.importing import ImageImport
from studio.ui.viewmodels.inspector import InspectorModel
from studio.ui.viewmodels.scenes import SceneListModel
from studio.ui.viewmodels.selection import SceneSelection
from studio.ui.viewmodels.session import SaveChoice, Session
from studio.ui.viewmodels.window_state import WindowState
from studio.ui.widgets import MessageBar, image_paths
from studio.ui.window_actions import HANDLERS, build_actions, build_menus, build_toolbar, set_tip

if TYPE_CHECKING:  # opened once the window shows (start_rendering): imported then
    from studio.ui.viewmodels.changes import LibraryChanges
    from studio.ui.viewmodels.renderer import SheetRenderer
    from studio.ui.viewmodels.sheet_library import SheetLibrary

#: What rendering needs; the worker that opens the library imports them, so the GUI thread
#: does not wait for the network stack's imports when the window starts.
RENDERING_MODULES = ("studio.ui.viewmodels.changes", "studio.ui.viewmodels.sheet_library",
                     "studio.ui.viewmodels.renderer")

log = logging.getLogger("studio.ui")

NO_KEY_TEXT = ("No API key yet: scenes render as offline placeholder cards, right here on "
               "this computer. Add a key in Settings (ModelsLab, Replicate, fal, …) for real "
               "FLUX previews and finals.")


class _Questions:
    """The session's questions, asked with the window's dialogs; it holds the window weakly so
    a closed window is not kept alive by its own session."""

    def __init__(self, dialogs: Dialogs, window: MainWindow) -> None:
        self._dialogs = dialogs
        self._window = weakref.ref(window)

    def _parent(self) -> QWidget:
        window = self._window()
        assert window is not None
        return window

    def open_sheet_path(self, start: Path | None) -> Path | None:
        return self._dialogs.open_sheet_path(self._parent(), start)

    def save_sheet_path(self, suggested: Path) -> Path | None:
        return self._dialogs.save_sheet_path(self._parent(), suggested)

    def ask_save_changes(self, name: str) -> SaveChoice:
        return self._dialogs.ask_save_changes(self._parent(), name)

    def confirm(self, title: str, text: str) -> bool:
        return self._dialogs.confirm(self._parent(), title, text)


class MainWindow(QMainWindow):
    """One window, one open sheet. ``renderingReady(bool)`` once the library and the providers
    are open (False: they could not be, and a message says why)."""

    imported = Signal(list)  # library RenderRecords of imported images
    renderingReady = Signal(bool)

    session: Session
    document: SheetDocument
    model: SceneListModel
    grid: SceneGridView
    tools: ToolWindows

    def __init__(self, services: StudioServices, loop: asyncio.AbstractEventLoop | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.services = services
        catalog = services.catalog
        self.state = WindowState(services.config_dir)
        self.background = Background(loop, self)
        self.images = ImageCache(self.background, self)
        self.document = SheetDocument(new_character_sheet(catalog), catalog, parent=self,
                                      display_name="Untitled sheet")
        self._questions = _Questions(services.dialogs, self)
        self.session = Session(self.document, self.state, catalog, self._questions,
                               example_sheet_path(), self)
        self.selection = SceneSelection(self.document, self)
        self.model = SceneListModel(self.document, self)
        self.inspector_model = InspectorModel(self.document, self.model, self.selection,
                                              self.background, self)
        self.importer = ImageImport(self.document, self.background, self)
        self.tools = ToolWindows(self)
        # Opened on a worker once the window shows (start_rendering).
        self.library: Any = None
        self.changes: LibraryChanges | None = None
        self.sheet_library: SheetLibrary | None = None
        self.renderer: SheetRenderer | None = None
        self.starting = False
        self.closed_down = False
        self._closing = False
        self._state_saved = False
        self._close_when_ready = False
        self._shutdown: asyncio.Task[Any] | None = None
        self._message_action: Callable[[], Any] | None = None

        self.delegate = SceneCardDelegate(catalog, self.images, self)
        self.grid = SceneGridView(self.model, self.delegate, self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(6, 6, 6, 0)
        column.setSpacing(6)
        self.banner = MessageBar(central)
        self.banner.setObjectName("keyBanner")
        self.messages = MessageBar(central)
        self.messages.setObjectName("messages")
        for widget in (self.banner, self.messages):
            column.addWidget(widget)
        column.addWidget(self.grid, 1)
        self.setCentralWidget(central)
        self.character_panel = CharacterPanel(self.document, parent=self)
        self.character_dock = self._dock("Character", "characterDock", self.character_panel,
                                         Qt.DockWidgetArea.LeftDockWidgetArea)
        self.scene_editor = SceneEditor(self.document, self.selection, self)
        self.scene_dock = self._dock("Scene", "sceneDock", self.scene_editor,
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.inspector = Inspector(self.inspector_model, self)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.scene_dock, self.inspector_dock)
        self.scene_dock.raise_()

        self.actions_by_name = build_actions(self, self.grid)
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.setObjectName("recentMenu")
        build_menus(self, {"recent": self._add_recent_menu, "patterns": self._add_pattern_menu,
                           "docks": self._add_dock_toggles})
        self.toolbar = build_toolbar(self)
        self._add_status_line()
        self._bar_timer = QTimer(self)
        self._bar_timer.setSingleShot(True)
        self._bar_timer.setInterval(150)
        self._bar_timer.timeout.connect(self._update_bar)
        # The toolbar's counts follow the cards a moment later, once per burst of changes (a
        # new text re-lays the toolbar out).
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(40)
        self._progress_timer.timeout.connect(self._update_progress)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.statusBar().setSizeGripEnabled(True)
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self.setMinimumSize(QSize(900, 600))
        self.setDockNestingEnabled(True)
        self._restore_window()
        self._refresh_recent_menu()
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

    def _add_recent_menu(self, menu: QMenu) -> None:
        menu.addMenu(self.recent_menu)

    def _add_pattern_menu(self, menu: QMenu) -> None:
        patterns = menu.addMenu("Add scene from &pattern")
        patterns.setToolTipsVisible(True)
        for preset in self.services.catalog.of_kind(PresetKind.PATTERN):
            action = patterns.addAction(preset.label)
            action.setToolTip(preset.tooltip)
            action.setData(preset.id)
            action.triggered.connect(self._add_scene_from_pattern)
        self.pattern_menu = patterns

    def _add_dock_toggles(self, menu: QMenu) -> None:
        for dock in (self.character_dock, self.scene_dock, self.inspector_dock):
            menu.addAction(dock.toggleViewAction())

    def _add_status_line(self) -> None:
        spacer = QWidget(self.toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        box = QWidget(self.toolbar)
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
        for widget in (self.cost_label, self.progress_label, self.progress_bar):
            row.addWidget(widget)
        self.toolbar.addWidget(box)

    def _connect(self) -> None:
        stack, acts = self.document.undo_stack, self.actions_by_name
        for name, verb, can, text_changed in (
                ("undo", "Undo", stack.canUndoChanged, stack.undoTextChanged),
                ("redo", "Redo", stack.canRedoChanged, stack.redoTextChanged)):
            acts[name].setEnabled(False)
            can.connect(acts[name].setEnabled)
            text_changed.connect(lambda text, a=acts[name], v=verb:
                                 set_tip(a, f"{v} {text}" if text else f"Nothing to {v.lower()}"))
        self.banner.actionTriggered.connect(self.tools.open_settings)
        self.messages.actionTriggered.connect(self._run_message_action)
        self.background.failed.connect(lambda text: self.show_message(text, "error"))
        self.session.message.connect(self._session_message)
        self.session.opened.connect(self._sheet_opened)
        self.session.recentChanged.connect(self._refresh_recent_menu)
        self.importer.finished.connect(self.tools.imported)
        self.importer.failed.connect(lambda text: self.show_message(text, "error"))
        self.images.loaded.connect(self.model.refresh_images)
        self.images.failedToLoad.connect(lambda path, _why: self.model.refresh_images(path))
        self.delegate.actionRequested.connect(self.card_action)
        self.grid.selectionNamesChanged.connect(self._grid_selection_changed)
        self.grid.sceneActivated.connect(self._scene_activated)
        self.selection.changed.connect(self._update_actions)
        for signal in (self.document.changed, self.document.pathChanged,
                       self.document.modifiedChanged):
            signal.connect(self._update_title)
        self.document.changed.connect(self._update_actions)
        for signal in (self.model.cellsChanged, self.model.modelReset, self.model.rowsMoved):
            signal.connect(self._progress_soon)

    def _restore_window(self) -> None:
        geometry = self.state.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        dock_state = self.state.dock_state()
        if dock_state is not None:
            self.restoreState(dock_state)

    def trigger_action(self) -> None:
        """Run the action that was triggered (its handler in the actions table)."""
        action = self.sender()
        name = action.data() if isinstance(action, QAction) else None
        if name in HANDLERS:
            HANDLERS[name](self)

    # ------------------------------------------------------------------ rendering
    def current_settings(self) -> Settings:
        return self.services.settings or Settings()

    def start_rendering(self, preview_all: bool = False) -> None:
        """Open the library and the providers on a worker (settings file, keychain, SQLite),
        then render with them. ``preview_all``: the first start's example renders at once."""
        prepare = self.services.prepare_rendering
        if prepare is None or self.starting or self.renderer is not None:
            return
        self.starting = True

        def work() -> RenderingParts:
            import importlib

            for name in RENDERING_MODULES:
                importlib.import_module(name)
            return prepare()

        self.background.run(work, lambda parts: self._rendering_ready(parts, preview_all),
                            self._rendering_failed, what="Opening the library")

    def _rendering_ready(self, parts: RenderingParts, preview_all: bool) -> None:
        from studio.ui.viewmodels.changes import LibraryChanges
        from studio.ui.viewmodels.renderer import SheetRenderer
        from studio.ui.viewmodels.sheet_library import SheetLibrary

        self.starting = False
        services, library = self.services, parts.library
        services.settings = parts.settings
        providers = parts.providers
        services.key_configured = lambda: any(
            p.configured for pid, p in providers.items() if pid != "offline")
        self.library = library
        self.changes = LibraryChanges(library.changes, self)
        self.sheet_library = SheetLibrary(self.model, library, self.background, self.changes,
                                          library.data_dir / "unsaved", self)
        self.renderer = SheetRenderer(self.model, self.sheet_library, providers, parts.settings,
                                      self.background, self._questions.confirm, self)
        self.inspector_model.attach(library, self.changes)
        self.importer.library = library
        self.renderer.message.connect(self.show_message)
        self.renderer.batchPlanned.connect(
            lambda text: self.statusBar().showMessage(f"Sent: {text}", 8000))
        self.sheet_library.message.connect(self.show_message)
        self.sheet_library.historyChanged.connect(self.character_panel.set_history)
        self.session.saved.connect(self.sheet_library.sheet_saved)
        self.document.changed.connect(self._update_cost)
        for notice in parts.notices:
            self.show_message(notice, "warning")
        self.sheet_library.sheet_changed(self.document.path, self.session.unsaved_key)
        self.renderer.warm_up()
        self.refresh_banner()
        self._update_actions()
        self._update_progress()
        self._update_cost()
        self.background.start(self.renderer.resume(), "Resuming unfinished renders")
        if preview_all and not services.key_configured():
            self.render_scenes("preview", self.model.names())
        self.renderingReady.emit(True)
        if self._close_when_ready:
            self.close()

    def _rendering_failed(self, exc: BaseException) -> None:
        self.starting = False
        text = str(exc) if type(exc).__name__ == "RenderingUnavailableError" else \
            failure_sentence("Opening the library", exc) + " Renders are off until it is fixed."
        self.show_message(text, "error")
        self.renderingReady.emit(False)
        if self._close_when_ready:
            self.close()

    def apply_settings(self, settings: Settings) -> None:
        """Saved settings take effect: new providers (keys looked up on a worker) for the
        next batch."""
        self.services.settings = settings
        build, renderer = self.services.build_providers, self.renderer
        if renderer is None or build is None:
            return

        async def swap() -> None:
            try:
                providers = await self.background.call(build, settings)
            except Exception as exc:
                self.show_message(f"The settings were saved but cannot be used: {exc}",
                                  "error")
                return
            if await renderer.reconfigure(providers, settings):
                self.services.key_configured = lambda: any(
                    p.configured for pid, p in providers.items() if pid != "offline")
                self.refresh_banner()
                self._update_cost()
                self.show_message("Settings saved; the next batch uses them.", "ok")
            else:
                self.show_message("Settings saved; they apply once the renders in progress "
                                  "have finished (save them again then).", "warning")

        self.background.start(swap(), "Applying the settings")

    # ------------------------------------------------------------------ what the window shows
    def _update_title(self) -> None:
        doc = self.document
        name = doc.sheet.character.name.strip()
        title = f"{doc.display_name}[*] — {APP_DISPLAY_NAME}"
        self.setWindowTitle(f"{name} — {title}" if name else title)
        self.setWindowModified(doc.modified)

    def _update_actions(self) -> None:
        has_scenes = bool(self.document.sheet.scenes)
        selected = bool(self.selection.names)
        can_render = self.renderer is not None
        acts = self.actions_by_name
        for name in ("duplicate_scene", "delete_scene", "approve", "reject", "star"):
            acts[name].setEnabled(selected)
        for name in ("preview_all", "finalize_all", "finalize_approved", "retry_failed"):
            acts[name].setEnabled(can_render and has_scenes)
        for name in ("preview_selected", "finalize_selected"):
            acts[name].setEnabled(can_render and selected)
        acts["cancel_all"].setEnabled(can_render and self.model.progress().active > 0)

    @property
    def counts_pending(self) -> bool:
        """The toolbar's counts are about to follow the latest changes."""
        return self._progress_timer.isActive() or self._bar_timer.isActive()

    def _progress_soon(self, *_args: object) -> None:
        if not self._progress_timer.isActive():
            self._progress_timer.start()

    def _update_progress(self) -> None:
        progress = self.model.progress()
        self.progress_label.setText(progress.text)
        self.progress_bar.setVisible(progress.running)
        if progress.running and not self._bar_timer.isActive():
            # The bar repaints itself at once on every change: a few times a second will do.
            self._bar_timer.start()
        self.actions_by_name["cancel_all"].setEnabled(self.renderer is not None
                                                      and progress.active > 0)

    def _update_bar(self) -> None:
        progress = self.model.progress()
        self.progress_bar.setRange(0, max(1, progress.active + progress.done + progress.failed))
        self.progress_bar.setValue(progress.done + progress.failed)

    def _update_cost(self) -> None:
        """The cost of the toolbar's batches, shown before anything is sent."""
        if self.renderer is None:
            self.cost_label.setText("")
            return
        text, tips = self.renderer.cost_summary(len(self.document.sheet.scenes))
        self.cost_label.setText(text + "   ")
        self.cost_label.setToolTip("\n".join(tips.values()))
        set_tip(self.actions_by_name["preview_all"], tips[Stage.PREVIEW])
        set_tip(self.actions_by_name["finalize_all"], tips[Stage.FINAL])

    def _refresh_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.session.recent_files()
        for path in recent:
            action = menu.addAction(path.name)
            action.setToolTip(str(path))
            action.setData(str(path))
            action.triggered.connect(self._open_recent)
        if recent:
            menu.addSeparator()
            menu.addAction("Clear the list").triggered.connect(self.session.clear_recent)
        menu.setEnabled(bool(recent))

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

    def _session_message(self, text: str, level: str) -> None:
        if level == "ok":  # "Opened …": the status bar is enough
            self.statusBar().showMessage(text, 8000)
        else:
            self.show_message(text, level)

    def _run_message_action(self) -> None:
        action, self._message_action = self._message_action, None
        self.messages.dismiss()
        if action is not None:
            action()

    def exported(self, path: Path) -> None:
        self.statusBar().showMessage(f"Exported {path}", 8000)

    # ------------------------------------------------------------------ sheets and scenes
    def _open_recent(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.session.open_path(Path(action.data()))

    def _sheet_opened(self, path: Path | None) -> None:
        self.model.reset_cells()
        if self.document.sheet.scenes:
            self.grid.select_name(self.document.sheet.scenes[0].name)
        self.messages.hide()
        if self.sheet_library is not None:
            self.sheet_library.sheet_changed(path, self.session.unsaved_key)
        self._update_actions()

    def _grid_selection_changed(self, names: list[str]) -> None:
        self.selection.set(self.grid.current_name(), names)

    def _scene_activated(self, name: str) -> None:
        self.scene_dock.show()
        self.scene_dock.raise_()
        self.grid.select_name(name)
        self.scene_editor.setting_edit.setFocus()

    def add_scene(self, pattern_id: str | None = None) -> str:
        doc = self.document
        scene = doc.add_scene_from_pattern(pattern_id) if pattern_id else doc.add_scene()
        self.grid.select_name(scene.name)
        return scene.name

    def _add_scene_from_pattern(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.add_scene(str(action.data()))

    def duplicate_scene(self) -> None:
        name = self.grid.current_name()
        copy = self.document.duplicate_scene(name) if name else None
        if copy is not None:
            self.grid.select_name(copy.name)

    def delete_scenes(self) -> None:
        names = self.grid.selected_names()
        if names:
            self.document.remove_scenes(names)

    # ------------------------------------------------------------------ cards and renders
    def render_scenes(self, kind: str, names: list[str]) -> None:
        """``kind`` is preview, finalize, retry or cancel, for the scenes ``names``."""
        if self.renderer is not None and names:
            getattr(self.renderer, kind)(names)

    def finalize_approved(self) -> None:
        if self.renderer is not None and not self.renderer.finalize_approved():
            self.show_message("No scene is approved yet: approve the previews you like (✓ on "
                              "a card, or A), then finalize them.", "info")

    def retry_failed(self) -> None:
        if self.renderer is not None:
            self.renderer.retry_failed()

    def cancel_all(self) -> None:
        if self.renderer is not None:
            self.renderer.cancel_all()

    def set_approval(self, names: list[str], approval: Approval) -> None:
        if self.sheet_library is not None:
            self.sheet_library.set_approval(names, approval)

    def star_selected(self) -> None:
        if self.sheet_library is not None:
            self.sheet_library.toggle_star(self.grid.selected_names())

    def card_action(self, name: str, action: str) -> None:
        if action in ("preview", "finalize", "retry", "cancel"):
            self.render_scenes(action, [name])
        elif action in ("approve", "reject"):
            self.set_approval([name], Approval.APPROVED if action == "approve"
                              else Approval.REJECTED)
        elif action == "star" and self.sheet_library is not None:
            self.sheet_library.toggle_star([name])
        elif action.startswith("open:"):
            self.tools.open_compare(name)

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if image_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = image_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.importer.run(paths)
        else:
            super().dropEvent(event)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and not self.session.settle_changes():
            event.ignore()
            return
        if not self._state_saved:
            self._state_saved = True
            self.state.save_window(self.saveGeometry(), self.saveState())
            self.state.mark_started()
        self._closing = True
        self.tools.close_all()  # before the library closes under them
        if self.starting:  # the library is being opened: close it once it is
            self._close_when_ready = True
            event.ignore()
            return
        if self.renderer is not None and not self.closed_down:
            # Jobs in flight stay in the library for the next start; the providers and the
            # library are closed before the window goes.
            event.ignore()
            if self._shutdown is None:
                self._shutdown = self.background.start(self._shut_down(), "Closing the studio")
            return
        self.closed_down = True
        self.background.close()
        self.images.clear()
        super().closeEvent(event)

    async def _shut_down(self) -> None:
        try:
            await self.background.drain(keep=asyncio.current_task())
            if self.renderer is not None:
                await self.renderer.aclose()
        finally:
            self.closed_down = True
            QTimer.singleShot(0, self.close)

    def force_close(self) -> None:
        """Close without asking about unsaved changes (tests, session end)."""
        self._closing = True
        self.close()
