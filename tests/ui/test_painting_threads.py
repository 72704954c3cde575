"""The window paints on the GUI thread alone: Qt's painter hands no part of a paint to helper
threads (it waited for them, and while the image decoders kept the other core busy each helper
waited its turn behind a decoder: the first scroll through a sheet took two to three times its
painting's CPU time a frame). Run as the studio runs, in a process of its own: Qt decides once
per process, at its first paint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What Qt names its painting helpers (and any other pool's threads: the window has none).
HELPER = "Thread (pooled)"

SCRIPT = """
import asyncio, os, sys
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
import qasync
import studio.app
if sys.argv[2] == "without":  # as it was: Qt's helpers left on
    studio.app.paint_on_the_gui_thread = lambda: None
collector = studio.app.prepare_application(app)
app.setQuitOnLastWindowClosed(False)
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
window = studio.app.create_window([sys.argv[1]], studio.app.build_services(os.environ), loop)
window.resize(1440, 900)
window.show()
while window.starting:
    app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
grid = window.grid
bar = grid.verticalScrollBar()
for step in range(3):  # every card size, scrolled a page and painted in full
    grid.set_card_size(step)
    bar.setValue(bar.value() + bar.pageStep())
    grid.viewport().repaint()
    window.repaint()
names = []
for task in os.listdir("/proc/self/task"):
    with open(f"/proc/self/task/{task}/comm") as comm:
        names.append(comm.read().strip())
print("threads:" + "|".join(sorted(names)), flush=True)
os._exit(0)
"""


def threads_after_painting(tmp_path: Path, how: str) -> list[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               STUDIO_DATA_DIR=str(tmp_path / "data"), STUDIO_CONFIG_DIR=str(tmp_path / "config"),
               STUDIO_LOG_DIR=str(tmp_path / "logs"),
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    env.pop("QT_NO_GUI_THREADPOOL", None)  # as a user's environment has it
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "examples" / "emma.sheet.toml"),
                           how], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("threads:")]
    assert lines, proc.stderr[-3000:]
    return lines[-1].removeprefix("threads:").split("|")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads listed by /proc")
def test_the_window_paints_without_helper_threads(tmp_path: Path) -> None:
    assert HELPER not in threads_after_painting(tmp_path / "studio", "as-the-studio-runs")
    # the same paints with Qt's helpers left on start them: the check sees them
    assert HELPER in threads_after_painting(tmp_path / "without", "without")
