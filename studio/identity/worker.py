"""Face analysis in a child process, so the caller's threads keep running while dlib works.

dlib keeps Python's global interpreter lock for the whole of a descriptor computation (about
90 ms on one core), so an analysis on a worker thread of the window's process would freeze the
window for as long. A child process has an interpreter of its own: the window's thread only
hands over the image's bytes and waits for the answer. The child loads dlib and the models once
(about a second) and then serves every analysis; ``close`` ends it.

The child is one ``multiprocessing.Process`` talking over one pipe, rather than a process pool:
a pool's queues hold named semaphores, which the resource tracker reports as leaked whenever the
app is killed, and the pool's child keeps the queue's far end open, so it outlived a killed app.
Here the child holds only its own end of the pipe: when the app goes, however it goes, the
child's next read ends (or its next answer cannot be sent) and it leaves quietly. It ignores
Ctrl+C (the app decides what Ctrl+C ends) and runs at the lowest priority, so on a busy machine
the window's own threads, and the background threads it waits for, come first.

Started with ``spawn`` on every platform (forking a process that runs Qt is unsafe); a packaged
app must call ``multiprocessing.freeze_support()`` first thing in its entry point.
"""

from __future__ import annotations

import contextlib
import os
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .analysis import FaceAnalysis
from .errors import IdentityUnavailable
from .faces import DlibFaceAnalyser

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

#: How much lower the child's priority is than the app's (POSIX niceness): the lowest, below
#: the app's own background threads. Those hold the interpreter lock the window's thread waits
#: for, and a face analysis at their priority took half of the core one of them needed: while
#: 48 scenes rendered (benchmarks/ui_window.py), the window's longest wait was under 16 ms in
#: 17 of 20 runs with the child at background work's priority (median 10.2 ms, worst 39 ms),
#: 37 of 40 with it at the lowest (median 9.6 ms). Scoring waits for nobody.
CHILD_NICENESS = 19
#: How long ``close`` lets an idle child leave on its own before ending it.
LEAVE_SECONDS = 5.0
#: What starting the child reads in the caller's process: spawning, the pipe, pickling.
SPAWN_MODULES = ("multiprocessing.connection", "multiprocessing.spawn", "pickle",
                 *(("multiprocessing.popen_spawn_posix", "multiprocessing.resource_tracker")
                   if os.name == "posix" else ("multiprocessing.popen_spawn_win32",)))


def import_ahead() -> None:
    """Read what starting the child reads, ahead of the first analysis (blocking: a worker).

    The window's first batch started the child and read these then: about 10,000 objects
    made while the batch rendered, which the garbage collector on the GUI thread walked (the
    batch's young collection held 20,000-23,500 objects and took 4.6-6.6 ms with them,
    11,000-12,600 and 1.9-2.7 ms without; benchmarks/ui_window.py). Read with the window's
    start-up, they live with what it made, out of the collector's sight."""
    import importlib

    for name in SPAWN_MODULES:
        importlib.import_module(name)


