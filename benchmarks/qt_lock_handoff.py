"""What the interpreter lock costs the GUI thread's calls into Qt, printed as one JSON object.

    python benchmarks/qt_lock_handoff.py

PySide lets go of Python's interpreter lock around its calls into Qt (a signal's emit included).
While another Python thread of the process wants the lock, it takes it at each of those calls,
and the GUI thread's next line waits until that thread lets go again: for its next call that
releases the lock, or for the interpreter's switch interval (5 ms by default). The window's
background threads (the render engine's loop and pool, the helper's workers) are such threads.

Each figure is a mean over repetitions, in milliseconds of wall time on the measuring thread
(``cpu`` its own CPU time): ``draw`` one card-sized drawing (a picture copied, a scaled image
and a line of text drawn on it), ``emit`` one signal emitted to a Python slot, ``python`` the
same amount of plain Python (no call into Qt: it never lets go of the lock), each ``alone`` and
with one other Python thread running (``busy``), at the default switch interval and at 0.2 ms.

Run from the repository root.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable

REPEAT = 100
SHORT_SWITCH_S = 0.0002


def _measure(work: Callable[[], object]) -> dict[str, float]:
    work()
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(REPEAT):
        work()
    return {"ms": round((time.perf_counter() - wall) / REPEAT * 1000, 3),
            "cpu_ms": round((time.thread_time() - cpu) / REPEAT * 1000, 3)}


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QObject, QRect, Qt, Signal
    from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
    from PySide6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication(sys.argv[:1])  # kept until the end
    card = QPixmap(300, 430)
    card.fill(QColor("white"))
    image = QImage(320, 320, QImage.Format.Format_RGB32)
    image.fill(QColor("grey"))

    def draw() -> None:
        picture = QPixmap(card)
        painter = QPainter(picture)
        painter.drawImage(QRect(10, 60, 180, 180), image)
        painter.drawText(QRect(10, 250, 280, 20), Qt.AlignmentFlag.AlignLeft, "Processing")
        painter.end()

    class Sender(QObject):
        said = Signal(int)

    sender = Sender()
    heard: list[int] = []
    sender.said.connect(heard.append)

    def emit() -> None:
        sender.said.emit(1)
        heard.clear()

    def python() -> None:
        total = 0
        for i in range(300):
            total += i

    works = {"draw": draw, "emit": emit, "python": python}
    out: dict[str, object] = {"switch_interval_ms": sys.getswitchinterval() * 1000}
    out["alone"] = {name: _measure(work) for name, work in works.items()}
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            total = 0
            for i in range(1000):
                total += i

    other = threading.Thread(target=spin, name="busy-python", daemon=True)
    other.start()
    try:
        out["busy"] = {name: _measure(work) for name, work in works.items()}
        default = sys.getswitchinterval()
        sys.setswitchinterval(SHORT_SWITCH_S)
        try:
            out["busy_short_switch"] = {name: _measure(work) for name, work in works.items()}
        finally:
            sys.setswitchinterval(default)
    finally:
        stop.set()
        other.join()
    out["short_switch_interval_ms"] = SHORT_SWITCH_S * 1000
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
