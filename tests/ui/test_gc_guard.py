"""Qt objects left in reference cycles are destroyed on the GUI thread, not by a worker."""

from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from collections.abc import Iterator

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

from studio.ui.gc_guard import GuiThreadCollector


def test_cyclic_qt_garbage_is_collected_on_the_gui_thread(qapp) -> None:  # type: ignore[no-untyped-def]
    outer = gc.isenabled()  # the package's own collector has it off; start from "on"
    gc.enable()
    collector = GuiThreadCollector(None, interval_ms=10_000)
    try:
        assert not gc.isenabled()
        died_in: list[str] = []
        holder = QObject()
        timer = QTimer(holder)  # the kind of object Qt refuses to stop from another thread
        timer.start(60_000)
        holder.cycle = holder  # type: ignore[attr-defined]
        weakref.finalize(holder, lambda: died_in.append(threading.current_thread().name))
        del holder, timer

        def churn() -> None:  # a worker allocating far past every collection threshold
            junk = []
            for _ in range(50_000):
                junk.append([[]])
            junk.clear()

        worker = threading.Thread(target=churn, name="worker")
        worker.start()
        worker.join()
        assert died_in == []  # the worker did not collect it
        collector.check()
        gc.collect()  # what the timer does once the thresholds are passed
        assert died_in == [threading.main_thread().name]
    finally:
        collector.stop()
        collector.deleteLater()
        restored = gc.isenabled()
        if not outer:
            gc.disable()
    assert restored  # stop() gives automatic collection back


def test_a_stopped_collector_deleted_later_leaves_collection_as_it_is(qapp) -> None:  # type: ignore[no-untyped-def]
    """stop() gives collection back; the collector's later deletion must not give it back a
    second time. It did: a collector stopped and deleted in one test switched automatic
    collection on during the next test's event processing, under the package's collector,
    and for the rest of the run a worker's allocation could destroy Qt objects (the "Timers
    cannot be stopped from another thread" failures, then the freed-timer crash)."""
    outer = gc.isenabled()
    gc.enable()
    collector = GuiThreadCollector(None, interval_ms=10_000)
    died = []
    collector.destroyed.connect(lambda *_: died.append(True))
    try:
        collector.stop()
        assert gc.isenabled()
        gc.disable()  # a newer collector (the package's) has it off again
        collector.deleteLater()
        QCoreApplication.sendPostedEvents(collector, QEvent.Type.DeferredDelete)
        assert died == [True]
        assert not gc.isenabled()
    finally:
        if outer:
            gc.enable()
        else:
            gc.disable()


@contextlib.contextmanager
def _own_collector(interval_ms: int, first_check_ms: int | None = None,
                   ) -> Iterator[GuiThreadCollector]:
    """A collector of the test's own, stopped and deleted after; collection left as found."""
    outer = gc.isenabled()
    collector = GuiThreadCollector(None, interval_ms=interval_ms, first_check_ms=first_check_ms)
    try:
        yield collector
    finally:
        collector.stop()
        collector.deleteLater()
        QCoreApplication.sendPostedEvents(collector, QEvent.Type.DeferredDelete)
        if outer:
            gc.enable()
        else:
            gc.disable()


def _collected_by(collector: GuiThreadCollector) -> list[int]:
    """The generations ``collector.check()`` collected, once its counts say one is due (the
    middle generation's, and the oldest's count past its threshold)."""
    for _ in range(gc.get_threshold()[2] + 1):
        gc.collect(1)  # each counts one towards the oldest generation
    for _ in range(gc.get_threshold()[1] + 1):
        gc.collect(0)  # each counts one towards the middle generation
    return _checked(collector)


def _checked(collector: GuiThreadCollector) -> list[int]:
    """The generations one ``collector.check()`` collected."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        collector.check()
    finally:
        gc.callbacks.remove(note)
    return seen


def test_the_oldest_generation_is_collected_only_once_it_has_grown_by_a_quarter(qapp) -> None:  # type: ignore[no-untyped-def]
    """Counted by collections alone, a full collection came every tenth collection of the
    middle generation, and walked everything the render engine keeps alive a while: the
    longest hold of the GUI thread in a batch. As the interpreter does it, a full collection
    waits until the oldest generation has grown by a quarter."""
    with _own_collector(10_000) as collector:
        assert _collected_by(collector) == [2]  # the first: nothing to weigh it against
        assert _collected_by(collector) == [1]  # grown by nothing since
        held = len(gc.get_objects(2))
        # Lists are tracked by the collector; the counting collections move them to the oldest.
        few = [[i] for i in range(held // 10)]
        assert _collected_by(collector) == [1]  # grown by a tenth
        many = [[i] for i in range(held // 4)]
        assert _collected_by(collector) == [2]  # by more than a quarter
        assert _collected_by(collector) == [1]
        del few, many


def test_the_collector_checks_often_while_garbage_is_made_and_seldom_when_idle(qapp) -> None:  # type: ignore[no-untyped-def]
    with _own_collector(25) as collector:
        gc.collect()
        intervals = []
        for _ in range(8):  # nothing allocated between the checks
            collector._tick()
            intervals.append(collector.interval_ms)
        assert intervals[:3] == [50, 100, 200] and intervals[-1] == collector.IDLE_INTERVAL_MS
        junk = [[] for _ in range(gc.get_threshold()[0] * 2)]
        collector._tick()
        assert collector.interval_ms == 25  # garbage is being made: back to short checks
        del junk


def test_the_middle_generation_is_collected_every_few_young_collections(qapp) -> None:  # type: ignore[no-untyped-def]
    """After the interpreter's ten young collections the middle generation held what the
    render engine's threads keep alive a moment (16,000 objects): one collection of it held
    the GUI thread 20 ms. Collected every few, it stays a few thousand."""
    from studio.ui.gc_guard import MIDDLE_EVERY

    with _own_collector(10_000) as collector:
        gc.collect()
        for _ in range(MIDDLE_EVERY + 1):
            gc.collect(0)
        assert _checked(collector) == [1]


def test_the_first_check_waits_its_own_time_then_checks_at_the_interval(qapp) -> None:  # type: ignore[no-untyped-def]
    """Start-up's collector waits longer for its first check (the window shows itself first),
    and from then on checks as often as garbage is made."""
    with _own_collector(25, first_check_ms=1000) as collector:
        assert collector.interval_ms == 1000
        assert not gc.isenabled()
        junk = [[] for _ in range(gc.get_threshold()[0] * 2)]
        collector._tick()
        assert collector.interval_ms == 25  # garbage is being made: short checks
        del junk

