"""Ctrl+C in the terminal that started the studio closes its window as the close button does:
the process ends on its own with exit 0 and no traceback (it printed a KeyboardInterrupt
traceback from the code the GUI thread happened to run, and went on running)."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.ui.conftest import child_env


def test_ctrl_c_closes_the_window_quietly(tmp_path: Path) -> None:
    env = child_env(tmp_path)
    app = subprocess.Popen([sys.executable, "-m", "studio"], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        images = tmp_path / "data" / "images"
        deadline = time.monotonic() + 120
        # First start: the example's previews render offline into the new library.
        while time.monotonic() < deadline and app.poll() is None:
            if images.is_dir() and any(images.rglob("*.png")):
                break
            time.sleep(0.2)
        assert app.poll() is None, app.communicate()[1]
        app.send_signal(signal.SIGINT)
        _out, err = app.communicate(timeout=120)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    assert app.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


#: The studio as `studio` starts it, whose event loop Qt ends under the window once its
#: previews are in (nothing renders any more), as Qt's X11 platform does when the X server dies.
DISPLAY_GOES = """
import sys
import studio.app as app
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

made = app.create_window

def create_window(*args, **kwargs):
    window = made(*args, **kwargs)

    def previews_in():
        model = window.model
        if model.names() and all(model.cell(n).preview.done for n in model.names()) \\
                and not model.progress().active:
            QApplication.instance().exit(1)
        else:
            QTimer.singleShot(100, previews_in)

    QTimer.singleShot(100, previews_in)
    return window

app.create_window = create_window
sys.exit(app.main())
"""


def test_a_display_that_goes_away_ends_the_studio_with_a_sentence(tmp_path: Path) -> None:
    """It said "an internal error stopped the command (RuntimeError); this is a bug"."""
    proc = subprocess.run([sys.executable, "-c", DISPLAY_GOES], env=child_env(tmp_path),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr
    assert "the window's display went away" in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


#: As DISPLAY_GOES, but while the previews render: each is held in the provider's follow, which
#: keeps handing work to a worker thread (as a hosted API's polls and downloads do), so any
#: coroutine of the render engine still running while the interpreter shuts down shows.
DISPLAY_GOES_MID_RENDER = """
import asyncio
import sys
import time
import studio.app as app
from studio.providers import offline
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


async def held_follow(self, submission, on_event):
    while True:
        await asyncio.to_thread(time.sleep, 0.02)

offline.OfflineProvider._follow = held_follow
made = app.create_window

def create_window(*args, **kwargs):
    window = made(*args, **kwargs)

    def rendering():
        if window.model.progress().active:
            QTimer.singleShot(300, lambda: QApplication.instance().exit(1))
        else:
            QTimer.singleShot(50, rendering)

    QTimer.singleShot(50, rendering)
    return window

if __name__ == "__main__":
    app.create_window = create_window
    sys.exit(app.main())
"""


def test_a_display_that_goes_away_mid_render_parks_the_renders_quietly(tmp_path: Path) -> None:
    """The render engine's jobs went on running while the interpreter shut down: four
    "render job N failed unexpectedly" tracebacks on stderr."""
    proc = subprocess.run([sys.executable, "-c", DISPLAY_GOES_MID_RENDER],
                          env=child_env(tmp_path), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr
    assert "the window's display went away" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "failed" not in proc.stderr, proc.stderr
    # Parked, not failed: the next start follows them.
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "library.sqlite3")) as db:
        states = [row[0] for row in db.execute("SELECT state FROM jobs")]
    assert states and set(states) <= {"submitted", "processing"}, states
