"""What the inspector and the viewer say about a render: the same rows, written out by the one
``render_facts`` (the inspector adds the identity figures), and the prompt of a render sent with
reference images shown with its reference clause shortened, the whole prompt in the tooltip and
one click away. Driven through the real window; screenshots in a light and a dark palette."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import Qt

from studio.core.anchor import ReferenceImage, ReferenceRole
from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.ui.render_details import SHOW_SHORT, SHOW_WHOLE
from studio.ui.viewmodels.inspector import FACT_LABELS, shown_prompt
from tests.ui.conftest import settle_images
from tests.ui.test_references_ui import drop, file_drop, image, strip_of, wait_checked
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)
from tests.ui.test_viewer import _double_click_slot, _previews_done, _viewer_ready
from tests.ui.test_window import click_card


def test_a_prompt_without_its_own_reference_clause_is_shown_as_it_is() -> None:
    face, body = ReferenceImage("a" * 64, ReferenceRole.FACE), ReferenceImage("b" * 64)
    sent = SimpleNamespace(prompt="the man from image 1, with the face from image 2, a man, "
                                  "on a pier", references=(body, face))
    shown = shown_prompt(sent)  # type: ignore[arg-type]
    assert shown.shortened and shown.full == sent.prompt
    assert shown.short == "[the man from 2 reference images] a man, on a pier"
    for prompt, refs in (("a man, on a pier", (face,)),  # no clause
                         ("the man from image 1, a man", (face, body)),  # not these images'
                         ("the man from the reference image, a man", ())):  # none recorded
        other = shown_prompt(SimpleNamespace(prompt=prompt, references=refs))  # type: ignore[arg-type]
        assert not other.shortened and other.short == prompt


def test_the_inspector_and_the_viewer_say_the_same_and_shorten_the_reference_clause(  # type: ignore[no-untyped-def]
        make_window, qtbot, tmp_path: Path, shot, palette) -> None:  # noqa: F811
    window = make_window()
    _previews_done(qtbot, window)
    model = window.model
    name = model.names()[1]
    # Two face pictures: the next preview is sent with them.
    assert drop(strip_of(window), file_drop(image(tmp_path / "a.png", "#c08060"),
                                            image(tmp_path / "b.png", "#8060c0")))
    wait_checked(qtbot, window)
    before = model.cell(name).preview.render_id
    click_card(qtbot, window, name, "button:preview")
    qtbot.waitUntil(lambda: model.cell(name).preview.state is JobState.DONE
                    and model.cell(name).preview.render_id not in (None, before),
                    timeout=30000)
    render_id = model.cell(name).preview.render_id
    window.grid.select_name(name)
    inspector = window.inspector
    qtbot.waitUntil(lambda: inspector.record is not None and inspector.record.id == render_id)
    record = inspector.record
    assert record.prompt.startswith("the woman with the face from images 1 and 2, ")

    # The inspector: shortened, the whole prompt in the tooltip and under the button
    box = inspector.prompt_box
    rest = record.prompt.removeprefix("the woman with the face from images 1 and 2, ")
    assert inspector.prompt.toPlainText() == f"[the woman from 2 reference images] {rest}"
    assert record.prompt in inspector.prompt.toolTip().replace("&#x27;", "'")
    assert box.whole.isVisible() and box.whole.text() == SHOW_WHOLE
    qtbot.mouseClick(box.whole, Qt.MouseButton.LeftButton)
    assert inspector.prompt.toPlainText() == record.prompt
    assert box.whole.text() == SHOW_SHORT
    qtbot.mouseClick(box.whole, Qt.MouseButton.LeftButton)
    assert inspector.prompt.toPlainText().startswith("[the woman from 2 reference images] ")
    # Its rows: the shared facts, then the identity figures
    assert list(inspector.values) == [*FACT_LABELS, "Identity"]
    assert inspector.values["References"].text().startswith("2 (face ")
    assert inspector.values["Request id"].text() == (record.request_id or "—")
    window.inspector_dock.raise_()
    qtbot.waitUntil(lambda: inspector.values["Identity"].isVisible()
                    and inspector.prompt.isVisible())
    settle_images(qtbot, window)
    shot(window, f"main-window-inspector-references-{palette}.png")

    # The viewer on the same render: the very same rows and the same shortened prompt
    _double_click_slot(qtbot, window, name, Stage.PREVIEW)
    viewer = window.image_windows.viewer
    assert viewer is not None
    _viewer_ready(qtbot, viewer)
    assert viewer.model.record.id == render_id
    assert list(viewer.values) == list(FACT_LABELS)
    for label in FACT_LABELS:
        assert viewer.values[label].text() == inspector.values[label].text(), label
    assert viewer.prompt.toPlainText() == inspector.prompt.toPlainText()
    assert viewer.prompt_box.whole.isVisible()
    assert viewer.prompt_box.whole.focusPolicy() is Qt.FocusPolicy.NoFocus  # keys stay
    qtbot.waitUntil(lambda: all(v.isVisible() for v in viewer.values.values()))
    shot(viewer, f"viewer-references-{palette}.png")
    # A verdict given in the viewer reads the same in both
    viewer.activateWindow()
    qtbot.keyClick(viewer, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: viewer.values["Verdict"].text() == "Approved"
                    and inspector.values["Verdict"].text() == "Approved", timeout=10000)
    viewer.close()
