"""Collect Python's cyclic garbage on the GUI thread only: a safety net.

Closed windows and dialogs are freed by reference counting (nothing of the window keeps them in
a reference cycle; ``tests/ui/test_lifetimes.py`` holds it to that). Should a Qt object still end
up in cyclic garbage, the cycle collector would run it down in whichever thread happens to
allocate when a threshold is crossed: a worker (a thumbnail, a library write) destroying a Qt
object off its thread is "Timers cannot be stopped from another thread" at best, a crash at
worst. While the window runs, automatic collection is therefore off and a timer on the GUI thread
collects with the interpreter's own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    """Owns the switch: created on the GUI thread, it turns automatic collection off until
    :meth:`stop` (or its parent's destruction)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._give_back = _GiveBack(gc.isenabled())
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        self.destroyed.connect(self._give_back.once)

    def check(self) -> int:
        """Collect the oldest generation whose count passed its threshold; objects found."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                return gc.collect(generation)
        return 0

    def stop(self) -> None:
        """Collect everything left here, on this thread, then give collection back."""
        self._timer.stop()
        gc.collect()
        self._give_back.once()


class _GiveBack:
    """Automatic collection as it was before the collector, given back once: by :meth:`stop` or
    by the collector's destruction, whichever comes first. A second give-back would switch
    collection on again long after someone else had taken it (a collector stopped, then
    deleted later, turned it on under a newer collector: workers then destroyed Qt objects)."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._pending = True

    def once(self, *_args: object) -> None:
        if self._pending:
            self._pending = False
            if self._enabled:
                gc.enable()


class held_collection:  # a context manager, named like contextlib's
    """While it lasts, the collector's timer collects nothing (proving that an object is freed
    by reference counting alone, without the cycle collector)."""

    def __init__(self, collector: GuiThreadCollector) -> None:
        self._collector = collector

    def __enter__(self) -> None:
        self._collector._timer.stop()

    def __exit__(self, *exc_info: object) -> None:
        self._collector._timer.start()
