"""Background work owned by the window: asyncio tasks on the qasync loop and blocking jobs on a
thread pool, each with an owner that keeps a reference, cancels it on close and routes its
error to the user (STYLE.md habit 6; Anki's background-op helper, Krita AI's task wrapping).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger("studio.ui.tasks")


class TaskOwner(QObject):
    """Starts coroutines on the event loop and keeps them until they finish.

    ``failed`` carries a sentence for the user when a task raises; nothing is lost silently.
    ``idle`` is emitted when the last running task ends (tests wait on it).
    """

    failed = Signal(str)
    idle = Signal()

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loop = loop
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_event_loop_policy().get_event_loop()
        return self._loop

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def start(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any] | None:
        """Run ``coro``; ``what`` names the work in the error sentence ("Rendering the sheet")."""
        if self._closed:
            coro.close()
            return None
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._finished(t, what))
        return task

    def _finished(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                log.error("%s failed:\n%s", what,
                          "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
                if not self._closed:
                    self.failed.emit(f"{what} failed: {exc}")
        if not self._tasks and not self._closed:
            self.idle.emit()

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def drain(self, keep: asyncio.Task[Any] | None = None) -> None:
        """Cancel every task (but ``keep``, the caller's) and wait until they have ended."""
        tasks = [t for t in self._tasks if t is not keep]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        """Cancel everything; no signal is emitted afterwards."""
        self._closed = True
        self.cancel_all()


class _Signals(QObject):
    done = Signal(object)
    error = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self._fn = fn
        self._signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:
            self._signals.error.emit(exc)
        else:
            self._signals.done.emit(result)


class Background(QObject):
    """Blocking work (decoding, thumbnails, disk) on a private thread pool.

    ``run(fn, on_done, on_error)``: ``fn`` runs on a worker; the callbacks run on the GUI
    thread. After :meth:`close` no callback runs and the pool has finished.
    """

    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._pending: set[_Signals] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        return len(self._pending)

    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None, what: str = "") -> None:
        if self._closed:
            return
        signals = _Signals(self)
        self._pending.add(signals)

        @Slot(object)
        def done(result: Any) -> None:
            self._pending.discard(signals)
            signals.deleteLater()
            if not self._closed and on_done is not None:
                on_done(result)

        @Slot(object)
        def error(exc: BaseException) -> None:
            self._pending.discard(signals)
            signals.deleteLater()
            if self._closed:
                return
            if on_error is not None:
                on_error(exc)
            else:
                log.error("%s failed: %r", what or "background work", exc)
                self.failed.emit(f"{what or 'Background work'} failed: {exc}")

        signals.done.connect(done)
        signals.error.connect(error)
        self._pool.start(_Job(fn, signals))

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    def close(self) -> None:
        self._closed = True
        self._pool.clear()
        self._pool.waitForDone(30000)
