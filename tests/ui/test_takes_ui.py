"""Takes on the card: every render of a scene at a stage is a take; the card shows the chosen
one with a filmstrip of the others; clicking one picks it (stored in the library, announced to
every view, kept over a restart); the filmstrip can list the takes most like the character
first where identity scores exist."""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QPoint, QSignalBlocker, Qt
from PySide6.QtWidgets import QApplication

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
    # the card: a filmstrip of the two others under the preview, in the order they were made
    lay = card_layout(window.grid.card_rect(name), model.cell(name))
    strip = lay.takes[Stage.PREVIEW]
    assert [rid for _, rid in strip] == [first, second]
    assert Stage.FINAL not in lay.takes
    tip = window.delegate.tooltip_at(model.index(model.row_of(name)),
                                     window.grid.card_rect(name), strip[0][0].center())
    assert tip is not None and tip.startswith("Take")
    window.grid.select_name(name)
    settle_images(qtbot, window)
    qtbot.waitUntil(lambda: not window.delegate._later)
    QApplication.processEvents()
    # on screen, each tile of the filmstrip shows its take's picture once decoded (a take's
    # image arriving draws its card again, as the preview's does)
    viewport = window.grid.viewport()
    at = viewport.mapTo(window, QPoint(0, 0))
    screen = window.screen().grabWindow(window.winId()).toImage()
    for tile, _ in card_layout(window.grid.card_rect(name), model.cell(name)).takes[
            Stage.PREVIEW]:
        inside = tile.adjusted(2, 2, -2, -2).translated(at)
        colours = {screen.pixel(x, y) for x in range(inside.left(), inside.right(), 2)
                   for y in range(inside.top(), inside.bottom(), 2)}
        assert len(colours) > 4, "a take's tile is empty"
    shot(window, f"main-window-takes-{palette}.png")
    # clicking the oldest picks it: stored, announced, and the card follows
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=strip[0][0].center())
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
    assert [t.render_id for t in ordered_takes(takes)] == [3, 4, 5]  # in the order made
    assert [t.render_id for t in ordered_takes(takes, by_likeness=True)] == [3, 4, 5]
    alike = (Take(5, None, 44, 0.2), Take(4, None, 43, None), Take(3, None, 42, 0.31))
    assert [t.render_id for t in ordered_takes(alike, by_likeness=True)] == [5, 3, 4]
    unscored = tuple(Take(i, None) for i in (3, 2, 1))
    assert ordered_takes(unscored, by_likeness=True) == (unscored[2], unscored[1], unscored[0])
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


def _with_previews(make_window, qtbot):  # type: ignore[no-untyped-def]
    """The window on the example, its previews rendered."""
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    return window


def _watch(window, name: str):  # type: ignore[no-untyped-def]
    """The takes of ``name`` finished, in order, and what its card showed at every change: the
    preview shown and its filmstrip."""
    model = window.model
    finished: list[int] = []
    shown: list[tuple[int | None, list[int]]] = []
    window.renderer.renderStored.connect(
        lambda r: finished.append(r.id) if r.scene_name == name else None)

    def seen() -> None:
        slot = model.cell(name).preview
        shown.append((slot.render_id, [t.render_id for t in ordered_takes(slot.other_takes)]))

    model.cellsChanged.connect(seen)
    return finished, shown


