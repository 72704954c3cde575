"""The window's actions as data: each one's name, text, shortcut, tooltip and what it does, and
where the menus and the toolbar show them.

The tooltip a user sees names the shortcut ("Save the sheet file (Ctrl+S)"), so the table is
the one place to read both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar, QWidget

from studio.core.lifecycle import Approval

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow
    from studio.ui.viewmodels.session import Session

Std = QKeySequence.StandardKey
Shortcut = QKeySequence.StandardKey | str | None


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action of the window. ``handler`` is called with the window; ``grid_only`` actions
    (single letters) work only while the scene grid has the focus, never in a text field."""

    name: str
    text: str
    shortcut: Shortcut
    tip: str
    handler: Callable[[MainWindow], Any]
    grid_only: bool = False
    checkable: bool = False


def _render(kind: str, which: str) -> Callable[[MainWindow], Any]:
    def run(window: MainWindow) -> Any:
        names = window.model.names() if which == "all" else window.grid.selected_names()
        return window.rendering.render_scenes(kind, names)

    return run


def _templates(which: str, window: MainWindow) -> Any:
    from studio.ui import template_dialog

    if which == "new":
        return template_dialog.new_from_template(window)
    return template_dialog.add_from_template(window)


def _likeness(window: MainWindow) -> None:
    action: QAction = window.actions_by_name["takes_by_likeness"]
    window.grid.set_takes_by_likeness(action.isChecked())


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("new", "&New sheet", Std.New, "Start a new character sheet",
               lambda w: w.session.new_sheet()),
    ActionSpec("new_from_template", "New from &template…", "Ctrl+Shift+T",
               "Start a sheet from a template: turnaround, head turn, expressions, poses, "
               "outfits or storyboard coverage", lambda w: _templates("new", w)),
    ActionSpec("open", "&Open…", Std.Open, "Open a character sheet file",
               lambda w: w.session.open_dialog()),
    ActionSpec("save", "&Save", Std.Save, "Save the sheet file", lambda w: w.session.save()),
    ActionSpec("save_as", "Save &as…", Std.SaveAs, "Save the sheet under a new name",
               lambda w: w.session.save_as()),
    ActionSpec("quit", "&Quit", Std.Quit, "Close the studio", lambda w: w.close()),
    ActionSpec("undo", "&Undo", Std.Undo, "Undo the last edit",
               lambda w: w.document.undo_stack.undo()),
    ActionSpec("redo", "&Redo", Std.Redo, "Redo the edit last undone",
               lambda w: w.document.undo_stack.redo()),
    ActionSpec("add_scene", "&Add scene", "Ctrl+Shift+N", "Add a scene to the sheet",
               lambda w: w.grid.add_scene()),
    ActionSpec("add_from_template", "Add from te&mplate…", "Ctrl+Shift+M",
               "Add a template's cells after the sheet's scenes (one undo step)",
               lambda w: _templates("add", w)),
    ActionSpec("duplicate_scene", "&Duplicate scene", "Ctrl+D", "Duplicate the selected scene",
               lambda w: w.grid.duplicate_current()),
    ActionSpec("delete_scene", "De&lete scene", Std.Delete, "Delete the selected scenes",
               lambda w: w.grid.delete_selected()),
    ActionSpec("preview_all", "Preview &all", "Ctrl+R", "Render quick previews of every scene",
               _render("preview", "all")),
    ActionSpec("preview_selected", "&Preview selected", "Ctrl+P",
               "Render previews of the selected scenes", _render("preview", "selected")),
    ActionSpec("finalize_selected", "&Finalize selected", "Ctrl+Return",
               "Render the photoreal finals of the selected scenes",
               _render("finalize", "selected")),
    ActionSpec("finalize_approved", "Finalize app&roved", "Ctrl+Shift+Return",
               "Render the finals of every approved scene",
               lambda w: w.rendering.finalize_approved()),
    ActionSpec("finalize_all", "Finalize a&ll", "Ctrl+Shift+F",
               "Render the finals of every scene", _render("finalize", "all")),
    ActionSpec("cancel_all", "&Cancel all", "Ctrl+.", "Stop every render in flight",
               lambda w: w.rendering.cancel_all()),
    ActionSpec("retry_failed", "Re&try failed", "Ctrl+Shift+R",
               "Render again every scene that failed", lambda w: w.rendering.retry_failed()),
    ActionSpec("approve", "Appro&ve", "A", "Approve the selected scenes",
               lambda w: w.rendering.set_approval(w.grid.selected_names(), Approval.APPROVED),
               grid_only=True),
    ActionSpec("reject", "Re&ject", "X", "Reject the selected scenes",
               lambda w: w.rendering.set_approval(w.grid.selected_names(), Approval.REJECTED),
               grid_only=True),
    ActionSpec("star", "&Star", "S", "Star or unstar the selected scenes",
               lambda w: w.rendering.toggle_star(w.grid.selected_names()), grid_only=True),
    ActionSpec("settings", "&Settings…", Std.Preferences,
               "Provider keys, models, concurrency and prices",
               lambda w: w.tools.open_settings()),
    ActionSpec("compare", "&Compare preview and final", "Ctrl+K",
               "The selected scene's preview and final at full size, side by side or with a "
               "slider", lambda w: w.tools.compare_current()),
    ActionSpec("consistency", "C&onsistency grid", "Ctrl+G",
               "Every final of the sheet in one grid", lambda w: w.tools.open_consistency()),
    ActionSpec("library", "&Library", "Ctrl+L",
               "Every project and render: search, filter, star, approve, trash, open a sheet",
               lambda w: w.tools.open_library()),
    ActionSpec("import", "&Import images…", "Ctrl+I",
               "Import PNG, JPEG or WebP images made by other tools (their settings are read)",
               lambda w: w.tools.import_dialog()),
    ActionSpec("larger_cards", "&Larger cards", "Ctrl+=",
               "Bigger scene cards, fewer to a row", lambda w: w.grid.larger_cards()),
    ActionSpec("smaller_cards", "S&maller cards", "Ctrl+-",
               "Smaller scene cards, down to storyboard thumbnails",
               lambda w: w.grid.smaller_cards()),
    ActionSpec("takes_by_likeness", "Order takes by &likeness", None,
               "List each card's takes most like the character first, where identity scores "
               "exist (else in the order they were made)", lambda w: _likeness(w),
               checkable=True),
    ActionSpec("export", "&Export…", "Ctrl+E",
               "The sheet as a character sheet (PNG/PDF), a storyboard PDF or a ZIP bundle",
               lambda w: w.tools.export_dialog()),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "F1",
               "Every key of the studio, of the viewer and of compare",
               lambda w: w.tools.open_shortcuts()),
)

