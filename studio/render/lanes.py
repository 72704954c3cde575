"""How many jobs of each provider run at once: the one place concurrency lives.

Each provider has a :class:`Lane` of ``provider.concurrency`` places (``STUDIO_<ID>_CONCURRENCY``
or Settings); a job holds its place from the moment its request is sent until the provider
says its image is made (its download and storing go on after the place is handed to the next
job), so the setting bounds what the account has in flight. When the provider throttles
(its rate limit), the lane narrows to half its places (at least one) and widens again by one
with each job the provider accepts.

Waiting jobs are served first come, first served; a cancelled waiter is skipped when its turn
comes, so cancelling thousands of waiting jobs stays linear.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Lane:
    """An adjustable count of places, first come first served."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.limit = self.capacity
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._narrowed = False

    async def acquire(self) -> None:
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted just as it was cancelled: pass the place on
            raise

    def release(self) -> None:
        self.active -= 1
        self._grant()

    def _grant(self) -> None:
        while self.active < self.limit and self._waiters:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue  # cancelled while waiting
            self.active += 1
            waiter.set_result(None)

    def narrow(self) -> bool:
        """The provider throttles: half the places (at least one) until it accepts a job.
        Returns True the first time in a throttled spell."""
        if self._narrowed:
            return False
        self._narrowed = True
        self.limit = max(1, self.limit // 2)
        return True

    def widen(self) -> None:
        """The provider accepted a job: one place more, up to the capacity."""
        self._narrowed = False
        if self.limit < self.capacity:
            self.limit += 1
            self._grant()
