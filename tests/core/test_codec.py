"""The one codec: every persisted or printed form of a value goes through it and comes back."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.core import codec
from studio.core.fingerprint import Fingerprint
from studio.core.lifecycle import Approval, JobState, Outcome, Timings
from studio.core.request import GenerationRequest, LoraWeight, SceneContext, Stage


def _request(**changes: object) -> GenerationRequest:
    base = GenerationRequest(prompt="Emma, 30-year-old woman", width=768, height=1024, steps=4,
                             guidance=0.0, model="flux-schnell", seed=42, stage=Stage.FINAL,
                             provider="fal", loras=(LoraWeight("hub/lora", 0.7),),
                             extras={"quality": 90}, context=SceneContext("Emma", "Beach"))
    return base.with_changes(**changes)


def test_a_request_round_trips_through_json() -> None:
    request = _request()
    text = codec.dumps(request)
    assert codec.loads(GenerationRequest, text) == request
    data = codec.to_data(request)
    assert data["stage"] == "final" and data["loras"] == [{"path": "hub/lora", "scale": 0.7}]
    assert data["context"]["scene"] == "Beach"


def test_outcomes_fingerprints_and_enums_round_trip() -> None:
    outcome = Outcome("req-1", 43, Timings(1.0, 2.0, 3.5, 0.25), 0.002)
    assert codec.loads(Outcome, codec.dumps(outcome)) == outcome
    fp = Fingerprint.of_texts({"anchor": "Emma", "seed": "42"})
    assert codec.loads(Fingerprint, codec.dumps(fp)) == fp
    assert codec.to_data(JobState.UNCERTAIN) == "uncertain"
    assert codec.to_data(Approval.APPROVED) == "approved"


def test_missing_keys_take_defaults_and_unknown_keys_are_ignored() -> None:
    data = codec.to_data(_request())
    del data["extras"], data["loras"]
    data["from_a_newer_studio"] = True
    back = codec.from_data(GenerationRequest, data)
    assert back.extras == {} and back.loras == () and back.prompt == "Emma, 30-year-old woman"


@pytest.mark.parametrize(("change", "field_name"), [
    ({"width": "wide"}, "width"),
    ({"seed": 4.5}, "seed"),
    ({"stage": "sketch"}, "stage"),
    ({"guidance": True}, "guidance"),
    ({"context": []}, "context"),
    ({"loras": {"path": "x"}}, "loras"),
])
def test_data_that_does_not_fit_names_the_field(change: dict[str, object],
                                                field_name: str) -> None:
    data = {**codec.to_data(_request()), **change}
    with pytest.raises(codec.CodecError, match=field_name):
        codec.from_data(GenerationRequest, data)


def test_a_required_field_missing_is_named() -> None:
    data = codec.to_data(_request())
    del data["prompt"]
    with pytest.raises(codec.CodecError, match="prompt is missing"):
        codec.from_data(GenerationRequest, data)


def test_non_finite_numbers_are_refused_both_ways() -> None:
    with pytest.raises(ValueError):
        codec.dumps(Timings(processing=math.nan))
    with pytest.raises(codec.CodecError):
        codec.from_data(Timings, {"processing": math.inf})
    with pytest.raises(codec.CodecError, match="not valid JSON"):
        codec.loads(Timings, "{")


@dataclass(frozen=True)
class _Record:
    when: datetime
    where: Path
    names: frozenset[str] = field(default_factory=frozenset)
    blob: bytes = field(default=b"", metadata=codec.SKIP)


def test_dates_paths_sets_and_skipped_fields() -> None:
    record = _Record(datetime(2026, 12, 1, 4, 0, tzinfo=UTC), Path("/tmp/x.png"),
                     frozenset({"b", "a"}), b"\x89PNG")
    data = codec.to_data(record)
    assert data == {"when": "2026-12-01T04:00:00+00:00", "where": "/tmp/x.png",
                    "names": ["a", "b"]}
    assert codec.from_data(_Record, data) == _Record(record.when, record.where, record.names)


@given(prompt=st.text(max_size=200), seed=st.none() | st.integers(0, 2**32 - 1),
       steps=st.integers(1, 100), guidance=st.floats(0, 30, allow_nan=False),
       scene=st.text(max_size=40))
def test_any_request_round_trips(prompt: str, seed: int | None, steps: int, guidance: float,
                                 scene: str) -> None:
    request = _request(prompt=prompt, seed=seed, steps=steps, guidance=guidance,
                       context=SceneContext("Emma", scene))
    assert codec.loads(GenerationRequest, codec.dumps(request)) == request


def test_a_table_of_texts_is_still_checked_item_by_item() -> None:
    """Tables of texts (a fingerprint's parts) take a short path through the codec; a value
    that is not text must still be refused with the field named."""
    with pytest.raises(codec.CodecError, match="parts"):
        codec.from_data(Fingerprint, {"parts": {"anchor": "abc", "seed": 42}})
    assert codec.from_data(Fingerprint, {"parts": {"anchor": "abc"}}).part("anchor") == "abc"
    assert codec.to_data(Fingerprint({"anchor": "abc"})) == {"parts": {"anchor": "abc"}}
