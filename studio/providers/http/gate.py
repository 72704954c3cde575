"""Where every submit of one provider waits its turn: a refused key, a shared rate limit.

* **A refused key stops the batch.** Until the provider has taken one request with the key,
  submits go one at a time; when the API refuses the key, every later submit is refused here
  without a request (:class:`~studio.providers.errors.KeyRefusedError`). A wrong key therefore
  costs one request per provider. (A submit still unanswered after ``probe_grace`` seconds has
  passed the API's key check in practice, so a slow API does not serialise a whole batch.)
* **Rate limits are ridden out together.** A throttled answer (HTTP 429 or a "queue full"
  error), with or without ``Retry-After``, blocks every submit of the provider until the reset
  the answer names (its header, its body, or a growing backoff from ``min_backoff``), then lets
  them through one at a time until one is accepted. The throttled submit is sent again (the API
  did not take it). When the provider has been throttled for longer than ``patience`` seconds
  without accepting anything, the submit gives up with the rate-limit error (nothing was sent).

Waits are announced through :class:`~studio.providers.base.Throttled` events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from studio.core.lifecycle import JobState
from studio.providers.base import Clock, EventCallback, SendJournal, Throttled
from studio.providers.errors import (
    AuthenticationError,
    KeyRefusedError,
    ProviderError,
    RateLimitedError,
    provider_name,
)

T = TypeVar("T")


class SubmitGate:
    """See the module docstring. One per provider instance."""

    def __init__(self, provider: str, clock: Clock, *, patience: float = 300.0,
                 probe_grace: float = 3.0, min_backoff: float = 10.0,
                 max_backoff: float = 120.0) -> None:
        self.provider = provider
        self.clock = clock
        self.patience = patience
        self.probe_grace = probe_grace
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        #: The error that refused the key; every later submit is refused without a request.
        self.refused: ProviderError | None = None
        self._trusted = False  # a request went through with this key, and no throttling since
        self._probing = False
        self._settled = asyncio.Event()
        self._blocked_until = 0.0
        self._episode_start: float | None = None
        self._misses = 0

    # ------------------------------------------------------------------ the one entry

    async def submit(self, send: Callable[[], Awaitable[T]], emit: EventCallback,
                     journal: SendJournal | None = None,
                     stage: Callable[[], Awaitable[None]] | None = None) -> T:
        """Run ``send`` (one submit) when the provider may take it; resend it after a
        throttled answer, within the patience. ``journal`` hears when the request leaves and
        when it came back throttled. ``stage`` runs first, on the submit's turn (uploads of
        its reference images: they bill nothing, so they come before the job is journaled as
        sending, and a key they find refused stops the batch like a refused submit)."""
        while True:
            self._check_refused()
            await self._wait_for_reset(emit)
            probe = await self._take_turn()
            if self.refused is not None or self._blocked_until > self.clock.monotonic():
                self._settle(probe)  # refused or throttled while this one waited its turn
                continue
            try:
                if stage is not None:
                    await stage()
                if journal is not None:
                    await journal(JobState.SENDING)
                result = await send()
            except RateLimitedError as exc:
                self._settle(probe)
                wait = self._throttled(exc)
                if journal is not None:
                    await journal(JobState.QUEUED)  # the API did not take it: not sent
                emit(Throttled(wait, f"resets in about {_about(wait)}", fresh=True))
                continue
            except AuthenticationError as exc:
                self.refused = exc
                self._settle(probe)
                raise
            except ProviderError as exc:
                # Any other answer about the request itself passed the key check.
                if exc.status_code is not None:
                    self._trusted = True
                self._settle(probe)
                raise
            except BaseException:
                self._settle(probe)
                raise
            self._accepted()
            self._settle(probe)
            return result

    # ------------------------------------------------------------------ the key

    def _check_refused(self) -> None:
        if self.refused is not None:
            raise KeyRefusedError(self.provider, "the key was refused")

    async def _take_turn(self) -> asyncio.TimerHandle | None:
        """Wait while another submit probes; become the prober when nobody is trusted yet."""
        while not self._trusted and self._probing:
            await self._settled.wait()
        if self._trusted:
            return None
        self._probing = True
        self._settled.clear()
        # A request still unanswered after the grace has passed the key check in practice.
        return asyncio.get_running_loop().call_later(self.probe_grace, self._open)

    def _open(self) -> None:
        self._trusted = True
        self._probing = False
        self._settled.set()

    def _settle(self, probe: asyncio.TimerHandle | None) -> None:
        if probe is None:
            return
        probe.cancel()
        self._probing = False
        self._settled.set()

    # ------------------------------------------------------------------ rate limits

    async def _wait_for_reset(self, emit: EventCallback) -> None:
        while (delay := self._blocked_until - self.clock.monotonic()) > 0:
            emit(Throttled(delay, f"resets in about {_about(delay)}"))
            await self.clock.sleep(delay)

    def _throttled(self, exc: RateLimitedError) -> float:
        now = self.clock.monotonic()
        if self._episode_start is None:
            self._episode_start = now
        self._misses += 1
        wait = exc.retry_after
        if wait is None:
            wait = min(self.max_backoff, self.min_backoff * 2.0 ** (self._misses - 1))
        wait = max(1.0, wait)
        if now + wait - self._episode_start > self.patience:
            raise RateLimitedError(
                self.provider,
                f"{provider_name(self.provider)} kept refusing new jobs for its rate limit for "
                f"{_about(now - self._episode_start)}" + (
                    f" and asks to wait {_about(wait)} more" if exc.retry_after else "")
                + "; nothing was sent",
                retry_after=exc.retry_after, status_code=exc.status_code) from None
        self._blocked_until = max(self._blocked_until, now + wait)
        # Back to one submit at a time until the provider takes one again.
        self._trusted = False
        return self._blocked_until - now

    def _accepted(self) -> None:
        self._episode_start = None
        self._misses = 0
        self._trusted = True


def _about(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} min"
    return f"{max(1, round(seconds))} s"
