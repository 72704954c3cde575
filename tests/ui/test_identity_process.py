"""The window scores identity with dlib in a child process of its own, and closing the window
ends that process."""

from __future__ import annotations

from studio.core.request import Stage
from studio.identity import FaceAnalysisProcess
from tests.identity.test_worker import ended
from tests.ui.conftest import close_window
from tests.ui.test_card_badges import previews_done, scored


def test_closing_the_window_ends_the_face_analysis_process(  # type: ignore[no-untyped-def]
        make_window, services, qtbot) -> None:
    services.identity_analyser = None  # dlib, in its child process, as the app runs it
    window = make_window()
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    qtbot.waitUntil(lambda: scored(window), timeout=60000)
    analyser = window.render_facts.analyser
    assert isinstance(analyser, FaceAnalysisProcess)
    pid = analyser.pid
    assert pid is not None  # the previews were analysed there
    assert all(window.render_facts.score_of(n, Stage.PREVIEW) is not None
               for n in window.model.names())
    close_window(qtbot, window)
    assert window.render_facts.analyser is None and analyser.pid is None
    assert ended(pid)
