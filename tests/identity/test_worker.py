"""Analyses in a child process give what the analyser gives in this one; a child that dies is
reported as a sentence and replaced on the next image; and however the app ends (closed, gone
without closing, killed while idle or while an image is analysed) the child ends with it and
nothing is left behind or said: no leaked semaphores, no traceback, no warning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

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
        pid = worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        with pytest.raises(IdentityUnavailable, match="stopped unexpectedly"):
            worker.analyse(encode(astronaut))
        assert worker.analyse(encode(astronaut)).scorable
        assert worker.pid not in (None, pid)


def until_busy(worker: FaceAnalysisProcess, thread: threading.Thread) -> None:
    """Wait for the thread to hand its image to the child."""
    while not worker.busy:
        assert thread.is_alive()
        thread.join(0.001)


def test_closing_while_an_image_is_analysed_ends_the_child_at_once(
        astronaut: Image.Image) -> None:
    worker = FaceAnalysisProcess()
    worker.load()
    pid = worker.pid
    assert pid is not None and not worker.busy
    data, outcome = encode(astronaut.resize((2048, 2048))), []

    def analyse() -> None:
        try:
            worker.analyse(data)
            outcome.append("analysed")
        except IdentityUnavailable:
            outcome.append("abandoned")

    thread = threading.Thread(target=analyse)
    thread.start()
    until_busy(worker, thread)
    worker.close()
    thread.join()
    assert outcome == ["abandoned"]
    assert worker.pid is None and not worker.busy
    assert ended(pid)


def ended(pid: int) -> bool:
    """The process has ended: gone, or a zombie nobody has reaped yet (its parent was killed
    and this system's first process does not reap orphans)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text("utf-8")
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


# The app's side, in a process of its own so that it can be killed: starts the child, says
# "ready" with the child's id, then ends as the test asks.
APP = """
import io, os, sys, threading
from PIL import Image
import skimage.data
from studio.identity.worker import FaceAnalysisProcess

if __name__ == "__main__":
    how = sys.argv[1]
    worker = FaceAnalysisProcess()
    worker.load()
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).resize((2048, 2048)).save(buffer, "PNG")
    if how == "busy":
        thread = threading.Thread(target=worker.analyse, args=(buffer.getvalue(),), daemon=True)
        thread.start()
        while not worker.busy:
            thread.join(0.001)
    print("ready", worker.pid, flush=True)
    if how == "close":
        worker.close()
    elif how in ("gone", "busy"):
        sys.stdin.read()  # until the test kills it
    # "exit": ends without closing
"""


@pytest.mark.parametrize("how", ["close", "exit", "gone", "busy"])
def test_the_child_ends_with_the_app_and_leaves_nothing_behind(how: str, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP, encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    app = subprocess.Popen(
        [sys.executable, "-W", "default", str(script), how], cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert app.stdout is not None
    line = app.stdout.readline().split()
    assert line[:1] == ["ready"], app.communicate(timeout=60)
    if how in ("gone", "busy"):
        app.kill()  # as a crash or the system would: nothing in the app runs after this
    # The output ends only when every process holding it has ended: the app, its child and
    # the resource tracker. A child outliving the app would hold it open past the timeout.
    _, err = app.communicate(timeout=60)
    assert err == "", err
    assert ended(int(line[1]))


def test_a_closed_process_refuses_work() -> None:
    worker = FaceAnalysisProcess()
    worker.close()
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.analyse(b"x")


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities only")
def test_the_child_runs_below_the_apps_background_threads(process: FaceAnalysisProcess) -> None:
    """Below the threads that hold the interpreter lock the window's thread waits for (they run
    at background work's priority, studio.core.priority)."""
    from studio.core.priority import BACKGROUND_NICENESS

    child = process._child
    assert child is not None and child.process.pid is not None
    mine = os.getpriority(os.PRIO_PROCESS, os.getpid())
    theirs = os.getpriority(os.PRIO_PROCESS, child.process.pid)
    assert theirs == 19  # the lowest there is
    if mine + BACKGROUND_NICENESS < 19:
        assert theirs > mine + BACKGROUND_NICENESS


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities only")
def test_the_child_starts_at_the_lowest_priority() -> None:
    """Before its interpreter has started (it lowered itself only then: its start-up ran at the
    priority of the thread that started it, beside a first batch)."""
    from studio.identity.worker import CHILD_NICENESS, _Child

    child = _Child(CHILD_NICENESS)
    try:
        assert child.process.pid is not None
        assert os.getpriority(os.PRIO_PROCESS, child.process.pid) == 19
    finally:
        child.end()


# Reads ahead, then starts the child: prints the modules its start read all the same.
READ_AHEAD = """
import sys
from studio.identity.worker import FaceAnalysisProcess, import_ahead

if __name__ == "__main__":
    if sys.argv[1] == "ahead":
        import_ahead()
    before = set(sys.modules)
    worker = FaceAnalysisProcess()
    worker.load()
    worker.close()
    print(" ".join(sorted(set(sys.modules) - before)), flush=True)
"""


@pytest.mark.parametrize("ahead", [True, False])
def test_reading_ahead_leaves_nothing_for_the_first_child_to_read(
        ahead: bool, tmp_path: Path) -> None:
    """What the child's start reads is read with the window's start-up: read with the first
    batch, it was some 15,000 objects the collector on the GUI thread walked meanwhile."""
    script = tmp_path / "app.py"
    script.write_text(READ_AHEAD, encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(script), "ahead" if ahead else "not"], cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True,
                          text=True, timeout=120, check=True)
    read = [name for name in done.stdout.split()
            if name.startswith(("multiprocessing", "pickle", "_pickle"))]
    if ahead:
        assert read == []
    else:  # the test sees what it claims to: without reading ahead, the start reads them
        assert "multiprocessing.connection" in read
