"""The engine's reading of an API's status words: every adapter's table means the same thing."""

from __future__ import annotations

import pytest

from studio.core.lifecycle import JobState
from studio.providers import bfl, fal, onemin, replicate
from studio.providers.errors import BadResponseError
from studio.providers.http import StatusWords


def test_words_are_read_without_case_or_spaces() -> None:
    words = StatusWords.of(queued=["IN_QUEUE"], done=["Ready"])
    assert words.state("x", " in_queue ") is JobState.SUBMITTED
    assert words.state("x", "READY") is JobState.DONE


def test_an_unknown_word_is_an_unreadable_answer_unless_the_api_adds_words() -> None:
    strict = StatusWords.of(done=["succeeded"])
    with pytest.raises(BadResponseError, match="unknown job status 'sleeping'"):
        strict.state("x", "sleeping")
    with pytest.raises(BadResponseError, match="has no job status"):
        strict.state("x", None)
    lenient = StatusWords.of(done=["Ready"], unknown=JobState.PROCESSING)
    assert lenient.state("x", "Warming up") is JobState.PROCESSING


@pytest.mark.parametrize(("table", "word", "state"), [
    (bfl.STATUS, "Pending", JobState.PROCESSING),
    (bfl.STATUS, "Content Moderated", JobState.FAILED),
    (bfl.STATUS, "Task not found", JobState.SUBMITTED),
    (fal.STATUS, "IN_PROGRESS", JobState.PROCESSING),
    (fal.STATUS, "CANCELED", JobState.CANCELLED),
    (replicate.STATUS, "starting", JobState.SUBMITTED),
    (replicate.STATUS, "aborted", JobState.CANCELLED),
    (onemin.STATUS, "", JobState.PROCESSING),
    (onemin.STATUS, "FAILURE", JobState.FAILED),
])
def test_adapter_tables(table: StatusWords, word: str, state: JobState) -> None:
    assert table.state("x", word) is state
