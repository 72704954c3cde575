"""The window's rendering side: the library and the providers, opened off the GUI thread once the
window shows, the view-models built on them (the library's announcements, the sheet's side of
the library, the renderer), and the commands the cards, the menus and the toolbar give them.

Until :attr:`StudioRendering.ready` the window edits only; if the library or the providers
cannot be opened, ``message`` says why in a sentence and the window stays an editor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from studio.core.lifecycle import Approval
from studio.core.settings import Settings
from studio.ui.viewmodels.background import Background, failure_sentence
from studio.ui.viewmodels.importing import ImageImport
from studio.ui.viewmodels.inspector import InspectorModel
from studio.ui.viewmodels.scenes import SceneListModel
from studio.ui.viewmodels.session import Session

if TYPE_CHECKING:  # imported by the worker that opens the library (a fast start-up)
    from studio.library import Library
    from studio.providers.base import Provider
    from studio.ui.viewmodels.changes import LibraryChanges
    from studio.ui.viewmodels.renderer import SheetRenderer
    from studio.ui.viewmodels.sheet_library import SheetLibrary

#: What rendering needs; the worker that opens the library imports them, so the GUI thread
#: does not wait for the network stack's imports when the window starts.
RENDERING_MODULES = ("studio.ui.viewmodels.changes", "studio.ui.viewmodels.sheet_library",
                     "studio.ui.viewmodels.renderer")

Confirm = Callable[[str, str], bool]


@dataclass
class RenderingParts:
    """What the window renders with, prepared off the GUI thread: the settings in force, the
    providers (their keys already looked up), the open library, and sentences for the user
    (a settings file that could not be used, a library open for viewing only)."""

    settings: Settings
    providers: dict[str, Provider]
    library: Library
    notices: list[str] = field(default_factory=list)


class RenderingUnavailableError(Exception):
    """The library or the providers cannot be used; the message is the sentence to show."""


class StudioRendering(QObject):
    """``ready(bool)`` once the library and providers are open (False: they could not be);
    ``message(text, level)`` for the user; ``providersChanged`` after Settings gave new ones."""

    ready = Signal(bool)
    message = Signal(str, str)
    providersChanged = Signal()

    def __init__(self, model: SceneListModel, session: Session, inspector: InspectorModel,
                 importer: ImageImport, background: Background, confirm: Confirm,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._session = session
        self._inspector = inspector
        self._importer = importer
        self._bg = background
        self._confirm = confirm
        self.starting = False
        self.settings: Settings | None = None
        self.providers: dict[str, Provider] = {}
        self.library: Library | None = None
        self.changes: LibraryChanges | None = None
        self.sheet_library: SheetLibrary | None = None
        self.renderer: SheetRenderer | None = None
        #: How many takes of each scene a batch renders.
        self.takes = 1

    # ------------------------------------------------------------------ opening
    def start(self, prepare: Callable[[], RenderingParts], preview_all: bool = False) -> None:
        """Open the library and the providers on a worker (settings file, keychain, SQLite).
        ``preview_all``: the first start's example renders at once, offline."""
        if self.starting or self.renderer is not None:
            return
        self.starting = True

        def work() -> RenderingParts:
            import importlib

            for name in RENDERING_MODULES:
                importlib.import_module(name)
            return prepare()

        self._bg.run(work, lambda parts: self._opened(parts, preview_all), self._not_opened,
                     owner=self, what="Opening the library")

    def _opened(self, parts: RenderingParts, preview_all: bool) -> None:
        from studio.ui.viewmodels.changes import LibraryChanges
        from studio.ui.viewmodels.renderer import SheetRenderer
        from studio.ui.viewmodels.sheet_library import SheetLibrary

        self.starting = False
        library, model, bg = parts.library, self._model, self._bg
        self.settings, self.providers, self.library = parts.settings, parts.providers, library
        self.changes = LibraryChanges(library.changes, self)
        self.sheet_library = SheetLibrary(model, library, bg, self.changes,
                                          library.data_dir / "unsaved", self)
        self.renderer = SheetRenderer(model, self.sheet_library, parts.providers, parts.settings,
                                      bg, self._confirm, self)
        self.renderer.takes = self.takes
        self._inspector.attach(library, self.changes)
        self._importer.library = library
        self.renderer.message.connect(self.message)
        self.sheet_library.message.connect(self.message)
        self._session.saved.connect(self.sheet_library.sheet_saved)
        self._session.opened.connect(self._sheet_opened)
        for notice in parts.notices:
            self.message.emit(notice, "warning")
        self._sheet_opened(model.document.path)
        self.renderer.warm_up()
        bg.start(self.renderer.resume(), "Resuming unfinished renders")
        if preview_all and not self.key_configured():
            self.render_scenes("preview", model.names())
        self.ready.emit(True)

    def _not_opened(self, exc: BaseException) -> None:
        self.starting = False
        text = str(exc) if isinstance(exc, RenderingUnavailableError) else \
            failure_sentence("Opening the library", exc) + " Renders are off until it is fixed."
        self.message.emit(text, "error")
        self.ready.emit(False)

    def _sheet_opened(self, path: object) -> None:
        if self.sheet_library is not None:
            self.sheet_library.sheet_changed(self._model.document.path,
                                             self._session.unsaved_key)

    def key_configured(self) -> bool:
        """Whether a remote provider has a key (their keys were looked up on the worker)."""
        return any(p.configured for pid, p in self.providers.items() if pid != "offline")

    def apply_settings(self, settings: Settings,
                       build: Callable[[Settings], dict[str, Provider]] | None) -> None:
        """Saved settings take effect: new providers (keys looked up on a worker) for the
        next batch."""
        self.settings = settings
        renderer = self.renderer
        if renderer is None or build is None:
            return

        async def swap() -> None:
            if self.settings is not settings:
                return  # newer settings were saved meanwhile; they apply instead
            try:
                providers = await self._bg.call(build, settings)
            except Exception as exc:
                self.message.emit(f"The settings were saved but cannot be used: {exc}",
                                  "error")
                return
            if await renderer.reconfigure(providers, settings):
                self.providers = providers
                self.providersChanged.emit()
                self.message.emit("Settings saved; the next batch uses them.", "ok")
            else:
                self.message.emit("Settings saved; they apply as soon as the renders in "
                                  "progress have finished.", "info")
                self._apply_when_idle(renderer, lambda: self._bg.start(
                    swap(), "Applying the settings"))

        self._bg.start(swap(), "Applying the settings")

    def _apply_when_idle(self, renderer: Any, apply: Callable[[], Any]) -> None:
        """Call ``apply`` once ``renderer``'s batch has finished (its next idle progress)."""
        def on_progress(progress: Any) -> None:
            if progress.idle:
                renderer.progressChanged.disconnect(on_progress)
                apply()

        renderer.progressChanged.connect(on_progress)

    # ------------------------------------------------------------------ commands
    def render_scenes(self, kind: str, names: list[str]) -> None:
        """``kind`` is preview, finalize, retry or cancel, for the scenes ``names``."""
        if self.renderer is not None and names:
            getattr(self.renderer, kind)(names)

    def set_takes(self, takes: int) -> None:
        """How many takes of each scene the next batches render (seeds seed, seed+1, ...)."""
        self.takes = takes
        if self.renderer is not None:
            self.renderer.takes = takes

    def finalize_approved(self) -> None:
        if self.renderer is not None and not self.renderer.finalize_approved():
            self.message.emit("No scene is approved yet: approve the previews you like (✓ on "
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

    def toggle_star(self, names: list[str]) -> None:
        if self.sheet_library is not None:
            self.sheet_library.toggle_star(names)

    def card_action(self, name: str, action: str) -> bool:
        """A card's button; False for what is not the renderer's (opening the compare view)."""
        if action in ("preview", "finalize", "retry", "cancel"):
            self.render_scenes(action, [name])
        elif action in ("approve", "reject"):
            self.set_approval([name], Approval.APPROVED if action == "approve"
                              else Approval.REJECTED)
        elif action == "star":
            self.toggle_star([name])
        elif action.startswith("take:"):
            if self.sheet_library is not None:
                self.sheet_library.choose_take(int(action.split(":", 1)[1]))
        else:
            return False
        return True

    # ------------------------------------------------------------------ closing
    async def aclose(self) -> Any:
        """Park the jobs in flight, close the providers and the library."""
        if self.renderer is not None:
            await self.renderer.aclose()

    def abandon(self) -> None:
        """:meth:`aclose`, blocking, for a window whose event loop has ended under it."""
        if self.renderer is not None:
            self.renderer.abandon()