#: Menus in order; "-" is a separator, "@name" a part the window fills in itself.
MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("&File", ("new", "new_from_template", "open", "@recent", "-", "save", "save_as", "-",
               "import", "export", "settings", "-", "quit")),
    ("&Edit", ("undo", "redo")),
    ("&Scene", ("add_scene", "add_from_template", "@patterns", "duplicate_scene",
                "delete_scene", "-", "approve", "reject", "star")),
    ("&Render", ("preview_all", "preview_selected", "finalize_selected", "finalize_approved",
                 "finalize_all", "retry_failed", "cancel_all")),
    ("&View", ("library", "compare", "consistency", "-", "larger_cards", "smaller_cards",
               "takes_by_likeness", "-", "@docks")),
    ("&Help", ("shortcuts",)),
)

TOOLBAR: tuple[str, ...] = ("open", "save", "-", "undo", "redo", "-", "add_scene", "-",
                            "preview_all", "finalize_approved", "finalize_all", "cancel_all",
                            "-", "library", "settings")


def tip_with_shortcut(tip: str, action: QAction) -> str:
    """``tip`` followed by the action's shortcut as this system writes it."""
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    return f"{tip} ({keys})" if tip and keys else tip


def set_tip(action: QAction, tip: str) -> None:
    """A new tooltip (the shortcut added), also shown in the status bar."""
    text = tip_with_shortcut(tip, action)
    action.setToolTip(text)
    action.setStatusTip(text)


def build_actions(window: MainWindow, grid: QWidget,
                  specs: Iterable[ActionSpec] = ACTIONS) -> dict[str, QAction]:
    """One QAction per spec, owned by the window (or the grid, for ``grid_only`` ones)."""
    actions: dict[str, QAction] = {}
    for spec in specs:
        owner = grid if spec.grid_only else window
        action = QAction(spec.text, owner)
        action.setObjectName(f"action-{spec.name}")
        action.setData(spec.name)
        action.setCheckable(spec.checkable)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut
                                      if spec.grid_only else
                                      Qt.ShortcutContext.WindowShortcut)
        set_tip(action, spec.tip)
        # A bound method of the window, not a closure over it: the connection then holds no
        # reference that would keep a closed window alive.
        action.triggered.connect(window.trigger_action)
        owner.addAction(action)
        actions[spec.name] = action
    return actions


HANDLERS: dict[str, Callable[[MainWindow], Any]] = {spec.name: spec.handler for spec in ACTIONS}


def build_menus(window: MainWindow, parts: dict[str, Callable[[QMenu], None]]) -> None:
    """The menu bar from :data:`MENUS`; ``parts`` fill the "@name" entries."""
    bar = window.menuBar()
    for title, entries in MENUS:
        menu = bar.addMenu(title)
        for entry in entries:
            if entry == "-":
                menu.addSeparator()
            elif entry.startswith("@"):
                parts[entry[1:]](menu)
            else:
                menu.addAction(window.actions_by_name[entry])


def build_toolbar(window: MainWindow) -> QToolBar:
    bar = QToolBar("Main", window)
    bar.setObjectName("mainToolbar")
    bar.setMovable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for entry in TOOLBAR:
        if entry == "-":
            bar.addSeparator()
        else:
            bar.addAction(window.actions_by_name[entry])
    return bar


class RecentMenu(QMenu):
    """File › Open recent: the session's recent files, and a way to clear them."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__("Open &recent", parent)
        self.setObjectName("recentMenu")
        self._session = session
        session.recentChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        recent = self._session.recent_files()
        for path in recent:
            action = self.addAction(path.name)
            action.setToolTip(str(path))
            action.setData(str(path))
            action.triggered.connect(self._open)
        if recent:
            self.addSeparator()
            self.addAction("Clear the list").triggered.connect(self._session.clear_recent)
        self.setEnabled(bool(recent))

    def _open(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self._session.open_path(Path(action.data()))
