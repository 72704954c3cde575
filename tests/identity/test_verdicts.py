"""Verdicts from distances, with a fake descriptor function standing in for dlib: where same
person ends, where drifting begins, and that nothing unscorable is ever called drifted."""

from __future__ import annotations

import math

import pytest

from studio.core.errors import StudioInputError
from studio.identity import (
    NO_IDENTITY,
    IdentityRules,
    IdentityScorer,
    IdentitySource,
    NotScorable,
    SourceKind,
    Verdict,
    face_distance,
)

from .conftest import CountingAnalyser, descriptor_at, face, no_face

IDENTITY = IdentitySource(SourceKind.REFERENCES, descriptor_at(0.0), 2)


def scorer_for(distances: dict[bytes, float], rules: IdentityRules | None = None,
               ) -> IdentityScorer:
    analyses = {name: face(descriptor_at(d)) for name, d in distances.items()}
    return IdentityScorer(CountingAnalyser(analyses), rules=rules)


@pytest.mark.parametrize(("distance", "verdict"), [
    (0.0, Verdict.SAME_PERSON),
    (0.35, Verdict.SAME_PERSON),
    (0.49, Verdict.SAME_PERSON),
    (0.51, Verdict.DRIFTING),
    (0.59, Verdict.DRIFTING),
    (0.6, Verdict.DIFFERENT_PERSON),  # at the threshold is no longer the same person
    (0.61, Verdict.DIFFERENT_PERSON),
    (1.2, Verdict.DIFFERENT_PERSON),
])
def test_the_default_threshold_and_drift_band(distance: float, verdict: Verdict) -> None:
    score = scorer_for({b"render": distance}).score(b"render", IDENTITY)
    assert score.distance == pytest.approx(distance)
    assert score.verdict is verdict
    assert f"{distance:.2f}" in score.explanation
    assert score.explanation.lower().startswith(verdict.value)


def test_the_threshold_is_configurable() -> None:
    strict = IdentityRules(threshold=0.45, drift_margin=0.05)
    scorer = scorer_for({b"a": 0.38, b"b": 0.42, b"c": 0.5}, strict)
    assert [scorer.score(k, IDENTITY).verdict for k in (b"a", b"b", b"c")] == [
        Verdict.SAME_PERSON, Verdict.DRIFTING, Verdict.DIFFERENT_PERSON]
    assert "under 0.45" in scorer.score(b"b", IDENTITY).explanation


def test_a_score_is_judged_again_under_a_new_threshold_from_its_distance() -> None:
    analyser = CountingAnalyser({b"a": face(descriptor_at(0.42)), b"b": no_face()})
    scorer = IdentityScorer(analyser)
    score, unscorable = scorer.score(b"a", IDENTITY), scorer.score(b"b", IDENTITY)
    assert score.verdict is Verdict.SAME_PERSON
    strict = IdentityRules(threshold=0.45)
    again = score.judged_by(strict, IDENTITY)
    assert again.distance == score.distance and again.faces == score.faces
    assert again.verdict is Verdict.DRIFTING and "same person under 0.45" in again.explanation
    assert again == IdentityScorer(CountingAnalyser(analyser.analyses), rules=strict).score(
        b"a", IDENTITY)
    assert again.judged_by(IdentityRules(threshold=0.4), IDENTITY).verdict is (
        Verdict.DIFFERENT_PERSON)
    assert unscorable.judged_by(strict, IDENTITY) is unscorable  # no distance, no verdict
    assert len(analyser.calls) == 2  # nothing analysed again


@pytest.mark.parametrize("problem", list(NotScorable))
def test_an_image_that_cannot_be_scored_gets_no_distance_and_no_drift(
    problem: NotScorable,
) -> None:
    scorer = IdentityScorer(CountingAnalyser({b"render": no_face(problem)}))
    score = scorer.score(b"render", IDENTITY)
    assert score.verdict is Verdict.NOT_SCORABLE and score.distance is None
    assert score.to_json() == {"faces": score.faces, "distance": None, "verdict": "not scorable"}


def test_without_an_identity_nothing_is_scored() -> None:
    score = scorer_for({b"render": 0.1}).score(b"render", NO_IDENTITY)
    assert score.verdict is Verdict.NOT_SCORABLE and score.distance is None
    assert score.faces == 1
    assert "no identity yet" in score.explanation


def test_a_score_in_json_has_a_rounded_distance() -> None:
    score = scorer_for({b"render": 0.123456789}).score(b"render", IDENTITY)
    assert score.to_json() == {"faces": 1, "distance": 0.1235, "verdict": "same person"}


def test_the_distance_is_euclidean() -> None:
    a = descriptor_at(0.3, axis=0)
    b = descriptor_at(0.4, axis=5)
    assert face_distance(a, b) == pytest.approx(0.5)


def test_a_malformed_descriptor_is_refused() -> None:
    with pytest.raises(ValueError, match="128"):
        face_distance((0.0,) * 127, descriptor_at(0))
    with pytest.raises(ValueError, match="finite"):
        face_distance((math.nan,) * 128, descriptor_at(0))


@pytest.mark.parametrize(("threshold", "margin"), [
    (0.0, 0.1), (-0.6, 0.1), (2.5, 0.1), (math.nan, 0.1), (0.6, 0.6), (0.6, -0.1),
])
def test_unusable_rules_are_refused_with_a_sentence(threshold: float, margin: float) -> None:
    with pytest.raises(StudioInputError, match=r"threshold|margin"):
        IdentityRules(threshold=threshold, drift_margin=margin)
