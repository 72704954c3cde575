"""Face analysis in a child process, so the caller's threads keep running while dlib works.

dlib keeps Python's global interpreter lock for the whole of a descriptor computation (about
150 ms on one core), so an analysis on a worker thread of the window's process would freeze the
window for as long. A child process has an interpreter of its own: the window's thread only
hands over the image's bytes and waits on a future. The child loads dlib and the models once
(about a second) and then serves every analysis; ``close`` ends it.

Started with ``spawn`` on every platform (forking a process that runs Qt is unsafe); a packaged
app must call ``multiprocessing.freeze_support()`` first thing in its entry point.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .analysis import FaceAnalysis
from .errors import IdentityUnavailable
from .faces import DlibFaceAnalyser

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

# The child's own analyser; set once by ``_start_child`` in the child process only.
_child_analyser: DlibFaceAnalyser | None = None


def _start_child() -> None:
    global _child_analyser
    _child_analyser = DlibFaceAnalyser()


def _load_in_child() -> None:
    assert _child_analyser is not None
    _child_analyser.load()


def _analyse_in_child(data: bytes) -> dict[str, Any]:
    assert _child_analyser is not None
    return _child_analyser.analyse(data).to_json()


class FaceAnalysisProcess:
    """An ``Analyse`` (bytes to ``FaceAnalysis``) that runs dlib in one child process.

    Safe to call from several threads; calls queue for the one child. IdentityUnavailable when
    dlib or the models cannot be loaded, or when the child stops unexpectedly (the next call
    starts a new one).
    """

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, data: bytes) -> FaceAnalysis:
        return self.analyse(data)

    def load(self) -> None:
        """Start the child and read the models now rather than on the first analysis."""
        self._wait(self._submit(_load_in_child))

    def analyse(self, data: bytes) -> FaceAnalysis:
        return FaceAnalysis.from_json(self._wait(self._submit(_analyse_in_child, data)))

    def close(self) -> None:
        """End the child; analyses not started are cancelled. Idempotent."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> FaceAnalysisProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _submit(self, function: Any, *args: Any) -> Future[Any]:
        # Imported here: multiprocessing is only needed once scoring starts.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        with self._lock:
            if self._closed:
                raise RuntimeError("the face analysis process was closed")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child)
            executor = self._executor
        try:
            return executor.submit(function, *args)
        except BrokenProcessPool as exc:
            self._forget(executor)
            raise _stopped() from exc

    def _wait(self, future: Future[Any]) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                executor = self._executor
            if executor is not None:
                self._forget(executor)
            raise _stopped() from exc

    def _forget(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)


def _stopped() -> IdentityUnavailable:
    return IdentityUnavailable("identity scoring stopped unexpectedly while analysing an image; "
                               "the next image starts it again")
