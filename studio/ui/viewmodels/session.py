"""The window's session: which sheet is open and from which file, opening, saving and "Save as",
the question about unsaved changes, the recent files and the sheet to reopen next time.

The questions themselves (file choosers, "save the changes?") are asked through
:class:`SessionQuestions`, which the window answers with real dialogs and tests with a fake.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal, Protocol

from PySide6.QtCore import QObject, Signal

from studio.core.errors import StudioInputError
from studio.core.presets import PresetCatalog
from studio.core.sheet import SHEET_SUFFIX, Sheet, load_sheet
from studio.ui.viewmodels.document import SheetDocument, new_character_sheet
from studio.ui.viewmodels.window_state import WindowState

SaveChoice = Literal["save", "discard", "cancel"]


class SessionQuestions(Protocol):
    def open_sheet_path(self, start: Path | None) -> Path | None: ...

    def save_sheet_path(self, suggested: Path) -> Path | None: ...

    def ask_save_changes(self, name: str) -> SaveChoice: ...


class Session(QObject):
    """``opened(path or None)`` after a sheet was shown; ``saved(path)`` after it was written;
    ``recentChanged`` when the recent files changed; ``message(text, level)`` for the user."""

    opened = Signal(object)
    saved = Signal(object)
    recentChanged = Signal()
    message = Signal(str, str)

    def __init__(self, document: SheetDocument, state: WindowState, catalog: PresetCatalog,
                 questions: SessionQuestions, example: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.state = state
        self.catalog = catalog
        self.questions = questions
        self.example = example
        #: Names the data-folder copy of an unsaved sheet (its renders belong to it).
        self.unsaved_key: str | None = None

    # ------------------------------------------------------------------ showing a sheet
    def load(self, sheet: Sheet, path: Path | None, display_name: str | None = None,
             unsaved_key: str | None = None) -> None:
        self.unsaved_key = unsaved_key if path is None else None
        if path is None and unsaved_key is None:
            self.unsaved_key = f"untitled-{time.strftime('%Y%m%d-%H%M%S')}"
        self.document.reset(sheet, path, display_name)
        if path is not None:
            self.state.add_recent(path)
            self.recentChanged.emit()
        self.state.set_last_sheet(path)
        self.opened.emit(path)

    def open_path(self, path: Path) -> bool:
        if not self.settle_changes():
            return False
        try:
            sheet = load_sheet(path, self.catalog)
        except StudioInputError as exc:
            self.message.emit(f"The sheet cannot be opened: {exc}", "error")
            return False
        self.load(sheet, path.resolve())
        self.message.emit(f"Opened {path.name}: {len(sheet.scenes)} scenes.", "ok")
        return True

    def open_example(self) -> bool:
        """The example sheet, as a new unsaved sheet: saving asks where, never over the
        shipped file."""
        if self.example is None:
            self.load(new_character_sheet(self.catalog), None)
            return False
        try:
            sheet = load_sheet(self.example, self.catalog)
        except StudioInputError as exc:
            self.message.emit(f"The example sheet cannot be read: {exc}", "error")
            return False
        self.load(sheet, None, "emma.sheet.toml (example)", unsaved_key="emma-example")
        return True

    def open_last(self) -> bool:
        """The sheet open when the studio last closed, if it is still there."""
        last = self.state.last_sheet()
        return last is not None and last.is_file() and self.open_path(last)

    def open_dialog(self) -> None:
        start = self.document.path.parent if self.document.path else None
        path = self.questions.open_sheet_path(start)
        if path is not None:
            self.open_path(path)

    def new_sheet(self) -> None:
        if self.settle_changes():
            # A new sheet starts empty: its scenes are the user's (or a template's).
            self.load(new_character_sheet(self.catalog).with_scenes(()), None,
                      "Untitled sheet")

    # ------------------------------------------------------------------ saving
    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        name = self.document.sheet.character.name.strip() or "character"
        folder = self.document.path.parent if self.document.path else Path.home()
        suggested = folder / f"{name.lower().replace(' ', '-')}{SHEET_SUFFIX}"
        path = self.questions.save_sheet_path(suggested)
        if path is None:
            return False
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            saved = self.document.save(path)
        except StudioInputError as exc:
            self.message.emit(str(exc), "error")
            return False
        self.unsaved_key = None
        self.state.add_recent(saved)
        self.state.set_last_sheet(saved.resolve())
        self.recentChanged.emit()
        self.saved.emit(saved)
        return True

    def settle_changes(self) -> bool:
        """Ask to save unsaved changes; False when the user cancels."""
        if not self.document.modified:
            return True
        choice = self.questions.ask_save_changes(self.document.display_name)
        if choice == "cancel":
            return False
        if choice == "save":
            return self.save()
        return True

    # ------------------------------------------------------------------ recent files
    def recent_files(self) -> list[Path]:
        return [p for p in self.state.recent_files() if p.exists()]

    def clear_recent(self) -> None:
        self.state.clear_recent()
        self.recentChanged.emit()