def _serve(conn: Connection, niceness: int) -> None:
    """The child: answer requests until the app says stop or is gone."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if niceness and hasattr(os, "nice"):
        with contextlib.suppress(OSError):  # not allowed here: the app's priority, then
            os.nice(niceness)
    analyser = DlibFaceAnalyser()
    try:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return  # the app is gone
            if request is None:
                return
            kind, data = request
            try:
                if kind == "load":
                    analyser.load()
                    answer: tuple[str, Any] = ("ok", None)
                else:
                    answer = ("ok", analyser.analyse(data).to_json())
            except Exception as exc:  # the caller raises it, as a call in its own process would
                answer = ("raised", exc)
            try:
                conn.send(answer)
            except (BrokenPipeError, EOFError, OSError):
                return  # the app is gone
            except Exception as exc:  # an exception that cannot be pickled: said in words
                conn.send(("raised", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def _lower_at_once(pid: int | None, niceness: int) -> None:
    """Lower the child's priority from the parent, as soon as it exists: its own ``os.nice``
    comes only once its interpreter has started and read its modules, which took 0.2 s of CPU
    at the priority of the background thread that started it, at the start of a first batch
    (a scheduler trace of benchmarks/ui_window.py). The child lowers itself too (the same
    lowest priority), where this is not possible."""
    if not niceness or pid is None or not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError):  # gone already, or not allowed: it lowers itself
        os.setpriority(os.PRIO_PROCESS, pid,
                       min(19, os.getpriority(os.PRIO_PROCESS, pid) + niceness))


class _Child:
    """One running child and the parent's end of its pipe; calls take turns on the pipe."""

    def __init__(self, niceness: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.conn, far_end = context.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(
            target=_serve, args=(far_end, niceness), name="studio-face-analysis",
            # Not waited for at exit: the interpreter ends it when ``close`` was not called.
            daemon=True)
        self.process.start()
        _lower_at_once(self.process.pid, niceness)
        far_end.close()  # only the child holds it now, so the child's reads end with the app
        self.turn = threading.Lock()

    def call(self, kind: str, data: bytes | None) -> Any:
        with self.turn:
            try:
                self.conn.send((kind, data))
                status, value = self.conn.recv()
            except (EOFError, OSError) as exc:
                raise _ChildGone(_STOPPED) from exc
        if status == "raised":
            raise value
        return value

    def end(self) -> None:
        """Stop the child: asked politely when idle, ended when busy (its answer is no longer
        wanted) or when it does not leave in time."""
        process = self.process
        if self.turn.acquire(blocking=False):
            try:
                self.conn.send(None)
            except OSError:
                pass
            finally:
                self.turn.release()
            process.join(LEAVE_SECONDS)
        if process.is_alive():
            process.terminate()
            process.join(LEAVE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
        with self.turn:  # a call still reading has seen the pipe close by now
            self.conn.close()
        process.close()


class FaceAnalysisProcess:
    """An ``Analyse`` (bytes to ``FaceAnalysis``) that runs dlib in one child process.

    Safe to call from several threads; calls queue for the one child. IdentityUnavailable when
    dlib or the models cannot be loaded, or when the child stops unexpectedly (the next call
    starts a new one).
    """

    def __init__(self, niceness: int = CHILD_NICENESS) -> None:
        self._niceness = niceness
        self._child: _Child | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, data: bytes) -> FaceAnalysis:
        return self.analyse(data)

    def load(self) -> None:
        """Start the child and read the models now rather than on the first analysis."""
        self._call("load", None)

    def analyse(self, data: bytes) -> FaceAnalysis:
        return FaceAnalysis.from_json(self._call("analyse", data))

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs."""
        with self._lock:
            return None if self._child is None else self._child.process.pid

    @property
    def busy(self) -> bool:
        """An image is on its way to the child or being analysed there."""
        with self._lock:
            child = self._child
        return child is not None and child.turn.locked()

    def close(self) -> None:
        """End the child; an analysis under way is abandoned and later calls are refused.
        Idempotent."""
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is not None:
            child.end()

    def __enter__(self) -> FaceAnalysisProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _call(self, kind: str, data: bytes | None) -> Any:
        with self._lock:
            if self._closed:
                raise RuntimeError("the face analysis process was closed")
            if self._child is None:
                self._child = _Child(self._niceness)
            child = self._child
        try:
            return child.call(kind, data)
        except _ChildGone:
            self._forget(child)  # it stopped: the next call starts another
            raise

    def _forget(self, child: _Child) -> None:
        with self._lock:
            if self._child is not child:
                return
            self._child = None
        child.end()


class _ChildGone(IdentityUnavailable):
    """The child ended (crashed, was killed, or was ended by ``close``) before it answered."""


_STOPPED = ("identity scoring stopped unexpectedly while analysing an image; the next image "
            "starts it again")
