"""How fast the image viewer opens, printed as one JSON object (issue: a real viewer).

    python benchmarks/ui_viewer.py            # 12 opens
    python benchmarks/ui_viewer.py --quick    # 4

The window starts as on a first start (the example sheet, its previews rendered offline into a
fresh library); then the viewer is opened on a 1024x1024 render whose file is photo-like noise
(the worst case for PNG decoding, about 3 MB), closed, and opened again.

* ``open_ms``: from the request (what a double-click calls) to the image decoded (on a worker)
  and painted, with the render's settings read from the library beside it; ``first`` includes
  building the viewer's module and widgets for the first time, ``median`` and ``max`` are the
  later opens (each builds a new viewer: a closed one is deleted). Target < 100 ms.
* ``next_ms``: the same for the next image of the list (arrow key), median and max.
* ``open_gui_cpu_ms``: the CPU time the GUI thread spent on one open (building the viewer,
  showing the image and its settings; the decode is a worker's), whatever else the machine does;
  ``first`` for the first open, ``median`` and ``max`` for the later ones.
* ``gui_block_ms_max``: the longest the GUI thread was busy in one go during the opens (a
  5 ms timer's lateness): decoding never runs on it.
* ``ready_ahead_step_ms_max``: the longest step of getting the viewer ready at idle time after
  start-up (reading its modules, building and drawing one off screen), on the GUI thread.

The opens start once the window is idle, as a double-click would: the sheet's cards show their
images and the window has got the viewer ready.

The machine's load average when the run started is printed too (``load_average``).
Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _noise_png(side: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        buf, "PNG", compress_level=6)
    return buf.getvalue()


def measure(tmp: Path, opens: int) -> dict[str, Any]:
    os.environ.update(STUDIO_DATA_DIR=str(tmp / "data"), STUDIO_CONFIG_DIR=str(tmp / "config"),
                      QT_QPA_PLATFORM="offscreen",
                      PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    for key in [k for k in os.environ if k.startswith("STUDIO_") and k.endswith("_API_KEY")]:
        del os.environ[key]
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    import qasync

    from studio.app import build_services, create_window, prepare_application
    from studio.core.request import Stage
    from studio.ui.read_ahead import ReadAhead
    from studio.ui.viewmodels.image_actions import ImageItem

    collector = prepare_application(app)
    # Running on Qt's event processing (as in the tests): processEvents drives the coroutines.
    loop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)
    window = create_window([], build_services(os.environ), loop)
    window.resize(1440, 900)
    window.show()

    def wait(condition: Any, limit: float = 60.0) -> None:
        end = time.monotonic() + limit
        while not condition():
            if time.monotonic() > end:
                raise SystemExit("the window did not get there in time")
            app.processEvents()
            time.sleep(0.0005)

    model = window.model
    wait(lambda: not window.starting and all(model.cell(n).preview.done
                                             for n in model.names()))
    # A double-click comes once the cards show their images and the window is idle (it has
    # got the viewer ready meanwhile, on the GUI thread, a short step at a time).
    ahead = window.findChild(ReadAhead)
    wait(lambda: not window.images.loading and (ahead is None or ahead.done))
    files = []
    for i in range(3):
        path = tmp / f"render-{i}.png"
        path.write_bytes(_noise_png(1024))
        files.append(path)
    ids = [model.cell(n).preview.render_id for n in model.names()]
    items = [ImageItem(path, f"Render {i + 1}", ids[i], None, Stage.PREVIEW)
             for i, path in enumerate(files)]

    worst = [0.0]
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        worst[0] = max(worst[0], (now - last[0]) * 1000 - 5)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)

    def shown(viewer: Any) -> bool:
        return (viewer.view.has_image() and viewer.model.record is not None
                and not viewer.model.loading)

    gui_cpu: list[float] = []

    def open_once() -> float:
        clock = QElapsedTimer()
        cpu = time.thread_time()
        clock.start()
        viewer = window.image_windows.open_viewer(items, 0)
        wait(lambda: shown(viewer))
        viewer.view.viewport().repaint()  # painted, not only scheduled
        elapsed = clock.nsecsElapsed() / 1e6
        gui_cpu.append((time.thread_time() - cpu) * 1000)
        return elapsed

    def close_viewer() -> None:
        viewer = window.image_windows.viewer
        if viewer is not None:
            viewer.close()
            wait(lambda: window.image_windows.viewer is None)

    timer.start()
    last[0] = time.perf_counter()
    first = open_once()
    close_viewer()
    times, nexts = [], []
    for _ in range(opens):
        times.append(open_once())
        viewer = window.image_windows.viewer
        clock = QElapsedTimer()
        clock.start()
        viewer.press("next")
        wait(lambda v=viewer: shown(v))
        viewer.view.viewport().repaint()
        nexts.append(clock.nsecsElapsed() / 1e6)
        close_viewer()
    timer.stop()
    result = {
        "image": "1024x1024 PNG, noise",
        "bytes": files[0].stat().st_size,
        "open_ms": {"first": round(first, 1), "median": round(statistics.median(times), 1),
                    "max": round(max(times), 1)},
        "next_ms": {"median": round(statistics.median(nexts), 1),
                    "max": round(max(nexts), 1)},
        "open_gui_cpu_ms": {"first": round(gui_cpu[0], 1),
                            "median": round(statistics.median(gui_cpu[1:]), 1),
                            "max": round(max(gui_cpu[1:]), 1)},
        "gui_block_ms_max": round(worst[0], 1),
        "ready_ahead_step_ms_max": round(ahead.longest_step * 1000, 1) if ahead else None,
        "opens": opens,
    }
    window.force_close()
    wait(lambda: window.closed_down, 30)
    collector.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"load_average": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        out.update(measure(Path(tmp), 4 if args.quick else 12))
    print(json.dumps(out, indent=2), flush=True)
    os._exit(0)  # Qt's teardown at interpreter exit adds nothing to the figures


if __name__ == "__main__":
    main()
