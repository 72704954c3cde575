"""The window's workers run below the GUI thread: while the real window renders a batch, the
render engine's thread, the threads its loop hands blocking work to, and the image decoders
all run at a lower priority than the window's thread, which keeps its own (on Linux, where a
thread has a niceness of its own)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import pytest

from studio.core.priority import BACKGROUND_NICENESS, lower_this_thread
from studio.providers.http.download import Downloader
from studio.ui.viewmodels import images
from tests.ui.conftest import close_window
from tests.ui.test_progress import fake_modelslab, load_scenes  # noqa: F401 - a fixture

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="threads have a niceness of their own on Linux only")


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _below_window() -> int:
    return min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + BACKGROUND_NICENESS)


def test_the_engine_its_pool_and_the_decoders_run_below_the_window(  # type: ignore[no-untyped-def]
        make_window, fake_modelslab, qtbot, monkeypatch) -> None:  # noqa: F811
    seen: dict[str, set[int]] = {"engine": set(), "verify": set(), "decode": set()}
    follow, verify, decode = Downloader.first_image, Downloader._verify, images.decode_scaled

    async def engine_side(self: Downloader, *args: Any) -> Any:
        seen["engine"].add(_niceness())
        return await follow(self, *args)

    def verify_side(self: Downloader, *args: Any) -> Any:
        seen["verify"].add(_niceness())
        return verify(self, *args)

    def decode_side(*args: Any) -> Any:
        seen["decode"].add(_niceness())
        return decode(*args)

    monkeypatch.setattr(Downloader, "first_image", engine_side)
    monkeypatch.setattr(Downloader, "_verify", verify_side)
    monkeypatch.setattr(images, "decode_scaled", decode_side)
    window = make_window()
    names = load_scenes(window)
    gui = _niceness()
    window.actions_by_name["preview_all"].trigger()
    qtbot.waitUntil(lambda: all(window.model.cell(n).preview.done for n in names),
                    timeout=30000)
    qtbot.waitUntil(lambda: bool(seen["decode"]), timeout=20000)  # the cards show their images
    low = _below_window()
    assert low > gui == os.getpriority(os.PRIO_PROCESS, os.getpid())  # the window keeps its own
    assert seen == {"engine": {low}, "verify": {low}, "decode": {low}}
    close_window(qtbot, window)


def test_a_worker_is_lowered_once_and_a_thread_it_starts_is_as_low() -> None:
    seen: list[int] = []

    def child() -> None:
        seen.append(_niceness())

    def worker() -> None:
        lower_this_thread()
        lower_this_thread()  # again: no lower than the window's priority less the step
        seen.append(_niceness())
        started = threading.Thread(target=child)
        started.start()
        started.join()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [_below_window(), _below_window()]
    assert _niceness() == os.getpriority(os.PRIO_PROCESS, os.getpid())  # this thread untouched
