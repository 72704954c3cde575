"""Following an accepted job: where it stands, as a stream of :class:`JobStatus`.

A :class:`Follow` turns a Submission into statuses until a terminal one (done, failed,
cancelled). :class:`Polling` is the one polling state machine (the first check after the
announced ETA, capped; then checks that back off; a few garbled answers tolerated). A provider
whose server pushes events (a WebSocket, a server-sent event stream) gives its own Follow that
yields a status per event; the engine consumes both the same way, enforces the job's deadline
between statuses and downloads the image once a status says done.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from studio.core.lifecycle import JobState
from studio.providers.base import Clock, Submission
from studio.providers.errors import (
    BadResponseError,
    ProviderError,
    ProviderFailedError,
    ProviderTimeout,
    RateLimitedError,
)

log = logging.getLogger("studio.providers.follow")

#: The states a status may report: waiting in the provider's line (SUBMITTED), being made,
#: or one of the three ends.
STATUS_STATES = frozenset({JobState.SUBMITTED, JobState.PROCESSING, JobState.DONE,
                           JobState.FAILED, JobState.CANCELLED})


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A provider's answer about an accepted job, in the lifecycle's words.

    ``seed`` is only a seed the provider confirmed (a result field, its logs, its metadata),
    never the one sent. ``error`` explains FAILED and CANCELLED.
    """

    state: JobState
    position: int | None = None
    eta: float | None = None
    outputs: tuple[str, ...] = ()
    seed: int | None = None
    error: ProviderError | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state not in STATUS_STATES:
            raise ValueError(f"a provider status cannot be {self.state.value}")

    @property
    def terminal(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True, slots=True)
class Pacing:
    """When to ask again: the first check once the ETA announced at the acceptance has passed
    (at most ``first_cap`` seconds after it), then every ``interval`` seconds growing by
    ``growth`` up to ``max_interval``."""

    interval: float = 1.0
    max_interval: float = 10.0
    first_cap: float = 30.0
    growth: float = 1.5


class Follow(Protocol):
    """Where an accepted job stands, status by status, until a terminal one.

    ``first`` is what the submit answer already said. ``until`` is the job's deadline on the
    provider's clock: an implementation must not wait past it (raise ProviderTimeout). Errors
    while learning the status are raised as ProviderErrors; a job the provider reports failed
    is a FAILED status, not an exception.
    """

    def statuses(self, submission: Submission, first: JobStatus,
                 until: float) -> AsyncIterator[JobStatus]: ...


Ask = Callable[[Submission], Awaitable[JobStatus]]


class Polling:
    """The polling state machine: ``ask`` is one status check (the adapter's). ``provider``
    is the provider's id (errors carry it)."""

    def __init__(self, provider: str, ask: Ask, pacing: Pacing, clock: Clock, *,
                 garbled_tolerated: int = 3) -> None:
        self.provider = provider
        self.ask = ask
        self.pacing = pacing
        self.clock = clock
        self.garbled_tolerated = garbled_tolerated

    async def statuses(self, submission: Submission, first: JobStatus,
                       until: float) -> AsyncIterator[JobStatus]:
        began = self.clock.monotonic()
        status = first
        yield status
        interval = self.pacing.interval
        first_check = True
        garbled = 0
        while not status.terminal:
            if first_check and status.eta is not None:
                # The ETA counts from the acceptance, not from now: the time spent since
                # (recording the job, a busy loop, a resume) is not waited a second time.
                since = max(0.0, self.clock.wall() - submission.submitted_at)
                delay = min(max(status.eta - since, 0.0), self.pacing.first_cap)
            else:
                delay = interval
                interval = min(interval * self.pacing.growth, self.pacing.max_interval)
            first_check = False
            if self.clock.monotonic() + delay > until:
                limit = max(1, round(until - began))
                raise ProviderTimeout(
                    self.provider, f"the job was not finished within {limit} second"
                    + ("s" if limit != 1 else ""), request_id=submission.request_id)
            await self.clock.sleep(delay)
            try:
                status = await self.ask(submission)
            except (BadResponseError, RateLimitedError, ProviderFailedError) as exc:
                # An accepted job may well finish: a garbled, throttled or failed status check
                # is worth a few more tries. (A check that timed out or found the provider
                # unreachable already had its retries, each bounded by the deadline.)
                garbled += 1
                if garbled > self.garbled_tolerated:
                    raise
                log.info("%s: a status check failed (%s); asking again", self.provider, exc)
                if isinstance(exc, RateLimitedError) and exc.retry_after:
                    interval = max(interval, exc.retry_after)
                continue
            garbled = 0
            yield status
