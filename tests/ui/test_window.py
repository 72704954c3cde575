"""The window as an artist meets it: first start, the character panel, the scene grid, files,
undo/redo and the state restored on the next start."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt

from studio.core.lifecycle import Approval, JobState
from studio.core.presets import PresetKind
from studio.core.request import Stage
from studio.core.sheet import load_sheet
from studio.ui.scene_delegate import card_layout
from studio.ui.viewmodels.cells import Slot
from tests.ui.conftest import close_window, settle_images, window_with_a_final_job


def click_card(qtbot, window, name: str, part: str) -> None:  # type: ignore[no-untyped-def]
    """Click a named part of a card ("button:finalize", "chip:lighting", "star")."""
    grid = window.grid
    rect = grid.card_rect(name)
    lay = card_layout(rect)
    kind, _, what = part.partition(":")
    target = {"button": lambda: lay.buttons[what], "chip": lambda: lay.chips[what],
              "star": lambda: lay.star, "slot": lambda: lay.slots[Stage(what)]}[kind]()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=target.center())


def test_first_start_opens_the_example_with_the_no_key_banner(make_window, shot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    assert window.document.sheet.character.name == "Emma"
    assert window.model.rowCount() == 4
    assert window.document.path is None  # saving asks where; the shipped file stays untouched
    assert window.banner.isVisible()
    assert "Add a key" in window.banner.button.text()
    assert "offline placeholder" in window.banner.text
    assert window.windowTitle().startswith("Emma — ")
    shot(window, "main-window-first-start.png")


def test_typing_in_the_anchor_fields_composes_the_anchor_and_runs_the_checks(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    window = make_window()
    panel = window.character_panel
    window.session.new_sheet()
    name = panel.name_edit
    name.selectAll()
    qtbot.keyClicks(name, "Maya")
    assert window.document.sheet.character.name == "Maya"
    qtbot.keyClicks(panel.field_edits["hair"], "short silver bob")
    assert window.document.sheet.character.anchor.startswith("Maya, 30-year-old woman")
    assert "short silver bob hair" in panel.anchor_edit.toPlainText()
    # a hand edit that drops the name: a finding with a one-click fix, live
    panel.anchor_edit.setPlainText("30-year-old woman, silver hair")
    qtbot.waitUntil(lambda: not panel.checks.pending)
    ids = [f.id for f in panel.checks.findings]
    assert "name-missing" in ids
    fix = next(b for b in panel.checks.fix_buttons if b.objectName() == "fix-name-missing")
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert window.document.sheet.character.anchor.startswith("Maya, ")
    qtbot.waitUntil(lambda: "name-missing" not in [f.id for f in panel.checks.findings])


def test_seed_lock_and_reroll(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    panel = window.character_panel
    assert panel.lock_button.isChecked()
    assert not panel.reroll_button.isEnabled()
    assert panel.seed_edit.isReadOnly()
    qtbot.mouseClick(panel.lock_button, Qt.MouseButton.LeftButton)
    assert panel.reroll_button.isEnabled()
    before = window.document.sheet.character.seed
    qtbot.mouseClick(panel.reroll_button, Qt.MouseButton.LeftButton)
    assert window.document.sheet.character.seed != before
    assert panel.seed_edit.text() == str(window.document.sheet.character.seed)
    window.actions_by_name["undo"].trigger()
    assert window.document.sheet.character.seed == before


def test_negative_presets_and_skin_toggles(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    panel = window.character_panel
    labels = [a.text() for a in panel.negative_menu.actions() if a.text()]
    assert any("Recommended" in t for t in labels)
    extended = next(a for a in panel.negative_menu.actions() if a.text().startswith("Extended"))
    extended.trigger()
    assert window.document.sheet.character.negative
    assert panel.negative_edit.toPlainText() == window.document.sheet.character.negative
    toggle = panel.toggles[(next(iter(panel.toggles))[0], "freckles-variation")]
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert "freckles-variation" in window.document.sheet.character.skin


def test_scene_grid_add_duplicate_reorder_delete_and_undo(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    names = window.model.names()
    window.actions_by_name["add_scene"].trigger()
    assert window.model.rowCount() == 5
    added = window.grid.current_name()
    assert added == window.model.names()[-1]
    window.grid.select_name(names[0])
    window.actions_by_name["duplicate_scene"].trigger()
    assert window.model.names()[1] == f"{names[0]} (copy)"
    # drag-reorder goes through moveRows
    from PySide6.QtCore import QModelIndex

    assert window.model.moveRows(QModelIndex(), 0, 1, QModelIndex(), window.model.rowCount())
    assert window.model.names()[-1] == names[0]
    assert window.document.scene_names() == window.model.names()
    window.grid.select_name(names[0])
    window.actions_by_name["delete_scene"].trigger()
    assert names[0] not in window.model.names()
    undo = window.actions_by_name["undo"]
    for _ in range(4):
        undo.trigger()
    assert window.model.names() == names
    window.actions_by_name["redo"].trigger()
    assert window.model.rowCount() == 5


def test_card_chips_pick_presets_by_label(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    name = window.model.names()[0]
    menu = window.grid.chip_menu(name, "lighting")
    assert menu is not None
    golden = next(a for a in menu.actions() if a.data() == "golden-hour")
    assert "Effect:" in golden.toolTip()
    golden.trigger()
    assert window.document.sheet.scene(name).lighting == "golden-hour"
    assert window.scene_editor.lighting_combo.value() == "golden-hour"
    menu.deleteLater()


def test_scene_editor_edits_the_selected_scene(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    name = window.model.names()[1]
    window.grid.select_name(name)
    editor = window.scene_editor
    assert editor.scene_name == name
    editor.setting_edit.setPlainText("rainy bus stop at night")
    assert window.document.sheet.scene(name).setting == "rainy bus stop at night"
    assert "rainy bus stop at night" in editor.prompt_view.toPlainText()
    editor.name_edit.setText("Bus stop")
    editor.name_edit.editingFinished.emit()
    assert "Bus stop" in window.model.names()
    assert window.grid.current_name() == "Bus stop"


def test_card_buttons_reach_the_window(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()  # first start: the example's previews render offline
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    name = model.names()[0]
    with qtbot.waitSignal(window.delegate.actionRequested) as sig:
        click_card(qtbot, window, name, "button:approve")
    assert sig.args == [name, "approve"]
    qtbot.waitUntil(lambda: model.cell(name).approval is Approval.APPROVED)
    click_card(qtbot, window, name, "star")
    qtbot.waitUntil(lambda: model.cell(name).star)
    render_id = model.cell(name).preview.render_id
    assert window.library.renders.get(render_id).approval is Approval.APPROVED


def test_a_changed_scene_marks_its_render_out_of_date(make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    name = window.model.names()[0]
    made_with = window.model.fingerprint(name, Stage.PREVIEW)
    window.model.set_slot(name, Stage.PREVIEW, Slot(JobState.DONE, made_with=made_with))
    assert not window.model.is_stale(name, Stage.PREVIEW)
    window.document.update_scene(name, setting="on a rooftop at dusk")
    assert window.model.stale_reasons(name, Stage.PREVIEW) == ("setting",)
    window.document.toggle_preset(PresetKind.SKIN, "catchlights", True)
    assert window.model.stale_reasons(name, Stage.PREVIEW) == ("skin", "setting")


def test_save_open_recent_and_restart(make_window, dialogs, tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    target = tmp_path / "emma.sheet.toml"
    dialogs.save_paths.append(target)
    window.document.set_name("Emmy")
    assert window.isWindowModified()
    window.actions_by_name["save"].trigger()
    assert target.is_file()
    assert not window.isWindowModified()
    assert load_sheet(target, window.services.catalog).character.name == "Emmy"
    recent = [a.data() for a in window.recent_menu.actions() if a.data()]
    assert recent == [str(target.resolve())]
    window.resize(1200, 820)
    close_window(qtbot, window)
    again = make_window()
    assert again.document.path == target.resolve()
    assert again.document.sheet.character.name == "Emmy"
    assert again.state.geometry() is not None


def test_closing_with_changes_asks_and_can_cancel(make_window, dialogs, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    window.document.set_name("Changed")
    dialogs.save_answers.append("cancel")
    window.close()
    assert window.isVisible()
    assert dialogs.asked[-1].startswith("changes:")
    dialogs.save_answers.append("discard")
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible())


def test_a_broken_sheet_is_reported_in_a_sentence(make_window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    bad = tmp_path / "bad.sheet.toml"
    bad.write_text("format = 1\n[character]\nname = 'A'\n", encoding="utf-8")
    assert not window.session.open_path(bad)
    assert "cannot be opened" in window.messages.text
    assert "seed" in window.messages.text
    assert window.document.sheet.character.name == "Emma"


def test_shortcuts_exist_for_the_main_actions(make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    for name in ("open", "save", "undo", "redo", "preview_all", "finalize_selected",
                 "cancel_all", "add_scene", "duplicate_scene", "delete_scene"):
        assert not window.actions_by_name[name].shortcut().isEmpty(), name


def test_a_hundred_scenes_render_without_a_widget_per_card(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWidget

    from studio.core.sheet import Scene

    window = make_window()
    widgets_before = len(window.grid.findChildren(QWidget))
    scenes = tuple(Scene(name=f"Scene {i}", setting="street", lighting="golden-hour")
                   for i in range(100))
    window.session.load(window.document.sheet.with_scenes(scenes), None)
    assert window.model.rowCount() == 100
    window.grid.scrollToBottom()
    qtbot.waitUntil(lambda: window.grid.indexAt(QPoint(10, 10)).row() > 50)
    assert len(window.grid.findChildren(QWidget)) == widgets_before


def test_first_start_renders_the_example_offline_at_once(make_window, qtbot, shot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.state is JobState.DONE
                                for n in model.names()), timeout=30000)
    for name in model.names():
        slot = model.cell(name).preview
        assert slot.provider == "offline"
        assert slot.image is not None and slot.image.is_file()
    settle_images(qtbot, window)
    qtbot.waitUntil(lambda: "4 done" in window.progress_label.text())
    assert "free" in window.cost_label.text()
    shot(window, "main-window-offline-previews.png")


def test_the_anchor_history_lists_versions_and_restores_one(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    model, panel = window.model, window.character_panel

    def all_previews_done() -> bool:
        return all(model.cell(n).preview.state is JobState.DONE for n in model.names())

    qtbot.waitUntil(all_previews_done, timeout=30000)
    qtbot.waitUntil(lambda: panel.history_combo.count() == 1)
    first = window.document.sheet.character.anchor
    panel.anchor_edit.setPlainText(first + ", small scar over the left eyebrow")
    for name in model.names():  # the anchor changed: every cell is out of date
        assert model.is_stale(name, Stage.PREVIEW)
    window.actions_by_name["preview_all"].trigger()
    qtbot.waitUntil(lambda: all(not model.is_stale(n, Stage.PREVIEW) for n in model.names())
                    and all_previews_done(), timeout=30000)
    qtbot.waitUntil(lambda: panel.history_combo.count() == 2)
    assert "(current)" in panel.history_combo.itemText(0)
    panel.history_combo.setCurrentIndex(1)
    # The history is read again (a batch adds a version): the version picked stays picked.
    with qtbot.waitSignal(window.rendering.sheet_library.historyChanged):
        window.rendering.sheet_library.load_history()
    assert panel.history_combo.currentIndex() == 1
    panel.history_restore.click()
    assert window.document.sheet.character.anchor == first


def test_a_dark_system_palette_gives_a_dark_window(make_window, qtbot, qapp, shot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor, QPalette

    from studio.ui import theme

    before = qapp.palette()
    dark = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#2b2b2b"),
                         (QPalette.ColorRole.WindowText, "#e6e6e6"),
                         (QPalette.ColorRole.Base, "#1f1f1f"),
                         (QPalette.ColorRole.Text, "#e6e6e6"),
                         (QPalette.ColorRole.Button, "#3a3a3a"),
                         (QPalette.ColorRole.ButtonText, "#e6e6e6"),
                         (QPalette.ColorRole.Mid, "#555555"),
                         (QPalette.ColorRole.Highlight, "#3d7bd9")):
        dark.setColor(role, QColor(colour))
    qapp.setPalette(dark)
    try:
        window = make_window()
        assert theme.is_dark()
        model = window.model
        qtbot.waitUntil(lambda: all(model.cell(n).preview.state is JobState.DONE
                                    for n in model.names()), timeout=30000)
        settle_images(qtbot, window)
        image = window.grid.viewport().grab().toImage()
        assert image.pixelColor(image.width() - 5, image.height() - 5).lightness() < 80
        shot(window, "main-window-dark.png")
    finally:
        qapp.setPalette(before)


def test_renders_of_an_unsaved_sheet_follow_it_when_saved(make_window, dialogs,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path, qtbot) -> None:
    window = make_window()  # first start: the unsaved example renders offline
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.state is JobState.DONE
                                for n in model.names()), timeout=30000)
    rendered = {n: model.cell(n).preview.render_id for n in model.names()}
    target = tmp_path / "my-emma.sheet.toml"
    dialogs.save_paths.append(target)
    window.actions_by_name["save"].trigger()
    assert target.is_file()
    qtbot.waitUntil(lambda: window.library.sheets.for_file(str(target.resolve())) is not None,
                    timeout=10000)
    close_window(qtbot, window)
    again = make_window()
    assert again.document.path == target.resolve()
    qtbot.waitUntil(lambda: all(again.model.cell(n).preview.state is JobState.DONE
                                for n in again.model.names()), timeout=10000)
    assert {n: again.model.cell(n).preview.render_id for n in again.model.names()} == rendered


def test_file_export_opens_the_dialog_on_the_sheets_renders(make_window, qtbot, shot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.state is JobState.DONE
                                for n in model.names()), timeout=30000)
    assert window.actions_by_name["export"].shortcut().toString() == "Ctrl+E"
    dialog = window.tools.export_dialog()
    with qtbot.waitSignal(dialog.preview_ready, timeout=30000):
        pass
    assert dialog.status.text() == "4 of 4 scenes have a render to export."
    shot(dialog, "export-dialog-from-window.png")
    dialog.done(0)


def test_a_jobs_steps_between_its_first_word_and_its_end_reach_the_card_once(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch) -> None:
    """A job's sending, accepted and processing steps follow one another within milliseconds:
    each reached the card at once and drew it again. Its first word and its end still reach the
    card in the same turn of the window's loop; the steps between reach it together."""
    from PySide6.QtWidgets import QApplication

    from studio.render.events import (
        JobCancelled,
        JobProcessing,
        JobQueued,
        JobSending,
        JobSubmitted,
    )
    from studio.ui.viewmodels import renderer as rendering

    monkeypatch.setattr(rendering, "STEPS_SHOWN_EVERY_MS", 1000)  # a moment, on a busy machine
    window, name, ref = window_with_a_final_job(make_window, qtbot, 1, 9_998)
    model = window.model
    states: list[JobState | None] = []
    model.cellsChanged.connect(lambda *_: states.append(model.cell(name).final.state))
    renderer = window.renderer
    renderer._on_event(JobQueued(ref))
    QApplication.processEvents()  # one turn
    assert states == [JobState.QUEUED]
    for event in (JobSending(ref), JobSubmitted(ref, "remote-1"),
                  JobProcessing(ref, eta=None, position=None)):
        renderer._on_event(event)
        QApplication.processEvents()
    assert states == [JobState.QUEUED]  # the steps wait a moment
    qtbot.waitUntil(lambda: len(states) == 2)
    assert states == [JobState.QUEUED, JobState.PROCESSING]  # and arrive as one
    renderer._on_event(JobSending(ref))
    renderer._on_event(JobCancelled(ref, False, "Cancelled."))
    QApplication.processEvents()  # the end does not wait behind the steps
    assert states == [JobState.QUEUED, JobState.PROCESSING, JobState.CANCELLED]
    close_window(qtbot, window)


