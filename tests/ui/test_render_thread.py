"""The render engine runs on a thread of its own: the providers' HTTP exchanges and the queue's
steps never run on the GUI thread, while the real window renders, cancels one card, and closes in
the middle of a batch as before (the jobs left for the next start, nothing sent twice). Its
blocking steps run on no more threads than the cores left to the window.

The render thread itself: answers and errors come back to the caller, the caller's cancellation
reaches the coroutine there, and closing ends the thread."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from studio.core import priority
from studio.core.lifecycle import JobState
from studio.library import Library
from studio.providers.http.download import Downloader
from studio.render.queue import RenderQueue
from studio.ui.viewmodels.render_thread import RenderThread
from tests.ui.conftest import close_window
from tests.ui.test_progress import fake_modelslab, load_scenes  # noqa: F401 - a fixture


def _alive(ident: int | None) -> bool:
    return any(t.ident == ident for t in threading.enumerate())


def test_the_providers_http_and_the_queue_run_on_the_render_thread(  # type: ignore[no-untyped-def]
        make_window, fake_modelslab, qtbot, monkeypatch) -> None:  # noqa: F811
    import httpx

    sent: list[int] = []
    steps: list[int] = []
    cards: list[int] = []
    send, change = httpx.AsyncClient.send, RenderQueue.change

    async def recorded_send(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> Any:
        sent.append(threading.get_ident())
        return await send(self, *args, **kwargs)

    def recorded_change(self: RenderQueue, *args: Any) -> None:
        steps.append(threading.get_ident())
        change(self, *args)

    monkeypatch.setattr(httpx.AsyncClient, "send", recorded_send)
    monkeypatch.setattr(RenderQueue, "change", recorded_change)
    window = make_window()
    names = load_scenes(window)
    model = window.model
    model.cellsChanged.connect(lambda: cards.append(threading.get_ident()))
    window.actions_by_name["preview_all"].trigger()
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in names), timeout=30000)
    engine = window.renderer.engine.ident
    gui = threading.get_ident()
    assert engine is not None and engine != gui
    assert len(sent) >= 8 and set(sent) == {engine}  # a submit and a fetch per scene at least
    assert len(steps) >= 4 * len(names) and set(steps) == {engine}
    assert cards and set(cards) == {gui}  # the cards hear of it on the GUI thread
    close_window(qtbot, window)
    assert not _alive(engine)


def test_cancelling_one_card_stops_its_job_and_the_others_go_on(  # type: ignore[no-untyped-def]
        make_window, fake_modelslab, qtbot) -> None:  # noqa: F811
    window = make_window()
    names = load_scenes(window)  # rooftop, library, harbour, studio
    fake_modelslab.hold.update({"library", "harbour"})
    model = window.model
    window.actions_by_name["preview_all"].trigger()
    qtbot.waitUntil(lambda: model.progress().active == 2
                    and sum(model.cell(n).preview.done for n in names) == 2, timeout=30000)
    held = [n for n in names if model.cell(n).preview.active]
    assert window.rendering.card_action(held[0], "cancel")
    qtbot.waitUntil(lambda: model.cell(held[0]).preview.state is JobState.CANCELLED,
                    timeout=30000)
    assert model.cell(held[1]).preview.active
    fake_modelslab.release()
    qtbot.waitUntil(lambda: model.cell(held[1]).preview.done, timeout=30000)
    progress = model.progress()
    assert (progress.done, progress.cancelled, progress.total) == (3, 1, 4)
    assert model.cell(held[0]).preview.state is JobState.CANCELLED
    close_window(qtbot, window)


def test_closing_during_a_batch_ends_the_render_thread_and_leaves_the_jobs_for_next_time(  # type: ignore[no-untyped-def]
        make_window, fake_modelslab, services, qtbot) -> None:  # noqa: F811
    window = make_window()
    names = load_scenes(window)
    fake_modelslab.hold.update({"library", "harbour"})
    model = window.model
    window.actions_by_name["preview_all"].trigger()
    qtbot.waitUntil(lambda: model.progress().active == 2
                    and sum(model.cell(n).preview.done for n in names) == 2, timeout=30000)
    engine = window.renderer.engine.ident
    sent = len(fake_modelslab.submit_bodies())
    assert sent == 4
    close_window(qtbot, window)  # waits until the providers and the library are closed
    assert not _alive(engine)
    library = Library.open(services.data_dir)
    try:
        left = library.jobs.unfinished()
    finally:
        library.close()
    assert len(left) == 2 and all(job.provider_request_id for job in left)
    # The next start follows them to the end; neither is sent again.
    fake_modelslab.release()
    again = make_window()
    qtbot.waitUntil(lambda: not again.library.jobs.unfinished(), timeout=30000)
    assert len(fake_modelslab.submit_bodies()) == sent
    close_window(qtbot, again)


# --------------------------------------------------------------------------- the thread itself

def test_the_render_thread_answers_raises_cancels_and_ends(studio_loop, qtbot) -> None:  # type: ignore[no-untyped-def]
    engine = RenderThread()
    started = threading.Event()
    cancelled: list[bool] = []

    async def where() -> int:
        return threading.get_ident()

    async def fails() -> None:
        raise ValueError("no such job")

    async def waits() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    def run(coro: Any) -> Any:
        task = studio_loop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=10000)
        return task.result()

    assert run(engine.run(where())) == engine.ident != threading.get_ident()
    with pytest.raises(ValueError, match="no such job"):
        run(engine.run(fails()))
    waiting = studio_loop.create_task(engine.run(waits()))
    qtbot.waitUntil(started.is_set, timeout=10000)
    waiting.cancel()
    qtbot.waitUntil(waiting.done, timeout=10000)
    assert waiting.cancelled()
    run(engine.run(asyncio.sleep(0)))  # the cancellation went ahead of this on the thread
    assert cancelled == [True]
    run(engine.aclose())
    assert not _alive(engine.ident)
    late = where()
    with pytest.raises(RuntimeError, match="closed"):
        engine.submit(late)
    assert late.cr_frame is None  # closed, never left un-awaited


def test_the_render_thread_tells_the_http_stack_it_runs_asyncio(studio_loop, qtbot) -> None:  # type: ignore[no-untyped-def]
    """httpx's network layer asks sniffio on every read; undeclared, each answer imported and
    called ``asyncio.current_task`` through Qt for Python's import hook (studio.providers.loops)."""
    import sniffio

    engine = RenderThread()

    async def asked() -> str | None:
        return sniffio.thread_local.name

    try:
        assert engine.submit(asked()).result(timeout=10) == "asyncio"
        assert sniffio.thread_local.name is None  # the window's own thread is not declared
    finally:
        closing = studio_loop.create_task(engine.aclose())
        qtbot.waitUntil(closing.done, timeout=10000)


def test_the_engines_blocking_steps_run_on_the_cores_left_to_the_window(  # type: ignore[no-untyped-def]
        make_window, fake_modelslab, qtbot, monkeypatch) -> None:  # noqa: F811
    """Its loop handed them to as many threads as Python's default (seven here): each one
    more for the GUI thread to queue behind for the interpreter lock."""
    monkeypatch.setattr(priority.os, "cpu_count", lambda: 3)  # two cores left to the engine
    verify = Downloader._verify
    lock = threading.Lock()
    threads: set[int] = set()
    running = [0, 0]  # now, most at once

    def verify_side(self: Downloader, *args: Any) -> Any:
        with lock:
            threads.add(threading.get_ident())
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.05)  # long enough for the batch's images to queue behind each other
        with lock:
            running[0] -= 1
        return verify(self, *args)

    monkeypatch.setattr(Downloader, "_verify", verify_side)
    window = make_window()
    names = load_scenes(window, 8)
    window.actions_by_name["preview_all"].trigger()
    qtbot.waitUntil(lambda: all(window.model.cell(n).preview.done for n in names),
                    timeout=30000)
    assert running[1] == len(threads) == priority.background_threads() == 2
    close_window(qtbot, window)
