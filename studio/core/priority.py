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
#:
#: A little: enough for the window to come first among the app's own threads, not so far that
#: other programs starve them. Those threads hold the interpreter lock the window's thread
#: waits for, and a thread far below other busy programs holds it for as long as it waits for a
#: core. With two other programs keeping both cores busy (benchmarks/ui_window.py ``--busy 2``),
#: 48 scenes took 11.9-12.3 s to render at 10 steps below and the window's longest wait was
#: 72-84 ms (99th percentile 36-39 ms); at 3 steps, 2.3-2.6 s and 15-29 ms (13-15 ms). On an
#: idle machine the two measure alike (longest wait under 16 ms in 36 of 40 runs at 3 steps,
#: 54 of 60 at 10). The face analysis, in a process of its own, holds none of the window's
#: locks: it runs at the lowest priority (studio.identity.worker).
BACKGROUND_NICENESS = 3
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
