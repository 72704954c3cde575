"""How many jobs of each provider run at once: the one place concurrency lives.

Each provider has a :class:`Lane` of ``provider.concurrency`` places (``STUDIO_<ID>_CONCURRENCY``
or Settings); a job holds its place from the moment its request is sent until the provider
says its image is made (its download and storing go on after the place is handed to the next
job), so the setting bounds what the account has in flight. When the provider throttles
(its rate limit), the lane narrows to half its places (at least one) and widens again by one
with each job the provider accepts.

Waiting jobs are served first come, first served; a cancelled waiter is skipped when its turn
comes, so cancelling thousands of waiting jobs stays linear.

:class:`Pacing` holds a queue's lanes, one per provider, and tells the listeners when a
provider's rate limit holds jobs back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from studio.providers.errors import provider_name
from studio.render.events import RateLimitWait, RenderEvent

if TYPE_CHECKING:
    from studio.providers.base import Provider, Throttled
    from studio.render.job import RunningJob


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


class Pacing:
    """A queue's lanes, one per provider, narrowed while the provider throttles (the runner
    calls back into it through the queue)."""

    def __init__(self, emit: Callable[[RenderEvent], None]) -> None:
        self._emit = emit
        self._lanes: dict[str, Lane] = {}
        self._waiting_announced: set[str] = set()

    def lane(self, provider: Provider) -> Lane:
        lane = self._lanes.get(provider.id)
        if lane is None:
            lane = self._lanes[provider.id] = Lane(provider.concurrency)
        return lane

    def throttled(self, job: RunningJob, provider: Provider, event: Throttled) -> None:
        """The provider's rate limit holds ``job``'s submit back: fewer of its jobs at once,
        and say so once per throttled answer."""
        self.lane(provider).narrow()
        if event.fresh or provider.id not in self._waiting_announced:
            self._waiting_announced.add(provider.id)
            message = f"waiting for {provider_name(provider.id)}'s rate limit"
            if event.hint:
                message += f", {event.hint}"
            self._emit(RateLimitWait(job.ref, event.seconds, message))

    def accepted(self, provider: Provider) -> None:
        self._waiting_announced.discard(provider.id)
        self.lane(provider).widen()
