"""Closed windows and dialogs are freed by reference counting: nothing keeps them in a reference
cycle, so they go the moment they are closed and deleted, on the GUI thread, without the cycle
collector (which may otherwise run them down on whichever worker thread allocates)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject

from studio.app import create_window
from studio.core.request import Stage
from studio.ui.gc_guard import held_collection
from tests.ui.conftest import close_window


@pytest.fixture
def no_collection(gui_thread_collector) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Every cycle collection that runs meanwhile is recorded (the test expects none)."""
    runs: list[str] = []

    def record(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            runs.append(phase)

    automatic = gc.isenabled()  # off under the package's collector, unless a test turned it on
    gc.disable()
    gc.callbacks.append(record)
    try:
        with held_collection(gui_thread_collector):
            yield runs
    finally:
        gc.callbacks.remove(record)
        if automatic:
            gc.enable()


def _ready(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Wait (with closures local to here, so the test can drop every reference it holds)."""
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: not window.starting, timeout=20000)
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)


def _open_tools(qtbot, window):  # type: ignore[no-untyped-def]
    dialog = window.tools.open_settings()
    qtbot.waitUntil(lambda: dialog.ready)
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy)
    return dialog, browser


def _shown(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    """Wait until the viewer shows its image (closures local to here, as in :func:`_ready`)."""
    qtbot.waitUntil(lambda: not viewer.busy and viewer.view.has_image())


def compare_done(compare):  # type: ignore[no-untyped-def]
    return lambda: not compare.busy


def _freed(qtbot, ref: weakref.ref[QObject]) -> bool:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: ref() is None, timeout=10000)  # runs the deferred deletes
    return True


def test_a_closed_window_is_freed_without_the_cycle_collector(  # type: ignore[no-untyped-def]
        services, studio_loop, qtbot, no_collection) -> None:
    window = create_window([], services, studio_loop)
    window.show()
    _ready(qtbot, window)
    # Its other windows were open too, and an edit was undone.
    window.tools.open_library()
    window.tools.open_consistency()
    window.tools.open_compare(window.model.names()[0])
    window.tools.open_shortcuts()
    viewer = window.image_windows.open_card(window.model.names()[0], Stage.PREVIEW)
    _shown(qtbot, viewer)
    del viewer
    window.document.set_name("Emmy")
    window.actions_by_name["undo"].trigger()
    ref = weakref.ref(window)
    close_window(qtbot, window)
    window.deleteLater()
    del window
    assert _freed(qtbot, ref)
    assert no_collection == []


def test_a_closed_settings_dialog_and_library_browser_are_freed(  # type: ignore[no-untyped-def]
        make_window, qtbot, no_collection) -> None:
    window = make_window()
    dialog, browser = _open_tools(qtbot, window)
    refs = [weakref.ref(dialog), weakref.ref(browser), weakref.ref(browser.browser)]
    dialog.reject()
    browser.close()
    del dialog, browser
    for ref in refs:
        assert _freed(qtbot, ref)
    assert window.tools.settings_dialog is None and window.tools.library_browser is None
    assert no_collection == []


def test_a_closed_viewer_compare_and_shortcuts_window_are_freed(  # type: ignore[no-untyped-def]
        make_window, qtbot, no_collection) -> None:
    window = make_window()
    _ready(qtbot, window)
    names = window.model.names()
    viewer = window.image_windows.open_card(names[0], Stage.PREVIEW)
    _shown(qtbot, viewer)
    viewer.press("next")
    _shown(qtbot, viewer)
    viewer.press("set_a")
    viewer.press("compare")  # the same image: it stays A
    window.image_windows.compare_with(window.image_windows.picks.a)
    compare = window.image_windows.open_compare(window.image_windows.picks.a,
                                                viewer.model.items[0])
    qtbot.waitUntil(compare_done(compare))
    shortcuts = window.tools.open_shortcuts()
    refs = [weakref.ref(viewer), weakref.ref(viewer.model), weakref.ref(compare),
            weakref.ref(shortcuts)]
    viewer.close()
    compare.close()
    shortcuts.close()
    del viewer, compare, shortcuts
    for ref in refs:
        assert _freed(qtbot, ref)
    assert window.image_windows.viewer is None and window.tools.compare is None
    assert no_collection == []
