"""The render engine's loop thread declares itself to sniffio, which httpx's network layer asks
on every socket read: undeclared, each answer came from importing and calling
``asyncio.current_task`` (in the window, through Qt for Python's import hook too)."""

from __future__ import annotations

import asyncio
import threading

import sniffio

from studio.providers.loops import asyncio_thread


def test_the_thread_is_declared_while_open_and_as_before_after() -> None:
    assert sniffio.thread_local.name is None
    with asyncio_thread():
        # Answered without looking: also outside a task, as a loop's callbacks are.
        assert sniffio.current_async_library() == "asyncio"
    assert sniffio.thread_local.name is None


def test_the_declaration_stays_on_its_thread() -> None:
    seen: list[str | None] = []
    with asyncio_thread():
        other = threading.Thread(target=lambda: seen.append(sniffio.thread_local.name))
        other.start()
        other.join()
    assert seen == [None]


def test_a_loop_run_inside_is_declared() -> None:
    async def ask() -> str | None:
        return sniffio.thread_local.name

    with asyncio_thread():
        assert asyncio.run(ask()) == "asyncio"
