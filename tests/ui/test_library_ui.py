"""The library browser's filters, verdicts and trash, and images from other tools dropped on the
window (their A1111 settings become a scene)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.library import Approval
from tests.ui.conftest import hold_first_read


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


def test_the_browser_is_busy_until_its_projects_are_listed(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch) -> None:
    """It said it was settled once its renders were read, with the projects list still empty
    (a test that counted the projects failed on a busy machine)."""
    import threading

    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.state is JobState.DONE
                                for n in model.names()), timeout=30000)
    release = threading.Event()
    listing = window.library.projects.all

    def held() -> list[object]:
        release.wait(30)
        return listing()

    monkeypatch.setattr(window.library.projects, "all", held)
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 4)
    assert browser.busy and browser.projects.count() == 1  # "All projects" alone, for now
    release.set()
    qtbot.waitUntil(lambda: not browser.busy)
    assert browser.projects.count() == 2  # all projects, and the example's


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
    buttons = browser.buttons
    assert not buttons["approve"].isChecked() and buttons["star"].text() == "Star"

    def shows(approval: Approval, approve: str, reject: str) -> bool:
        return (window.library.renders.get(target.id).approval is approval
                and (buttons["approve"].text(), buttons["reject"].text()) == (approve, reject)
                and buttons["approve"].isChecked() is (approval is Approval.APPROVED)
                and buttons["reject"].isChecked() is (approval is Approval.REJECTED))

    buttons["approve"].click()
    qtbot.waitUntil(lambda: shows(Approval.APPROVED, "✓ Approved", "Reject"))
    buttons["approve"].click()  # pressed again: taken back, as on the cards
    qtbot.waitUntil(lambda: shows(Approval.NONE, "Approve", "Reject"))
    buttons["reject"].click()
    buttons["approve"].click()  # at once: the edits apply in the order made
    qtbot.waitUntil(lambda: shows(Approval.APPROVED, "✓ Approved", "Reject"))
    buttons["star"].click()
    qtbot.waitUntil(lambda: window.library.renders.get(target.id).star)
    qtbot.waitUntil(lambda: buttons["star"].text() == "Unstar")
    buttons["star"].click()
    qtbot.waitUntil(lambda: not window.library.renders.get(target.id).star
                    and buttons["star"].text() == "Star")
    buttons["star"].click()
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


@pytest.mark.parametrize("names", [("emma",), ("a", "b", "a")],
                         ids=["saved", "saved-away-and-back"])
def test_saving_while_the_first_batch_is_bound_keeps_its_renders_on_the_cards(  # type: ignore[no-untyped-def]
        make_window, qtbot, tmp_path: Path, monkeypatch, names: tuple[str, ...]) -> None:
    """Saved after the batch took the sheet's unsaved file and before it made its record
    there, the save's move found nothing to move: the renders were kept under the unsaved
    file and the cards of the saved sheet went blank. Saved as A, as B, then as A again
    meanwhile: the record ends with A."""
    release = _hold_the_first_binding(monkeypatch)
    window = make_window()  # first start: the example's previews are bound, and held there
    qtbot.waitUntil(release.held.is_set)
    for i, name in enumerate(names):
        _save_as(qtbot, window, tmp_path / f"{name}.sheet.toml", "save_as" if i else "save")
    release.set()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.state is JobState.DONE
                                for n in model.names()), timeout=30000)
    target = tmp_path / f"{names[-1]}.sheet.toml"
    record = window.library.sheets.for_file(str(target.resolve()))
    assert record is not None
    assert len(window.library.renders.cells(record.id)) == len(model.names())
    for other in set(names) - {names[-1]}:
        assert window.library.sheets.for_file(str((tmp_path / f"{other}.sheet.toml")
                                                  .resolve())) is None
    assert all(model.cell(n).preview.state is JobState.DONE for n in model.names())


class _Release:
    def __init__(self) -> None:
        import threading

        self.held, self._go = threading.Event(), threading.Event()

    def wait(self) -> None:
        self.held.set()
        self._go.wait(30)

    def set(self) -> None:
        self._go.set()


def _hold_the_first_binding(monkeypatch) -> _Release:  # type: ignore[no-untyped-def]
    """Every binding of a sheet in the library waits until released (a worker's work)."""
    from studio.ui.viewmodels import sheet_library

    release = _Release()
    bind = sheet_library.bind_sheet

    def held_bind(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait()
        return bind(*args, **kwargs)

    monkeypatch.setattr(sheet_library, "bind_sheet", held_bind)
    return release


def _save_as(qtbot, window, target: Path, action: str = "save") -> None:  # type: ignore[no-untyped-def]
    window.services.dialogs.save_paths.append(target)
    window.actions_by_name[action].trigger()
    sheets = window.rendering.sheet_library
    qtbot.waitUntil(lambda: window.document.path == target and not sheets.loading)


def _previews_done(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)


def _row(browser, render_id: int):  # type: ignore[no-untyped-def]
    return next((r for r in browser.model.renders() if r.id == render_id), None)


def test_a_verdict_star_and_trash_in_the_library_browser_reach_the_card(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    """Before, the browser's verdict left the card unapproved, unstarred and still showing a
    render that was in the trash."""
    window = make_window()  # first start: the example's four previews render offline
    _previews_done(qtbot, window)
    model, inspector = window.model, window.inspector
    name = model.names()[0]
    render_id = model.cell(name).preview.render_id
    window.grid.select_name(name)
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)

    browser.select_render(render_id)
    browser.buttons["approve"].click()
    qtbot.waitUntil(lambda: model.cell(name).approval is Approval.APPROVED)
    browser.buttons["star"].click()
    qtbot.waitUntil(lambda: model.cell(name).star)
    # the inspector shows the same verdict, and the consistency grid marks the tile
    qtbot.waitUntil(lambda: inspector.values["Verdict"].text() == "Approved · ★ starred")
    grid = window.tools.open_consistency()
    assert f"★ ✓ {name} (preview)" in grid.labels()
    # the browser's own row shows it too (it follows the same announcement)
    qtbot.waitUntil(lambda: _row(browser, render_id).approval is Approval.APPROVED
                    and _row(browser, render_id).star)

    browser.buttons["trash"].click()
    qtbot.waitUntil(lambda: model.cell(name).preview.render_id is None)
    cell = model.cell(name)
    assert cell.preview.state is None and cell.preview.image is None
    assert cell.approval is Approval.NONE and not cell.star
    qtbot.waitUntil(lambda: inspector.record is None)
    qtbot.waitUntil(lambda: len(grid.paths()) == 3)
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 3)

    browser.trash.setChecked(True)
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 1)
    browser.select_render(render_id)
    browser.buttons["restore"].click()
    qtbot.waitUntil(lambda: model.cell(name).preview.render_id == render_id)
    assert model.cell(name).approval is Approval.APPROVED and model.cell(name).star
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 0)
    qtbot.waitUntil(lambda: len(grid.paths()) == 4)


