"""What the window is given by the composition root (``studio/app.py``): paths, the catalog,
settings, the dialogs it may open, and how to prepare the library and the providers (run on a
worker once the window is shown).

Tests build one of these with fakes; nothing in ``studio/ui`` reaches for a global.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtWidgets import QWidget

from studio.core.presets import PresetCatalog
from studio.core.resources import resources_dir
from studio.core.settings import ProviderEnv, Settings
from studio.core.sheet import SHEET_SUFFIX
from studio.ui.viewmodels.session import SaveChoice
from studio.ui.viewmodels.studio import RenderingParts

if TYPE_CHECKING:
    from studio.providers.base import Provider
    from studio.ui.viewmodels.settings import KeyStore

__all__ = ["Dialogs", "QtDialogs", "RenderingParts", "SaveChoice", "StudioServices",
           "WindowQuestions"]

SHEET_FILTER = f"Character sheets (*{SHEET_SUFFIX});;All files (*)"


class Dialogs(Protocol):
    """The modal questions the window asks; tests answer them with a fake."""

    def open_sheet_path(self, parent: QWidget, start: Path | None) -> Path | None: ...

    def save_sheet_path(self, parent: QWidget, suggested: Path) -> Path | None: ...

    def ask_save_changes(self, parent: QWidget, name: str) -> SaveChoice: ...

    def confirm(self, parent: QWidget, title: str, text: str) -> bool: ...


class WindowQuestions:
    """The session's questions, asked with the window's dialogs; it holds the window weakly so
    a closed window is not kept alive by its own session."""

    def __init__(self, dialogs: Dialogs, window: QWidget) -> None:
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


class QtDialogs:
    """The real dialogs (their classes are read when one first opens: none is part of the
    window's first paint)."""

    def open_sheet_path(self, parent: QWidget, start: Path | None) -> Path | None:
        from PySide6.QtWidgets import QFileDialog

        name, _ = QFileDialog.getOpenFileName(parent, "Open a character sheet",
                                              str(start or Path.home()), SHEET_FILTER)
        return Path(name) if name else None

    def save_sheet_path(self, parent: QWidget, suggested: Path) -> Path | None:
        from PySide6.QtWidgets import QFileDialog

        name, _ = QFileDialog.getSaveFileName(parent, "Save the character sheet",
                                              str(suggested), SHEET_FILTER)
        if not name:
            return None
        path = Path(name)
        if not path.name.endswith(SHEET_SUFFIX):
            path = path.with_name(path.name.removesuffix(".toml") + SHEET_SUFFIX)
        return path

    def ask_save_changes(self, parent: QWidget, name: str) -> SaveChoice:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes",
                          f"Save the changes to {name} before closing it?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, parent)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return "save"
        if answer == QMessageBox.StandardButton.Discard:
            return "discard"
        return "cancel"

    def confirm(self, parent: QWidget, title: str, text: str) -> bool:
        from PySide6.QtWidgets import QMessageBox

        answer = QMessageBox.question(parent, title, text)
        return answer == QMessageBox.StandardButton.Yes


@dataclass
class StudioServices:
    environ: Mapping[str, str]
    catalog: PresetCatalog
    config_dir: Path
    #: The library's folder when the caller already knows it (else the settings decide).
    data_dir: Path | None = None
    #: The settings in force; None until they are read (off the GUI thread, at start-up).
    settings: Settings | None = None
    #: What the environment says of each provider (read by the composition root).
    provider_envs: Mapping[str, ProviderEnv] = field(default_factory=dict)
    dialogs: Dialogs = field(default_factory=QtDialogs)
    #: Whether a remote provider has a key (else renders are offline placeholders). Cheap:
    #: the keys it asks about were looked up off the GUI thread.
    key_configured: Callable[[], bool] = lambda: False
    #: Where API keys are kept (None: the system keychain).
    keys: KeyStore | None = None
    #: Passed to the provider registry (tests: transports, clocks, keychains).
    provider_options: dict[str, Any] = field(default_factory=dict)
    #: False: an editing-only window, with no library and no providers.
    render: bool = True
    #: Reads the settings, builds the providers, looks their keys up and opens the library
    #: (blocking: the window calls it on a worker). Wired by the composition root.
    prepare_rendering: Callable[[], RenderingParts] | None = None
    #: The providers for other settings (blocking, like ``prepare_rendering``).
    build_providers: Callable[[Settings], dict[str, Provider]] | None = None
    #: Builds the face analyser for identity scores (tests: a fake); None: dlib in a child
    #: process, after checking it can run here (blocking, called on a worker).
    identity_analyser: Callable[[], Any] | None = None


def example_sheet_path() -> Path | None:
    """The example sheet shipped with the studio (Emma), from a wheel or a checkout."""
    candidates = []
    with contextlib.suppress(FileNotFoundError):
        candidates.append(resources_dir() / "examples" / "emma.sheet.toml")
    candidates.append(Path(__file__).resolve().parents[2] / "examples" / "emma.sheet.toml")
    return next((p for p in candidates if p.is_file()), None)
