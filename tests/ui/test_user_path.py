"""The user's path through the real window, against the offline provider and the loopback
ModelsLab fake: a character, four scenes from presets, previews, a one-click final, approval,
a failing scene that says why while the others finish, and a restart that finds it all again."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from studio.core.lifecycle import Approval, JobState
from studio.core.request import Stage
from studio.core.sheet import load_sheet
from studio.ui.scene_delegate import card_layout
from tests.fakes.fixtures import SECRET_KEY, FakeClock
from tests.render.fakes import ScriptedModelsLab
from tests.ui.conftest import close_window, settle_images
from tests.ui.test_window import click_card

SCENES = (
    # name, setting, lighting, lens, framing
    ("Rooftop", "rooftop at dusk, city lights behind", "golden-hour", "canon-ef-85", "portrait"),
    ("Library", "old library aisle, dusty shelves", "overcast-window", "sigma-35", "portrait"),
    ("Harbour", "harbour pier in the rain", "natural-window", "sigma-35", "landscape"),
    ("Market", "street market at noon, crowd", "natural", "iphone-15-pro", "full-body"),
)


def build_character_sheet(window, qtbot, path: Path) -> None:  # type: ignore[no-untyped-def]
    """New sheet → a named character with fields → four scenes with presets → saved."""
    window.actions_by_name["new"].trigger()
    panel = window.character_panel
    panel.name_edit.selectAll()
    qtbot.keyClicks(panel.name_edit, "Mara")
    for key, text in (("age", "28"), ("hair", "short copper hair"), ("eyes", "green"),
                      ("features", "freckles")):
        edit = panel.field_edits[key]
        edit.selectAll()
        qtbot.keyClicks(edit, text)
    assert window.document.sheet.character.anchor.startswith("Mara, 28-year-old woman")
    assert window.model.rowCount() == 0  # File › New starts empty
    editor = window.scene_editor
    for name, setting, lighting, lens, framing in SCENES:
        window.actions_by_name["add_scene"].trigger()
        editor.name_edit.setText(name)
        editor.name_edit.editingFinished.emit()
        editor.setting_edit.setPlainText(setting)
        for combo, value in ((editor.lighting_combo, lighting), (editor.lens_combo, lens),
                             (editor.framing_combo, framing)):
            combo.setCurrentIndex(combo.findData(value))
            combo.activated.emit(combo.currentIndex())
    assert window.model.names() == [s[0] for s in SCENES]
    window.services.dialogs.save_paths.append(path)
    window.actions_by_name["save"].trigger()
    assert path.is_file()


def wait_stage(qtbot, window, stage: Stage, names=None, timeout=60000):  # type: ignore[no-untyped-def]
    model = window.model
    names = names or model.names()

    def finished() -> bool:
        return all(not model.cell(n).slot(stage).active
                   and model.cell(n).slot(stage).state is not None for n in names)

    qtbot.waitUntil(finished, timeout=timeout)


def test_the_artists_path_offline(make_window, qtbot, tmp_path: Path, shot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    wait_stage(qtbot, window, Stage.PREVIEW)  # first start renders the example; let it finish
    sheet_path = tmp_path / "mara.sheet.toml"
    build_character_sheet(window, qtbot, sheet_path)
    assert load_sheet(sheet_path, window.services.catalog).scenes[2].lighting == "natural-window"

    # Preview all: every card reaches done, with the counts in the toolbar
    assert "Previews: free" in window.cost_label.text()
    window.actions_by_name["preview_all"].trigger()
    wait_stage(qtbot, window, Stage.PREVIEW)
    model = window.model
    for name in model.names():
        assert model.cell(name).preview.state is JobState.DONE, name
    qtbot.waitUntil(lambda: window.progress_label.text() == "Previews: 4 of 4 done")

    # Finalize one with one click, then approve it
    click_card(qtbot, window, "Library", "button:finalize")
    wait_stage(qtbot, window, Stage.FINAL, ["Library"])
    cell = model.cell("Library")
    assert cell.final.state is JobState.DONE
    assert cell.final.image is not None and cell.final.image.is_file()
    click_card(qtbot, window, "Library", "button:approve")
    # Written to the library; the card shows it when the library announces it.
    qtbot.waitUntil(lambda: model.cell("Library").approval is Approval.APPROVED)
    final_id = model.cell("Library").final.render_id
    assert window.library.renders.get(final_id).approval.value == "approved"
    assert window.library.renders.get(final_id).parent_id == cell.preview.render_id
    settle_images(qtbot, window)
    shot(window, "main-window-user-path.png")

    # Both in the compare view: side by side with synchronised zoom and pan, and a slider
    window.grid.select_name("Library")
    with qtbot.waitSignal(window.delegate.actionRequested):
        qtbot.mouseDClick(window.grid.viewport(), Qt.MouseButton.LeftButton,
                          pos=card_layout(window.grid.card_rect("Library")).slots[Stage.FINAL]
                          .center())
    viewer = window.image_windows.viewer  # a double-click opens the image in the viewer
    assert viewer is not None and viewer.model.current.scene == "Library"
    viewer.close()
    window.actions_by_name["compare"].trigger()
    compare = window.tools.compare
    assert compare is not None
    qtbot.waitUntil(lambda: compare.left.has_image() and compare.right.has_image())
    compare.left.set_zoom(2.0)
    assert compare.right.zoom == pytest.approx(2.0)
    compare.left.horizontalScrollBar().setValue(compare.left.horizontalScrollBar().value() + 40)
    centres = [v.mapToScene(v.viewport().rect().center()) for v in (compare.left, compare.right)]
    assert abs(centres[0].x() - centres[1].x()) <= 1.5
    assert abs(centres[0].y() - centres[1].y()) <= 1.5
    compare.fit()
    shot(compare, "compare-side-by-side.png")
    compare.set_mode(1)
    compare.slider.split = 0.4
    qtbot.waitUntil(lambda: compare.slider.left is not None and compare.slider.right is not None)
    shot(compare, "compare-slider.png")
    compare.close()

    # The inspector shows exactly what was sent for the final
    window.inspector_dock.raise_()
    qtbot.waitUntil(lambda: window.inspector.record is not None
                    and window.inspector.record.id in (final_id, cell.preview.render_id))
    window.inspector.stage_group.button(1).click()
    qtbot.waitUntil(lambda: window.inspector.record is not None
                    and window.inspector.record.id == final_id)
    assert "Mara" in window.inspector.prompt.toPlainText()
    assert window.inspector.values["Provider"].text() == "offline"
    window.inspector.copy()
    from PySide6.QtGui import QGuiApplication

    assert "Steps: " in QGuiApplication.clipboard().text()
    shot(window, "main-window-inspector.png")

    # The consistency grid holds every final (previews where there is none)
    grid = window.tools.open_consistency()
    assert str(model.cell("Library").final.image) in grid.paths()
    assert len(grid.paths()) == 4
    settle_images(qtbot, window)
    shot(grid, "consistency-grid.png")
    grid.close()

    # Find them in the library by search
    browser = window.tools.open_library()
    assert browser is not None
    browser.search.setText("dusty shelves")
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 2)
    found = {r.stage for r in browser.model.renders()}
    assert found == {Stage.PREVIEW, Stage.FINAL}
    browser.stage.setCurrentIndex(browser.stage.findData(Stage.FINAL))
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 1)
    assert browser.model.render_at(0).id == final_id
    browser.search.clear()
    browser.stage.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() >= 9)
    shot(browser, "library-browser.png")
    browser.close()

    # Restart: the sheet, its previews, the final and the approval are all back
    close_window(qtbot, window)
    again = make_window()
    assert again.document.path == sheet_path.resolve()
    qtbot.waitUntil(lambda: all(again.model.cell(n).preview.state is JobState.DONE
                                for n in again.model.names()))
    restored = again.model.cell("Library")
    assert restored.final.render_id == final_id
    assert restored.approval is Approval.APPROVED
    assert not again.model.is_stale("Library", Stage.FINAL)
    browser = again.tools.open_library()
    browser.search.setText("harbour pier")
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 1)
    browser.close()
    # editing a scene marks its renders out of date
    again.document.update_scene("Library", setting="old library aisle, candle light")
    assert again.model.is_stale("Library", Stage.PREVIEW)


@pytest.fixture
def modelslab(api_key_env) -> ScriptedModelsLab:  # type: ignore[no-untyped-def]
    return api_key_env


@pytest.fixture
def api_key_env(services) -> ScriptedModelsLab:  # type: ignore[no-untyped-def]
    server = ScriptedModelsLab(SECRET_KEY)
    server.start()
    env = dict(services.environ)
    env["STUDIO_MODELSLAB_API_KEY"] = SECRET_KEY
    env["STUDIO_MODELSLAB_BASE_URL"] = server.base_url
    services.environ = env
    services.provider_options = {"clock": FakeClock()}
    yield server
    server.stop()


def test_a_failing_scene_shows_its_reason_and_the_others_finish(  # type: ignore[no-untyped-def]
        make_window, modelslab, qtbot, tmp_path: Path, shot, caplog) -> None:
    modelslab.fail["harbour"] = "NSFW content detected in the prompt"
    window = make_window()
    assert not window.banner.isVisible()  # a key is configured
    sheet_path = tmp_path / "mara.sheet.toml"
    build_character_sheet(window, qtbot, sheet_path)
    window.actions_by_name["preview_all"].trigger()
    wait_stage(qtbot, window, Stage.PREVIEW)
    model = window.model
    harbour = model.cell("Harbour").preview
    assert harbour.state is JobState.FAILED
    assert "Harbour" in harbour.message and "ModelsLab" in harbour.message
    for name in ("Rooftop", "Library", "Market"):
        assert model.cell(name).preview.state is JobState.DONE, name
        assert model.cell(name).preview.provider == "modelslab"
    qtbot.waitUntil(lambda: "1 failed" in window.progress_label.text())
    settle_images(qtbot, window)
    shot(window, "main-window-failed-scene.png")
    # retry after the provider recovers
    del modelslab.fail["harbour"]
    click_card(qtbot, window, "Harbour", "button:retry")
    qtbot.waitUntil(lambda: model.cell("Harbour").preview.state is JobState.DONE)
    # the key is nowhere in the window
    assert SECRET_KEY not in window.windowTitle()
    assert SECRET_KEY not in harbour.message
    assert SECRET_KEY not in caplog.text


def test_cancel_one_scene_while_the_others_go_on(  # type: ignore[no-untyped-def]
        make_window, modelslab, qtbot, tmp_path: Path) -> None:
    window = make_window()
    build_character_sheet(window, qtbot, tmp_path / "mara.sheet.toml")
    modelslab.hold.add("rooftop")
    window.actions_by_name["preview_all"].trigger()
    model = window.model
    qtbot.waitUntil(lambda: model.cell("Rooftop").preview.state is JobState.PROCESSING)
    # The toolbar follows the cards once per burst of changes, a moment later.
    qtbot.waitUntil(lambda: window.actions_by_name["cancel_all"].isEnabled())
    click_card(qtbot, window, "Rooftop", "button:cancel")
    wait_stage(qtbot, window, Stage.PREVIEW)
    assert model.cell("Rooftop").preview.state is JobState.CANCELLED
    for name in ("Library", "Harbour", "Market"):
        assert model.cell(name).preview.state is JobState.DONE


def test_the_cost_is_shown_and_confirmed_before_sending_and_a_budget_cap_refuses(  # type: ignore[no-untyped-def]
        make_window, modelslab, services, dialogs, qtbot, tmp_path: Path) -> None:
    from studio.core.settings import ProviderSettings, Settings

    services.settings = Settings(providers={"modelslab": ProviderSettings(price_per_image=0.25)},
                                 budget_cap=0.6)
    window = make_window()
    build_character_sheet(window, qtbot, tmp_path / "mara.sheet.toml")
    assert "Previews: ≈ 1.00" in window.cost_label.text()
    # four previews cost 1.00, over the 0.60 cap: refused, nothing sent, nothing asked
    window.actions_by_name["preview_all"].trigger()
    qtbot.waitUntil(lambda: "budget cap" in window.messages.text)
    assert "nothing was sent" in window.messages.text
    assert modelslab.submits() == 0
    assert not any(a.startswith("confirm:") for a in dialogs.asked)
    # two fit; the user is asked first, and saying no sends nothing
    window.grid.select_name("Rooftop")
    dialogs.confirms.append(False)
    window.actions_by_name["preview_selected"].trigger()
    qtbot.waitUntil(lambda: any(a.startswith("confirm:") for a in dialogs.asked))
    assert modelslab.submits() == 0
    dialogs.confirms.append(True)
    window.actions_by_name["preview_selected"].trigger()
    qtbot.waitUntil(lambda: window.model.cell("Rooftop").preview.state is JobState.DONE)
    assert modelslab.submits() == 1
    assert window.model.cell("Rooftop").preview.cost in (None, 0.25)