def test_a_verdict_and_star_on_the_card_and_a_trash_in_the_inspector_reach_the_browser(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    window = make_window()
    _previews_done(qtbot, window)
    model = window.model
    name = model.names()[1]
    render_id = model.cell(name).preview.render_id
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)

    window.grid.select_name(name)
    window.actions_by_name["approve"].trigger()
    qtbot.waitUntil(lambda: _row(browser, render_id).approval is Approval.APPROVED)
    window.actions_by_name["star"].trigger()
    qtbot.waitUntil(lambda: _row(browser, render_id).star)
    qtbot.waitUntil(lambda: model.cell(name).approval is Approval.APPROVED
                    and model.cell(name).star)
    # a filter on approved renders shows it; a reject taken back on the card drops it
    browser.approval.setCurrentIndex(browser.approval.findData(Approval.APPROVED))
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 1)
    window.actions_by_name["reject"].trigger()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 0)
    assert window.library.renders.get(render_id).approval is Approval.REJECTED
    browser.approval.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)

    window.inspector_dock.raise_()
    qtbot.waitUntil(lambda: window.inspector.record is not None
                    and window.inspector.record.id == render_id)
    window.inspector.buttons["trash"].click()
    qtbot.waitUntil(lambda: not browser.busy and _row(browser, render_id) is None)
    assert browser.model.rowCount() == 3
    qtbot.waitUntil(lambda: model.cell(name).preview.render_id is None)
    assert window.library.renders.get(render_id).trashed is not None


def test_a_verdict_written_while_the_inspector_reads_the_render_is_shown(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    """The inspector's read of a render can see the library just before a write; the write's
    announcement then arrives while no record is shown yet. Before, that announcement was
    ignored and the inspector kept the old verdict (under load, in the screenshot test)."""
    from studio.core.lifecycle import Approval

    window = make_window()
    _previews_done(qtbot, window)
    model, renders = window.model, window.library.renders
    name = model.names()[2]
    render_id = model.cell(name).preview.render_id
    read, gate = hold_first_read(renders)
    window.grid.select_name(name)
    qtbot.waitUntil(read.is_set)
    renders.set_approval([render_id], Approval.APPROVED)
    qtbot.waitUntil(lambda: model.cell(name).approval is Approval.APPROVED)  # announced
    gate.set()
    qtbot.waitUntil(lambda: window.inspector.record is not None
                    and window.inspector.record.approval is Approval.APPROVED, timeout=10000)
    assert window.inspector.values["Verdict"].text().startswith("Approved")


def test_a_verdict_pressed_as_the_window_closes_is_kept(make_window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The window closes its library only once the edits already pressed are written: one
    still on its way was lost with the library closing under it."""
    import threading

    from tests.ui.conftest import close_window

    window = make_window()
    qtbot.waitUntil(lambda: all(window.model.cell(n).preview.state is JobState.DONE
                                for n in window.model.names()), timeout=30000)
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)
    target = browser.model.render_at(0)
    browser.select_render(target.id)
    library = window.library
    renders = library.renders
    plain, writing = renders.toggle_approval, threading.Event()

    def slow_toggle(ids, approval):  # type: ignore[no-untyped-def]
        writing.set()
        threading.Event().wait(0.5)  # a slow disk
        return plain(ids, approval)

    monkeypatch.setattr(renders, "toggle_approval", slow_toggle)
    browser.buttons["approve"].click()
    browser.buttons["star"].click()  # queued behind it
    assert writing.wait(10)
    close_window(qtbot, window)
    monkeypatch.undo()
    from studio.library import Library

    with Library.open(library.data_dir) as reopened:
        record = reopened.renders.get(target.id)
    assert (record.approval, record.star) == (Approval.APPROVED, True)
