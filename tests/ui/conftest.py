"""Fixtures for the window's tests: a qasync loop that runs on the qtbot's event processing,
services built on tmp_path, and hand-written fakes for the dialogs."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QWidget

from studio.core.presets import load_catalog
from studio.ui.services import SaveChoice, StudioServices

ARTIFACTS = Path(os.environ.get("STUDIO_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "test-artifacts"))


class FakeDialogs:
    """Answers the window's questions from queues the test fills."""

    def __init__(self) -> None:
        self.open_paths: list[Path | None] = []
        self.save_paths: list[Path | None] = []
        self.save_answers: list[SaveChoice] = []
        self.confirms: list[bool] = []
        self.asked: list[str] = []

    def open_sheet_path(self, parent: QWidget, start: Path | None) -> Path | None:
        self.asked.append("open")
        return self.open_paths.pop(0) if self.open_paths else None

    def save_sheet_path(self, parent: QWidget, suggested: Path) -> Path | None:
        self.asked.append(f"save:{suggested.name}")
        return self.save_paths.pop(0) if self.save_paths else None

    def ask_save_changes(self, parent: QWidget, name: str) -> SaveChoice:
        self.asked.append(f"changes:{name}")
        return self.save_answers.pop(0) if self.save_answers else "discard"

    def confirm(self, parent: QWidget, title: str, text: str) -> bool:
        self.asked.append(f"confirm:{title}")
        return self.confirms.pop(0) if self.confirms else True


@pytest.fixture
def studio_loop(qapp) -> Iterator[asyncio.AbstractEventLoop]:  # type: ignore[no-untyped-def]
    """An asyncio loop driven by Qt's event processing (qtbot.waitUntil/waitSignal run it)."""
    import qasync

    from studio.ui.viewmodels.handback import hand_back_default_executor

    loop = qasync.QEventLoop(qapp, already_running=True)
    hand_back_default_executor(loop)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        # Not loop.stop(): it calls QApplication.exit(), after which every nested Qt event loop
        # (qtbot.wait) returns at once for the rest of the session.
        qapp.aboutToQuit.disconnect(loop._after_run_forever)
        loop._QEventLoop__is_running = False
        asyncio.events._set_running_loop(None)
        loop.close()
        assert not pending, f"tasks left running: {pending}"


@pytest.fixture
def dialogs() -> FakeDialogs:
    return FakeDialogs()


def hashed_face(data: bytes):  # type: ignore[no-untyped-def]
    """A fake face analyser with no dlib: every image shows one face whose descriptor comes
    from the bytes' hash (about 0.6 apart between two images), so identity scores vary from
    image to image as real ones do, and each image always scores the same."""
    import hashlib

    from studio.identity import FaceAnalysis

    digest = hashlib.sha512(data).digest() * 2
    descriptor = tuple(b / 255 * 0.13 for b in digest[:128])
    return FaceAnalysis(faces=1, descriptor=descriptor, box=None, problem=None)


@pytest.fixture
def services(tmp_path: Path, dialogs: FakeDialogs) -> StudioServices:
    return StudioServices(
        environ=dict(os.environ),
        catalog=load_catalog(),
        config_dir=tmp_path / "config",
        data_dir=tmp_path / "data",
        dialogs=dialogs,
        # Window tests score identity with a fake analyser (no dlib child process per window).
        identity_analyser=lambda: hashed_face,
    )


@pytest.fixture
def make_window(qtbot, services: StudioServices, studio_loop):  # type: ignore[no-untyped-def]
    """Builds the real window as the app does; closes it (and waits for its work) after."""
    from studio.app import create_window

    windows = []

    def make(args: list[str] | None = None, svc: StudioServices | None = None):  # type: ignore[no-untyped-def]
        window = create_window(args or [], svc or services, studio_loop)
        # Not qtbot.addWidget: pytest-qt would delete it before this fixture closes it down.
        window.resize(1440, 900)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        # The library and the providers open on a worker once the window shows.
        qtbot.waitUntil(lambda: not window.starting, timeout=20000)
        return window

    yield make
    for window in windows:
        close_window(qtbot, window)
        window.deleteLater()


def child_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a studio started in a child process: headless, its data,
    settings and log under ``tmp_path``, no keychain."""
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen",
            "STUDIO_DATA_DIR": str(tmp_path / "data"),
            "STUDIO_CONFIG_DIR": str(tmp_path / "config"),
            "STUDIO_LOG_DIR": str(tmp_path / "logs"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


def close_window(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Close as the user would and wait until the providers and the library are closed."""
    if not window.closed_down:
        window.force_close()
        qtbot.waitUntil(lambda: window.closed_down and not window.isVisible(), timeout=20000)


def settle_images(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Paint the grid (which asks for the cards' images) until every image asked is decoded."""
    def settled() -> bool:
        window.grid.viewport().grab()
        return window.images.loading == 0 and not window.counts_pending

    qtbot.waitUntil(settled, timeout=20000)


def window_with_a_final_job(make_window, qtbot, row: int, job_id: int):  # type: ignore[no-untyped-def]
    """A window whose first previews are done, and a final job of the scene at ``row`` to tell
    its renderer about (as the render queue does): ``(window, name, ref)``."""
    from studio.core.request import Stage
    from studio.render.events import JobRef

    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    name = model.names()[row]
    ref = JobRef(job_id=job_id, scene=name, stage=Stage.FINAL, provider="modelslab",
                 model="fluxgram", seed=42)
    return window, name, ref


def save_shot(widget: QWidget, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    widget.grab().save(str(path))
    return path


@pytest.fixture
def shot() -> Callable[[QWidget, str], Path]:
    return save_shot


@pytest.fixture(scope="package", autouse=True)
def gui_thread_collector(qapp):  # type: ignore[no-untyped-def]
    """As in the app: cyclic garbage (windows and dialogs of earlier tests included) is
    collected on the GUI thread, never by a worker that happens to allocate."""
    from studio.ui.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(qapp)
    yield collector
    collector.stop()
    collector.deleteLater()


@pytest.fixture(autouse=True)
def collection_stays_off(gui_thread_collector):  # type: ignore[no-untyped-def]
    """Every window test ends with automatic collection still off: once it is on, any worker
    that allocates may destroy a Qt object off its thread, and the run fails or crashes tests
    later, far from the cause. (Switched on from a deferred deletion, it shows one test late.)"""
    yield
    import gc

    assert not gc.isenabled(), "automatic garbage collection is on under the GUI-thread collector"


def hold_first_read(renders):  # type: ignore[no-untyped-def]
    """Make the library's next ``renders.get`` read its record, then wait for ``gate`` before
    answering (a read that saw the library just before a write and answers after the write
    was announced); later reads go straight through. Returns the events (read, gate)."""
    import threading

    read, gate = threading.Event(), threading.Event()
    plain_get = renders.get

    def slow_get(wanted: int):  # type: ignore[no-untyped-def]
        record = plain_get(wanted)
        if not read.is_set():
            read.set()
            gate.wait(10)
        return record

    renders.get = slow_get
    return read, gate
