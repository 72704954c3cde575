"""Getting the image viewer's first open and the first batch's cards ready ahead of time, once
the window has painted itself and is ready.

A first double-click on an image used to pay for reading the viewer's modules and for Qt's
first-time set-up of its widgets (their classes, styles, fonts and painting paths). That work is
done ahead, at idle time, on the GUI thread: Qt builds a class's meta-object when its module is
read, and that never happens on a worker. It is done one step per turn of the event loop (a
module, then building a viewer that is never shown, then drawing it once off screen, then
letting it go), so a click or a paint that arrives meanwhile waits for one short step at most.
Before the viewer, a sample card is drawn off screen in each state a render passes through
(:mod:`studio.ui.card_warmup`): a first batch drew every state for the first time while its
cards changed many times a second.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

log = logging.getLogger("studio.ui.read_ahead")

#: What the image viewer's first open reads.
VIEWER_MODULES = ("studio.ui.image_views", "studio.ui.compare", "studio.ui.viewmodels.viewer",
                  "studio.ui.viewer", "studio.ui.image_windows")

Step = Callable[[], object]


class ReadAhead(QObject):
    """Reads ``modules`` and then warms the cards and the viewer (``warm``: steps to run after
    them; by default :meth:`~studio.ui.grid_painting.GridPainting.warm_steps` and
    :meth:`~studio.ui.image_windows.ImageWindows.warm_steps`) on the GUI thread, one
    step per turn of the event loop, once ``window`` has painted itself and emitted
    ``renderingReady``; once per window. A child of the window that reaches it only as its
    parent (no reference of its own, so a closed window is freed as before). A window never
    shown reads nothing ahead: its first use reads what it needs, as it always did."""

    #: Every step has run (not emitted when the window closed first).
    finished = Signal()

    def __init__(self, window: MainWindow, modules: Sequence[str] = VIEWER_MODULES,
                 read: Callable[[str], object] = importlib.import_module,
                 warm: Callable[[MainWindow], Sequence[Step]] | None = None) -> None:
        super().__init__(window)
        self._modules = tuple(modules)
        self._read = read
        self._warm = warm if warm is not None else _warm_steps
        self._steps: list[Step] = []
        self.painted = False
        self.ready = False
        self.started = False
        #: Every step has run (or the window closed first).
        self.done = False
        #: The longest a step held the GUI thread, in seconds (what a click may wait).
        self.longest_step = 0.0
        # Told by the window's own paint, not by an event filter: a filter written in Python
        # has each event the window gets wrapped for it, and the first of them had every
        # event class made (a few milliseconds before the window first showed).
        window.windowPainted.connect(self._on_painted)
        window.renderingReady.connect(self._on_ready)

    def _on_painted(self) -> None:
        if self.painted:
            return
        self.painted = True
        window = self.parent()
        if window is not None:  # the first paint is all it waits for
            window.windowPainted.disconnect(self._on_painted)  # type: ignore[attr-defined]
        # After the paint, when the event loop next turns.
        QTimer.singleShot(0, self, self._start)

    def _on_ready(self, _ready: bool) -> None:
        self.ready = True
        self._start()

    def _window(self) -> MainWindow | None:
        window = self.parent()
        if window is None or window.closed_down or window.closing:  # type: ignore[attr-defined]
            return None
        return window  # type: ignore[return-value]

    def _start(self) -> None:
        if self.started or not (self.painted and self.ready):
            return
        self.started = True  # the window is ready again after Settings: once is enough
        self._steps = [partial(self._read, name) for name in self._modules]
        self._steps.append(self._then_warm)
        # Not now: renderingReady's other listeners and the paint that follows come first.
        QTimer.singleShot(0, self, self._next)

    def _then_warm(self) -> None:
        window = self._window()
        if window is not None:
            self._steps.extend(self._warm(window))

    def _next(self) -> None:
        if not self._steps or self._window() is None:
            ended = not self._steps
            self._steps = []
            self.done = True
            if ended:
                self.finished.emit()
            return
        step = self._steps.pop(0)
        started = time.perf_counter()
        try:
            step()
        except Exception as exc:
            log.warning("getting the cards and the viewer ready ahead failed: %s", exc)
            self._steps = []
        self.longest_step = max(self.longest_step, time.perf_counter() - started)
        QTimer.singleShot(0, self, self._next)


def _warm_steps(window: MainWindow) -> Sequence[Step]:
    return [*window.grid.warm_steps(), *window.image_windows.warm_steps()]
