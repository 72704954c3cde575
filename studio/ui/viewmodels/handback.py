"""Worker threads that never free the window's objects (the event loop's default executor and the
background helper's pool).

A Qt object must die on the thread that owns it. Blocking work run on a worker holds references
(a bound method's ``self``, its arguments, the frames of an exception's traceback, and, once the
exception is raised in a coroutine, that coroutine's frames too). With an ordinary pool the
worker drops those references after it has published the answer, so whenever the GUI thread has
already let go (a coroutine cancelled because its window closed, or just a busy machine) the
worker frees the window's objects on its own thread: Qt warns "Timers cannot be stopped from
another thread" and the GUI thread later fires a timer of a freed object.

:class:`HandBackExecutor` keeps every such reference on the owner's side: the job is kept by the
executor until its answer is settled on the owner's thread, the worker takes the job out of a box
and puts the outcome into another, and the future the caller sees is settled only by the
owner's thread. The worker never holds the last reference to anything it was given or made.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import itertools
import threading
from collections.abc import Callable
from typing import Any

#: ``post(fn, *args)``: call ``fn(*args)`` on the owner's thread soon (thread-safe), for example
#: ``loop.call_soon_threadsafe``.
Post = Callable[..., Any]


class HandBackExecutor(concurrent.futures.Executor):
    """A thread pool whose answers, and every reference the work held, are handed back to the
    owner's thread through ``post``."""

    def __init__(self, post: Post, max_workers: int | None = None,
                 thread_name_prefix: str = "studio-worker") -> None:
        self._post = post
        self._max_workers = max_workers
        self._thread_name_prefix = thread_name_prefix
        #: The workers, made for the first job (:meth:`_workers`): the window shows itself
        #: before it asks for any, and reading the thread pool's module was a few milliseconds
        #: of the wait for its first paint.
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._shut_down = False
        self._lock = threading.Lock()
        self._keys = itertools.count()
        # key -> (the caller's future, the job): both owned here until settled on the owner's
        # thread, so neither can be last released by a worker.
        self._pending: dict[int, tuple[concurrent.futures.Future[Any], Callable[[], Any]]] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        job = functools.partial(fn, *args, **kwargs)
        key = next(self._keys)
        with self._lock:
            self._pending[key] = (future, job)
        try:
            self._workers().submit(self._work, key, [job])
        except BaseException:
            with self._lock:
                self._pending.pop(key, None)
            raise
        return future

    def _workers(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                if self._shut_down:  # as the pool itself says after its shutdown
                    raise RuntimeError("cannot schedule new futures after shutdown")
                from studio.core.priority import lower_this_thread

                # Background work runs below the window (studio.core.priority).
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._max_workers, thread_name_prefix=self._thread_name_prefix,
                    initializer=lower_this_thread)
            return self._pool

    @property
    def pending(self) -> int:
        """Jobs whose answer has not been settled on the owner's thread yet."""
        with self._lock:
            return len(self._pending)

    def _work(self, key: int, inbox: list[Callable[[], Any]]) -> None:
        """On a worker: run the job from ``inbox`` and post its outcome in a box the owner's
        thread empties; no reference is left behind in this frame."""
        with self._lock:
            entry = self._pending.get(key)
        if entry is None or not entry[0].set_running_or_notify_cancel():
            del entry
            inbox.clear()  # the owner's thread still holds the job: this is not its last reference
            self._tell(key, [])
            return
        del entry
        outbox: list[tuple[bool, Any]] = []
        fn = inbox.pop()
        try:
            outbox.append((True, fn()))
        except BaseException as exc:
            # Without this frame in its traceback: its locals hold the box the exception goes
            # into, a cycle only the collector would free, on whichever thread it runs.
            tb = exc.__traceback__
            outbox.append((False, exc.with_traceback(tb.tb_next if tb is not None else None)))
            del tb
        finally:
            del fn
        self._tell(key, outbox)

    def _tell(self, key: int, outbox: list[tuple[bool, Any]]) -> None:
        # A closed owner (its loop closed, its helper closed) hears nothing; what was left
        # behind is released by shutdown().
        with contextlib.suppress(RuntimeError):
            self._post(self._settle, key, outbox)

    def _settle(self, key: int, outbox: list[tuple[bool, Any]]) -> None:
        """On the owner's thread: settle the caller's future and let go of the job here."""
        with self._lock:
            entry = self._pending.pop(key, None)
        if entry is None:
            outbox.clear()
            return
        # The job (the second item) is let go of here, on the owner's thread.
        future, _job = entry
        if not outbox:
            return  # cancelled before it started
        ok, value = outbox.pop()
        if future.cancelled():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers (waiting for the running ones when ``wait``); jobs whose answers
        were never settled are released here, on the caller's thread (the owner's)."""
        if cancel_futures:
            with self._lock:
                futures = [future for future, _job in self._pending.values()]
            for future in futures:
                future.cancel()
        with self._lock:
            self._shut_down = True
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            with self._lock:
                left = list(self._pending.values())
                self._pending.clear()
            for future, _job in left:
                future.cancel()
            del left


def hand_back_default_executor(loop: asyncio.AbstractEventLoop, max_workers: int = 4,
                               ) -> HandBackExecutor:
    """Make ``loop``'s default executor (``asyncio.to_thread``, ``run_in_executor(None, ...)``,
    which the render and provider layers use) one that hands everything back to the loop's
    thread; the loop shuts it down when it closes."""
    executor = HandBackExecutor(loop.call_soon_threadsafe, max_workers=max_workers,
                                thread_name_prefix="studio-loop")
    loop.set_default_executor(executor)
    return executor
