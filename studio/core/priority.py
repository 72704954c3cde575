"""Background work runs below the window's priority.

Everything but the window runs beside it: in the window's process, the render engine's thread,
the pool its loop hands blocking work to, the image writers, the decoders and the background
helper's pool; in a child process, the face analysis. On a machine with fewer cores than runnable
threads the system shares the cores evenly among them, so while a batch rendered the GUI thread
got a core a fraction of the time and each frame took several times its own CPU time. Run below
the window, background work takes what the window leaves.

Linux keeps a niceness per thread (a thread started later inherits its starter's), so a worker
thread lowers its own. Elsewhere a thread has no niceness of its own (setting it would lower the
whole process, the window too), so :func:`lower_this_thread` does nothing there.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading


def background_threads() -> int:
    """How many threads one kind of background work (decoding the cards' images, the render
    engine's blocking steps) keeps busy at once: one core is left to the window.

    Priorities do not reach the interpreter lock: every thread running Python code beside the
    window is one more the GUI thread may queue behind when it wakes. On two cores, while 48
    scenes rendered, the window's longest wait was 7.5-40 ms (median 18, 25 runs) with the
    engine's pool at Python's default (six threads) and eight image writers; 7.3-34 ms (median
    13, 19 runs) with one and two (benchmarks/ui_window.py)."""
    return max(1, (os.cpu_count() or 2) - 1)


#: How far below the window background work runs, in POSIX nice steps (19 is the lowest).
BACKGROUND_NICENESS = 10
_LOWEST = 19


def lower_this_thread() -> None:
    """Run the calling thread, and the threads it starts from now on, below the window's
    priority (nothing where threads have no niceness of their own)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):  # a sandbox that refuses: the thread keeps its priority
        wanted = min(_LOWEST, os.getpriority(os.PRIO_PROCESS, os.getpid()) + BACKGROUND_NICENESS)
        thread = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, thread) < wanted:
            os.setpriority(os.PRIO_PROCESS, thread, wanted)
