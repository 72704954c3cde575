"""The library's announcements, handed to the GUI thread.

The library tells its listeners what each committed write changed, on the thread that wrote (a
worker). :class:`LibraryChanges` hears them there, carries them to the GUI thread and emits
``changed`` once per turn of the event loop with everything heard meanwhile, so a batch of
writes costs the views one refresh, not one each.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from studio.library.changes import Announcer, LibraryChange


class LibraryChanges(QObject):
    """``changed(LibraryChange)`` on the GUI thread after the library committed writes."""

    changed = Signal(object)
    _heard = Signal(object)

    def __init__(self, announcer: Announcer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending = LibraryChange()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._flush)
        self._heard.connect(self._collect, Qt.ConnectionType.QueuedConnection)
        # Held by a writer while it emits and by close(): once close() has returned no writer
        # is inside an emission on this object, so the window may destroy it (a signal emitted
        # from another thread on an object being destroyed is a use after free).
        self._emitting = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = announcer.subscribe(self._listen)

    def _listen(self, change: LibraryChange) -> None:
        """On the writing thread."""
        with self._emitting:
            if self._unsubscribe is None:
                return
            with contextlib.suppress(RuntimeError):  # the Qt side is gone: nobody listens
                self._heard.emit(change)

    def _collect(self, change: LibraryChange) -> None:
        if self._unsubscribe is None:
            return
        self._pending = self._pending | change
        if not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        change, self._pending = self._pending, LibraryChange()
        if change and self._unsubscribe is not None:
            self.changed.emit(change)

    def close(self) -> None:
        """Stop listening (before the library closes)."""
        with self._emitting:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
        self._timer.stop()
