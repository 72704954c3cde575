"""The one background helper: blocking work runs on a worker and reports on the GUI thread,
coroutines are owned until they end, failures become sentences, closed owners hear nothing;
and the library's announcements reach the GUI thread, gathered."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject

from studio.library import Library
from studio.library.changes import Announcer, LibraryChange
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.changes import LibraryChanges


@pytest.fixture
def background(qapp, studio_loop):  # type: ignore[no-untyped-def]
    helper = Background(studio_loop)
    yield helper
    helper.close()
    helper.deleteLater()


def _gui() -> bool:
    return threading.current_thread() is threading.main_thread()


def test_blocking_work_runs_on_a_worker_and_answers_on_the_gui_thread(background, qtbot) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, bool]] = []

    def work() -> int:
        seen.append(("work", _gui()))
        return 42

    answers: list[int] = []
    background.run(work, lambda value: (seen.append(("answer", _gui())), answers.append(value)),
                   what="Counting")
    assert answers == []  # never inside the call that started it
    with qtbot.waitSignal(background.idle):
        pass
    assert answers == [42]
    assert seen == [("work", False), ("answer", True)]


def test_the_users_edits_apply_in_the_order_made(background, qtbot) -> None:  # type: ignore[no-untyped-def]
    """A slow first edit still comes before a quick second one (a Reject, then an Approve),
    while other work runs beside them."""
    done: list[str] = []
    started = threading.Event()

    def slow() -> None:
        started.set()
        threading.Event().wait(0.3)
        done.append("reject")

    background.run(slow, what="Saving the verdict", in_order=True)
    assert started.wait(5)
    background.run(lambda: done.append("read"), what="Reading")  # not held back by edits
    background.run(lambda: done.append("approve"), what="Saving the verdict", in_order=True)
    qtbot.waitUntil(lambda: len(done) == 3 and not background.busy)
    assert done == ["read", "reject", "approve"]


def test_closing_with_edits_kept_applies_the_queued_ones_and_cancels_the_rest(background) -> None:  # type: ignore[no-untyped-def]
    """A window whose loop has ended (its display gone) still keeps the verdicts just pressed;
    an ordinary close cancels what has not started."""
    done: list[str] = []
    release = threading.Event()
    for _ in range(3):  # every worker of the pool busy
        background.run(release.wait, what="Reading")
    background.run(lambda: (release.wait(), done.append("first")), what="Saving",
                   in_order=True)
    background.run(lambda: done.append("second"), what="Saving", in_order=True)
    background.run(lambda: done.append("read"), what="Reading")  # waits for a worker
    threading.Timer(0.2, release.set).start()
    background.close(keep_edits=True)
    assert done == ["first", "second"]


def test_an_unhandled_failure_becomes_a_sentence(background, qtbot, caplog) -> None:  # type: ignore[no-untyped-def]
    def broken() -> None:
        raise OSError("the disk is full")

    with qtbot.waitSignal(background.failed) as sig:
        background.run(broken, what="Saving the verdict")
    assert sig.args == ["Saving the verdict failed: the disk is full"]
    caplog.clear()  # logged with its traceback for the log file, on purpose
    errors: list[BaseException] = []
    background.run(broken, on_failure=errors.append, what="Saving the verdict")
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0], OSError)


def test_a_deleted_owner_hears_nothing(background, qtbot) -> None:  # type: ignore[no-untyped-def]
    owner = QObject()
    release = threading.Event()
    heard: list[object] = []
    background.run(release.wait, heard.append, heard.append, owner=owner, what="Waiting")
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner))
    release.set()
    with qtbot.waitSignal(background.idle):
        pass
    assert heard == []


def test_work_of_another_pool_is_followed(background, qtbot) -> None:  # type: ignore[no-untyped-def]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(lambda: "thumbnail.png")
        answers: list[str] = []
        background.follow(future, answers.append, what="Making a thumbnail")
        qtbot.waitUntil(lambda: answers == ["thumbnail.png"])


def test_coroutines_are_owned_and_cancelled_on_close(qapp, studio_loop, qtbot) -> None:  # type: ignore[no-untyped-def]
    helper = Background(studio_loop)
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    async def blocking_then_value() -> str:
        return await helper.call(lambda: "from a worker")

    results: list[str] = []
    task = helper.start(forever(), "Following a job")
    helper.start(blocking_then_value(), "Reading", results.append)
    qtbot.waitUntil(lambda: started.is_set() and results == ["from a worker"])
    assert helper.busy
    helper.close()
    qtbot.waitUntil(task.done)
    assert task.cancelled()
    assert helper.start(forever(), "Too late") is None  # a closed helper starts nothing
    helper.deleteLater()


def test_announcements_reach_the_gui_thread_gathered(qapp, qtbot) -> None:  # type: ignore[no-untyped-def]
    announcer = Announcer()
    changes = LibraryChanges(announcer)
    heard: list[tuple[LibraryChange, bool]] = []
    changes.changed.connect(lambda change: heard.append((change, _gui())))

    def writes() -> None:
        for render in (1, 2, 3):
            announcer.announce(LibraryChange(renders=frozenset({render}), sheets=frozenset({7})))

    worker = threading.Thread(target=writes)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(heard))
    assert heard == [(LibraryChange(renders=frozenset({1, 2, 3}), sheets=frozenset({7})), True)]
    changes.close()
    announcer.announce(LibraryChange(renders=frozenset({4})))  # nobody listens any more
    changes.deleteLater()


def test_a_verdict_written_by_a_worker_is_announced_on_the_gui_thread(  # type: ignore[no-untyped-def]
        background, qtbot, tmp_path: Path) -> None:
    import io

    from PIL import Image

    from studio.core.lifecycle import Approval

    library = Library.open(tmp_path / "data")
    try:
        buf = io.BytesIO()
        Image.new("RGB", (64, 64), (90, 120, 160)).save(buf, "PNG")
        project = library.projects.ensure("Bench").id
        render = library.maintenance.import_image(buf.getvalue(), project, name="one").render
        changes = LibraryChanges(library.changes)
        with qtbot.waitSignal(changes.changed) as sig:
            background.run(lambda: library.renders.set_approval([render.id], Approval.APPROVED),
                           what="Saving the verdict")
        assert render.id in sig.args[0].renders
        changes.close()
        changes.deleteLater()
    finally:
        library.close()


class _Witness:
    """Records the thread that frees it (a stand-in for a Qt object whose timers must be
    stopped on the thread that owns them)."""

    def __init__(self, freed_on: list[bool]) -> None:
        self._freed_on = freed_on

    def __del__(self) -> None:
        self._freed_on.append(_gui())


def test_work_that_holds_the_last_reference_is_freed_on_the_gui_thread(  # type: ignore[no-untyped-def]
        background, qtbot) -> None:
    """A closed window's work may hold the last reference to one of its objects: the worker
    must not be the one to free it ("Timers cannot be stopped from another thread")."""
    freed_on: list[bool] = []
    witness = _Witness(freed_on)
    release = threading.Event()

    def work(held: _Witness = witness) -> None:
        release.wait()

    background.run(work, what="Waiting")
    del work, witness  # only the work holds the witness now
    release.set()
    with qtbot.waitSignal(background.idle):
        pass
    qtbot.waitUntil(lambda: bool(freed_on))
    assert freed_on == [True]


def test_an_owner_that_closed_hears_nothing_not_even_a_failure(background, qtbot) -> None:  # type: ignore[no-untyped-def]
    """A view-model closes while its read runs, and the library closes under the read: the
    failure that follows is nobody's to show (it was once logged as an error at every close)."""
    owner = QObject()
    release = threading.Event()
    reported: list[str] = []
    background.failed.connect(reported.append)

    def read() -> None:
        release.wait()
        raise RuntimeError("The library is closed.")

    background.run(read, owner=owner, what="Reading the anchor's history")
    background.forget(owner)
    release.set()
    with qtbot.waitSignal(background.idle):
        pass
    assert reported == []
    owner.deleteLater()


