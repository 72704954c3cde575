"""The studio window's chrome: the character panel, the scene grid, the scene panel and the
inspector in their docks, the menus and toolbar (built from the actions table of
:mod:`studio.ui.window_actions`), and closing. What it says about itself (the cost and progress
line, the message bars) is :class:`~studio.ui.window_status.WindowStatus`'.

What the window shows lives in view-models it binds to: the session (open, save, recent files),
the document, the scene grid's model and selection, the inspector's model, and the rendering
side (:class:`~studio.ui.viewmodels.studio.StudioRendering`: the library and the providers,
opened off the GUI thread once the window shows). Its other windows are
:class:`~studio.ui.tool_windows.ToolWindows`'.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QPaintEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QSizePolicy, QVBoxLayout, QWidget

from studio import APP_DISPLAY_NAME
from studio.core.settings import Settings
from studio.ui.card_actions import CardActions
from studio.ui.card_badges import CardBadges
from studio.ui.character_panel import CharacterPanel
from studio.ui.scene_checks import SceneFindings
from studio.ui.scene_delegate import SceneCardDelegate
from studio.ui.scene_editor import SceneEditor
from studio.ui.scene_grid import CardSizeSlider, SceneGridView
from studio.ui.services import StudioServices, WindowQuestions, example_sheet_path
from studio.ui.tool_windows import ToolWindows
from studio.ui.viewmodels.attention import JobAttention
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.document import SheetDocument, new_character_sheet
from studio.ui.viewmodels.identity import RenderFacts
from studio.ui.viewmodels.images import ImageCache
from studio.ui.viewmodels.importing import ImageImport
from studio.ui.viewmodels.inspector import InspectorModel
from studio.ui.viewmodels.references import ReferenceSet
from studio.ui.viewmodels.scenes import SceneListModel
from studio.ui.viewmodels.selection import SceneSelection
from studio.ui.viewmodels.session import Session
from studio.ui.viewmodels.studio import StudioRendering
from studio.ui.viewmodels.window_state import WindowState
from studio.ui.widgets import (
    BatchStatus,
    CutTextTips,
    MessageBar,
    image_paths,
    takes_box,
)
from studio.ui.window_actions import (
    HANDLERS,
    RecentMenu,
    build_actions,
    build_menus,
    build_toolbar,
    set_tip,
)
from studio.ui.window_rendering import RenderingHookup
from studio.ui.window_status import WindowStatus

if TYPE_CHECKING:
    from studio.ui.image_windows import ImageWindows
    from studio.ui.inspector import Inspector
    from studio.ui.template_dialog import WindowTemplates


class MainWindow(QMainWindow):
    """One window, one open sheet. ``renderingReady(bool)`` once the library and the providers
    are open (False: they could not be, and a message says why); ``windowPainted`` each time
    the window has painted itself."""

    imported = Signal(list)  # library RenderRecords of imported images
    renderingReady = Signal(bool)
    windowPainted = Signal()

    session: Session
    document: SheetDocument
    model: SceneListModel
    grid: SceneGridView
    tools: ToolWindows
    rendering: StudioRendering

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
        self._questions = WindowQuestions(services.dialogs, self)
        self.session = Session(self.document, self.state, catalog, self._questions,
                               example_sheet_path(), self)
        self.selection = SceneSelection(self.document, self)
        self.model = SceneListModel(self.document, self)
        self.inspector_model = InspectorModel(self.document, self.model, self.selection,
                                              self.background, self)
        self.importer = ImageImport(self.document, self.background, self)
        self.references = ReferenceSet(self.document, self.background, self)
        self.rendering = StudioRendering(self.model, self.session, self.inspector_model,
                                         self.importer, self.background,
                                         self._questions.confirm, self)
        self.render_facts = RenderFacts(self.model, self.background, self)
        self.attention = JobAttention(self.model, self.background, self._questions.confirm, self)
        self.tools = ToolWindows(self)
        self.closed_down = False
        self.closing = False
        self._state_saved = False
        self._shutdown: asyncio.Task[Any] | None = None
        self._build_central()
        self._build_docks()
        self.actions_by_name = build_actions(self, self.grid)
        self.recent_menu = RecentMenu(self.session, self)
        build_menus(self, {"recent": self._add_recent_menu,
                           "patterns": self._add_pattern_menu, "docks": self._add_dock_toggles})
        self.toolbar = build_toolbar(self)
        self.takes_box = takes_box(self.toolbar)
        self.takes_box.valueChanged.connect(self._takes_changed)
        self.toolbar.addWidget(self.takes_box)
        spacer = QWidget(self.toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.status = BatchStatus(self.toolbar)
        self.cost_label, self.progress_label = self.status.cost_label, self.status.progress_label
        self.toolbar.addWidget(self.status)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.statusBar().setSizeGripEnabled(True)
        self.statusBar().addPermanentWidget(self.status.progress)
        self.card_size = CardSizeSlider(self.grid, self)
        self.statusBar().addPermanentWidget(self.card_size)
        self.says = WindowStatus(self, self.banner, self.messages, self.status)
        self.card_actions = CardActions(self, "cardActions")
        self.hookup = RenderingHookup(self, "renderingHookup")
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self.setMinimumSize(QSize(900, 600))
        self.setDockNestingEnabled(True)
        self._restore_window()
        self._update_title()
        self.update_actions()
        self.says.update_progress()
        self.says.refresh_banner()

    # ------------------------------------------------------------------ made when first used
    # Neither is part of the first paint: their modules are read when a menu or a card's
    # image first asks for them.
    @cached_property
    def image_windows(self) -> ImageWindows:
        """The viewer, compare and the library browser's image actions."""
        from studio.ui.image_windows import ImageWindows

        return ImageWindows(self)

    @cached_property
    def templates(self) -> WindowTemplates:
        """The sheet templates (built-in and the user's) the window's dialogs offer."""
        from studio.ui.template_dialog import WindowTemplates

        return WindowTemplates(self.services.catalog, self.services.config_dir)

    @cached_property
    def inspector(self) -> Inspector:
        """The Inspector panel, made when its tab is first shown (or asked for): it waits behind
        the Scene panel, and is not part of the first paint."""
        from studio.ui.inspector import Inspector

        inspector = Inspector(self.inspector_model, self, self.render_facts)
        inspector.setMinimumWidth(300)
        inspector.referenceRequested.connect(self.card_actions.use_as_reference)
        dock = self.inspector_dock
        stand_in = dock.widget()
        dock.setWidget(inspector)
        if stand_in is not None:
            stand_in.deleteLater()
        if dock.isVisible():
            inspector.show()  # a widget set into a shown dock is not shown by it
        self.cut_text_tips.watch(inspector)
        return inspector

    def _inspector_shown(self, visible: bool) -> None:
        if visible:
            _ = self.inspector

    # ------------------------------------------------------------------ construction
    def _build_central(self) -> None:
        self.delegate = SceneCardDelegate(self.services.catalog, self.images, self)
        self.delegate.badges = CardBadges(self.render_facts, self.attention)
        self.grid = SceneGridView(self.model, self.delegate, self)
        # The templates' labels are read when a sheet first has sections (through a weak
        # reference: the grid is the window's, and must not keep it alive).
        window = weakref.ref(self)

        def group_label(group: str) -> str:
            alive = window()
            return alive.templates.group_label(group) if alive is not None else group

        self.grid.group_label = group_label
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

    def _build_docks(self) -> None:
        docks = []
        for title, name, widget, area in (
                ("Character", "characterDock",
                 CharacterPanel(self.document, parent=self, references=self.references,
                                images=self.images),
                 Qt.DockWidgetArea.LeftDockWidgetArea),
                ("Scene", "sceneDock", SceneEditor(self.document, self.selection, self),
                 Qt.DockWidgetArea.RightDockWidgetArea),
                # A tab behind the Scene panel: its widget is made when it is first shown.
                ("Inspector", "inspectorDock", QWidget(self),
                 Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            widget.setMinimumWidth(300)
            self.addDockWidget(area, dock)
            docks.append(dock)
        self.character_dock, self.scene_dock, self.inspector_dock = docks
        self.character_panel = cast(CharacterPanel, self.character_dock.widget())
        self.scene_editor = cast(SceneEditor, self.scene_dock.widget())
        self.tabifyDockWidget(self.scene_dock, self.inspector_dock)
        # The prompt checks on the cards and in the Scene panel, where the problem is.
        self.character_panel.checks.findingsChanged.connect(self.model.set_findings)
        self.scene_findings = SceneFindings(self.scene_editor, self.model, self.selection)
        # A field too narrow for its text shows the whole of it as a tooltip. The docks' fields
        # are found once the window has painted itself (no one hovers over a field before it
        # shows): finding them wraps every object under the docks, a few milliseconds of the
        # wait for the first paint.
        self.cut_text_tips = CutTextTips(self)
        self.scene_dock.raise_()
        self.inspector_dock.visibilityChanged.connect(self._inspector_shown)

    def _add_recent_menu(self, menu: QMenu) -> None:
        menu.addMenu(self.recent_menu)

    def _add_pattern_menu(self, menu: QMenu) -> None:
        self.pattern_menu = self.grid.pattern_menu(menu)

    def _add_dock_toggles(self, menu: QMenu) -> None:
        for dock in (self.character_dock, self.scene_dock, self.inspector_dock):
            menu.addAction(dock.toggleViewAction())

    def _connect(self) -> None:
        stack, acts = self.document.undo_stack, self.actions_by_name
        for name, verb, can, text_changed in (
                ("undo", "Undo", stack.canUndoChanged, stack.undoTextChanged),
                ("redo", "Redo", stack.canRedoChanged, stack.redoTextChanged)):
            acts[name].setEnabled(False)
            can.connect(acts[name].setEnabled)
            text_changed.connect(lambda text, a=acts[name], v=verb:
                                 set_tip(a, f"{v} {text}" if text else f"Nothing to {v.lower()}"))
        says = self.says
        self.banner.actionTriggered.connect(self.tools.open_settings)
        for source in (self.background.failed, self.importer.failed):
            source.connect(lambda text: says.show_message(text, "error"))
        self.session.message.connect(says.session_message)
        self.session.opened.connect(self._sheet_opened)
        self.rendering.message.connect(says.show_message)
        self.rendering.ready.connect(self.hookup.ready)
        self.rendering.providersChanged.connect(self.hookup.providers_changed)
        self.importer.finished.connect(self.tools.imported)
        self.images.loaded.connect(self.model.refresh_images)
        self.images.failedToLoad.connect(lambda path, _why: self.model.refresh_images(path))
        cards = self.card_actions
        self.delegate.actionRequested.connect(cards.card_action)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(cards.card_menu)
        for source in (self.render_facts.changed, self.attention.changed):
            source.connect(self.hookup.badges_changed)
        self.render_facts.unavailable.connect(lambda text: says.show_message(text, "info"))
        self.attention.message.connect(says.show_message)
        self.references.message.connect(says.passing)
        self.grid.selectionNamesChanged.connect(
            lambda names: self.selection.set(self.grid.current_name(), names))
        self.grid.sceneActivated.connect(cards.scene_activated)
        self.selection.changed.connect(self.update_actions)
        for signal in (self.document.changed, self.document.pathChanged,
                       self.document.modifiedChanged):
            signal.connect(self._update_title)
        self.document.changed.connect(self.update_actions)
        self.document.changed.connect(says.update_cost)
        for signal in (self.model.cellsChanged, self.model.modelReset, self.model.rowsMoved):
            signal.connect(says.progress_soon)

    def _restore_window(self) -> None:
        try:
            step = int(str(self.state.value("grid/card_size", self.grid.card_size_step)))
        except ValueError:
            step = self.grid.card_size_step
        self.grid.set_card_size(step)
        self.grid.cardSizeChanged.connect(lambda s: self.state.set_value("grid/card_size", s))
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
    @property
    def starting(self) -> bool:
        """The library and the providers are being opened (or about to be)."""
        return self.hookup.start_pending or self.rendering.starting

    @property
    def library(self) -> Any:
        return self.rendering.library

    @property
    def renderer(self) -> Any:
        return self.rendering.renderer

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.hookup.painted:
            self.hookup.first_paint()
            QTimer.singleShot(0, self, self._watch_cut_fields)
        self.windowPainted.emit()

    def _watch_cut_fields(self) -> None:
        for dock in (self.character_dock, self.scene_dock, self.inspector_dock):
            self.cut_text_tips.watch(dock)

    def apply_settings(self, settings: Settings) -> None:
        """Saved settings take effect: new providers for the next batch, the identity
        threshold's verdicts at once."""
        self.services.settings = settings
        self.rendering.apply_settings(settings, self.services.build_providers)
        refused = self.render_facts.use_threshold(settings.identity_threshold)
        if refused:
            self.show_message(f"The identity threshold was not changed: {refused}.", "warning")

    # ------------------------------------------------------------------ what the window shows
    def _update_title(self) -> None:
        doc = self.document
        name = doc.sheet.character.name.strip()
        title = f"{doc.display_name}[*] — {APP_DISPLAY_NAME}"
        self.setWindowTitle(f"{name} — {title}" if name else title)
        self.setWindowModified(doc.modified)

    def update_actions(self) -> None:
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
        return self.says.counts_pending

    def refresh_banner(self) -> None:
        self.says.refresh_banner()

    def show_message(self, text: str, level: str = "info", action: str = "",
                     on_action: Callable[[], Any] | None = None) -> None:
        self.says.show_message(text, level, action, on_action)

    def _takes_changed(self, takes: int) -> None:
        self.rendering.set_takes(takes)
        self.says.update_cost()

    # ------------------------------------------------------------------ sheets and scenes
    def _sheet_opened(self, _path: Path | None) -> None:
        self.model.reset_cells()
        if self.document.sheet.scenes:
            self.grid.select_name(self.document.sheet.scenes[0].name)
        self.messages.hide()
        self.update_actions()

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
        if not self.closing and not self.session.settle_changes():
            event.ignore()
            return
        if not self._state_saved:
            self._state_saved = True
            self.state.save_window(self.saveGeometry(), self.saveState())
            self.state.mark_started()
        self.closing = True
        self.tools.close_all()  # before the library closes under them
        if self.starting:  # the library is being opened: closed once it is (hookup.ready)
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
            await self.background.edits_done()  # the last verdicts pressed are kept
            # Scoring stops before the library closes: the face analyser's child process is
            # ended (an analysis under way with it) and the scoring still reading or writing
            # the library is waited for.
            self.attention.close()
            end_analyser = self.render_facts.close()
            try:
                await self.background.call(end_analyser)
                await self.background.finished(self.render_facts)
            finally:
                await self.rendering.aclose()
        finally:
            self.closed_down = True
            QTimer.singleShot(0, self.close)

    def abandon(self) -> None:
        """The window's event loop has ended under it (its display went away) and nothing will
        run :meth:`_shut_down`: its steps are taken here, each waited for. The last edits are
        applied, the renders parked for the next start, the face analyser ended, the library
        closed; no callback runs afterwards."""
        if self.closed_down:
            return
        self.closed_down = True
        self.attention.close()
        try:
            self.render_facts.close()()  # ends the face analyser's child first
        finally:
            self.background.close(keep_edits=True)  # then the work that used it
            self.rendering.abandon()
            self.images.clear()

    def force_close(self) -> None:
        """Close without asking about unsaved changes (tests, session end)."""
        self.closing = True
        self.close()
