"""The sheet's one notice for many cards failing for the same reason (no window needed)."""

from __future__ import annotations

from studio.core.request import Stage
from studio.ui.viewmodels.shared_failures import Failure, SharedFailures

REFUSED = "Invalid API key."


def cards(*names: str) -> list[tuple[str, Stage]]:
    return [(name, Stage.PREVIEW) for name in names]


def test_cards_refused_for_one_key_make_one_notice_naming_the_cause_first() -> None:
    failures = SharedFailures()
    first, second, third = cards("A", "B", "C")
    failures.failed(first, Failure("modelslab", "key_refused", "Refused: the key was.", 1))
    failures.failed(second, Failure("modelslab", "authentication", REFUSED, 2))
    failures.failed(third, Failure("modelslab", "timeout", "It took too long.", 3))
    told = failures.notices(lambda _card: True)
    assert told == [("2 renders failed on ModelsLab for the same reason. " + REFUSED, True)]
    assert failures.notices(lambda _card: True) == []  # said once for the same jobs


def test_the_notice_comes_back_when_the_failed_jobs_change_and_not_below_two() -> None:
    failures = SharedFailures()
    a, b = cards("A", "B")
    for job, card in enumerate((a, b)):
        failures.failed(card, Failure("fal", "out_of_credits", "No credits left.", job))
    assert len(failures.notices(lambda _card: True)) == 1
    # The same cards retried and failing again: new jobs, the same count.
    for job, card in enumerate((a, b), start=10):
        failures.failed(card, Failure("fal", "out_of_credits", "No credits left.", job))
    assert len(failures.notices(lambda _card: True)) == 1
    # One card retried and under way: one failure left is no shared cause.
    assert failures.notices(lambda card: card != a) == []
    assert failures.last(a) is None and failures.last(b) is not None


def test_a_renamed_scene_keeps_its_failure() -> None:
    failures = SharedFailures()
    old, new = cards("Old", "New")
    failures.failed(old, Failure("replicate", "authentication", REFUSED, 7))
    failures.rename(old, new)
    assert failures.last(old) is None
    assert failures.last(new) == Failure("replicate", "authentication", REFUSED, 7)
