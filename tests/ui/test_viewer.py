"""The viewer, compare any two, images' context menus, "Use as reference" and Help › Keyboard
shortcuts, driven through the real widgets (double-clicks, keys, the wheel, context menus)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QAction, QContextMenuEvent, QKeySequence, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QMenu, QToolButton, QWidget

from studio.core.anchor import ReferenceImage, ReferenceRole
from studio.core.lifecycle import Approval, JobState
from studio.core.request import Stage
from studio.core.sheet import load_sheet
from studio.ui.scene_delegate import card_layout
from studio.ui.window_actions import ACTIONS
from tests.ui.conftest import hold_first_read, settle_images
from tests.ui.test_screenshots import palette  # noqa: F401  (the light and dark palettes)

#: A popped-up menu on the offscreen platform: it has no window stack or keyboard to grab.
MENU_NOISE = pytest.mark.qt_log_ignore("This plugin does not support raise\\(\\)",
                                       "This plugin does not support grabbing the keyboard")


def _previews_done(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)


def _double_click_slot(qtbot, window, name: str, stage: Stage) -> None:  # type: ignore[no-untyped-def]
    window.grid.select_name(name)
    pos = card_layout(window.grid.card_rect(name)).slots[stage].center()
    with qtbot.waitSignal(window.delegate.actionRequested):
        # As a mouse does it: a click, then the double-click
        qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        qtbot.mouseDClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _viewer_ready(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not viewer.busy and viewer.view.has_image()
                    and (viewer.model.current.render_id is None
                         or viewer.model.record is not None), timeout=20000)


def _context_menu(qtbot, widget: QWidget, pos: QPoint, owner: QWidget) -> QMenu:  # type: ignore[no-untyped-def]
    """Right-click ``widget`` at ``pos``; the image menu that pops up."""
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)
    qtbot.waitUntil(lambda: any(m.isVisible() for m in owner.findChildren(QMenu, "imageMenu")))
    return next(m for m in owner.findChildren(QMenu, "imageMenu") if m.isVisible())


def _trigger(menu: QMenu, name: str) -> None:
    action = next(a for a in menu.actions() if a.objectName() == f"imageMenu-{name}")
    assert action.isEnabled(), name
    action.trigger()
    menu.close()


def _drag(widget: QWidget, start: QPoint, end: QPoint) -> None:
    """Press, move with the button held, release (QTest's moves carry no buttons)."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, at, button, buttons in (
            (QEvent.Type.MouseButtonPress, start, left, left),
            (QEvent.Type.MouseMove, start + (end - start) / 2, none, left),
            (QEvent.Type.MouseMove, end, none, left),
            (QEvent.Type.MouseButtonRelease, end, left, none)):
        local = QPointF(at)
        event = QMouseEvent(kind, local, QPointF(widget.mapToGlobal(at)), button, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)


