"""The library browser's filters, verdicts and trash, and images from other tools dropped on the
window (their A1111 settings become a scene)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.library import Approval


def a1111_png(path: Path) -> Path:
    info = PngInfo()
    info.add_text("parameters", "portrait of a knight in silver armour, castle gate at dawn\n"
                  "Negative prompt: blurry\n"
                  "Steps: 28, Sampler: Euler a, CFG scale: 7, Seed: 123456, Size: 512x768, "
                  "Model: some-sdxl")
    buf = io.BytesIO()
    Image.new("RGB", (512, 768), (90, 120, 160)).save(buf, "PNG", pnginfo=info)
    path.write_bytes(buf.getvalue())
    return path


def test_dropping_a_png_from_another_tool_imports_it_and_offers_a_scene(  # type: ignore[no-untyped-def]
        make_window, qtbot, tmp_path: Path) -> None:
    window = make_window()
    png = a1111_png(tmp_path / "knight.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(png))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.imported, timeout=20000) as sig:
        window.dropEvent(event)
    record = sig.args[0][0]
    assert record.source == "import"
    assert record.seed == 123456
    assert "knight" in window.messages.text
    assert window.messages.button.text() == "Add as a scene"
    window.messages.button.click()
    scene = window.document.sheet.scene("knight")
    assert scene is not None
    assert scene.seed == 123456
    assert scene.framing == "portrait-small"
    assert "castle gate" in scene.setting


def test_library_filters_verdicts_and_trash(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.state is JobState.DONE
                                for n in model.names()), timeout=30000)
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)
    assert browser.projects.count() == 2  # all projects, and the example's
    browser.provider.setCurrentIndex(browser.provider.findData("modelslab"))
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 0)
    browser.provider.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)
    target = browser.model.render_at(0)
    browser.select_render(target.id)
    browser.buttons["approve"].click()
    qtbot.waitUntil(lambda: window.library.renders.get(target.id).approval is Approval.APPROVED)
    browser.buttons["star"].click()
    qtbot.waitUntil(lambda: window.library.renders.get(target.id).star)
    browser.starred.setChecked(True)
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 1)
    browser.select_render(target.id)
    browser.buttons["trash"].click()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 0)
    browser.starred.setChecked(False)
    browser.trash.setChecked(True)
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 1)
    browser.select_render(target.id)
    browser.buttons["restore"].click()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 0)
    assert window.library.renders.get(target.id).trashed is None
    assert target.stage is Stage.PREVIEW


def test_opening_a_sheet_from_the_library(make_window, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    model = window.model
    target = tmp_path / "emma.sheet.toml"
    window.services.dialogs.save_paths.append(target)
    window.actions_by_name["save"].trigger()
    qtbot.waitUntil(lambda: all(not model.cell(n).preview.active
                                and model.cell(n).preview.state is not None
                                for n in model.names()), timeout=30000)
    window.actions_by_name["new"].trigger()
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() >= 4)
    record = browser.model.render_at(0)
    browser.select_render(record.id)
    assert browser.buttons["open"].isEnabled()
    with qtbot.waitSignal(window.session.opened, timeout=10000):
        browser.buttons["open"].click()
    assert window.document.sheet.character.name == "Emma"
