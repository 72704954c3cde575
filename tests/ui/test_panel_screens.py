"""The new screens in a light and a dark palette, saved under test-artifacts/ for a person to look
at: the character panel with its reference strip and the cards with their identity and
references badges, an uncertain job's card, and the consistency view with the identity first."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from tests.ui.test_card_badges import make_uncertain, previews_done, scored_but, settle_cards
from tests.ui.test_references_ui import drop, file_drop
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)


def portrait(path: Path, skin: str, background: str) -> Path:
    image = Image.new("RGB", (240, 300), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((80, 50, 160, 150), fill=skin)
    draw.ellipse((40, 160, 200, 340), fill=skin)
    image.save(path)
    return path


def test_reference_strip_badges_and_consistency_in_both_palettes(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, tmp_path: Path, palette: str) -> None:  # noqa: F811
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    strip = window.character_panel.reference_strip
    assert strip is not None
    files = [portrait(tmp_path / "face.png", "#c68e6a", "#d8d2c8"),
             portrait(tmp_path / "body.png", "#b07a58", "#8aa0b8")]
    drop(strip, file_drop(*files))
    qtbot.waitUntil(lambda: len(window.document.sheet.character.references) == 2)
    combo = strip.tiles[1].role
    combo.setCurrentIndex(combo.findData("full-body"))
    combo.activated.emit(combo.currentIndex())
    first, second = model.names()[:2]
    window.renderer.preview([first])  # with the references now
    qtbot.waitUntil(lambda: model.cell(first).preview.done and window.render_facts.fact(
        model.cell(first).preview.render_id) is not None
        and bool(window.render_facts.fact(model.cell(first).preview.render_id).references),
        timeout=30000)
    window.grid.select_name(second)
    window.actions_by_name["approve"].trigger()
    make_uncertain(window, qtbot, model.names()[3])
    qtbot.waitUntil(lambda: scored_but(window, model.names()[3]), timeout=20000)
    window.grid.select_name(first)
    settle_cards(qtbot, window)
    qtbot.waitUntil(lambda: all(not t.thumb.text() for t in strip.tiles))  # thumbnails shown
    assert model.cell(model.names()[3]).preview.state is JobState.UNCERTAIN
    shot(window, f"references-and-badges-{palette}.png")
    shot(window.character_panel, f"character-panel-{palette}.png")

    view = window.tools.open_consistency()
    view.sort_box.click()
    settle_cards(qtbot, window)
    qtbot.waitUntil(lambda: window.images.loading == 0)
    assert view.identity_paths() == [str(f) for f in files]  # the references are the identity
    assert window.render_facts.score_of(first, Stage.PREVIEW) is not None
    shot(view, f"consistency-{palette}.png")
    view.close()
