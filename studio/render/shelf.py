"""Finished images stored together: the images of jobs that finish while another batch is being
written are stored as the next batch, in one library transaction (see
:meth:`studio.library.Library.jobs.complete_many`), so a wave of jobs finishing at once costs a
few disk writes, not one per image.

Each image is awaited until it is stored (its render) or kept out (its LibraryError). Before
each batch, ``before`` runs: the runner lets the requests waiting for their "sending" entry go
first; and a batch holds at most :data:`BATCH` images, so a request waits for a few images'
writes at most, never a whole wave's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from studio.core.lifecycle import Outcome
from studio.library import Library, LibraryError, RenderRecord

#: The most images one transaction stores (each is a file made durable under the library's lock).
BATCH = 8


class ImageShelf:
    """See the module docstring. One per render queue."""

    def __init__(self, library: Library, before: Callable[[], Awaitable[None]]) -> None:
        self._library = library
        self._before = before
        self._pending: list[tuple[int, bytes, Outcome, asyncio.Future[RenderRecord]]] = []
        self._writer: asyncio.Task[None] | None = None

    def store(self, job_id: int, image: bytes, outcome: Outcome) -> asyncio.Future[RenderRecord]:
        """Store ``job_id``'s image; the future holds its render once it is in the library."""
        done: asyncio.Future[RenderRecord] = asyncio.get_running_loop().create_future()
        self._pending.append((job_id, image, outcome, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write(),
                                                                  name="image-shelf")
        return done

    async def _write(self) -> None:
        while self._pending:
            await self._before()
            batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            try:
                results = await asyncio.to_thread(
                    self._library.jobs.complete_many,
                    [(job_id, image, outcome) for job_id, image, outcome, _ in batch])
            except Exception as exc:  # handed to every waiter: each decides what it means
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, LibraryError):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def aclose(self) -> None:
        """Wait for the images already handed over."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.shield(writer)