def _render_takes(window, qtbot, name: str, count: int, finished: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Render ``count`` takes of ``name`` from its card; back once the card shows them all (and
    the take picked among them)."""
    model = window.model
    before, had = len(finished), max(1, len(model.cell(name).preview.takes))
    window.takes_box.setValue(count)
    click_card(qtbot, window, name, "button:preview")
    qtbot.waitUntil(lambda: len(finished) == before + count, timeout=30000)
    qtbot.waitUntil(lambda: model.progress().active == 0
                    and not window.renderer.sheet_library.loading
                    and len(model.cell(name).preview.takes) == had + count
                    and model.cell(name).preview.chosen, timeout=30000)


def test_takes_in_flight_leave_the_first_to_finish_on_the_card(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = _with_previews(make_window, qtbot)
    model = window.model
    name = model.names()[0]
    earlier = model.cell(name).preview.render_id
    assert not model.cell(name).preview.chosen
    finished, shown = _watch(window, name)
    _render_takes(window, qtbot, name, 3, finished)
    first = finished[0]
    # Until the first take came out the card showed the render it had; from then on that take
    # and nothing else, while the two others arrived.
    at = next(i for i, (rid, _) in enumerate(shown) if rid == first)
    assert {rid for rid, _ in shown[:at]} <= {earlier}
    assert {rid for rid, _ in shown[at:]} == {first}
    # The filmstrip: the others in the order they were made, each keeping its place.
    strips = [strip for _, strip in shown[at:]]
    for before, after in itertools.pairwise(strips):
        assert after[:len(before)] == before
    assert strips[-1] == [earlier, *finished[1:]]
    slot = model.cell(name).preview
    assert slot.render_id == first and slot.chosen
    # The library holds it as the picked take: the card, `studio status` and finals agree.
    library = window.library
    record = library.renders.get(first)
    assert library.renders.chosen_take(record.scene_id, Stage.PREVIEW) == first
    cells = library.renders.cells(record.sheet_id)
    assert next(c.render.id for c in cells
                if c.scene.id == record.scene_id and c.stage is Stage.PREVIEW) == first


def test_a_read_before_the_window_hears_of_the_takes_keeps_the_card(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch) -> None:
    """The takes are stored on the render thread before their events reach the window: a read
    of the library in between (another write's announcement) found them and showed the latest
    take for a moment, then the first to finish. The card keeps what it showed instead."""
    from studio.ui.viewmodels.render_thread import ThreadedQueue

    held_back: list[tuple[object, list[object]]] = []
    holding = [False]
    plain = ThreadedQueue._deliver

    def deliver(self, events):  # type: ignore[no-untyped-def]
        if holding[0]:
            held_back.append((self, events))
        else:
            plain(self, events)

    monkeypatch.setattr(ThreadedQueue, "_deliver", deliver)  # before the window's queue exists
    window = _with_previews(make_window, qtbot)
    model, library = window.model, window.library
    sheets = window.renderer.sheet_library
    name = model.names()[1]
    earlier = model.cell(name).preview.render_id
    scene_id = library.renders.get(earlier).scene_id
    before = len(library.renders.takes(scene_id, Stage.PREVIEW))
    finished, shown = _watch(window, name)
    holding[0] = True
    window.takes_box.setValue(3)
    click_card(qtbot, window, name, "button:preview")
    qtbot.waitUntil(lambda: len(library.renders.takes(scene_id, Stage.PREVIEW)) == before + 3,
                    timeout=30000)
    sheets.reload()
    qtbot.waitUntil(lambda: not sheets.loading, timeout=30000)
    assert model.cell(name).preview.render_id == earlier
    holding[0] = False
    for queue, events in held_back:
        plain(queue, events)
    qtbot.waitUntil(lambda: len(finished) == 3 and model.progress().active == 0
                    and not sheets.loading and model.cell(name).preview.chosen, timeout=30000)
    first = finished[0]
    assert {rid for rid, _ in shown} <= {earlier, first}, (earlier, finished, shown)
    at = next(i for i, (rid, _) in enumerate(shown) if rid == first)
    assert {rid for rid, _ in shown[at:]} == {first}
    assert library.renders.chosen_take(scene_id, Stage.PREVIEW) == first


def test_a_picked_take_stays_on_the_card_while_more_takes_arrive(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = _with_previews(make_window, qtbot)
    model = window.model
    name = model.names()[2]
    finished, shown = _watch(window, name)
    _render_takes(window, qtbot, name, 2, finished)
    # pick the take made before the batch (the first in the filmstrip)
    strip = card_layout(window.grid.card_rect(name), model.cell(name)).takes[Stage.PREVIEW]
    picked = strip[0][1]
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=strip[0][0].center())
    qtbot.waitUntil(lambda: model.cell(name).preview.render_id == picked
                    and model.cell(name).preview.chosen, timeout=10000)
    del shown[:]
    _render_takes(window, qtbot, name, 3, finished)
    assert {rid for rid, _ in shown} == {picked}  # never another take, not even for a frame
    slot = model.cell(name).preview
    assert len(slot.takes) == 6 and slot.render_id == picked
    assert [t.render_id for t in ordered_takes(slot.other_takes)][-3:] == finished[-3:]
    scene_id = window.library.renders.get(picked).scene_id
    assert window.library.renders.chosen_take(scene_id, Stage.PREVIEW) == picked


def test_the_filmstrip_orders_takes_by_likeness_once_they_are_scored(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, palette) -> None:  # noqa: F811
    window = _with_previews(make_window, qtbot)
    model = window.model
    name = model.names()[1]
    finished, _shown = _watch(window, name)
    _render_takes(window, qtbot, name, 4, finished)
    # Approving the card's take makes it the character's identity: the takes get scored.
    window.grid.select_name(name)
    window.actions_by_name["approve"].trigger()
    facts = window.render_facts

    def scored() -> bool:
        slot = model.cell(name).preview
        return (not facts.busy and len(slot.other_takes) == 4
                and all(t.distance is not None for t in slot.other_takes))

    qtbot.waitUntil(scored, timeout=30000)
    slot = model.cell(name).preview
    for take in slot.other_takes:  # the window's one scoring, on the filmstrip
        fact = facts.fact(take.render_id)
        assert fact is not None and fact.score is not None
        assert take.distance == fact.score.distance
    made = [t.render_id for t in ordered_takes(slot.other_takes)]
    # Most alike first; equally alike ones in the order they were made.
    alike = [t.render_id for t in sorted(ordered_takes(slot.other_takes),
                                         key=lambda t: t.distance or 0.0)]
    lay = card_layout(window.grid.card_rect(name), model.cell(name))
    assert [rid for _, rid in lay.takes[Stage.PREVIEW]] == made
    window.actions_by_name["takes_by_likeness"].trigger()
    assert window.delegate.takes_by_likeness
    lay = card_layout(window.grid.card_rect(name), model.cell(name),
                      window.delegate.takes_by_likeness)
    assert [rid for _, rid in lay.takes[Stage.PREVIEW]] == alike
    # The fake's scores may happen to keep the order they were made in (one chance in 24):
    # scores that certainly reverse it must reverse the filmstrip.
    scores = {t.render_id: t.distance for t in slot.other_takes}
    model.set_take_distances({rid: 0.1 * (len(made) - i) for i, rid in enumerate(made)})
    lay = card_layout(window.grid.card_rect(name), model.cell(name),
                      window.delegate.takes_by_likeness)
    assert [rid for _, rid in lay.takes[Stage.PREVIEW]] == made[::-1]
    model.set_take_distances(scores)
    tip = window.delegate.tooltip_at(model.index(model.row_of(name)),
                                     window.grid.card_rect(name),
                                     lay.takes[Stage.PREVIEW][0][0].center())
    nearest = min(t.distance or 0.0 for t in slot.other_takes)
    assert tip is not None and f"identity distance {nearest:.2f}" in tip
    settle_images(qtbot, window)
    shot(window, f"main-window-takes-likeness-{palette}.png")
    window.actions_by_name["takes_by_likeness"].trigger()


def test_a_card_stands_for_every_take_of_its_batch() -> None:
    from studio.ui.viewmodels.cells import Slot
    from studio.ui.viewmodels.takes import CellBatches, TakeJob, batch_slot

    key = ("Market", Stage.PREVIEW)
    batches = CellBatches()
    batches.expect([key, key, key])
    batches.follow(key, 1, TakeJob(JobState.QUEUED))
    # the first take comes out before the others are even queued: still one batch
    jobs = batches.follow(key, 1, TakeJob(JobState.DONE))
    assert batch_slot(Slot(), jobs).state is JobState.DONE
    jobs = batches.follow(key, 2, TakeJob(JobState.PROCESSING, eta=12.0))
    batches.follow(key, 3, TakeJob(JobState.QUEUED))
    assert set(jobs) == {1, 2, 3}
    slot = batch_slot(Slot(), jobs)
    assert (slot.state, slot.eta) == (JobState.PROCESSING, 12.0)  # the furthest along
    assert batches.first_done(key, 41) and not batches.first_done(key, 42)
    batches.follow(key, 2, TakeJob(JobState.DONE))
    jobs = batches.follow(key, 3, TakeJob(JobState.FAILED, message="Refused: NSFW."))
    slot = batch_slot(Slot(), jobs)
    assert slot.state is JobState.DONE
    assert slot.message == "1 of 3 takes did not come out: Refused: NSFW."
    # nothing came out: the first sentence of the worst ending
    lost = {1: TakeJob(JobState.CANCELLED, message="Cancelled."),
            2: TakeJob(JobState.FAILED, message="Timed out."),
            3: TakeJob(JobState.UNCERTAIN, message="May have been sent.")}
    assert batch_slot(Slot(), lost).message == "May have been sent."
    # a job new to an ended batch starts the next one; a renamed scene keeps its batch
    jobs = batches.follow(key, 4, TakeJob(JobState.QUEUED))
    assert set(jobs) == {4}
    assert batches.first_done(key, 43)
    batches.rename("Market", "Harbour")
    assert set(batches.jobs(("Harbour", Stage.PREVIEW))) == {4}
    assert batches.jobs(key) == {}


def test_a_take_picked_between_a_reads_steps_is_the_one_the_card_shows(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch) -> None:
    """A read of the library is several queries: a take picked after the first (the cells)
    and before the last (the picked take) showed the cell's earlier render, not picked, until
    the next read. The picked take is what the card shows, at once."""
    window = _with_previews(make_window, qtbot)
    model, library = window.model, window.library
    sheets = window.renderer.sheet_library
    name = model.names()[1]
    finished, _shown = _watch(window, name)
    _render_takes(window, qtbot, name, 3, finished)
    first, other = finished[0], finished[2]
    assert model.cell(name).preview.render_id == first
    plain_cells = library.renders.cells
    picked_between: list[int] = []

    def cells_then_pick(sheet_id: int):  # type: ignore[no-untyped-def]
        cells = plain_cells(sheet_id)
        if not picked_between:  # the user's pick lands between this read's queries
            library.renders.choose_take(other)
            picked_between.append(other)
        return cells

    monkeypatch.setattr(library.renders, "cells", cells_then_pick)
    seen: list[tuple[int | None, bool]] = []
    model.cellsChanged.connect(lambda: seen.append((model.cell(name).preview.render_id,
                                                    model.cell(name).preview.chosen)))
    # The pick's announcement reaches the window after the read's answer (as on a busy
    # machine): the answer is not thrown away as old.
    blocker = QSignalBlocker(window.rendering.changes)
    sheets.reload()
    qtbot.waitUntil(lambda: bool(picked_between) and not sheets.loading, timeout=30000)
    blocker.unblock()
    assert set(seen) <= {(first, True), (other, True)}, seen
    assert (model.cell(name).preview.render_id, model.cell(name).preview.chosen) == (other, True)
