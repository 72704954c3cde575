"""Qt objects left in reference cycles are destroyed on the GUI thread, not by a worker."""

from __future__ import annotations

import gc
import threading
import weakref

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
