"""One notice for the sheet when many cards fail for the same reason.

A refused key fails every card of a batch; the sheet says so once ("4 renders failed on
ModelsLab for the same reason. ...") rather than leaving the user to read each card. The notice
is said again when the failed jobs change: more of them, or the same cards failing again after a
retry (whose jobs may all have failed before the cards ever showed them under way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from studio.core.request import Stage
from studio.providers.errors import provider_name

#: Failures the user fixes in Settings (a key, credits, a server address), not on the cards.
SETTINGS_KINDS = frozenset({"authentication", "key_refused", "out_of_credits", "not_configured",
                            "unreachable"})
#: Kinds that are one cause to the user: a key refused once is refused for every card after.
SAME_CAUSE = {"key_refused": "authentication"}

Card = tuple[str, Stage]


class Failure(NamedTuple):
    """A card's last failure."""

    provider: str
    kind: str
    sentence: str
    job_id: int


class SharedFailures:
    """Each card's last failure, and the failed jobs each notice last told of."""

    def __init__(self) -> None:
        self._failures: dict[Card, Failure] = {}
        #: (provider, cause) -> the failed jobs its notice last told of.
        self._told: dict[tuple[str, str], frozenset[int]] = {}

    def failed(self, card: Card, failure: Failure) -> None:
        self._failures[card] = failure

    def last(self, card: Card) -> Failure | None:
        return self._failures.get(card)

    def rename(self, old: Card, new: Card) -> None:
        if old in self._failures:
            self._failures[new] = self._failures.pop(old)

    def notices(self, still_failed: Callable[[Card], bool]) -> list[tuple[str, bool]]:
        """The notices to say now: (sentence, whether Settings fixes it). ``still_failed``
        says whether a card still shows its failure (not retried, its scene not gone)."""
        groups: dict[tuple[str, str], list[Failure]] = {}
        for card, failure in list(self._failures.items()):
            if not still_failed(card):
                del self._failures[card]
                continue
            cause = SAME_CAUSE.get(failure.kind, failure.kind)
            groups.setdefault((failure.provider, cause), []).append(failure)
        self._told = {group: jobs for group, jobs in self._told.items() if group in groups}
        said: list[tuple[str, bool]] = []
        for (provider, cause), failures in groups.items():
            jobs = frozenset(f.job_id for f in failures)
            if len(failures) < 2 or self._told.get((provider, cause)) == jobs:
                continue
            self._told[(provider, cause)] = jobs
            # The sentence of the failure that names the cause itself goes first ("Invalid API
            # key"), before those that were refused because of it.
            sentence = min((f.kind != cause, f.sentence) for f in failures)[1]
            said.append((f"{len(failures)} renders failed on {provider_name(provider)} for the "
                         f"same reason. {sentence}", cause in SETTINGS_KINDS))
        return said
