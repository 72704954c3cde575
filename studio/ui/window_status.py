"""What the window says about itself, in one place: the toolbar's batch line (what the next batch
costs, how many renders are done, failed or cancelled, the bar), the no-key notice, the message
bar over the grid, and the status bar's passing messages.

The window's view-models tell it what happened; :class:`WindowStatus` decides where that is said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer

from studio.core.request import Stage
from studio.ui.viewmodels.references import reference_cost
from studio.ui.widgets import BatchStatus, MessageBar
from studio.ui.window_actions import set_tip
from studio.ui.window_part import WindowPart

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

log = logging.getLogger("studio.ui")

#: Set once the user closed the no-key notice (window.ini): it stays away.
BANNER_DISMISSED = "banner/no_key_dismissed"

NO_KEY_TEXT = ("No API key yet: scenes render as offline placeholder cards, right here on "
               "this computer. Add a key in Settings (ModelsLab, Replicate, fal, …) for real "
               "FLUX previews and finals.")

#: How long a passing message stays in the status bar.
PASSING_MS = 8000


class WindowStatus(WindowPart):
    """The window's notices and batch line."""

    def __init__(self, window: MainWindow, banner: MessageBar, messages: MessageBar,
                 status: BatchStatus) -> None:
        super().__init__(window, "windowStatus")
        self.banner, self.messages, self.status = banner, messages, status
        # The toolbar's counts follow the cards a moment later, once per burst of changes (a
        # new text re-lays the toolbar out).
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(40)
        self._progress_timer.timeout.connect(self.update_progress)
        banner.closed.connect(self._banner_closed)

    # ------------------------------------------------------------------ the batch line
    @property
    def counts_pending(self) -> bool:
        """The toolbar's counts are about to follow the latest changes."""
        return self._progress_timer.isActive() or self.status.pending

    def progress_soon(self, *_args: object) -> None:
        if not self._progress_timer.isActive():
            self._progress_timer.start()

    def update_progress(self) -> None:
        window = self.window
        progress = window.model.progress()
        self.status.show_progress(progress)
        rendering = progress.active > 0
        if window.delegate.rendering and not rendering:
            window.grid.draw_ahead_soon()  # nothing was drawn ahead while the batch rendered
        window.delegate.rendering = rendering
        window.actions_by_name["cancel_all"].setEnabled(window.renderer is not None
                                                        and progress.active > 0)

    def update_cost(self, *_args: object) -> None:
        """The cost of the toolbar's batches, shown before anything is sent."""
        window = self.window
        if window.renderer is None:
            self.status.show_cost("", "")
            return
        text, tips = window.renderer.cost_summary(len(window.document.sheet.scenes))
        tips = self._with_reference_cost(dict(tips))
        self.status.show_cost(text, "\n".join(tips.values()))
        set_tip(window.actions_by_name["preview_all"], tips[Stage.PREVIEW])
        set_tip(window.actions_by_name["finalize_all"], tips[Stage.FINAL])

    def _with_reference_cost(self, tips: dict[Stage, str]) -> dict[Stage, str]:
        """Each stage's cost sentence with what its reference images add."""
        window = self.window
        renderer, document = window.renderer, window.document
        for stage in tips:
            try:
                extra = reference_cost(document.sheet, stage, document.catalog,
                                       renderer.providers, renderer.settings).sentence()
            except Exception as exc:  # an estimate must never stop editing
                log.info("reference cost of %s unknown: %s", stage.value, exc)
                continue
            if extra:
                tips[stage] = f"{tips[stage]} {extra}"
        return tips

    # ------------------------------------------------------------------ notices
    def refresh_banner(self) -> None:
        window = self.window
        dismissed = window.state.value(BANNER_DISMISSED, False) in (True, "true")
        if window.services.key_configured() or dismissed:
            self.banner.hide()
        else:
            self.banner.show_message(NO_KEY_TEXT, "info", "Add a key…", closable=True)
            self.banner.close_button.setToolTip(
                "Don't show this again (Settings adds a key whenever you want one)")

    def _banner_closed(self) -> None:
        """The no-key notice was closed by the user: for good, on every later start too."""
        self.window.state.set_value(BANNER_DISMISSED, True)

    def show_message(self, text: str, level: str = "info", action: str = "",
                     on_action: Callable[[], Any] | None = None) -> None:
        self.messages.show_message(text, level, action if on_action else "",
                                   on_action=on_action)
        self.passing(text)

    def passing(self, text: str, ms: int = PASSING_MS) -> None:
        """A message in the status bar, gone after ``ms``."""
        self.window.statusBar().showMessage(text, ms)

    def shared_failure(self, text: str, in_settings: bool) -> None:
        """Many cards failed the same way: one notice for the sheet, with the way out."""
        window = self.window
        self.messages.show_message(
            text, "error", "Retry failed", on_action=window.rendering.retry_failed,
            second=("Open Settings", window.tools.open_settings) if in_settings else None)
        self.passing(text)

    def session_message(self, text: str, level: str) -> None:
        if level == "ok":  # "Opened …": the status bar is enough
            self.passing(text)
        else:
            self.show_message(text, level)
