"""Templates in the window: File › New from template makes the sheet `studio new --template`
writes (clean under the prompt checks), Scene › Add from template appends a template's cells
as one undo step, the grid shows them in sections named after their templates, and File › New
starts empty."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio.core.checks import Severity, lint_sheet
from studio.core.templates import load_templates, sheet_from_template
from studio.ui.scene_grid import EMPTY_TEXT
from studio.ui.template_dialog import TemplateDialog
from tests.ui.conftest import settle_images
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)


def open_dialog(window, qtbot, action: str) -> TemplateDialog:  # type: ignore[no-untyped-def]
    window.actions_by_name[action].trigger()
    dialog = window.findChild(TemplateDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_new_from_template_makes_the_sheet_the_command_makes(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, palette) -> None:  # noqa: F811
    window = make_window()
    dialog = open_dialog(window, qtbot, "new_from_template")
    labels = [dialog.list.item(r).text() for r in range(dialog.list.count())]
    assert labels[0] == "Turnaround  ·  5 cells"
    assert "Expressions  ·  8 cells (+4 optional)" in labels
    assert not dialog.ok_button.isEnabled()  # no name yet
    dialog.select("expressions")
    assert dialog.optional.isEnabled()
    qtbot.keyClicks(dialog.name_edit, "Mara")
    qtbot.keyClicks(dialog.anchor_edit, "28-year-old woman, short copper hair, green eyes")
    assert dialog.ok_button.isEnabled()
    shot(dialog, f"new-from-template-{palette}.png")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    sheet = window.document.sheet
    templates = load_templates(window.document.catalog)
    expected = sheet_from_template(templates.require("expressions"), "Mara",
                                   sheet.character.seed,
                                   anchor="28-year-old woman, short copper hair, green eyes")
    assert sheet == expected
    assert sheet.template == "expressions"
    assert window.model.names()[:2] == ["Neutral", "Happy"] and window.model.rowCount() == 8
    assert window.document.path is None and window.windowTitle().startswith("Mara")
    assert not [f for f in lint_sheet(sheet, window.document.catalog)
                if f.severity is Severity.ERROR]
    assert [t for _, t in window.grid.plan().headers] == ["Expressions · 8 scenes"]


def test_add_from_template_appends_in_one_undo_step(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, palette) -> None:  # noqa: F811
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    before = model.names()
    dialog = open_dialog(window, qtbot, "add_from_template")
    assert dialog.name_edit.isHidden()
    dialog.select("turnaround")
    shot(dialog, f"add-from-template-{palette}.png")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    names = model.names()
    assert names[:len(before)] == before
    assert names[len(before):] == ["Front", "Three-quarter front", "Profile",
                                   "Three-quarter back", "Back"]
    assert window.grid.current_name() == "Front"
    titles = [t for _, t in window.grid.plan().headers]
    assert titles == ["Other scenes · 4 scenes", "Turnaround · 5 scenes"]
    window.grid.set_card_size(1)
    window.grid.scrollToTop()
    settle_images(qtbot, window)
    shot(window, f"main-window-added-template-{palette}.png")
    window.actions_by_name["undo"].trigger()
    assert model.names() == before
    assert window.grid.plan().headers == ()


def test_file_new_starts_empty_and_says_how_to_add_scenes(make_window, qtbot, shot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    window.actions_by_name["new"].trigger()
    assert window.model.rowCount() == 0
    assert window.document.sheet.scenes == ()
    assert "Add from template" in EMPTY_TEXT
    shot(window.grid, "grid-empty-sheet.png")
