"""The identity threshold is changed in Settings and the window follows at once: the card's
badge, the consistency view and the inspector take the new verdict, judged again from the
distances already measured (no image is analysed again), and the threshold is saved."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from studio.core.request import Stage
from studio.core.settings import load_settings
from studio.identity import FaceAnalysis, Verdict
from studio.ui import card_badges
from tests.ui.conftest import hashed_face
from tests.ui.test_card_badges import previews_done, scored, settle_cards, slot_rect
from tests.ui.test_settings_ui import open_settings


class CountingFaces:
    """The window tests' fake analyser, counting the images it is given."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: bytes) -> FaceAnalysis:
        self.calls += 1
        return hashed_face(data)


def badge_colour(window, name: str) -> str:  # type: ignore[no-untyped-def]
    fact = window.render_facts.fact(window.model.cell(name).preview.render_id)
    text = card_badges.identity_text(fact)
    rect = card_badges.identity_rect(slot_rect(window, name, Stage.PREVIEW), text)
    picture = window.grid.viewport().grab().toImage()
    ratio = picture.devicePixelRatio()
    inside = QPoint(rect.left() + 3, rect.center().y())
    return picture.pixelColor(round(inside.x() * ratio), round(inside.y() * ratio)).name()


def test_a_new_threshold_in_settings_changes_the_badges_at_once(  # type: ignore[no-untyped-def]
        make_window, services, qtbot) -> None:
    faces = CountingFaces()
    services.identity_analyser = lambda: faces
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    first, other = model.names()[:2]
    window.grid.select_name(first)
    window.actions_by_name["approve"].trigger()  # the first preview becomes the identity
    qtbot.waitUntil(lambda: scored(window) and window.render_facts.source is not None
                    and window.render_facts.score_of(other, Stage.PREVIEW).distance
                    is not None, timeout=20000)
    before = window.render_facts.score_of(other, Stage.PREVIEW)
    distance = before.distance
    # A threshold that turns the other card's verdict over: under its distance when it is the
    # same person now, well over it otherwise.
    if before.verdict is Verdict.SAME_PERSON:
        threshold, wanted = round(distance - 0.05, 2), Verdict.DIFFERENT_PERSON
    else:
        threshold, wanted = round(distance + 0.2, 2), Verdict.SAME_PERSON
    assert 0.11 <= threshold <= 2.0

    consistency = window.tools.open_consistency()
    consistency.drift_box.setChecked(True)  # only drifting or different people
    drifted_before = any(label.startswith(other) for label in consistency.labels())
    assert drifted_before == (before.verdict is not Verdict.SAME_PERSON)
    settle_cards(qtbot, window)
    qtbot.waitUntil(lambda: badge_colour(window, other)
                    == card_badges.VERDICT_COLOURS[before.verdict.value])
    analysed = faces.calls

    dialog = open_settings(window, qtbot)
    dialog.list.setCurrentRow(dialog.list.count() - 1)  # General
    field = dialog.identity_threshold
    assert field.isVisible() and field.value() == 0.6
    field.selectAll()
    qtbot.keyClicks(field, field.locale().toString(threshold, "f", 2))
    assert field.value() == threshold
    with qtbot.waitSignal(dialog.saved):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.render_facts.score_of(other, Stage.PREVIEW).verdict
                    is wanted)
    after = window.render_facts.score_of(other, Stage.PREVIEW)
    assert after.distance == distance and f"same person under {threshold:.2f}" in (
        after.explanation)
    assert window.render_facts.rules.threshold == threshold
    # The grid draws a changed card in the frame after (a frame has a drawing budget).
    qtbot.waitUntil(lambda: badge_colour(window, other)
                    == card_badges.VERDICT_COLOURS[wanted.value])
    drifted_after = any(label.startswith(other) for label in consistency.labels())
    assert drifted_after == (wanted is not Verdict.SAME_PERSON)
    window.grid.select_name(other)
    qtbot.waitUntil(lambda: window.inspector.record is not None
                    and window.inspector.record.id == model.cell(other).preview.render_id)
    assert window.inspector.values["Identity"].text().startswith(f"{wanted.value}: ")
    assert window.inspector.values["Identity"].text().endswith(
        f"same person under {threshold:.2f}")
    assert faces.calls == analysed  # judged again from the distances, nothing analysed
    assert load_settings(services.config_dir).identity_threshold == threshold


def test_a_threshold_left_as_shown_keeps_the_settings_files_own_value(  # type: ignore[no-untyped-def]
        make_window, services, qtbot) -> None:
    services.config_dir.mkdir(parents=True, exist_ok=True)
    (services.config_dir / "settings.toml").write_text("identity_threshold = 0.555\n", "utf-8")
    window = make_window()
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    assert window.render_facts.rules.threshold == 0.555
    dialog = open_settings(window, qtbot)
    assert round(dialog.identity_threshold.value(), 2) == 0.56  # the field shows two decimals
    with qtbot.waitSignal(dialog.saved):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert load_settings(services.config_dir).identity_threshold == 0.555
    assert window.render_facts.rules.threshold == 0.555
