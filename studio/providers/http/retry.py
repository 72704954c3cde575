"""The one retry policy: what may be sent again, how often, and after how long.

A submit is sent again only when the API certainly did not accept it: the connection was never
made (:class:`~studio.providers.http.exchange.NotSent`), or the API answered that it is
throttled (HTTP 429, or a "queue full" error), which the submit gate handles. A submit that went
out and got no answer is never resent: the job may have been accepted, and billed.

Status checks, downloads and cancels ask about a job that exists; they are tried again after a
server error, a throttled answer or a broken exchange, a few times, with backoff and jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from studio.providers.http.exchange import ExchangeFailed, NotSent, Phase


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. ``max_retry_after`` bounds a server-requested wait
    between two status checks or downloads."""

    attempts: int = 4
    submit_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter for retry ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def attempts_for(self, phase: Phase) -> int:
        return self.submit_attempts if phase is Phase.SUBMIT else self.attempts

    def may_resend(self, phase: Phase, failure: ExchangeFailed) -> bool:
        """Whether a request that failed this way may be sent again."""
        if phase is Phase.SUBMIT:
            return isinstance(failure, NotSent)
        return True

    def retry_status(self, phase: Phase, status: int) -> bool:
        """Whether an answer with this status is worth asking again (never for a submit: a
        throttled submit is the gate's to resend, and a server error may have taken the job)."""
        return phase is not Phase.SUBMIT and (status == 429 or status >= 500)