def test_awaited_work_of_a_cancelled_coroutine_is_freed_on_the_gui_thread(  # type: ignore[no-untyped-def]
        background, qtbot) -> None:
    """A window closing cancels the coroutine that awaits blocking work; the work must still
    not be freed by its worker."""
    freed_on: list[bool] = []
    witness = _Witness(freed_on)
    release = threading.Event()

    def work(held: _Witness = witness) -> None:
        release.wait()

    task = background.start(background.call(work), "Waiting")
    del work, witness
    qtbot.waitUntil(lambda: background.pending == 1)
    task.cancel()
    qtbot.waitUntil(task.done)
    del task  # the cancelled coroutine's frame (and its cycle through the error) goes too
    gc.collect()
    assert freed_on == []  # the worker still runs it
    release.set()
    qtbot.waitUntil(lambda: bool(freed_on))
    assert freed_on == [True]


def test_a_followed_future_is_handed_over_without_its_work(background, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The foreign pool's worker hands over the future alone: holding the work (its owner and
    callbacks, the window's objects) even a moment after the GUI thread let go of it would
    free them on that worker."""
    owner = QObject()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        gate = threading.Event()
        future = pool.submit(gate.wait, 10)
        answers: list[object] = []
        background.follow(future, answers.append, what="Making a thumbnail", owner=owner)
        with qtbot.waitSignal(background._arrived) as arrived:
            gate.set()
        assert arrived.args == [future]
        qtbot.waitUntil(lambda: answers == [True])
