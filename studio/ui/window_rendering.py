"""The window's side of rendering once the library and the providers are open: the character's
history, the batch line and its notices, identity badges and waiting jobs on the cards, and the
no-key notice and costs following the providers."""

from __future__ import annotations

from studio.ui.widgets import allow_takes
from studio.ui.window_part import WindowPart

#: How long the status bar says what waiting jobs wait for.
WAITS_MS = 30000


class RenderingHookup(WindowPart):
    """Binds the window to the library and the providers when they open."""

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
