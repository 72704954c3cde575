"""What users see, in a light and a dark palette: the main window with a card's inspector, the
library browser and Settings, saved under test-artifacts/ for a person to look at (and checked
for what must be on them)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette

from studio.core.lifecycle import Approval
from studio.ui import theme
from tests.ui.conftest import settle_images
from tests.ui.test_settings_ui import FakeKeyStore, open_settings

DARK = {QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1f1f1f", QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#3a3a3a",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Mid: "#555555",
        QPalette.ColorRole.Highlight: "#3d7bd9", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2b2b2b", QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a"}


@pytest.fixture(params=["light", "dark"])
def palette(request, qapp):  # type: ignore[no-untyped-def]
    before = qapp.palette()
    if request.param == "dark":
        dark = QPalette()
        for role, colour in DARK.items():
            dark.setColor(role, QColor(colour))
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                     QPalette.ColorRole.ButtonText):  # as a dark desktop theme greys them
            dark.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
        qapp.setPalette(dark)
    yield request.param
    qapp.setPalette(before)


def test_the_window_the_library_and_settings_in_both_palettes(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, shot, palette: str) -> None:
    services.keys = FakeKeyStore()
    window = make_window()  # first start: the example's previews render offline
    assert theme.is_dark() is (palette == "dark")
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    name = model.names()[1]
    window.grid.select_name(name)
    window.actions_by_name["approve"].trigger()
    window.actions_by_name["star"].trigger()
    window.inspector_dock.raise_()
    def verdict_shown() -> bool:  # in the inspector and on the card the shot shows
        cell = model.cell(name)
        return (window.inspector.record is not None
                and window.inspector.values["Verdict"].text() == "Approved · ★ starred"
                and cell.approval is Approval.APPROVED and cell.star)

    try:  # two library writes and a read: slow on a busy machine
        qtbot.waitUntil(verdict_shown, timeout=30000)
    except qtbot.TimeoutError as exc:
        cell, record = model.cell(name), window.inspector.record
        raise AssertionError(
            f"the inspector shows {window.inspector.values['Verdict'].text()!r} for render "
            f"{record.id if record else None} ({record.approval if record else None}, star "
            f"{record.star if record else None}); the card {cell.preview.render_id}: "
            f"{cell.approval}, star {cell.star}; selected {window.selection.names}") from exc
    settle_images(qtbot, window)
    shot(window, f"main-window-inspector-{palette}.png")

    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)
    browser.select_render(model.cell(name).preview.render_id)
    qtbot.waitUntil(lambda: browser.model.thumbnails_pending == 0)
    assert browser.status.text() == "4 renders found"
    shot(browser, f"library-browser-{palette}.png")
    browser.close()

    dialog = open_settings(window, qtbot)
    shot(dialog, f"settings-{palette}.png")
    dialog.reject()
