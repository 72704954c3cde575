"""Reading a job's status word, and naming a size, the same way for every API.

Each hosted API answers a status check with a word of its own ("IN_QUEUE", "starting",
"Pending", "SUCCESS", ...). An adapter declares its words as data in a :class:`StatusWords`
table; the engine says what each means in the lifecycle's words, and what a word it does not
know means (a garbled answer, or "still working" for an API that adds words).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import JobState
from studio.providers.errors import BadResponseError


def _words(words: Iterable[str]) -> frozenset[str]:
    return frozenset(w.strip().lower() for w in words)


@dataclass(frozen=True, slots=True)
class StatusWords:
    """An API's status words by meaning (compared without case or surrounding spaces).

    ``unknown`` is what any other word means: None makes it an unreadable answer
    (:class:`BadResponseError`, which polling tolerates a few times).
    """

    queued: frozenset[str] = frozenset()
    processing: frozenset[str] = frozenset()
    done: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    cancelled: frozenset[str] = frozenset()
    unknown: JobState | None = None

    @classmethod
    def of(cls, *, queued: Iterable[str] = (), processing: Iterable[str] = (),
           done: Iterable[str] = (), failed: Iterable[str] = (),
           cancelled: Iterable[str] = (), unknown: JobState | None = None) -> StatusWords:
        return cls(_words(queued), _words(processing), _words(done), _words(failed),
                   _words(cancelled), unknown)

    def state(self, provider: str, word: object, what: str = "job status") -> JobState:
        """What ``word`` (a status field's value) means; BadResponseError for a word this
        table does not know when unknown words are not taken as a state."""
        text = str(word or "").strip().lower()
        for state, words in ((JobState.SUBMITTED, self.queued),
                             (JobState.PROCESSING, self.processing),
                             (JobState.DONE, self.done), (JobState.FAILED, self.failed),
                             (JobState.CANCELLED, self.cancelled)):
            if text in words:
                return state
        if self.unknown is not None:
            return self.unknown
        raise BadResponseError(provider, f"unknown {what} {text!r}" if text
                               else f"the answer has no {what}")


def aspect_ratio_name(caps: ModelCapabilities, width: int, height: int,
                      default: str = "1:1") -> str:
    """The name the model gives the size ``width`` x ``height`` (its aspect ratio table)."""
    return next((name for name, size in caps.aspect_ratios.items() if size == (width, height)),
                default)
