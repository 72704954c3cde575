"""Editing never loses input: renaming a scene (Return or Tab) keeps the Scene panel on it, and
whatever is typed next, in every field of the Scene and Character panels, reaches the sheet.

Every test types into the real widgets with key presses, as a user does; before the fix a
rename blanked the Scene panel ("Select a scene card to edit it.") while the card stayed
selected, and the setting and lighting typed next went nowhere.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from studio.core.presets import PresetKind

KEYS = {"Return": Qt.Key.Key_Return, "Tab": Qt.Key.Key_Tab}


def focus(qtbot, widget: QWidget) -> None:  # type: ignore[no-untyped-def]
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(widget.hasFocus)


def type_into(qtbot, widget: QWidget, text: str) -> None:  # type: ignore[no-untyped-def]
    """Select what the field holds and type ``text`` over it."""
    focus(qtbot, widget)
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widget, text)


@pytest.fixture
def window(make_window, services, qtbot):  # type: ignore[no-untyped-def]
    services.render = False  # editing only: no library, no renders
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    return window


def rename_scene(qtbot, window, old: str, new: str, key: str) -> None:  # type: ignore[no-untyped-def]
    window.grid.select_name(old)
    editor = window.scene_editor
    type_into(qtbot, editor.name_edit, new)
    qtbot.keyClick(editor.name_edit, KEYS[key])
    assert new in window.document.scene_names()
    assert editor.scene_name == new
    assert editor.form_box.isVisible(), "the Scene panel went blank after the rename"
    assert not editor.empty_label.isVisible()
    assert window.grid.current_name() == new


def combo_step(qtbot, combo) -> str:  # type: ignore[no-untyped-def]
    """Pick the next preset with the keyboard; the id picked."""
    focus(qtbot, combo)
    before = combo.currentIndex()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    if combo.currentIndex() == before:  # the last one: go up instead
        qtbot.keyClick(combo, Qt.Key.Key_Up)
    assert combo.currentIndex() != before
    return str(combo.currentData())


SCENE_FIELDS = ("setting", "pattern", "lighting", "lens", "framing", "seed", "notes")


@pytest.mark.parametrize("key", list(KEYS))
@pytest.mark.parametrize("field", SCENE_FIELDS)
def test_rename_a_scene_then_edit_each_field(window, qtbot, key: str, field: str) -> None:  # type: ignore[no-untyped-def]
    old = window.model.names()[1]
    rename_scene(qtbot, window, old, "Bus stop", key)
    editor, doc = window.scene_editor, window.document
    if key == "Tab":  # the focus moved on to the next field, as a user sees it
        assert editor.setting_edit.hasFocus()
    if field in ("setting", "notes"):
        edit = editor.setting_edit if field == "setting" else editor.notes_edit
        type_into(qtbot, edit, "rainy bus stop at night")
        assert getattr(doc.sheet.scene("Bus stop"), field) == "rainy bus stop at night"
        assert edit.toPlainText() == "rainy bus stop at night"
    elif field == "seed":
        focus(qtbot, editor.seed_override)
        qtbot.keyClick(editor.seed_override, Qt.Key.Key_Space)
        assert editor.seed_override.isChecked()
        type_into(qtbot, editor.seed_edit, "1234")
        assert doc.sheet.scene("Bus stop").seed == 1234
        assert editor.seed_edit.text() == "1234"
    else:
        combo = getattr(editor, f"{field}_combo")
        picked = combo_step(qtbot, combo)
        assert getattr(doc.sheet.scene("Bus stop"), field) == picked
    assert editor.scene_name == "Bus stop" and editor.form_box.isVisible()
    assert old not in doc.scene_names()


def test_rename_then_setting_then_lighting_as_the_user_did(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The report: four new scenes, each renamed and given a setting and a lighting."""
    editor, doc = window.scene_editor, window.document
    for n in range(4):
        window.actions_by_name["add_scene"].trigger()
        new = window.grid.current_name()
        rename_scene(qtbot, window, new, f"Shot {n}", "Tab")
        assert editor.setting_edit.hasFocus()  # the Tab put us here
        qtbot.keyClick(editor.setting_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(editor.setting_edit, f"street corner {n}")
        picked = combo_step(qtbot, editor.lighting_combo)
        scene = doc.sheet.scene(f"Shot {n}")
        assert scene is not None and scene.setting == f"street corner {n}"
        assert scene.lighting == picked
    assert [s.setting for s in doc.sheet.scenes[-4:]] == [f"street corner {n}" for n in range(4)]


def test_undoing_a_rename_keeps_the_panel_on_the_scene(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    old = window.model.names()[0]
    rename_scene(qtbot, window, old, "Renamed", "Return")
    window.actions_by_name["undo"].trigger()
    editor = window.scene_editor
    assert editor.scene_name == old and editor.form_box.isVisible()
    assert editor.name_edit.text() == old or editor.name_edit.hasFocus()


def test_a_taken_name_is_refused_and_put_back(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    first, second = window.model.names()[:2]
    window.grid.select_name(second)
    editor = window.scene_editor
    type_into(qtbot, editor.name_edit, first)
    qtbot.keyClick(editor.name_edit, Qt.Key.Key_Return)
    assert window.document.scene_names()[1] == second
    assert editor.name_edit.text() == second and editor.form_box.isVisible()


CHARACTER_LINES = ("age", "presentation", "build", "hair", "skin_tone", "eyes", "features",
                   "outfit")


@pytest.mark.parametrize("key", list(KEYS))
@pytest.mark.parametrize("field", (*CHARACTER_LINES, "anchor", "seed", "negative", "skin",
                                   "quality"))
def test_rename_the_character_then_edit_each_field(window, qtbot, key: str, field: str) -> None:  # type: ignore[no-untyped-def]
    panel, doc = window.character_panel, window.document
    type_into(qtbot, panel.name_edit, "Maya")
    qtbot.keyClick(panel.name_edit, KEYS[key])
    assert doc.sheet.character.name == "Maya"
    if field in CHARACTER_LINES:
        edit = panel.field_edits[field]
        type_into(qtbot, edit, "short silver bob")
        assert getattr(doc.sheet.character.fields, field) == "short silver bob"
        assert edit.text() == "short silver bob"
    elif field == "anchor":
        type_into(qtbot, panel.anchor_edit, "Maya, 41-year-old woman, silver bob")
        assert doc.sheet.character.anchor == "Maya, 41-year-old woman, silver bob"
        assert panel.anchor_edit.toPlainText() == doc.sheet.character.anchor
    elif field == "seed":
        focus(qtbot, panel.lock_button)
        qtbot.keyClick(panel.lock_button, Qt.Key.Key_Space)  # unlock
        type_into(qtbot, panel.seed_edit, "777")
        assert doc.sheet.character.seed == 777 and panel.seed_edit.text() == "777"
    elif field == "negative":
        type_into(qtbot, panel.negative_edit, "cartoon")
        # Typed over it, spaces first: the sheet keeps no negative prompt for spaces alone,
        # and the field keeps them all the same.
        type_into(qtbot, panel.negative_edit, "  blurry, extra fingers")
        assert panel.negative_edit.toPlainText() == "  blurry, extra fingers"
        assert doc.sheet.character.negative == "  blurry, extra fingers"
    else:
        kind = PresetKind.SKIN if field == "skin" else PresetKind.QUALITY
        preset = next(pid for (k, pid) in panel.toggles if k is kind)
        button = panel.toggles[(kind, preset)]
        was = button.isChecked()
        focus(qtbot, button)
        qtbot.keyClick(button, Qt.Key.Key_Space)
        values = doc.sheet.character.skin if field == "skin" else doc.sheet.character.quality
        assert (preset in values) is not was
    assert doc.sheet.character.name == "Maya" and panel.name_edit.text() == "Maya"


def test_a_seed_being_typed_keeps_its_digits(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor = window.scene_editor
    window.grid.select_name(window.model.names()[0])
    focus(qtbot, editor.seed_override)
    qtbot.keyClick(editor.seed_override, Qt.Key.Key_Space)
    type_into(qtbot, editor.seed_edit, "007")
    assert editor.seed_edit.text() == "007"  # not rewritten to "7" under the cursor
    assert window.document.sheet.scene(window.model.names()[0]).seed == 7
