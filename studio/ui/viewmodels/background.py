"""The one way the window works off the GUI thread (Anki's background operations, Krita AI's task
wrapping; STYLE.md habit 6).

:class:`Background` has two doors:

* **blocking work** (SQLite, the keychain, decoding images, files): :meth:`Background.run` runs a
  function on a worker thread and then calls ``on_success(result)`` or ``on_failure(error)`` on
  the GUI thread; :meth:`Background.follow` does the same for a ``concurrent.futures.Future``
  another pool is already working on (the library's thumbnails); a coroutine awaits blocking work
  with :meth:`Background.call`.
* **coroutines** (the render queue, connection tests): :meth:`Background.start` runs one on the
  event loop and keeps it until it ends.

Its owner closes it: running coroutines are cancelled, no callback runs afterwards, and the
worker threads have finished when :meth:`Background.close` returns. A failure nobody handles
becomes a sentence on :attr:`Background.failed` (the window shows it); none is lost silently.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from studio.ui.viewmodels.handback import HandBackExecutor

log = logging.getLogger("studio.ui.background")

T = TypeVar("T")
Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]


@dataclass(eq=False, slots=True)
class _Work:
    """One piece of blocking work between its worker and the GUI thread."""

    future: concurrent.futures.Future[Any]
    on_success: Success | None
    on_failure: Failure | None
    what: str
    owner: QObject | None = None
    forgotten: bool = False
    #: A coroutine awaits it (:meth:`Background.call`): the answer is the coroutine's.
    awaited: bool = False

    @property
    def orphaned(self) -> bool:
        """The object that asked for it is gone (a closed window) or has closed and forgotten
        its work: nobody is told."""
        return self.forgotten or (self.owner is not None and not shiboken6.isValid(self.owner))


def failure_sentence(what: str, exc: BaseException) -> str:
    """``what`` failed, in one sentence for the user (the error's own words, no traceback)."""
    detail = str(exc).strip() or type(exc).__name__
    return f"{what} failed: {detail}"


_released: list[object] = []


def _release_later(thing: object) -> None:
    """Keep ``thing`` until the GUI thread's event loop next runs its timers."""
    if not _released:
        QTimer.singleShot(0, _released.clear)
    _released.append(thing)


class Background(QObject):
    """Blocking work on worker threads and coroutines on the event loop, owned until they end.

    ``failed`` carries the sentence of a failure that had no ``on_failure``; ``idle`` is emitted
    when the last piece of work has ended (tests wait on it).
    """

    failed = Signal(str)
    idle = Signal()
    # The future of a finished piece of work, handed from its thread to the GUI thread. Only
    # the future: a worker holding the work itself (its owner, its callbacks) even a moment
    # after the GUI thread let go would free the window's objects there.
    _arrived = Signal(object)
    _posted = Signal(object, object)  # (fn, args) from a worker of this helper's pool

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None,
                 parent: QObject | None = None, threads: int = 3,
                 name: str = "studio-ui") -> None:
        super().__init__(parent)
        self._loop = loop
        # Its workers hand every answer, and every reference the work held, back to the GUI
        # thread: a window's objects are never freed on a worker.
        self._pool = HandBackExecutor(self._post, max_workers=threads, thread_name_prefix=name)
        # The user's edits to the library (verdicts, stars, trash) on one worker of their own:
        # applied in the order made, so a quick Reject then Approve ends approved. (On the
        # pool, the second could run first.)
        self._in_order = HandBackExecutor(self._post, max_workers=1,
                                          thread_name_prefix=f"{name}-edits")
        self._work: dict[concurrent.futures.Future[Any], _Work] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        # Held while a worker hands work over and while closing: once close() has passed it,
        # no worker of any pool (the library's thumbnails too) touches this object again, so
        # the window may destroy it.
        self._handing = threading.Lock()
        # Queued even when the work finished on the GUI thread: a callback never runs inside
        # the call that started the work.
        self._arrived.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._posted.connect(self._run_posted, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------------ state
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_event_loop_policy().get_event_loop()
        return self._loop

    @property
    def pending(self) -> int:
        """How many pieces of blocking work have not reported back yet."""
        return len(self._work)

    @property
    def busy(self) -> bool:
        """Blocking work or a coroutine is still running."""
        return bool(self._work or self._tasks)

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ blocking work
    def run(self, fn: Callable[[], T], on_success: Callable[[T], None] | None = None,
            on_failure: Failure | None = None, *, what: str,
            owner: QObject | None = None, in_order: bool = False) -> None:
        """Run ``fn()`` on a worker; then ``on_success(result)`` or ``on_failure(error)`` on the
        GUI thread. ``what`` names the work in the sentence of an unhandled failure ("Reading
        the sheet's renders"); once ``owner`` is deleted (its window closed), nobody is told.
        ``in_order``: after every other piece of work asked for ``in_order`` before it (the
        user's edits)."""
        if self._closed:
            return
        pool = self._in_order if in_order else self._pool
        self._follow(_Work(pool.submit(fn), on_success, on_failure, what, owner))

    def follow(self, future: concurrent.futures.Future[T],
               on_success: Callable[[T], None] | None = None,
               on_failure: Failure | None = None, *, what: str,
               owner: QObject | None = None) -> None:
        """As :meth:`run`, for work another pool already does (``future``)."""
        self._follow(_Work(future, on_success, on_failure, what, owner))

    def _follow(self, work: _Work) -> None:
        future = work.future
        if self._closed:
            future.cancel()
            return
        # Kept by future, and the future's callback is a bound method: no closure over the
        # work (and the owner's callbacks) outlives its delivery in a reference cycle.
        self._work[future] = work
        future.add_done_callback(self._hand_over)

    def forget(self, owner: QObject) -> None:
        """``owner`` has closed: what it asked for that is still running reports to nobody
        (the library it read may be closing under it, and that is no failure to show)."""
        for work in self._work.values():
            if work.owner is owner:
                work.forgotten = True

    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        """On a worker of the pool: have ``fn(*args)`` called on the GUI thread."""
        with self._handing:
            if self._closed:
                raise RuntimeError("the helper has closed")
            self._posted.emit(fn, args)

    def _run_posted(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        fn(*args)

    def _hand_over(self, future: concurrent.futures.Future[Any]) -> None:
        """Pass the finished work to the GUI thread (called on the thread that finished it: the
        GUI thread for this helper's pool, a worker for a future it follows)."""
        with self._handing:
            if self._closed or future not in self._work:
                return
            with contextlib.suppress(RuntimeError):  # the Qt side is gone: the owner has closed
                self._arrived.emit(future)

    def _deliver(self, future: concurrent.futures.Future[Any]) -> None:
        work = self._work.pop(future, None)
        if work is None:
            return
        # The work may hold the last reference to its (closed) window, this helper's parent:
        # it is let go of from the event loop, never inside this slot.
        _release_later(work)
        if self._closed:
            return
        try:
            if future.cancelled() or work.orphaned or work.awaited:
                return
            exc = future.exception()
            if exc is None:
                if work.on_success is not None:
                    work.on_success(future.result())
            elif work.on_failure is not None:
                work.on_failure(exc)
            else:
                self._report(work.what, exc)
        finally:
            self._check_idle()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Await ``fn(*args)`` run on a worker thread (from a coroutine)."""
        if self._closed:
            raise asyncio.CancelledError
        # The pool keeps the job until its answer is back on the GUI thread, so a coroutine
        # cancelled while the worker runs (its window closing) leaves nothing for the worker to
        # free. The answer goes to the coroutine alone.
        future = self._pool.submit(fn, *args)
        self._follow(_Work(future, None, None, "", None, awaited=True))
        return await asyncio.wrap_future(future, loop=self.loop)

    # ------------------------------------------------------------------ coroutines
    def start(self, coro: Coroutine[Any, Any, Any], what: str,
              on_success: Success | None = None,
              on_failure: Failure | None = None) -> asyncio.Task[Any] | None:
        """Run ``coro`` on the event loop and keep it until it ends; its result or error goes
        to the handlers (an unhandled error becomes a sentence on ``failed``)."""
        if self._closed:
            coro.close()
            return None
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, what, on_success, on_failure))
        return task

    def _task_done(self, task: asyncio.Task[Any], what: str, on_success: Success | None,
                   on_failure: Failure | None) -> None:
        self._tasks.discard(task)
        if self._closed or task.cancelled():
            self._check_idle()
            return
        exc = task.exception()
        try:
            if exc is None:
                if on_success is not None:
                    on_success(task.result())
            elif on_failure is not None:
                on_failure(exc)
            else:
                self._report(what, exc)
        finally:
            self._check_idle()

    async def edits_done(self) -> None:
        """Wait until every edit asked for ``in_order`` so far has been applied (before the
        library closes: a verdict pressed just before closing the window is kept)."""
        if not self._closed:
            await asyncio.wrap_future(self._in_order.submit(lambda: None), loop=self.loop)

    async def finished(self, owner: QObject) -> None:
        """Wait until the blocking work ``owner`` asked for has ended (before what that work
        reads or writes closes under it)."""
        futures = [future for future, work in self._work.items() if work.owner is owner]
        if not futures:
            return
        waits = [asyncio.wrap_future(f, loop=self.loop) for f in futures]
        await asyncio.wait(waits)
        # Only the ending was awaited: a failure goes to the work's own callbacks, and is
        # taken from these copies so that none is reported as never retrieved.
        for wait in waits:
            if not wait.cancelled():
                wait.exception()

    async def drain(self, keep: asyncio.Task[Any] | None = None) -> None:
        """Cancel every coroutine (but ``keep``, the caller's) and wait until they have ended."""
        tasks = [t for t in self._tasks if t is not keep]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ failures and closing
    def _report(self, what: str, exc: BaseException) -> None:
        log.error("%s failed:\n%s", what,
                  "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.failed.emit(failure_sentence(what, exc))

    def _check_idle(self) -> None:
        if not self._closed and not self._work and not self._tasks:
            self.idle.emit()

    def close(self, *, keep_edits: bool = False) -> None:
        """Cancel the coroutines and queued work, wait for the workers already running; no
        callback runs after this. ``keep_edits``: the edits asked for ``in_order`` are applied
        first, not cancelled (:meth:`edits_done` for a caller with no running loop)."""
        with self._handing:
            if self._closed:
                return
            self._closed = True
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._in_order.shutdown(wait=True, cancel_futures=not keep_edits)
        self._work.clear()