def _key(qtbot, widget: QWidget, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(widget, key, modifier)


def test_the_viewer_from_a_card(make_window, qtbot, shot, palette: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    window = make_window()
    _previews_done(qtbot, window)
    model = window.model
    names = model.names()
    _double_click_slot(qtbot, window, names[1], Stage.PREVIEW)
    viewer = window.image_windows.viewer
    assert viewer is not None
    _viewer_ready(qtbot, viewer)
    assert viewer.model.current.scene == names[1]
    assert viewer.position.text() == f"2 of {len(names)}"
    record = viewer.model.record
    assert record.id == model.cell(names[1]).preview.render_id
    assert viewer.values["Seed"].text().startswith(str(record.seed_requested))
    assert viewer.values["Size"].text() == f"{record.width}x{record.height}"
    assert viewer.prompt.toPlainText() == record.prompt
    assert viewer.view.has_image()

    # Next and previous with the arrow keys, within the cards' previews
    viewer.activateWindow()
    _key(qtbot, viewer, Qt.Key.Key_Right)
    _viewer_ready(qtbot, viewer)
    assert viewer.model.current.scene == names[2]
    _key(qtbot, viewer, Qt.Key.Key_Left)
    _viewer_ready(qtbot, viewer)
    assert viewer.model.current.scene == names[1]

    # Zoom with the wheel, + and -, fit and 100%; pan by dragging
    fitted = viewer.view.zoom
    centre = QPointF(viewer.view.viewport().rect().center())
    wheel = QWheelEvent(centre, QPointF(viewer.view.viewport().mapToGlobal(centre.toPoint())),
                        QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewer.view.viewport(), wheel)
    assert viewer.view.zoom == pytest.approx(fitted * 1.25 ** 2)
    _key(qtbot, viewer, Qt.Key.Key_Minus)
    assert viewer.view.zoom == pytest.approx(fitted * 1.25)
    _key(qtbot, viewer, Qt.Key.Key_1)
    assert viewer.view.zoom == pytest.approx(1.0)
    assert viewer.zoom_label.text() == "100%"
    _key(qtbot, viewer, Qt.Key.Key_Plus)
    assert viewer.view.zoom == pytest.approx(1.25)
    bar = viewer.view.horizontalScrollBar()
    before = bar.value()
    port = viewer.view.viewport()
    for _ in range(8):  # larger than the view, so there is somewhere to pan to
        if bar.maximum() > 240:
            break
        _key(qtbot, viewer, Qt.Key.Key_Plus)
    assert bar.maximum() > 240
    before = bar.value()
    _drag(port, port.rect().center(), port.rect().center() + QPoint(-120, 0))
    assert bar.value() == before + 120  # the image moved with the pointer
    _key(qtbot, viewer, Qt.Key.Key_0)
    assert viewer.view.zoom == pytest.approx(fitted)
    assert viewer.zoom_label.text() == f"{fitted * 100:.0f}%"
    # The title and the zoom sit above the image; the image area shows the image only.
    image_area = QRect(viewer.view.mapTo(viewer, QPoint(0, 0)), viewer.view.size())
    for label in (viewer.title, viewer.zoom_label):
        assert label.isVisible() and label.text()
        assert QRect(label.mapTo(viewer, QPoint(0, 0)), label.size()).bottom() < image_area.top()
    before = port.grab().toImage()
    viewer.title.setText("X" * 60)
    viewer.view.caption = "X" * 60
    port.repaint()
    assert port.grab().toImage() == before
    viewer._show()
    shot(viewer, f"viewer-{palette}.png")

    # Approve and star from the viewer: written to the library, the card follows
    _key(qtbot, viewer, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: model.cell(names[1]).approval is Approval.APPROVED)
    _key(qtbot, viewer, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: model.cell(names[1]).star)
    qtbot.waitUntil(lambda: viewer.values["Verdict"].text() == "Approved · ★ starred")
    buttons = viewer.buttons  # they say what the render has, and offer to take it back
    assert (buttons["approve"].text(), buttons["approve"].isChecked()) == ("✓ Approved", True)
    assert (buttons["reject"].text(), buttons["star"].text()) == ("Reject", "Unstar")
    _key(qtbot, viewer, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: model.cell(names[1]).approval is Approval.REJECTED)
    qtbot.waitUntil(lambda: buttons["reject"].text() == "✓ Rejected"
                    and not buttons["approve"].isChecked())
    _key(qtbot, viewer, Qt.Key.Key_X)  # the same verdict again takes it back
    qtbot.waitUntil(lambda: model.cell(names[1]).approval is Approval.NONE
                    and buttons["reject"].text() == "Reject")
    _key(qtbot, viewer, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: model.cell(names[1]).approval is Approval.REJECTED)

    # Finalize from the viewer (preview → final through the renderer)
    _key(qtbot, viewer, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: model.cell(names[1]).final.state is JobState.DONE, timeout=60000)

    # Set as A here, go on, set as B: the two are compared
    _key(qtbot, viewer, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    _key(qtbot, viewer, Qt.Key.Key_Right)
    _viewer_ready(qtbot, viewer)
    _key(qtbot, viewer, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    compare = window.tools.compare
    assert compare is not None
    assert [side.caption for side in compare.sides] == [f"A · {names[1]} · preview",
                                                        f"B · {names[2]} · preview"]
    compare.close()

    # Escape closes it
    _key(qtbot, viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.image_windows.viewer is None)


@MENU_NOISE
def test_use_as_reference_from_the_viewer_the_inspector_and_a_card(  # type: ignore[no-untyped-def]
        make_window, qtbot, dialogs, tmp_path: Path) -> None:
    window = make_window()
    _previews_done(qtbot, window)
    model, doc = window.model, window.document
    sheet_path = tmp_path / "emma.sheet.toml"
    dialogs.save_paths.append(sheet_path)
    window.actions_by_name["save_as"].trigger()  # the cards' renders follow it
    qtbot.waitUntil(lambda: doc.path == sheet_path and not window.rendering.sheet_library.loading)
    names = model.names()

    # From the viewer: the render is copied beside the sheet and named relative to it
    _double_click_slot(qtbot, window, names[0], Stage.PREVIEW)
    viewer = window.image_windows.viewer
    _viewer_ready(qtbot, viewer)
    _key(qtbot, viewer, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: len(doc.sheet.character.references) == 1)
    ref = doc.sheet.character.references[0]
    assert ref.role is ReferenceRole.FACE
    assert ref.path.startswith("refs/") and (tmp_path / ref.path).is_file()
    assert ref.sha256 == window.library.references.from_render(
        viewer.model.current.render_id).sha256
    # The same image again is refused in a sentence, nothing added
    _key(qtbot, viewer, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: "is already one of the character's references"
                    in window.messages.label.text())
    assert len(doc.sheet.character.references) == 1
    viewer.close()

    # From the inspector
    window.grid.select_name(names[1])
    window.inspector_dock.raise_()
    qtbot.waitUntil(lambda: window.inspector.record is not None
                    and window.inspector.record.id == model.cell(names[1]).preview.render_id)
    qtbot.mouseClick(window.inspector.buttons["reference"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(doc.sheet.character.references) == 2)
    assert doc.sheet.character.references[1].role is ReferenceRole.OTHER

    # From a card's context menu; saved in the sheet file, undoable
    rect = window.grid.card_rect(names[2])
    menu = _context_menu(qtbot, window.grid.viewport(),
                         card_layout(rect).slots[Stage.PREVIEW].center(), window.grid)
    _trigger(menu, "reference")
    qtbot.waitUntil(lambda: len(doc.sheet.character.references) == 3)
    window.actions_by_name["save"].trigger()
    saved = load_sheet(sheet_path, doc.catalog)
    assert [r.sha256 for r in saved.character.references] == [
        r.sha256 for r in doc.sheet.character.references]
    assert "refs/" in sheet_path.read_text()
    window.actions_by_name["undo"].trigger()
    assert len(doc.sheet.character.references) == 2

    # A full set (4) refuses with one sentence
    full = (*doc.sheet.character.references,
            *(ReferenceImage(sha256=f"{i:064x}", role=ReferenceRole.OTHER, path=f"x{i}.png")
              for i in range(2)))
    doc.set_character("Fill the references", None, references=full)
    item = window.image_windows.image_actions
    messages: list[str] = []
    item.message.connect(lambda text, _level: messages.append(text))
    menu = _context_menu(qtbot, window.grid.viewport(),
                         card_layout(rect).slots[Stage.PREVIEW].center(), window.grid)
    _trigger(menu, "reference")
    assert messages == ["The character already has 4 reference images, the most it can hold: "
                        "remove one in the Character panel first."]
    assert len(doc.sheet.character.references) == 4


@MENU_NOISE
def test_compare_any_two_and_the_card_menu(make_window, qtbot, shot, palette: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    window = make_window()
    _previews_done(qtbot, window)
    model = window.model
    a_name, b_name = model.names()[0], model.names()[2]

    # The card menu: its entries, and one of them shown for a person to look at
    rect = window.grid.card_rect(a_name)
    menu = _context_menu(qtbot, window.grid.viewport(),
                         card_layout(rect).slots[Stage.PREVIEW].center(), window.grid)
    texts = [a.text().split("\t")[0] for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Open in viewer", "Compare with…", "Set as A", "Set as B", "Approve",
                     "Reject", "Star", "Finalize", "Render again", "Use as reference",
                     "Show the file in its folder", "Move to trash"]
    shot(menu, f"card-menu-{palette}.png")
    _trigger(menu, "set_a")
    assert window.image_windows.picks.a.scene == a_name

    # "Compare with…" on another card opens A and B
    rect = window.grid.card_rect(b_name)
    menu = _context_menu(qtbot, window.grid.viewport(),
                         card_layout(rect).slots[Stage.PREVIEW].center(), window.grid)
    _trigger(menu, "compare")
    compare = window.tools.compare
    assert compare is not None
    qtbot.waitUntil(lambda: not compare.busy and compare.left.has_image()
                    and compare.right.has_image())
    assert compare.left.caption.startswith(f"A · {a_name}")
    assert compare.right.caption.startswith(f"B · {b_name}")
    shot(compare, f"compare-any-two-{palette}.png")
    left_before = compare.images[0]
    compare.activateWindow()
    qtbot.keyClick(compare, Qt.Key.Key_S)  # swap
    assert compare.images[1] is left_before
    assert compare.left.caption.startswith(f"B · {b_name}")
    qtbot.keyClick(compare, Qt.Key.Key_X)  # and back
    assert compare.images[0] is left_before
    qtbot.keyClick(compare, Qt.Key.Key_M)  # the slider
    assert compare.stack.currentIndex() == 1
    assert compare.slider.labels == (f"A · {a_name} · preview", f"B · {b_name} · preview")
    shot(compare, f"compare-any-two-slider-{palette}.png")
    qtbot.keyClick(compare, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.tools.compare is None)

    # Trash from the card menu: the library holds it, the card follows
    render_id = model.cell(b_name).preview.render_id
    rect = window.grid.card_rect(b_name)
    menu = _context_menu(qtbot, window.grid.viewport(),
                         card_layout(rect).slots[Stage.PREVIEW].center(), window.grid)
    _trigger(menu, "trash")
    qtbot.waitUntil(lambda: window.library.renders.get(render_id).trashed is not None)

    # Reveal names the file's folder
    opened = []
    window.image_windows.open_url = opened.append
    menu = _context_menu(qtbot, window.grid.viewport(),
                         card_layout(window.grid.card_rect(a_name)).slots[Stage.PREVIEW]
                         .center(), window.grid)
    _trigger(menu, "reveal")
    assert Path(opened[0].toLocalFile()) == model.cell(a_name).preview.image.parent


@MENU_NOISE
def test_a_cards_menu_ticks_what_the_render_under_the_pointer_has(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, palette: str) -> None:  # noqa: F811
    """It ticked nothing: a card's cell knew its scene's verdict, not its renders'."""
    window = make_window()
    _previews_done(qtbot, window)
    model = window.model
    first, second = model.names()[:2]

    def card_menu(name: str, picture: str = "") -> dict[str, tuple[str, bool]]:
        at = card_layout(window.grid.card_rect(name)).slots[Stage.PREVIEW].center()
        menu = _context_menu(qtbot, window.grid.viewport(), at, window.grid)
        if picture:
            shot(menu, picture)
        ticked = {a.objectName().removeprefix("imageMenu-"): (a.text().split("\t")[0],
                                                              a.isChecked())
                  for a in menu.actions() if a.isCheckable()}
        menu.close()
        return ticked

    assert card_menu(first) == {"approve": ("Approve", False), "reject": ("Reject", False),
                                "star": ("Star", False)}
    # Approved from the card's menu, starred in the library: the menu ticks both.
    at = card_layout(window.grid.card_rect(first)).slots[Stage.PREVIEW].center()
    _trigger(_context_menu(qtbot, window.grid.viewport(), at, window.grid), "approve")
    render_id = model.cell(first).preview.render_id
    window.library.renders.toggle_star([render_id])
    qtbot.waitUntil(lambda: model.cell(first).preview.star
                    and model.cell(first).preview.approval is Approval.APPROVED)
    assert card_menu(first, f"card-menu-ticked-{palette}.png") == {
        "approve": ("Approve", True), "reject": ("Reject", False),
                                "star": ("Unstar", True)}
    assert card_menu(second)["approve"] == ("Approve", False)
    # The same entry again takes the verdict back.
    _trigger(_context_menu(qtbot, window.grid.viewport(), at, window.grid), "approve")
    qtbot.waitUntil(lambda: model.cell(first).preview.approval is Approval.NONE)
    assert window.library.renders.get(render_id).approval is Approval.NONE


@MENU_NOISE
def test_the_library_browser_opens_the_viewer_and_has_a_menu(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, palette: str) -> None:  # noqa: F811
    window = make_window()
    _previews_done(qtbot, window)
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)
    index = browser.model.index(1)
    rect = browser.view.visualRect(index)
    qtbot.mouseClick(browser.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(browser.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    viewer = window.image_windows.viewer
    assert viewer is not None
    _viewer_ready(qtbot, viewer)
    record = browser.model.render_at(1)
    assert viewer.model.record.id == record.id
    assert viewer.position.text() == "2 of 4"
    viewer.close()
    qtbot.waitUntil(lambda: window.image_windows.viewer is None)

    menu = _context_menu(qtbot, browser.view.viewport(), rect.center(), browser)
    shot(menu, f"library-menu-{palette}.png")
    _trigger(menu, "star")
    qtbot.waitUntil(lambda: window.library.renders.get(record.id).star)
    qtbot.waitUntil(lambda: browser.model.render_at(1).star)
    menu = _context_menu(qtbot, browser.view.viewport(), rect.center(), browser)
    ticked = {a.objectName(): (a.text().split("\t")[0], a.isChecked()) for a in menu.actions()}
    assert ticked["imageMenu-star"] == ("Unstar", True)  # what the render has, ticked
    assert ticked["imageMenu-approve"] == ("Approve", False)
    _trigger(menu, "approve")
    qtbot.waitUntil(lambda: window.library.renders.get(record.id).approval
                    is Approval.APPROVED)
    qtbot.waitUntil(lambda: browser.model.render_at(1).approval is Approval.APPROVED)
    menu = _context_menu(qtbot, browser.view.viewport(), rect.center(), browser)
    assert menu.findChild(QAction, "imageMenu-approve").isChecked()
    _trigger(menu, "view")
    viewer = window.image_windows.viewer
    _viewer_ready(qtbot, viewer)
    assert viewer.model.record.id == record.id
    viewer.close()
    browser.close()


def test_the_consistency_grid_opens_the_viewer(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    _previews_done(qtbot, window)
    view = window.tools.open_consistency()
    qtbot.waitUntil(lambda: view.grid.count() == len(window.model.names()))
    item = view.grid.item(2)
    rect = view.grid.visualItemRect(item)
    qtbot.mouseClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    viewer = window.image_windows.viewer
    assert viewer is not None
    _viewer_ready(qtbot, viewer)
    assert viewer.model.current.scene == window.model.names()[2]
    viewer.close()
    view.close()
    qtbot.waitUntil(lambda: window.tools.consistency is None)  # destroyed, its view-model too
    # The scene model outlives the consistency window: a change to a card after it closed
    # reaches nothing of it (it raised "Signal source has been deleted").
    name = window.model.names()[0]
    window.grid.select_name(name)
    window.actions_by_name["approve"].trigger()
    qtbot.waitUntil(lambda: window.model.cell(name).approval is Approval.APPROVED)


def test_help_lists_every_shortcut_and_tooltips_name_them(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, palette: str) -> None:  # noqa: F811
    window = make_window()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    help_window = window.tools.shortcuts
    assert help_window is not None
    rows = help_window.rows()
    native = QKeySequence.SequenceFormat.NativeText
    for spec in ACTIONS:
        if spec.shortcut is None:
            continue
        keys = QKeySequence(spec.shortcut).toString(native)
        if keys:
            assert any(what == spec.text.replace("&", "") and keys in shown
                       for _section, what, shown in rows), spec.name
    sections = {section for section, _w, _k in rows}
    assert {"Window", "Viewer", "Compare"} <= sections
    assert ("Compare", "Swap A and B", "S or X") in rows
    assert ("Viewer", "Next", "Right") in rows
    shot(help_window, f"keyboard-shortcuts-{palette}.png")
    help_window.close()

    # Every toolbar button's tooltip names its shortcut
    for action in window.toolbar.actions():
        button = window.toolbar.widgetForAction(action)
        if isinstance(button, QToolButton) and not action.shortcut().isEmpty():
            assert action.shortcut().toString(native) in button.toolTip(), action.text()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert [a.text() for a in help_menu.actions()] == ["&Keyboard shortcuts"]


def test_viewer_keeps_to_the_image_shown_when_moving_fast(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    _previews_done(qtbot, window)
    settle_images(qtbot, window)
    names = window.model.names()
    viewer = window.image_windows.open_card(names[0], Stage.PREVIEW)
    for _ in range(len(names) + 2):  # past the end: it stays on the last
        viewer.press("next")
    _viewer_ready(qtbot, viewer)
    assert viewer.model.current.scene == names[-1]
    assert viewer.model.record.id == window.model.cell(names[-1]).preview.render_id
    assert not viewer.buttons["next"].isEnabled()
    viewer.close()


def test_use_as_reference_on_an_unsaved_sheet_names_the_librarys_file(  # type: ignore[no-untyped-def]
        make_window, qtbot, dialogs, tmp_path: Path) -> None:
    window = make_window()
    _previews_done(qtbot, window)
    doc, name = window.document, window.model.names()[0]
    assert doc.path is None
    viewer = window.image_windows.open_card(name, Stage.PREVIEW)
    _viewer_ready(qtbot, viewer)
    viewer.press("reference")
    qtbot.waitUntil(lambda: len(doc.sheet.character.references) == 1)
    ref = doc.sheet.character.references[0]
    assert Path(ref.path).is_absolute() and Path(ref.path).is_file()
    viewer.close()
    # Saved, the sheet still names it, and reads back with the same image
    sheet_path = tmp_path / "later.sheet.toml"
    dialogs.save_paths.append(sheet_path)
    window.actions_by_name["save_as"].trigger()
    qtbot.waitUntil(lambda: doc.path == sheet_path)
    saved = load_sheet(sheet_path, doc.catalog)
    assert [r.sha256 for r in saved.character.references] == [ref.sha256]


def test_a_verdict_written_while_the_viewer_reads_the_render_is_shown(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The viewer's read of its render can see the library just before a write; the write's
    announcement arrives while the read is on its way. Before, it was ignored then and the
    viewer kept the old verdict."""
    window = make_window()
    _previews_done(qtbot, window)
    model, renders = window.model, window.library.renders
    name = model.names()[1]
    window.grid.select_name(name)
    qtbot.waitUntil(lambda: window.inspector.record is not None)
    render_id = model.cell(name).preview.render_id
    read, gate = hold_first_read(renders)
    _double_click_slot(qtbot, window, name, Stage.PREVIEW)
    qtbot.waitUntil(read.is_set)
    renders.set_approval([render_id], Approval.APPROVED)
    qtbot.waitUntil(lambda: model.cell(name).approval is Approval.APPROVED)  # announced
    gate.set()
    viewer = window.image_windows.viewer
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.model.record is not None
                    and viewer.model.record.approval is Approval.APPROVED, timeout=10000)
    viewer.close()


def test_the_image_decodes_while_the_viewer_is_built(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch) -> None:
    """Opening the viewer asks for the image before its widgets are built (the decode, on a
    worker, ran after them); a viewer built on an image decoded already shows it."""
    from studio.ui import viewer as viewer_module
    from studio.ui.viewmodels.viewer import ViewerModel

    asked: list[tuple[bool, bool]] = []
    plain = viewer_module.ImageViewer.__init__

    def built(self, model, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append((model.current is not None, model.loading))
        plain(self, model, *args, **kwargs)

    monkeypatch.setattr(viewer_module.ImageViewer, "__init__", built)
    window = make_window()
    _previews_done(qtbot, window)
    name = window.model.names()[0]
    asked.clear()  # (the window may have built one off screen ahead of a first open)
    viewer = window.image_windows.open_card(name, Stage.PREVIEW)
    assert asked == [(True, True)]  # the image was on its way as the widgets were built
    _viewer_ready(qtbot, viewer)
    items = list(viewer.model.items)
    viewer.close()
    model = ViewerModel(window.background, window.library, None)
    model.open(items, 0)
    qtbot.waitUntil(lambda: model.image is not None, timeout=20000)
    late = viewer_module.ImageViewer(model, window.image_windows.image_actions, window)
    assert late.view.has_image()
    late.deleteLater()
