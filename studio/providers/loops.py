"""The thread that runs the render engine's event loop says so to the HTTP stack once.

httpx's network layer (httpcore over anyio) asks sniffio which async library is running on every
socket read and write, every lock and every timeout. Unless the running library has declared
itself, sniffio finds the answer by importing and calling ``asyncio.current_task`` each time: in
the window's process every such import also passes through Qt for Python's import hook. While 48
scenes rendered, that asking was about 8% of the engine thread's own time (profiled by thread
CPU time), which the window's GUI thread then waited for (the interpreter lock). The engine's
thread runs nothing but its asyncio loop, so it declares it, as an event loop library does for
its own threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def asyncio_thread() -> Iterator[None]:
    """While open, the calling thread runs an asyncio event loop (and nothing of another async
    library): sniffio answers "asyncio" there without looking."""
    import sniffio

    previous = sniffio.thread_local.name
    sniffio.thread_local.name = "asyncio"
    try:
        yield
    finally:
        sniffio.thread_local.name = previous
