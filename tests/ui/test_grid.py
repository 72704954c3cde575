"""The scene grid scales: card sizes from storyboard thumbnails to large cards (keys, menu and
slider), columns that follow the window's width, pixel scrolling with a wheel step of about a
row, sections by template group, and 200 scenes with no widget per card. Screenshots in light
and dark palettes go to test-artifacts/."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from studio.core.lifecycle import JobState
from studio.core.sheet import Scene
from studio.core.templates import append_template, load_templates
from studio.ui.scene_delegate import CARD_SIZES, COMPACT_BELOW, card_layout
from studio.ui.scene_grid import group_label, plan_grid
from tests.ui.conftest import ARTIFACTS, close_window, settle_images
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)


def columns(window) -> int:  # type: ignore[no-untyped-def]
    return window.grid.plan().columns


def load_storyboard(window, qtbot, scenes: int = 200) -> None:  # type: ignore[no-untyped-def]
    """A sheet of every built-in template's cells, then ungrouped shots up to ``scenes`` (once
    the first start's example previews are in: two batches of unsaved sheets at once would
    both write the unsaved copy)."""
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    templates = load_templates(window.document.catalog)
    sheet = window.document.sheet.with_scenes(())
    for template in templates.all():
        sheet = append_template(sheet, template)
    extra = tuple(Scene(name=f"Shot {i + 1}", setting=f"street corner {i + 1}, walking",
                        lighting="golden-hour")
                  for i in range(scenes - len(sheet.scenes)))
    window.session.load(sheet.with_scenes((*sheet.scenes, *extra)), None)
    assert window.model.rowCount() == scenes


def test_card_sizes_follow_keys_menu_and_slider_and_are_remembered(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    window = make_window()
    grid = window.grid
    start = grid.card_size_step
    wide = grid.plan().card_width
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert grid.card_size_step == start - 1
    assert grid.plan().card_width < wide
    assert window.card_size.slider.value() == start - 1
    # the slider down to thumbnails: compact cards, no buttons or chips on them
    window.card_size.slider.setValue(0)
    assert grid.card_size_step == 0
    assert grid.plan().card_width < COMPACT_BELOW
    name = window.model.names()[0]
    lay = card_layout(grid.card_rect(name), window.model.cell(name))
    assert lay.compact and not lay.buttons and not lay.chips
    assert "Storyboard thumbnails" in window.card_size.slider.toolTip()
    # the View menu steps back up
    window.actions_by_name["larger_cards"].trigger()
    assert grid.card_size_step == 1
    assert window.actions_by_name["larger_cards"].shortcut().toString() == "Ctrl+="
    for _ in range(10):
        window.actions_by_name["larger_cards"].trigger()
    assert grid.card_size_step == len(CARD_SIZES) - 1  # the last step stays the last
    close_window(qtbot, window)
    again = make_window()
    assert again.grid.card_size_step == len(CARD_SIZES) - 1


def test_columns_follow_the_window_width(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    window.grid.set_card_size(0)
    window.character_dock.hide()
    window.scene_dock.hide()
    window.inspector_dock.hide()
    window.resize(1400, 800)
    qtbot.waitUntil(lambda: window.grid.width() > 1300)
    wide = columns(window)
    window.resize(900, 800)
    qtbot.waitUntil(lambda: window.grid.width() < 950)
    narrow = columns(window)
    assert wide >= 6 and narrow >= 4 and wide > narrow
    # the cards fill the row: no more than one card's width is left over at the right
    plan = window.grid.plan()
    right = max(c.right() for c in plan.cards)
    assert window.grid.viewport().width() - right < plan.card_width


def test_two_hundred_scenes_in_sections_scroll_by_pixels(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, palette) -> None:  # noqa: F811
    window = make_window()
    widgets_before = len(window.grid.findChildren(QWidget))
    load_storyboard(window, qtbot)
    grid = window.grid
    plan = grid.plan()
    titles = [title for _, title in plan.headers]
    assert titles[:2] == ["Turnaround · 5 scenes", "Head turn · 5 scenes"]
    ungrouped = sum(1 for s in window.document.sheet.scenes if not s.group)
    assert titles[-1] == f"Other scenes · {ungrouped} scenes"
    # each section starts a row of its own, under its header
    for rect, _title in plan.headers:
        below = [c for c in plan.cards if c.top() >= rect.bottom()]
        if below:
            assert min(c.top() for c in below) - rect.bottom() <= 2
            first_row = [c for c in below if c.top() == below[0].top()]
            assert min(c.left() for c in first_row) == plan.cards[0].left()
    # a wheel notch scrolls about one row of cards, by pixels
    bar = grid.verticalScrollBar()
    assert bar.maximum() > 20 * plan.cards[0].height()
    before = bar.value()
    pos = QPointF(grid.viewport().rect().center())
    event = QWheelEvent(pos, grid.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(grid.viewport(), event)
    moved = bar.value() - before
    row = plan.cards[0].height() + 6
    assert 0.7 * row <= moved <= 1.3 * row
    # thumbnails: many more to a screen, the same 200 scenes
    grid.set_card_size(0)
    assert grid.plan().columns > plan.columns
    grid.scrollToBottom()
    qtbot.waitUntil(lambda: grid.indexAt(QPoint(20, 20)).row() > 150)
    assert len(grid.findChildren(QWidget)) == widgets_before
    grid.scrollToTop()
    window.actions_by_name["preview_all"].trigger()
    model = window.model
    qtbot.waitUntil(lambda: sum(model.cell(n).preview.state is JobState.DONE
                                for n in model.names()[:40]) == 40, timeout=60000)
    settle_images(qtbot, window)
    shot(window, f"grid-thumbnails-sections-{palette}.png")
    grid.set_card_size(2)
    settle_images(qtbot, window)
    shot(window, f"grid-medium-sections-{palette}.png")
    # What the screen shows after wheel notches (each moves what was drawn and paints the
    # strip that came into sight), not a fresh drawing of the window.
    for _ in range(4):
        bar.setValue(bar.value() + bar.singleStep() * 3)
        QApplication.processEvents()
    settle_images(qtbot, window)
    qtbot.waitUntil(lambda: not window.delegate._later)
    QApplication.processEvents()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    window.screen().grabWindow(window.winId()).save(
        str(ARTIFACTS / f"grid-medium-scrolled-on-screen-{palette}.png"))
    window.actions_by_name["cancel_all"].trigger()
    qtbot.waitUntil(lambda: model.progress().active == 0, timeout=60000)


def test_plan_grid_without_groups_has_no_headers() -> None:
    plan = plan_grid(["", "", ""], 800, 236, group_label)
    assert plan.headers == ()
    assert plan.columns == 3
    assert len(plan.cards) == 3 and plan.cards[0].top() == plan.cards[2].top()
    assert group_label("head-turn") == "Head turn" and group_label("") == "Other scenes"


def test_keys_move_between_cards_in_rows_and_columns(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    load_storyboard(window, qtbot, 40)
    grid = window.grid
    grid.set_card_size(0)
    grid.setFocus()
    first = window.model.names()[0]
    grid.select_name(first)
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert grid.current_name() == window.model.names()[1]
    qtbot.keyClick(grid, Qt.Key.Key_Down)
    below = grid.card_rect(grid.current_name())
    assert below.top() > grid.card_rect(window.model.names()[1]).top()
    qtbot.keyClick(grid, Qt.Key.Key_End)
    assert grid.current_name() == window.model.names()[-1]
    qtbot.keyClick(grid, Qt.Key.Key_Home)
    assert grid.current_name() == first
