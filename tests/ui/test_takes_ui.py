"""Takes on the card: every render of a scene at a stage is a take; the card shows the chosen
one with a filmstrip of the others; clicking one picks it (stored in the library, announced to
every view, kept over a restart); the filmstrip can list the takes most like the character
first where identity scores exist."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.ui.scene_delegate import card_layout
from studio.ui.viewmodels.cells import Take, ordered_takes
from tests.ui.conftest import close_window, settle_images
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)
from tests.ui.test_window import click_card


def render_again(window, qtbot, name: str) -> int:  # type: ignore[no-untyped-def]
    """Preview the scene once more (its Preview button); the new render's id."""
    model = window.model
    before = model.cell(name).preview.render_id
    click_card(qtbot, window, name, "button:preview")
    qtbot.waitUntil(lambda: model.cell(name).preview.state is JobState.DONE
                    and model.cell(name).preview.render_id not in (None, before),
                    timeout=30000)
    return model.cell(name).preview.render_id


def test_the_filmstrip_picks_a_take_that_survives_a_restart(  # type: ignore[no-untyped-def]
        make_window, dialogs, tmp_path: Path, qtbot, shot, palette) -> None:  # noqa: F811
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    target = tmp_path / "emma.sheet.toml"
    dialogs.save_paths.append(target)
    window.actions_by_name["save"].trigger()
    qtbot.waitUntil(lambda: window.library.sheets.for_file(str(target.resolve())) is not None,
                    timeout=10000)
    name = model.names()[1]
    first = model.cell(name).preview.render_id
    second = render_again(window, qtbot, name)
    third = render_again(window, qtbot, name)
    qtbot.waitUntil(lambda: len(model.cell(name).preview.takes) == 3, timeout=10000)
    slot = model.cell(name).preview
    assert slot.render_id == third  # the newest until one is picked
    assert [t.render_id for t in slot.other_takes] == [second, first]
    assert len({t.seed for t in slot.takes}) >= 1
    # the card: a filmstrip of the two others under the preview
    lay = card_layout(window.grid.card_rect(name), model.cell(name))
    strip = lay.takes[Stage.PREVIEW]
    assert [rid for _, rid in strip] == [second, first]
    assert Stage.FINAL not in lay.takes
    tip = window.delegate.tooltip_at(model.index(model.row_of(name)),
                                     window.grid.card_rect(name), strip[1][0].center())
    assert tip is not None and tip.startswith("Take")
    window.grid.select_name(name)
    settle_images(qtbot, window)
    shot(window, f"main-window-takes-{palette}.png")
    # clicking the oldest picks it: stored, announced, and the card follows
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=strip[1][0].center())
    qtbot.waitUntil(lambda: model.cell(name).preview.render_id == first, timeout=10000)
    scene_id = window.library.renders.get(first).scene_id
    assert window.library.renders.chosen_take(scene_id, Stage.PREVIEW) == first
    assert [t.render_id for t in model.cell(name).preview.other_takes] == [third, second]
    # ... and is still the one shown after a restart
    close_window(qtbot, window)
    again = make_window()
    assert again.document.path == target.resolve()
    qtbot.waitUntil(lambda: again.model.cell(name).preview.render_id == first, timeout=10000)
    assert len(again.model.cell(name).preview.takes) == 3


def test_takes_by_likeness_put_the_most_alike_first(make_window) -> None:  # type: ignore[no-untyped-def]
    takes = (Take(5, None, 44, None), Take(4, None, 43, 0.52), Take(3, None, 42, 0.31))
    assert [t.render_id for t in ordered_takes(takes)] == [5, 4, 3]  # newest first
    assert [t.render_id for t in ordered_takes(takes, by_likeness=True)] == [3, 4, 5]
    unscored = tuple(Take(i, None) for i in (3, 2, 1))
    assert ordered_takes(unscored, by_likeness=True) == unscored
    window = make_window()
    action = window.actions_by_name["takes_by_likeness"]
    assert action.isCheckable()
    action.trigger()
    assert window.delegate.takes_by_likeness


def test_the_takes_box_renders_that_many_takes_of_each_scene(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    box = window.takes_box
    assert box.isEnabled() and box.maximum() >= 4
    box.setValue(3)
    assert window.renderer.takes == 3
    assert "3 takes of each" in window.actions_by_name["preview_all"].toolTip()
    name = model.names()[2]
    before = len(window.library.renders.takes(
        window.library.renders.get(model.cell(name).preview.render_id).scene_id, Stage.PREVIEW))
    click_card(qtbot, window, name, "button:preview")
    qtbot.waitUntil(lambda: len(model.cell(name).preview.takes) == before + 3, timeout=30000)
    seeds = [t.seed for t in model.cell(name).preview.takes[:3]]
    assert len(set(seeds)) == 3  # each take its own recorded seed
    qtbot.waitUntil(lambda: model.progress().active == 0, timeout=30000)
