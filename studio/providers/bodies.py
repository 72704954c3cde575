"""One HTTP answer read whole: sent, its body read within a cap, closed and let go.

Both engines (the hosted APIs' and ComfyUI's) read every answer this way.

httpx (0.28) keeps each response in a reference cycle with the stream that times its body
(``response.stream`` points back at the response). Everything the exchange used hangs off that
cycle (the request, the connection, its socket transport: about twenty objects), so none of it
is freed when the answer is read; it waits for Python's cycle collector. In the window that
collector runs on the GUI thread, and during a 48-scene batch one collection tore down more than
9,000 such objects while the window waited (about 20 ms). Once the body is read and the answer
closed, the stream is replaced by an empty one: the cycle is gone and reference counting frees
the exchange as soon as the caller drops the response.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

#: What a spent answer's ``stream`` becomes (empty; never read: the body was read or refused).
_SPENT = httpx.ByteStream(b"")


class BodyTooLarge(Exception):
    """The body (or the length the server announced for it) passed the cap; not read further."""

    def __init__(self, cap: int, status: int) -> None:
        super().__init__(f"the answer is larger than {cap // 2**20} MB")
        self.cap = cap
        self.status = status


async def read_whole(
    client: httpx.AsyncClient,
    request: httpx.Request,
    cap: int | Callable[[httpx.Response], int],
    check: Callable[[httpx.Response], None] | None = None,
) -> tuple[httpx.Response, bytes]:
    """Send ``request`` and read its whole body: the answer (closed) and the body.

    ``check`` may look at the status and headers first and raise; ``cap`` (bytes, or a
    function of the answer) bounds the body: :class:`BodyTooLarge` as soon as it (or its
    announced length) passes. httpx's own errors pass through.
    """
    response = await client.send(request, stream=True)
    try:
        if check is not None:
            check(response)
        limit = cap(response) if callable(cap) else cap
        length = response.headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > limit:
            raise BodyTooLarge(limit, response.status_code)
        # Kept as the pieces that arrived and joined once: a growing buffer is copied again
        # at each of its growths (about a tenth of the engine thread's own time while 48
        # images of a few megabytes each arrived, profiled by thread CPU time).
        pieces: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit, response.status_code)
            pieces.append(chunk)
    finally:
        try:
            await response.aclose()
        finally:
            response.stream = _SPENT
    return response, b"".join(pieces)
