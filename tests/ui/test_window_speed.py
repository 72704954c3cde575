"""What keeps the window quick, as behaviour: the library opens once the window has painted
itself (and still opens for a window never shown), a render's progress never lays the grid
out again, a batch's bar never changes the status line's height, a frame draws no card past
its budget, and a card scrolled back into sight is not drawn again. The figures themselves are
benchmarks/ui_window.py's."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QRegion
from PySide6.QtWidgets import QApplication

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.ui import scene_delegate
from studio.ui.card_painting import CardPainter
from studio.ui.viewmodels.scenes import Role
from tests.ui.conftest import close_window, settle_images
from tests.ui.test_grid import load_storyboard


def count_card_draws(monkeypatch, drawn: list, by: str) -> None:  # type: ignore[no-untyped-def, type-arg]
    """Every card the delegate draws from now on (whole, or its slots and buttons over the
    picture it had) goes into ``drawn``: its scene name (``by="name"``) or its row."""
    for method in ("draw", "draw_parts"):
        original = getattr(CardPainter, method)

        def counting(self, painter, option, index, *args, _original=original):  # type: ignore[no-untyped-def]
            drawn.append(index.data() if by == "name" else index.row())
            return _original(self, painter, option, index, *args)

        monkeypatch.setattr(CardPainter, method, counting)


class PaintedRegion(QObject):
    """An event filter that unites the regions of the paint events it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.region = QRegion()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.region = self.region.united(event.region())  # type: ignore[attr-defined]
        return False


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


def test_a_frame_of_a_scroll_draws_cards_for_a_smaller_budget(make_window) -> None:  # type: ignore[no-untyped-def]
    delegate = make_window().delegate
    delegate._new_frame()
    delegate._card_cost = 0.0  # what the window's own cards cost is not this test's
    delegate.scrolling = True  # the cards about to come into sight were drawn ahead
    delegate._spend(scene_delegate.BUSY_BUDGET / 2)
    assert not delegate._over_budget()
    delegate._spend(scene_delegate.BUSY_BUDGET / 2 - 0.0001)
    assert delegate._over_budget()
    delegate.scrolling = False  # a frame that does not scroll has the whole budget
    assert not delegate._over_budget()
    delegate._new_frame()


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
    count_card_draws(monkeypatch, drawn, by="name")
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


def test_the_viewer_is_read_ahead_on_the_gui_thread_a_step_a_turn_after_the_first_paint(  # type: ignore[no-untyped-def]
        qtbot, services, studio_loop) -> None:
    import threading

    from PySide6.QtCore import QTimer

    from studio.app import create_window
    from studio.ui.read_ahead import VIEWER_MODULES, ReadAhead

    window = create_window([], services, studio_loop)
    events: list[str] = []
    wrong: list[str] = []  # a step run before the first paint, or off the GUI thread
    gui = threading.get_ident()

    def step(name: str) -> None:
        if not window.hookup.painted or threading.get_ident() != gui:
            wrong.append(name)
        events.append(name)
        # Posted before the reader posts its next step: it runs between the two when each
        # step has a turn of the event loop to itself.
        QTimer.singleShot(0, lambda: events.append("turn"))

    ahead = ReadAhead(window, ("a.module", "another.module"), step,
                      lambda _w: [lambda: step("warm 1"), lambda: step("warm 2")])
    window.hide()
    qtbot.waitUntil(lambda: not window.starting, timeout=20000)  # ready, never painted
    for _ in range(3):
        QApplication.processEvents()
    assert events == [] and not ahead.started  # nothing read before the first paint
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: ahead.done, timeout=20000)
    QApplication.processEvents()
    assert events == ["a.module", "turn", "another.module", "turn", "warm 1", "turn",
                      "warm 2", "turn"]
    assert wrong == []
    assert set(VIEWER_MODULES) >= {"studio.ui.viewer", "studio.ui.image_windows"}
    close_window(qtbot, window)
    window.deleteLater()


