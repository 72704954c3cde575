"""Analyses in a child process give what the analyser gives in this one, and a child that dies
is reported as a sentence and replaced on the next image."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from PIL import Image

from studio.identity import DlibFaceAnalyser, IdentityScorer, IdentityUnavailable, NotScorable
from studio.identity.worker import FaceAnalysisProcess

from .conftest import encode, photograph


@pytest.fixture(scope="module")
def process() -> Iterator[FaceAnalysisProcess]:
    with FaceAnalysisProcess() as worker:
        worker.load()
        yield worker


def test_the_child_gives_the_same_analysis(
    process: FaceAnalysisProcess, analyser: DlibFaceAnalyser, astronaut: Image.Image,
) -> None:
    data = encode(astronaut)
    assert process.analyse(data) == analyser.analyse(data)
    cat = process(encode(photograph("chelsea")))
    assert cat.problem is NotScorable.NO_FACE


def test_the_scorer_runs_on_the_child(process: FaceAnalysisProcess,
                                      astronaut: Image.Image) -> None:
    scorer = IdentityScorer(process)
    assert scorer.analysis(encode(astronaut)).scorable
    assert scorer.analysis(b"garbage").problem is NotScorable.UNREADABLE


def test_a_child_that_dies_is_reported_and_replaced(astronaut: Image.Image) -> None:
    with FaceAnalysisProcess() as worker:
        worker.load()
        with pytest.raises(IdentityUnavailable, match="stopped unexpectedly"):
            worker._wait(worker._submit(os._exit, 3))
        assert worker.analyse(encode(astronaut)).scorable


def test_a_closed_process_refuses_work() -> None:
    worker = FaceAnalysisProcess()
    worker.close()
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.analyse(b"x")
