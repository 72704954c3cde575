"""What keeps the window quick, as behaviour: the library opens once the window has painted
itself (and still opens for a window never shown), a render's progress never lays the grid
out again, a batch's bar never changes the status line's height, a frame draws no card past
its budget, and a card scrolled back into sight is not drawn again. The figures themselves are
benchmarks/ui_window.py's."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtWidgets import QApplication

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.ui import scene_delegate
from studio.ui.card_painting import CardPainter
from studio.ui.viewmodels.scenes import Role
from tests.ui.conftest import close_window, settle_images
from tests.ui.test_grid import load_storyboard


def test_the_library_opens_after_the_first_paint_and_without_one(  # type: ignore[no-untyped-def]
        qtbot, services, studio_loop) -> None:
    from studio.app import create_window

    shown = create_window([], services, studio_loop)
    assert shown.starting and shown.rendering.library is None  # nothing opened before a paint
    shown.resize(1200, 800)
    shown.show()
    qtbot.waitExposed(shown)
    qtbot.waitUntil(lambda: not shown.starting, timeout=20000)
    assert shown.rendering.library is not None
    close_window(qtbot, shown)
    shown.deleteLater()

    hidden = create_window([], services, studio_loop)  # a window no one shows still opens
    qtbot.waitUntil(lambda: not hidden.starting, timeout=20000)
    assert hidden.rendering.library is not None
    close_window(qtbot, hidden)
    hidden.deleteLater()


def test_a_render_in_progress_never_lays_the_grid_out_again(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    model, grid = window.model, window.grid
    name = model.names()[0]
    plan = grid.plan()
    cell = model.cell(name)
    for state in (JobState.QUEUED, JobState.SUBMITTED, JobState.DOWNLOADING):
        model.set_cells({name: cell.with_slot(Stage.PREVIEW, replace(cell.preview, state=state))})
        assert grid.plan() is plan  # the same layout, not one computed again
    # a scene's edit that moves it to a section does lay it out again
    scene = window.document.sheet.scenes[0]
    window.document.update_scene(scene.name, "Group", group="turnaround")
    assert grid.plan() is not plan
    assert any("Turnaround" in title for _, title in grid.plan().headers)


def test_the_batch_bar_never_changes_the_status_line_height(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    bar = window.status.progress_bar
    bar.setVisible(False)
    QApplication.processEvents()
    height = window.statusBar().height()
    grid_height = window.grid.height()
    bar.setVisible(True)
    QApplication.processEvents()
    assert window.statusBar().height() == height
    assert window.grid.height() == grid_height


def test_a_frame_draws_no_card_past_its_budget(make_window) -> None:  # type: ignore[no-untyped-def]
    delegate = make_window().delegate
    assert not delegate._over_budget()  # the first card of a frame is always drawn
    delegate._spend(scene_delegate.FRAME_BUDGET / 2)
    # the cards have taken half the budget each: one more would end past it
    delegate._spend(scene_delegate.FRAME_BUDGET / 2 - 0.0001)
    assert delegate._over_budget()
    delegate._new_frame()
    assert not delegate._over_budget()


def test_a_card_scrolled_back_into_sight_is_not_drawn_again(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    load_storyboard(window, qtbot, scenes=60)
    grid = window.grid
    grid.set_card_size(3)
    # without the identity marks, whose scores arriving meanwhile would change every card
    window.delegate.badges = None
    # a picture cache of about one card: every card scrolled past leaves it
    monkeypatch.setattr(scene_delegate, "CARD_CACHE_PIXELS", 1)
    bar = grid.verticalScrollBar()
    bar.setValue(0)
    settle_images(qtbot, window)
    drawn: list[str] = []
    original = CardPainter.draw

    def counting(self, painter, option, index, *args):  # type: ignore[no-untyped-def]
        drawn.append(index.data())
        return original(self, painter, option, index, *args)

    monkeypatch.setattr(CardPainter, "draw", counting)
    model = window.model
    top = [model.scene_at(r).name for r in range(model.rowCount())
           if grid.visualRect(model.index(r)).intersects(grid.viewport().rect())]

    def revision(name: str) -> object:
        return model.index(model.row_of(name) or 0).data(Role.REVISION)

    before = {name: revision(name) for name in top}
    while bar.value() < bar.maximum():  # down to the end, a page at a time
        bar.setValue(bar.value() + bar.pageStep())
        grid.viewport().repaint()
        QApplication.processEvents()  # the cards a frame left for the next are drawn
    assert set(drawn) - set(top)  # the cards scrolled past were drawn
    drawn.clear()
    window.delegate._new_frame()
    bar.setValue(0)  # and back: the top cards show the pictures they had
    grid.viewport().repaint()
    # (a card whose image or state changed meanwhile is drawn again, as it must be)
    unchanged = {name for name in top if revision(name) == before[name]}
    assert unchanged and not unchanged & set(drawn)
    close_window(qtbot, window)
