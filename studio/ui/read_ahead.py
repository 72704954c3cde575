"""Reading ahead, once the window has painted itself and is ready, what a first use would read.

The image viewer's modules (about a tenth of a second on the GUI thread when a double-click
first opens it) are read on one of the window's workers: never before the first paint, and
never on the GUI thread. They hold only definitions: no Qt object is made on the worker.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

log = logging.getLogger("studio.ui.read_ahead")

#: What the image viewer's first open reads.
VIEWER_MODULES = ("studio.ui.image_views", "studio.ui.compare", "studio.ui.viewmodels.viewer",
                  "studio.ui.viewer", "studio.ui.image_windows")


class ReadAhead(QObject):
    """Reads ``modules`` on ``window``'s workers once it has painted itself and emitted
    ``renderingReady``; once per window. A child of the window that reaches it only as its
    parent (no reference of its own, so a closed window is freed as before). A window never
    shown reads nothing ahead: its first use reads what it needs, as it always did."""

    def __init__(self, window: MainWindow, modules: Sequence[str] = VIEWER_MODULES,
                 read: Callable[[str], object] = importlib.import_module) -> None:
        super().__init__(window)
        self._modules = tuple(modules)
        self._read = read
        self.painted = False
        self.ready = False
        self.started = False
        window.installEventFilter(self)
        window.renderingReady.connect(self._on_ready)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.painted:
            self.painted = True
            watched.removeEventFilter(self)  # the first paint is all it waits for
            # After the paint, when the event loop next turns.
            QTimer.singleShot(0, self, self._start)
        return False

    def _on_ready(self, _ready: bool) -> None:
        self.ready = True
        self._start()

    def _start(self) -> None:
        window = self.parent()
        if self.started or not (self.painted and self.ready) or window is None:
            return
        self.started = True  # the window is ready again after Settings: once is enough
        if window.closed_down:  # type: ignore[attr-defined]
            return
        read, modules = self._read, self._modules
        window.background.run(  # type: ignore[attr-defined]
            lambda: [read(name) for name in modules], None, _not_read,
            what="Reading the viewer ahead", owner=window)


def _not_read(exc: BaseException) -> None:
    # Nothing is lost: the viewer reads its modules when first opened, as it did before.
    log.warning("reading the viewer ahead failed: %s", exc)