def test_what_start_up_and_the_read_ahead_made_is_moved_out_of_the_collectors_sight(  # type: ignore[no-untyped-def]
        qtbot, services, studio_loop, monkeypatch) -> None:
    """Frozen once the window is ready, and again once the viewer has been read ahead: its
    modules, read after the window started, were otherwise walked by every collection of the
    first batch. The garbage among them is collected first (a freeze keeps what it moves for
    good)."""
    import gc

    from studio.app import create_window, keep_collections_short
    from studio.ui.read_ahead import ReadAhead

    calls: list[str] = []
    collect = gc.collect

    def collecting(*args: int) -> int:
        if not args:  # the GUI thread's collector names a generation
            calls.append("collect")
        return collect(*args)

    monkeypatch.setattr(gc, "collect", collecting)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))  # this process stays
    window = create_window([], services, studio_loop)
    keep_collections_short(window)
    ahead = window.findChild(ReadAhead)
    assert ahead is not None
    finished: list[bool] = []
    ahead.finished.connect(lambda: finished.append(ahead.done))
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: ahead.done, timeout=20000)
    assert finished == [True]
    assert calls == ["freeze", "collect", "freeze"]
    close_window(qtbot, window)
    window.deleteLater()


def test_the_viewer_is_warmed_without_showing_one_and_opens_after(  # type: ignore[no-untyped-def]
        make_window, qtbot, caplog: pytest.LogCaptureFixture) -> None:

    from studio.ui.read_ahead import ReadAhead
    from studio.ui.viewer import ImageViewer

    shown: list[object] = []
    drawn: list[object] = []  # polished: built and drawn (a grab) without being shown

    class Shows(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if isinstance(watched, ImageViewer) and event.type() == QEvent.Type.Show:
                shown.append(watched)
            if isinstance(watched, ImageViewer) and event.type() == QEvent.Type.Polish:
                drawn.append(watched)
            return False

    spy = Shows()
    QApplication.instance().installEventFilter(spy)  # before the window: it warms at idle
    try:
        window = make_window()
        ahead = window.findChild(ReadAhead)
        assert ahead is not None
        qtbot.waitUntil(lambda: ahead.done, timeout=20000)
        qtbot.waitUntil(lambda: not window.findChildren(ImageViewer), timeout=5000)  # let go
        assert shown == [] and window.image_windows.viewer is None
        assert len(drawn) == 1 and "ahead failed" not in caplog.text
        name = window.model.names()[0]
        qtbot.waitUntil(lambda: window.model.cell(name).preview.done, timeout=30000)
        viewer = window.image_windows.open_card(name, Stage.PREVIEW)
        assert viewer is not None
        qtbot.waitUntil(lambda: viewer.view.has_image() and not viewer.model.loading,
                        timeout=20000)
        assert shown == [viewer]
        viewer.close()
        qtbot.waitUntil(lambda: window.image_windows.viewer is None)
    finally:
        QApplication.instance().removeEventFilter(spy)


def test_a_read_of_the_library_merges_only_the_cards_that_moved(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.ui.viewmodels import sheet_library

    window = make_window()
    model, cards = window.model, window.rendering.sheet_library
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    qtbot.waitUntil(lambda: not cards.loading, timeout=20000)
    merged: list[str] = []
    merge = sheet_library.merge_cell

    def counting(shown, stored):  # type: ignore[no-untyped-def]
        merged.append(next(n for n in model.names() if model.cell(n) is shown))
        return merge(shown, stored)

    monkeypatch.setattr(sheet_library, "merge_cell", counting)

    def read() -> None:
        with qtbot.waitSignal(cards.cellsLoaded, timeout=20000):
            cards.reload()

    def nothing_moved() -> bool:  # once the first start's renders and scores have settled
        merged.clear()
        read()
        return merged == []

    qtbot.waitUntil(nothing_moved, timeout=20000)
    name = model.names()[1]
    model.update_slot(name, Stage.FINAL, state=JobState.QUEUED)
    read()
    assert merged == [name]
    after = {n: model.cell(n) for n in model.names()}
    cards._merged.clear()  # forget: every card merged again ends the same
    read()
    assert len(merged) == 1 + len(model.names())
    assert {n: model.cell(n) for n in model.names()} == after


def test_a_batchs_stores_are_read_together_and_a_verdict_at_once(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each render a batch stored was answered with a read of every card (twelve in a batch of
    48): the stores that follow a read within the spacing are answered by one read once it has
    passed. A verdict (no job in the announcement) is read at once all the same."""
    from studio.library.changes import LibraryChange
    from studio.ui.viewmodels import sheet_library

    monkeypatch.setattr(sheet_library, "READ_SPACING_MS", 2500)
    window = make_window()
    model, cards = window.model, window.rendering.sheet_library
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    qtbot.waitUntil(lambda: not cards.loading, timeout=20000)
    qtbot.wait(2600)  # the first start's own reads are past the spacing
    renders = window.library.renders
    reads: list[float] = []
    cells = renders.cells

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(time.monotonic())
        return cells(*args, **kwargs)

    monkeypatch.setattr(renders, "cells", counting)
    shown = model.cell(model.names()[0]).preview.render_id
    assert shown is not None
    stored = LibraryChange(renders=frozenset({shown}), jobs=frozenset({10_001}))
    with qtbot.waitSignal(cards.cellsLoaded, timeout=20000):
        window.library.changes.announce(stored)  # the first: read at once
    assert len(reads) == 1
    for _ in range(3):  # the next, each after the read before has ended
        window.library.changes.announce(stored)
        qtbot.wait(200)
    assert len(reads) == 1 and cards.loading  # one read due for the three
    with qtbot.waitSignal(cards.cellsLoaded, timeout=20000):
        pass
    assert len(reads) == 2
    qtbot.waitUntil(lambda: not cards.loading, timeout=20000)
    asked = time.monotonic()
    window.library.changes.announce(LibraryChange(renders=frozenset({shown})))  # a verdict
    qtbot.waitUntil(lambda: len(reads) == 3, timeout=20000)
    assert reads[2] - asked < 1.5 < sheet_library.READ_SPACING_MS / 1000


def test_a_repaint_paints_only_the_cards_in_it(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:

    window = make_window()
    load_storyboard(window, qtbot, scenes=40)
    grid, model = window.grid, window.model
    grid.set_card_size(0)  # thumbnails: many cards in sight
    settle_images(qtbot, window)
    window.delegate.badges = None  # identity scores arriving would repaint cards too
    # Nothing left to paint: a repaint also paints whatever else was waiting to be painted.
    grid.viewport().repaint()
    rows = [r for r in range(model.rowCount())
            if grid.visualRect(model.index(r)).intersects(grid.viewport().rect())]
    assert len(rows) > 6
    first, last = rows[0], rows[-1]
    painted: list[int] = []
    original = scene_delegate.SceneCardDelegate.paint

    def counting(self, painter, option, index):  # type: ignore[no-untyped-def]
        painted.append(index.row())
        return original(self, painter, option, index)

    monkeypatch.setattr(scene_delegate.SceneCardDelegate, "paint", counting)
    # two cards far apart (as a batch changes them): the rectangle around both holds them all
    grid.viewport().repaint(QRegion(grid.visualRect(model.index(first)))
                            .united(QRegion(grid.visualRect(model.index(last)))))
    assert sorted(painted) == [first, last]
    painted.clear()
    grid.viewport().repaint()  # a whole repaint still paints every card in sight
    assert sorted(painted) == rows
    close_window(qtbot, window)


def _thumbnails_painted(make_window, qtbot):  # type: ignore[no-untyped-def]
    """A window with a storyboard of thumbnails painted and nothing else to paint (scores in,
    no marks), and the rows in sight."""
    window = make_window()
    load_storyboard(window, qtbot, scenes=40)
    grid, model = window.grid, window.model
    grid.set_card_size(0)
    settle_images(qtbot, window)
    qtbot.waitUntil(lambda: not window.render_facts.busy, timeout=20000)
    window.delegate.badges = None
    viewport = grid.viewport()
    viewport.repaint()
    QApplication.processEvents()
    rows = [r for r in range(model.rowCount())
            if grid.visualRect(model.index(r)).intersects(viewport.rect())]
    assert len(rows) > 6
    return window, rows


def test_cards_changing_together_repaint_those_cards_alone(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    """A run of changed cards (as a batch's progress tells them) repaints those in sight, each
    in its own rectangle: not the whole view, which painted every card in sight again."""
    window, rows = _thumbnails_painted(make_window, qtbot)
    grid, model, viewport = window.grid, window.model, window.grid.viewport()
    spy = PaintedRegion()
    viewport.installEventFilter(spy)
    first, last = rows[1], rows[3]
    model.dataChanged.emit(model.index(first), model.index(last))
    qtbot.waitUntil(lambda: not grid._changed and not spy.region.isEmpty())
    QApplication.processEvents()  # the last of them painted
    viewport.removeEventFilter(spy)
    changed = QRegion()
    for row in range(first, last + 1):
        changed = changed.united(grid.visualRect(model.index(row)))
    assert spy.region == changed, spy.region.boundingRect()
    close_window(qtbot, window)


def test_cards_changing_at_once_are_repainted_a_frames_share_at_a_time(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every card in sight changing at once (a batch starting) is repainted over several
    frames, each with the cards its budget draws: a frame with more in its region painted the
    others as they were, only to paint them again in the next."""
    window, rows = _thumbnails_painted(make_window, qtbot)
    grid, model, viewport = window.grid, window.model, window.grid.viewport()
    monkeypatch.setattr(window.delegate, "cards_per_frame", lambda: 2)
    frames: list[set[int]] = []

    class Frames(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                region = event.region()  # type: ignore[attr-defined]
                frames.append({r for r in rows
                               if region.contains(grid.visualRect(model.index(r)))})
            return False

    spy = Frames()
    viewport.installEventFilter(spy)
    for row in rows:
        model.dataChanged.emit(model.index(row), model.index(row))
    qtbot.waitUntil(lambda: not grid._changed)
    QApplication.processEvents()
    viewport.removeEventFilter(spy)
    assert all(len(cards) <= 2 for cards in frames), frames
    assert set().union(*frames) == set(rows)
    close_window(qtbot, window)


def test_a_batch_tells_the_cards_side_by_side_together(qapp) -> None:  # type: ignore[no-untyped-def]
    """One ``dataChanged`` for each run of neighbouring cards that changed at once."""
    from pathlib import Path

    from studio.core.presets import load_catalog
    from studio.core.sheet import Scene
    from studio.ui.viewmodels.cells import Cell, Slot
    from studio.ui.viewmodels.document import SheetDocument, new_character_sheet
    from studio.ui.viewmodels.scenes import SceneListModel

    catalog = load_catalog()
    sheet = new_character_sheet(catalog).with_scenes(
        tuple(Scene(name=f"S{i}", setting="street") for i in range(8)))
    model = SceneListModel(SheetDocument(sheet, catalog))
    told: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last, *_: told.append((first.row(), last.row())))
    done = {f"S{i}": Cell().with_slot(Stage.PREVIEW, Slot(state=JobState.DONE,
                                                             image=Path(f"/renders/{i}.png")))
            for i in (5, 1, 2, 3, 7)}
    model.set_cells(done)
    assert told == [(1, 3), (5, 5), (7, 7)]
    told.clear()
    model.set_cells(done)  # nothing changed: nothing told
    assert told == []


def test_images_are_decoded_a_few_at_a_time_the_newest_asked_first(  # type: ignore[no-untyped-def]
        qtbot, studio_loop, tmp_path) -> None:
    from PIL import Image

    from studio.ui.viewmodels.background import Background
    from studio.ui.viewmodels.images import ImageCache

    paths = []
    for i in range(4):
        path = tmp_path / f"render-{i}.png"
        Image.new("RGB", (64, 64), (60 * i, 0, 0)).save(path)
        paths.append(path)
    helper = Background(studio_loop)
    cache = ImageCache(helper, decoders=1)
    arrived: list[str] = []
    cache.loaded.connect(arrived.append)
    for path in paths:  # as cards scroll into sight one after another
        assert cache.get(path, 32) is None
    assert helper.pending == 1 and cache.loading == 4  # one decode at a time; four waiting
    qtbot.waitUntil(lambda: cache.loading == 0, timeout=10000)
    # the first asked was under way; then the latest asked first: the cards now in sight
    assert arrived == [str(paths[0]), str(paths[3]), str(paths[2]), str(paths[1])]
    assert all(cache.get(path, 32) is not None for path in paths)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert cache.get(broken, 32) is None and cache.get(paths[0], 16) is None
    qtbot.waitUntil(lambda: cache.loading == 0, timeout=10000)  # a failure frees its turn
    assert cache.problem(broken, 32) and cache.get(paths[0], 16) is not None
    helper.close()


def test_a_cards_staleness_is_worked_out_again_only_once_it_may_have_changed(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.ui.viewmodels import scenes

    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    name = model.names()[0]
    asked: list[str] = []
    rule = scenes.staleness

    def counting(made_with, current):  # type: ignore[no-untyped-def]
        asked.append(name)
        return rule(made_with, current)

    monkeypatch.setattr(scenes, "staleness", counting)
    model.update_slot(name, Stage.PREVIEW, message="a note")  # the cell changed: asked again
    assert model.stale_reasons(name, Stage.PREVIEW) == ()
    assert model.stale_reasons(name, Stage.PREVIEW) == ()  # drawn again: known
    assert len(asked) == 1
    scene = window.document.sheet.scene(name)
    assert scene is not None
    other = "rembrandt" if scene.lighting != "rembrandt" else "golden-hour"
    window.document.update_scene(name, "Lighting", lighting=other)  # what it sends changed
    assert model.stale_reasons(name, Stage.PREVIEW) == ("lighting",)
    assert len(asked) == 2 and model.is_stale(name, Stage.PREVIEW)


def test_the_pictures_kept_of_cards_shown_stay_within_their_bound(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    load_storyboard(window, qtbot, scenes=40)
    grid, delegate, model = window.grid, window.delegate, window.model
    grid.set_card_size(3)
    card = delegate.card_size()
    bound = card.width() * card.height() * 3  # about three cards' pictures
    monkeypatch.setattr(scene_delegate, "SHOWN_CACHE_PIXELS", bound)
    bar = grid.verticalScrollBar()
    bar.setValue(0)
    grid.viewport().repaint()
    seen: set[str] = set()
    while bar.value() < bar.maximum():
        bar.setValue(bar.value() + bar.pageStep())
        grid.viewport().repaint()
        QApplication.processEvents()  # the cards a frame left for the next are drawn
        seen |= {model.scene_at(r).name for r in range(model.rowCount())
                 if grid.visualRect(model.index(r)).intersects(grid.viewport().rect())}
        kept = delegate._shown
        assert delegate._shown_pixels == sum(p.width() * p.height() for _, p, _ in kept.values())
        assert delegate._shown_pixels <= bound or len(kept) == 1
    assert len(seen) > 3 * len(delegate._shown)  # most were let go, the latest shown kept
    last = [model.scene_at(r).name for r in range(model.rowCount())
            if grid.visualRect(model.index(r)).intersects(grid.viewport().rect())]
    assert set(delegate._shown) & set(last)


def test_a_card_over_budget_never_stands_in_with_its_picture_in_old_colours(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtGui import QColor, QPalette

    window = make_window()
    grid, delegate, model = window.grid, window.delegate, window.model
    delegate.badges = None
    grid.viewport().repaint()  # every card in sight has a picture in these colours
    drawn: list[int] = []
    count_card_draws(monkeypatch, drawn, by="row")
    before = QApplication.palette()
    dark = QPalette(before)
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    drawn.clear()
    QApplication.setPalette(dark)
    try:
        # (a paint of its own may come first, and draw some cards within its budget)
        QApplication.processEvents()
        delegate._new_frame()
        delegate._spend(scene_delegate.FRAME_BUDGET)  # this frame has drawn enough already
        grid.viewport().repaint()
        # every card in sight is drawn in the new colours now, none shown as it was a moment ago
        assert set(drawn) >= {r for r in range(model.rowCount())
                              if grid.visualRect(model.index(r)).intersects(
                                  grid.viewport().rect())}
    finally:
        QApplication.setPalette(before)


def test_a_scroll_paints_only_the_strip_that_came_into_sight(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    from PySide6.QtCore import QPoint, QRect

    window = make_window()
    load_storyboard(window, qtbot, scenes=40)
    grid = window.grid
    grid.set_card_size(0)
    settle_images(qtbot, window)
    # Nothing else repaints the grid meanwhile: the first start's scores are in.
    qtbot.waitUntil(lambda: not window.render_facts.busy, timeout=20000)
    window.delegate.badges = None
    viewport, bar = grid.viewport(), grid.verticalScrollBar()
    viewport.repaint()
    QApplication.processEvents()
    spy = PaintedRegion()
    viewport.installEventFilter(spy)
    notch = bar.singleStep() * 3
    bar.setValue(bar.value() + notch)
    qtbot.waitUntil(lambda: not window.delegate._later and not spy.region.isEmpty())
    QApplication.processEvents()  # the cards a frame left for the next are drawn
    viewport.removeEventFilter(spy)
    strip = QRect(0, viewport.height() - notch, viewport.width(), notch)
    # nothing above it painted again
    assert QRegion(strip).united(spy.region) == QRegion(strip), spy.region.boundingRect()

    def on_screen():  # type: ignore[no-untyped-def]
        at = viewport.mapTo(window, QPoint(0, 0))
        return window.screen().grabWindow(window.winId(), at.x(), at.y(), viewport.width(),
                                          viewport.height()).toImage()

    moved = on_screen()
    viewport.repaint()  # every card in sight drawn where it is now
    assert moved == on_screen()
    close_window(qtbot, window)


def test_a_mark_changing_on_one_card_draws_that_card_alone(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.identity import IdentityScore, Verdict
    from studio.ui.viewmodels.identity import RenderFact
    from tests.ui.test_card_badges import previews_done, scored, settle_cards

    window = make_window()  # first start: the example's previews render offline and are scored
    grid, model, facts = window.grid, window.model, window.render_facts
    grid.set_card_size(0)
    qtbot.waitUntil(lambda: previews_done(window), timeout=30000)
    qtbot.waitUntil(lambda: scored(window), timeout=20000)
    settle_cards(qtbot, window)
    grid.viewport().repaint()
    names = [n for n in model.names()
             if grid.card_rect(n).intersects(grid.viewport().rect())]
    assert len(names) > 2
    drawn: list[str] = []
    count_card_draws(monkeypatch, drawn, by="name")
    grid.viewport().repaint()
    assert drawn == []  # nothing changed: every card shows the picture it had
    one = names[1]
    render_id = model.cell(one).preview.render_id
    fact = facts.fact(render_id) or RenderFact(render_id)
    facts._facts[render_id] = replace(fact, score=IdentityScore(
        1, 0.71, Verdict.DIFFERENT_PERSON, "A different person."))
    facts._bump()  # as a score arriving does: the window repaints the grid
    window.delegate._new_frame()  # a frame of its own (the others' drawing counted no more)
    grid.viewport().repaint()
    assert drawn == [one]
    close_window(qtbot, window)


def _storyboard_drawn_ahead(make_window, qtbot, card_size: int):  # type: ignore[no-untyped-def]
    """A window on a 60-scene storyboard at ``card_size``, its images shown, no marks on its
    cards, and the cards about to come into sight drawn ahead at idle."""
    window = make_window()
    load_storyboard(window, qtbot, scenes=60)
    window.grid.set_card_size(card_size)
    settle_images(qtbot, window)
    qtbot.waitUntil(lambda: not window.render_facts.busy, timeout=20000)
    window.delegate.badges = None
    window.grid.viewport().repaint()
    qtbot.waitUntil(lambda: not window.grid._ahead.isActive())  # drawn ahead, at idle
    return window


def _cards_in_sight(grid, model) -> list[int]:  # type: ignore[no-untyped-def]
    return [r for r in range(model.rowCount())
            if grid.visualRect(model.index(r)).intersects(grid.viewport().rect())]


def test_the_cards_about_to_come_into_sight_are_drawn_at_idle_and_a_notch_draws_none(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:

    # thumbnails: a notch brings a whole row of new cards
    window = _storyboard_drawn_ahead(make_window, qtbot, 0)
    grid, model = window.grid, window.model
    before = set(_cards_in_sight(grid, model))
    ahead = grid.rows_ahead()
    assert ahead and not set(ahead) & before
    drawn: list[int] = []
    count_card_draws(monkeypatch, drawn, by="row")
    bar = grid.verticalScrollBar()
    bar.setValue(bar.value() + bar.singleStep() * 3)  # a wheel notch, painted at once
    QApplication.sendPostedEvents(None, QEvent.Type.UpdateRequest.value)
    came = set(_cards_in_sight(grid, model)) - before
    assert came and came <= set(ahead)
    assert drawn == []  # every card that came into sight was copied from its picture
    # and the next ones are drawn ahead once the loop is idle again
    qtbot.waitUntil(lambda: not grid._ahead.isActive())
    assert set(drawn) and set(drawn) <= set(grid.rows_ahead())
    # while a batch renders the window's turns are kept for the cards in sight
    window.delegate.rendering = True
    drawn.clear()
    bar.setValue(bar.value() + bar.singleStep() * 3)
    QApplication.sendPostedEvents(None, QEvent.Type.UpdateRequest.value)
    drawn.clear()  # (what came into sight may be drawn: it is in sight)
    qtbot.waitUntil(lambda: not grid._ahead.isActive())
    assert drawn == []
    window.delegate.rendering = False
    close_window(qtbot, window)


def test_the_cards_ahead_that_changed_during_a_batch_are_drawn_once_it_ends(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is drawn ahead while a batch renders; once it ends, the cards about to come
    into sight are drawn at idle again (they waited for the next scroll, and the first notch
    after a batch drew them while the frame waited)."""
    window = _storyboard_drawn_ahead(make_window, qtbot, 0)
    grid, model = window.grid, window.model
    ahead = grid.rows_ahead()
    assert ahead
    first = model.scene_at(0).name  # a batch renders the first card
    model.update_slot(first, Stage.PREVIEW, state=JobState.PROCESSING)
    qtbot.waitUntil(lambda: not window.counts_pending)
    assert window.delegate.rendering
    drawn: list[int] = []
    count_card_draws(monkeypatch, drawn, by="row")
    for row in ahead:  # the renders of the cards ahead end meanwhile
        model.update_slot(model.scene_at(row).name, Stage.PREVIEW, state=JobState.FAILED,
                          message="The render failed.")
    qtbot.waitUntil(lambda: not window.counts_pending and not grid._ahead.isActive())
    assert window.delegate.rendering
    assert set(drawn) & set(ahead) == set()  # the batch's turns were kept for the cards in sight
    model.update_slot(first, Stage.PREVIEW, state=JobState.FAILED, message="The render failed.")
    qtbot.waitUntil(lambda: set(ahead) <= set(drawn))  # the batch has ended
    assert not window.delegate.rendering
    close_window(qtbot, window)


def test_a_card_drawn_ahead_that_changes_meanwhile_comes_into_sight_as_it_is_now(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    from PySide6.QtCore import QPoint

    window = _storyboard_drawn_ahead(make_window, qtbot, 1)
    grid, model = window.grid, window.model
    viewport = grid.viewport()
    row = grid.rows_ahead()[0]
    name = model.scene_at(row).name
    revision = model.index(row).data(Role.REVISION)
    # the card drawn ahead is out of date: its scene's preview failed meanwhile
    model.update_slot(name, Stage.PREVIEW, state=JobState.FAILED, message="The render failed.")
    assert model.index(row).data(Role.REVISION) != revision
    bar = grid.verticalScrollBar()
    while not grid.visualRect(model.index(row)).intersects(viewport.rect()):
        bar.setValue(bar.value() + bar.singleStep() * 3)
        QApplication.sendPostedEvents(None, QEvent.Type.UpdateRequest.value)

    def on_screen():  # type: ignore[no-untyped-def]
        at = viewport.mapTo(window, QPoint(0, 0))
        return window.screen().grabWindow(window.winId(), at.x(), at.y(), viewport.width(),
                                          viewport.height()).toImage()

    scrolled = on_screen()
    window.delegate._new_frame()
    viewport.repaint()  # every card in sight drawn as it is now
    assert scrolled == on_screen()
    close_window(qtbot, window)


def test_an_image_arriving_repaints_the_cards_showing_it_and_no_other(qapp) -> None:  # type: ignore[no-untyped-def]
    """The model finds the cards an arriving image is on (a slot's image or a take) through
    every change of their cells: a new image, a rename, a move, a deleted scene, a reset."""
    from pathlib import Path

    from studio.core.presets import load_catalog
    from studio.core.sheet import Scene
    from studio.ui.viewmodels.cells import Slot, Take
    from studio.ui.viewmodels.document import SheetDocument, new_character_sheet
    from studio.ui.viewmodels.scenes import SceneListModel

    catalog = load_catalog()
    sheet = new_character_sheet(catalog).with_scenes(
        tuple(Scene(name=f"S{i}", setting="street") for i in range(4)))
    document = SheetDocument(sheet, catalog)
    model = SceneListModel(document)
    repainted: list[int] = []
    model.dataChanged.connect(lambda first, last, *_: repainted.extend(
        range(first.row(), last.row() + 1)))

    def arrives(path: Path) -> list[int]:
        repainted.clear()
        model.refresh_images(str(path))
        return list(repainted)

    a, b, c, d = (Path(f"/renders/{n}.png") for n in "abcd")
    model.set_slot("S0", Stage.PREVIEW, Slot(state=JobState.DONE, image=a))
    model.set_slot("S2", Stage.FINAL, Slot(state=JobState.DONE, image=a))
    model.set_slot("S1", Stage.PREVIEW, Slot(state=JobState.DONE, image=b, takes=(
        Take(render_id=2, image=b), Take(render_id=1, image=c))))
    assert arrives(a) == [0, 2] and arrives(b) == [1] and arrives(c) == [1]
    assert arrives(d) == []  # on no card
    revision = model.index(1).data(Role.REVISION)
    arrives(c)
    assert model.index(1).data(Role.REVISION) != revision  # the card is drawn again
    # a new image: the old one is on that card no more
    model.set_slot("S0", Stage.PREVIEW, Slot(state=JobState.DONE, image=d))
    assert arrives(a) == [2] and arrives(d) == [0]
    # renamed, moved, deleted: the cards where they are now
    document.update_scene("S2", name="Renamed")
    assert arrives(a) == [2]
    document.move_scene(2, 0)
    assert arrives(a) == [0] and arrives(d) == [1]
    document.remove_scenes(["Renamed"])
    assert arrives(a) == [] and arrives(b) == [1]
    model.reset_cells()
    assert arrives(b) == [] and arrives(d) == []
