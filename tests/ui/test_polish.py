"""What an artist notices: the no-key notice closed for good, exports suggested next to the
sheet with its name, readable prompt colours in the dark palette, chips and names that say in
a tooltip what they cut."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from studio.ui.scene_editor import PART_COLOURS, part_colour
from tests.ui.conftest import close_window
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)


def test_the_no_key_notice_can_be_closed_for_good(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    assert window.banner.isVisible()
    assert "Don't show this again" in window.banner.close_button.toolTip()
    qtbot.mouseClick(window.banner.close_button, Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible()
    window.refresh_banner()  # e.g. after Settings were saved without a key
    assert not window.banner.isVisible()
    close_window(qtbot, window)
    again = make_window()
    assert not again.banner.isVisible()


def test_exports_are_suggested_next_to_the_sheet_with_its_name(  # type: ignore[no-untyped-def]
        make_window, dialogs, tmp_path: Path, qtbot) -> None:
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    target = tmp_path / "sheets" / "mara-coffee.sheet.toml"
    target.parent.mkdir()
    dialogs.save_paths.append(target)
    window.actions_by_name["save"].trigger()
    qtbot.waitUntil(lambda: window.library.sheets.for_file(str(target.resolve())) is not None,
                    timeout=10000)
    dialog = window.tools.export_dialog()
    assert dialog is not None
    with qtbot.waitSignal(dialog.preview_ready, timeout=30000):
        pass
    suggested = Path(dialog.path_edit.text())
    assert suggested.parent == target.parent.resolve()
    assert suggested.name.startswith("mara-coffee.")
    dialog.done(0)


def test_prompt_colours_are_readable_on_a_dark_palette(qapp, palette) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = qapp.palette().color(QPalette.ColorRole.Base)
    for role in PART_COLOURS:
        colour = QColor(part_colour(role))
        contrast = abs(colour.lightnessF() - base.lightnessF())
        assert contrast > 0.3, (palette, role, colour.name())


def test_cut_fields_and_card_lines_say_their_whole_text(make_window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from studio.core.request import Stage
    from studio.ui.scene_delegate import card_layout
    from studio.ui.widgets import cut_text

    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    hair = window.character_panel.field_edits["hair"]
    hair.selectAll()
    long = "dark brown wavy hair past the shoulders, a silver streak at the left temple"
    qtbot.keyClicks(hair, long)
    assert cut_text(hair) == long
    short = window.character_panel.field_edits["eyes"]
    assert cut_text(short) is None
    # hovering over the cut field shows its whole text (the docks' fields are watched once
    # the window has painted itself)
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent

    from studio.ui import widgets

    shown: list[str] = []

    class Tips:  # stands for QToolTip (the offscreen platform cannot raise a tooltip)
        @staticmethod
        def showText(_pos: QPoint, text: str, _widget: QWidget) -> None:
            shown.append(text)

    monkeypatch.setattr(widgets, "QToolTip", Tips)
    for field in (hair, short):
        QApplication.sendEvent(field, QHelpEvent(QEvent.Type.ToolTip, QPoint(4, 4),
                                                 field.mapToGlobal(QPoint(4, 4))))
    assert len(shown) == 1 and shown[0].startswith(long)
    # the card's state line, cut to fit, says it all in its tooltip
    name = model.names()[0]
    rect = window.grid.card_rect(name)
    line = card_layout(rect, model.cell(name)).states[Stage.PREVIEW]
    tip = window.delegate.tooltip_at(model.index(0), rect, line.center())
    assert tip is not None and tip.startswith("Preview: ") and "offline" in tip


def test_the_side_panels_fit_their_docks(make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """No side panel is wider than its dock (nothing cut at the right, no sideways scrolling),
    whatever the scene's presets say, at the window's default size."""
    from PySide6.QtWidgets import QScrollArea

    window = make_window()
    name = window.document.scene_names()[0]
    window.grid.select_name(name)
    long_text = "tungsten practicals with a warm rim from a window left of camera " * 2
    window.document.update_scene(name, "Set the lighting", merge=False, lighting=long_text)
    for dock in (window.character_dock, window.scene_dock, window.inspector_dock):
        dock.show()
        dock.raise_()
        qtbot.waitUntil(lambda d=dock: d.widget().isVisible())
        scroll = dock.widget().findChild(QScrollArea)
        QApplication.processEvents()
        body = scroll.widget()
        wide = sorted(((w.minimumSizeHint().width(), w.objectName() or type(w).__name__)
                       for w in body.findChildren(QWidget)), reverse=True)[:8]
        assert body.width() <= scroll.viewport().width(), (
            dock.objectName(), body.width(), scroll.viewport().width(), wide)
        assert scroll.horizontalScrollBar().maximum() == 0
    # A combo narrower than its label says the whole label in its tooltip.
    assert window.scene_editor.lighting_combo.toolTip().startswith(f"Free text: {long_text}")