def test_an_uncertain_job_shows_its_sentence_on_the_card(make_window, qtbot, shot) -> None:  # type: ignore[no-untyped-def]
    """The queue's "sending" and "uncertain" events reach the card: an uncertain job says why
    in the slot and its tooltip, and is not offered for a plain retry (it may be billed)."""
    from studio.render.events import JobQueued, JobSending, JobUncertain
    from studio.ui.scene_delegate import card_actions

    window, name, ref = window_with_a_final_job(make_window, qtbot, 2, 9_999)
    model = window.model
    sentence = (f"The final of \u201c{name}\u201d may have been accepted (and billed) by "
                "ModelsLab: the connection dropped before it answered. It is not sent again "
                "on its own; check your ModelsLab dashboard.")
    listeners = (window.renderer._on_event, window.attention._on_event)

    def tell(event: object) -> None:  # as the render queue tells its listeners
        for listener in listeners:
            listener(event)

    tell(JobQueued(ref))
    tell(JobSending(ref))
    qtbot.waitUntil(lambda: model.cell(name).final.state is JobState.SENDING)
    assert model.cell(name).final.describe() == "Sending"
    tell(JobUncertain(ref, sentence))
    qtbot.waitUntil(lambda: model.cell(name).final.state is JobState.UNCERTAIN)
    slot = model.cell(name).final
    assert slot.state is JobState.UNCERTAIN and slot.message == sentence
    assert slot.describe() == "May have been billed"
    assert sentence in model.slot_tip(name, Stage.FINAL)
    assert card_actions(model.cell(name))["retry"] == (False, False)
    qtbot.waitUntil(lambda: "1 uncertain" in window.progress_label.text())
    assert window.attention.uncertain == {(name, Stage.FINAL): ref.job_id}  # its buttons
    settle_images(qtbot, window)
    shot(window, "main-window-uncertain-card.png")
