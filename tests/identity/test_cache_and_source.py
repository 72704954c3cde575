"""Each image is analysed once whatever the identity source, and the identity source is chosen
from the character's best evidence."""

from __future__ import annotations

import hashlib

import pytest

from studio.identity import (
    ANALYSIS_VERSION,
    FaceAnalysis,
    IdentityScorer,
    MemoryAnalysisCache,
    NotScorable,
    SourceKind,
    Verdict,
    choose_identity_source,
    identity_from_file,
    mean_descriptor,
)

from .conftest import CountingAnalyser, descriptor_at, face, no_face


def test_each_image_is_analysed_once_across_identity_changes() -> None:
    renders = {f"render-{i}".encode(): face(descriptor_at(0.1 * i)) for i in range(4)}
    analyser = CountingAnalyser(renders)
    scorer = IdentityScorer(analyser, MemoryAnalysisCache())
    first = choose_identity_source([face(descriptor_at(0.0))], [], [])
    second = choose_identity_source([], [face(descriptor_at(0.2))], [])
    before = [scorer.score(data, first).distance for data in renders]
    after = [scorer.score(data, second).distance for data in renders]
    assert sorted(analyser.calls) == sorted(renders)  # four analyses for eight scores
    assert before == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert after == pytest.approx([0.2, 0.1, 0.0, 0.1])


def test_two_scorers_sharing_a_cache_share_the_analyses() -> None:
    cache = MemoryAnalysisCache()
    analyser = CountingAnalyser({b"x": face(descriptor_at(0.3))})
    IdentityScorer(analyser, cache).analysis(b"x")
    IdentityScorer(analyser, cache).analysis(b"x")
    assert analyser.calls == [b"x"]
    assert len(cache) == 1


def test_a_known_hash_in_the_cache_spares_reading_the_image() -> None:
    cache = MemoryAnalysisCache()
    digest = hashlib.sha256(b"stored").hexdigest()
    cache.put(digest, face(descriptor_at(0.2)))

    def unreadable() -> bytes:
        raise AssertionError("the image was read although its analysis is cached")

    scorer = IdentityScorer(CountingAnalyser({}), cache)
    assert scorer.analysis_by_hash(digest, unreadable).descriptor == descriptor_at(0.2)


def test_an_analysis_from_older_rules_is_made_again() -> None:
    cache = MemoryAnalysisCache()
    digest = hashlib.sha256(b"img").hexdigest()
    cache.put(digest, FaceAnalysis(1, descriptor_at(0.9), None, None,
                                   version=ANALYSIS_VERSION - 1))
    analyser = CountingAnalyser({b"img": face(descriptor_at(0.1))})
    scorer = IdentityScorer(analyser, cache)
    assert scorer.analysis(b"img").descriptor == descriptor_at(0.1)
    assert scorer.analysis(b"img").descriptor == descriptor_at(0.1)
    assert analyser.calls == [b"img"]
    assert cache.get(digest) == face(descriptor_at(0.1))


def test_images_without_a_face_are_cached_too() -> None:
    analyser = CountingAnalyser({b"cat": no_face()})
    scorer = IdentityScorer(analyser)
    identity = identity_from_file(face(descriptor_at(0.0)))
    for _ in range(3):
        assert scorer.score(b"cat", identity).verdict is Verdict.NOT_SCORABLE
    assert analyser.calls == [b"cat"]


# ------------------------------------------------------------------ identity source

def test_references_with_a_face_come_first_and_are_averaged() -> None:
    source = choose_identity_source(
        references=[face(descriptor_at(0.2, 0)), no_face(), face(descriptor_at(0.4, 0))],
        approved_finals=[face(descriptor_at(0.9, 1))],
        approved_in_order=[face(descriptor_at(0.9, 2))],
    )
    assert source.kind is SourceKind.REFERENCES and source.faces == 2
    assert source.descriptor == pytest.approx(descriptor_at(0.3, 0))
    assert "reference images (2 faces)" in source.describe()


def test_references_without_a_face_fall_through_to_the_approved_finals() -> None:
    source = choose_identity_source(
        references=[no_face(), no_face(NotScorable.SEVERAL_FACES)],
        approved_finals=[face(descriptor_at(0.2, 1)), face(descriptor_at(0.6, 1)), no_face()],
        approved_in_order=[face(descriptor_at(0.9, 2))],
    )
    assert source.kind is SourceKind.APPROVED and source.faces == 2
    assert source.descriptor == pytest.approx(descriptor_at(0.4, 1))


def test_with_no_approved_final_the_first_approved_render_with_a_face_is_used() -> None:
    source = choose_identity_source(
        references=[],
        approved_finals=[no_face()],
        approved_in_order=[no_face(), face(descriptor_at(0.5, 3)), face(descriptor_at(0.7, 4))],
    )
    assert source.kind is SourceKind.APPROVED and source.faces == 1
    assert source.descriptor == descriptor_at(0.5, 3)


def test_with_nothing_approved_there_is_no_identity() -> None:
    source = choose_identity_source([no_face()], [], [no_face(NotScorable.UNREADABLE)])
    assert source.kind is SourceKind.NONE and source.descriptor is None
    assert source.describe() == "no identity yet"


def test_a_photograph_as_the_identity() -> None:
    assert identity_from_file(face(descriptor_at(0.1))).kind is SourceKind.FILE
    assert identity_from_file(no_face()).kind is SourceKind.NONE


def test_the_mean_of_descriptors() -> None:
    assert mean_descriptor([descriptor_at(1.0, 0), descriptor_at(1.0, 1)]) == pytest.approx(
        tuple([0.5, 0.5] + [0.0] * 126))
    with pytest.raises(ValueError):
        mean_descriptor([])
