"""The window's side of rendering: opening the library and the providers once the window has
painted itself, then, once they are open, the character's history, the batch line and its
notices, identity badges and waiting jobs on the cards, and the no-key notice and costs
following the providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from studio.ui.widgets import allow_takes
from studio.ui.window_part import WindowPart

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

#: How long the status bar says what waiting jobs wait for.
WAITS_MS = 30000
#: The longest the library waits for the window's first paint before it opens anyway.
START_AFTER_MS = 300


class RenderingHookup(WindowPart):
    """Opens the library and the providers for the window, and binds the window to them when
    they open."""

    def __init__(self, window: MainWindow, name: str) -> None:
        super().__init__(window, name)
        #: Rendering asked for before the window first painted itself (preview_all's value).
        self._start_wanted: bool | None = None
        self.painted = False

    @property
    def start_pending(self) -> bool:
        return self._start_wanted is not None

    def start(self, preview_all: bool = False) -> None:
        """Open the library and the providers off the GUI thread, then render with them.

        The worker starts once the window has painted itself: its imports (the library,
        Pillow, the network stack) would otherwise share the interpreter with the first paint.
        A window not shown by the next turn of the event loop, or never painted (minimised),
        does not wait for it.
        """
        if self.window.services.prepare_rendering is None:
            return
        self._start_wanted = preview_all
        # Timers bound to this part: a window closed and deleted before they fire cancels them.
        QTimer.singleShot(0, self, self._start_if_painted)
        QTimer.singleShot(START_AFTER_MS, self, self._start_now)

    def first_paint(self) -> None:
        self.painted = True
        if self._start_wanted is not None:
            QTimer.singleShot(0, self, self._start_now)

    def _start_if_painted(self) -> None:
        if self._start_wanted is not None and (self.painted or not self.window.isVisible()):
            self._start_now()

    def _start_now(self) -> None:
        wanted, self._start_wanted = self._start_wanted, None
        prepare = self.window.services.prepare_rendering
        if wanted is not None and prepare is not None:
            self.window.rendering.start(prepare, wanted)

    def ready(self, ready: bool) -> None:
        """The library and the providers opened (or could not be)."""
        window = self.window
        if ready:
            self.bind()
            window.update_actions()
            window.says.update_progress()
        window.renderingReady.emit(ready)
        if window.closing and not window.closed_down:
            window.close()  # it was asked to close while the library was being opened

    def bind(self) -> None:
        """The library and the providers are open: everything that follows them, from now."""
        window = self.window
        rendering, says = window.rendering, window.says
        window.services.settings = rendering.settings
        self.providers_changed()
        rendering.sheet_library.historyChanged.connect(  # type: ignore[union-attr]
            window.character_panel.set_history)
        rendering.renderer.batchPlanned.connect(  # type: ignore[union-attr]
            lambda text: says.passing(f"Sent: {text}"))
        self._attach_badges()
        rendering.renderer.sharedFailure.connect(says.shared_failure)  # type: ignore[union-attr]
        allow_takes(window.takes_box)

    def _attach_badges(self) -> None:
        """Identity scores and uncertain jobs follow the library and the queue from now on."""
        window = self.window
        rendering = window.rendering
        library, changes, sheets = rendering.library, rendering.changes, rendering.sheet_library
        if library is None or changes is None or sheets is None:
            return
        rules = None
        try:
            from studio.identity import IdentityRules

            if rendering.settings is not None:
                rules = IdentityRules(threshold=rendering.settings.identity_threshold)
        except ValueError as exc:  # StudioInputError: a sentence
            window.says.show_message(f"identity_threshold in the settings cannot be used "
                                     f"({exc}); the default threshold is used.", "warning")
        window.render_facts.attach(library, changes, rules, window.services.identity_analyser)
        window.attention.follow(rendering)
        attention, document = window.attention, window.document

        def earlier(_path: object = None) -> None:
            attention.load_earlier(library, sheets.library_path(), document.sheet)

        earlier()
        window.session.opened.connect(earlier)

    def badges_changed(self) -> None:
        window = self.window
        window.grid.viewport().update()
        waits = window.attention.status_line()
        if waits:
            window.says.passing(waits[0].upper() + waits[1:], WAITS_MS)

    def providers_changed(self) -> None:
        window = self.window
        window.attention.resubscribe()
        window.services.key_configured = window.rendering.key_configured
        window.says.refresh_banner()
        window.says.update_cost()
