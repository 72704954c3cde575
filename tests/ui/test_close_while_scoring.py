"""Closing the window while a render's identity is being scored: the scoring ends before the
library closes. It went on after: the analysis finished under way could not be kept ("could not
keep the face analysis of image ...: The library is closed.") and the next read of the piece
failed ("reading the renders' identity failed: The library is closed."), both in the log."""

from __future__ import annotations

import dataclasses
import logging
import threading

from tests.ui.conftest import close_window, hashed_face


class HeldAnalyser:
    """A face analyser whose analyses wait until it is closed; closing lets the one under way
    finish, as an analysis the child completes while the window closes."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.released = threading.Event()

    def __call__(self, data: bytes):  # type: ignore[no-untyped-def]
        self.started.set()
        self.released.wait(30)
        return hashed_face(data)

    def close(self) -> None:
        self.released.set()


def closed_while_scoring(make_window, services, qtbot, caplog,  # type: ignore[no-untyped-def]
                         analyser: HeldAnalyser) -> list[logging.LogRecord]:
    """What the log says when the window closes while ``analyser`` is scoring a render."""
    window = make_window(svc=dataclasses.replace(services, identity_analyser=lambda: analyser))
    # First start: the example's previews render offline, then their identity is scored.
    qtbot.waitUntil(analyser.started.is_set, timeout=30000)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        close_window(qtbot, window)
    return list(caplog.records)


def test_closing_while_scoring_ends_the_scoring_before_the_library(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, caplog) -> None:
    records = closed_while_scoring(make_window, services, qtbot, caplog, HeldAnalyser())
    complaints = [r.getMessage() for r in records
                  if r.levelno >= logging.WARNING or "cannot be read" in r.getMessage()]
    assert complaints == []


class ClosingAnalyser(HeldAnalyser):
    """Like the face analysis process: once closed it refuses every later analysis."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def __call__(self, data: bytes):  # type: ignore[no-untyped-def]
        if self.closed:
            raise RuntimeError("the face analysis process was closed")
        return super().__call__(data)

    def close(self) -> None:
        self.closed = True
        super().close()


def test_an_analyser_refusing_work_once_closed_is_not_reported_as_a_failure(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, caplog) -> None:
    """Seen on the window benchmark's stderr at every close during a batch: "reading the
    renders' identity failed: the face analysis process was closed"."""
    analyser = ClosingAnalyser()
    records = closed_while_scoring(make_window, services, qtbot, caplog, analyser)
    assert analyser.closed
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []
