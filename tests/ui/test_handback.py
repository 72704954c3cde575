"""The event loop's default executor hands everything back to the GUI thread: blocking calls of
the render and provider layers (``asyncio.to_thread``) never free the window's objects on a
worker, whether the awaiting coroutine got its answer, its exception, or was cancelled."""

from __future__ import annotations

import asyncio
import threading
import weakref

import pytest

from studio.ui.viewmodels.handback import HandBackExecutor


class _Marker:
    """Stands for a window's object: records the thread it is freed on."""


def _watch(thing: object, freed_on: list[str]) -> None:
    weakref.finalize(thing, lambda: freed_on.append(threading.current_thread().name))


def _main() -> str:
    return threading.main_thread().name


def test_the_window_loop_uses_the_hand_back_executor(studio_loop, qtbot) -> None:  # type: ignore[no-untyped-def]
    seen: list[object] = []

    async def probe() -> None:
        seen.append(await asyncio.to_thread(lambda: threading.current_thread().name))

    task = studio_loop.create_task(probe())
    qtbot.waitUntil(task.done)
    assert seen == ["studio-loop_0"]  # a worker of the hand-back executor


def test_a_cancelled_await_leaves_nothing_for_the_worker_to_free(studio_loop, qtbot) -> None:  # type: ignore[no-untyped-def]
    gate, running = threading.Event(), threading.Event()
    freed_on: list[str] = []

    def blocking(marker: _Marker) -> str:
        running.set()
        gate.wait(10)
        return "late"

    async def window_work() -> str:
        marker = _Marker()
        _watch(marker, freed_on)
        return await asyncio.to_thread(blocking, marker)

    task = studio_loop.create_task(window_work())
    qtbot.waitUntil(running.is_set)
    task.cancel()
    qtbot.waitUntil(task.done)
    del task  # the window has closed: nothing of it is held on the GUI side any more
    assert freed_on == []  # still held: the worker is running with it
    gate.set()
    qtbot.waitUntil(lambda: bool(freed_on))
    assert freed_on == [_main()]


@pytest.mark.parametrize("fails", [False, True])
def test_answers_and_exceptions_are_freed_on_the_gui_thread(studio_loop, qtbot, fails) -> None:  # type: ignore[no-untyped-def]
    freed_on: list[str] = []
    done: list[bool] = []

    def blocking(marker: _Marker) -> _Marker:
        if fails:
            raise ValueError("the disk is full")
        return _Marker()

    async def window_work() -> None:
        held = _Marker()  # in this frame, which the exception's traceback will hold
        _watch(held, freed_on)
        try:
            answer = await asyncio.to_thread(blocking, _Marker())
            _watch(answer, freed_on)
        finally:
            done.append(True)

    task = studio_loop.create_task(window_work())
    qtbot.waitUntil(task.done)
    if fails:
        assert isinstance(task.exception(), ValueError)
    del task
    qtbot.waitUntil(lambda: len(freed_on) == (1 if fails else 2))
    assert set(freed_on) == {_main()}


def test_the_exception_does_not_keep_the_workers_frame(qapp) -> None:  # type: ignore[no-untyped-def]
    posted: list[tuple[object, tuple[object, ...]]] = []
    executor = HandBackExecutor(lambda fn, *args: posted.append((fn, args)), max_workers=1)

    def broken() -> None:
        raise OSError("no such file")

    future = executor.submit(broken)
    executor.shutdown(wait=False)
    executor._pool.shutdown(wait=True)  # the worker has posted its outcome
    fn, args = posted.pop()
    fn(*args)  # settled "on the owner's thread"
    error = future.exception()
    assert isinstance(error, OSError)
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames == ["broken"]


def test_a_job_cancelled_before_it_starts_never_runs(qapp) -> None:  # type: ignore[no-untyped-def]
    posted: list[tuple[object, tuple[object, ...]]] = []
    executor = HandBackExecutor(lambda fn, *args: posted.append((fn, args)), max_workers=1)
    gate = threading.Event()
    ran: list[str] = []
    first = executor.submit(gate.wait, 10)
    second = executor.submit(ran.append, "second")
    assert second.cancel()
    gate.set()
    executor._pool.shutdown(wait=True)
    while posted:
        fn, args = posted.pop(0)
        fn(*args)
    assert first.result() is True
    assert ran == []
    assert executor.pending == 0


def test_the_workers_come_with_the_first_job_and_none_after_shutdown() -> None:
    """The pool is made when the first job comes (a window shows before it asks for any work);
    once shut down, the executor refuses work as a thread pool does, made or not."""
    posted: list[object] = []
    executor = HandBackExecutor(lambda fn, *args: posted.append((fn, args)), max_workers=1)
    assert executor._pool is None
    future = executor.submit(lambda: threading.current_thread().name)
    assert executor._pool is not None
    executor._pool.shutdown(wait=True)  # the worker has posted its outcome
    for fn, args in posted:
        fn(*args)  # what the owner's thread runs
    assert future.result(timeout=0).startswith("studio-worker")
    executor.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(lambda: None)

    never_used = HandBackExecutor(lambda fn, *args: None)
    never_used.shutdown()
    assert never_used._pool is None
    with pytest.raises(RuntimeError, match="after shutdown"):
        never_used.submit(lambda: None)
    assert never_used.pending == 0
