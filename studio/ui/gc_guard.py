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

#: Collections of the youngest generation between two of the middle one (the interpreter's
#: default is 10). The render engine's threads keep thousands of objects alive for a moment
#: (their HTTP exchanges): after ten young collections the middle generation held 16,000 of
#: them, and one collection of it held the GUI thread 20 ms.
MIDDLE_EVERY = 3


class GuiThreadCollector(QObject):
    """Owns the switch: created on the GUI thread, it turns automatic collection off until
    :meth:`stop` (or its parent's destruction)."""

    #: The longest wait between two checks while nothing is due (an idle window wakes seldom).
    IDLE_INTERVAL_MS = 1000

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500,
                 first_check_ms: int | None = None) -> None:
        """``first_check_ms``: how long the first check waits (``interval_ms`` if not given)."""
        super().__init__(parent)
        self._give_back = _GiveBack(gc.isenabled())
        young, _middle, oldest = gc.get_threshold()
        self._thresholds = (young, MIDDLE_EVERY, oldest)
        self._oldest = _OldestGeneration()
        gc.disable()
        self._busy_ms = interval_ms
        self._idle_ms = max(interval_ms, self.IDLE_INTERVAL_MS)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms if first_check_ms is None else first_check_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.destroyed.connect(self._give_back.once)

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def _tick(self) -> None:
        """Check at ``interval_ms`` while garbage is being made (many small collections, each
        short), and ever less often, up to :attr:`IDLE_INTERVAL_MS`, while none is."""
        due = gc.get_count()[0] > self._thresholds[0]
        self.check()
        timer = self._timer
        interval = self._busy_ms if due else min(timer.interval() * 2, self._idle_ms)
        if interval != timer.interval():
            timer.setInterval(interval)

    def check(self) -> int:
        """Collect the oldest generation whose count passed its threshold; objects found.

        The oldest generation only as the interpreter would (``gcmodule.c``): once what it
        holds has grown by a quarter since its last collection. Counted by collections alone,
        a full collection came every ten of the middle one, and walked everything the render
        engine's threads keep alive a while (their HTTP exchanges): the longest collection of
        a batch, on the GUI thread."""
        counts = gc.get_count()
        thresholds = self._thresholds
        if counts[1] > thresholds[1]:
            # Weighed only when the middle generation is due anyway: the weighing lists the
            # oldest generation (a fraction of what collecting it would cost).
            if counts[2] > thresholds[2] and self._oldest.grown():
                found = gc.collect(2)
                self._oldest.collected()
                return found
            return gc.collect(1)
        if counts[0] > thresholds[0]:
            return gc.collect(0)
        return 0

    def stop(self) -> None:
        """Collect everything left here, on this thread, then give collection back."""
        self._timer.stop()
        gc.collect()
        self._give_back.once()


class _OldestGeneration:
    """How much the oldest generation holds now against after its last full collection
    (objects moved out of sight by ``gc.freeze`` are in neither)."""

    #: The interpreter's own rule: collect the oldest generation once it grew by a quarter.
    GROWTH = 0.25

    def __init__(self) -> None:
        self._after_last = 0

    def grown(self) -> bool:
        now = len(gc.get_objects(2))
        # Measured from its lowest since: objects die by reference counting, and a freeze
        # moves them all out of sight at once.
        self._after_last = min(self._after_last, now)
        return now - self._after_last > self._after_last * self.GROWTH

    def collected(self) -> None:
        self._after_last = len(gc.get_objects(2))


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
