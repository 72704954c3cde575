"""The prompt checks where the problem is: a marker on the card with the finding in its
tooltip, and in the Scene panel the finding under the fields and an edge on the field it is
about; both follow an edit that fixes it."""

from __future__ import annotations

from studio.core.checks import Severity
from tests.ui.conftest import settle_images
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)


def card_tooltip(window, name: str, part: str) -> str:  # type: ignore[no-untyped-def]
    """The tooltip the card gives when the pointer rests on ``part``."""
    from studio.ui.scene_delegate import card_layout

    grid = window.grid
    rect = grid.card_rect(name)
    lay = card_layout(rect, window.model.cell(name))
    at = {"checks": lay.checks, "star": lay.star}[part].center()
    index = window.model.index(window.model.row_of(name))
    return window.delegate.tooltip_at(index, rect, at) or ""


def test_a_scene_with_a_finding_is_marked_on_its_card_and_in_the_scene_panel(  # type: ignore[no-untyped-def]
        make_window, qtbot, shot, palette) -> None:  # noqa: F811
    window = make_window()
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    name = model.names()[1]
    window.grid.select_name(name)
    editor = window.scene_editor
    editor.setting_edit.setFocus()
    editor.setting_edit.selectAll()
    qtbot.keyClicks(editor.setting_edit, "watercolor painting of a coffee shop window")
    qtbot.waitUntil(lambda: any(f.id == "style-conflict" for f in model.findings(name)),
                    timeout=10000)
    finding = next(f for f in model.findings(name) if f.id == "style-conflict")
    assert finding.severity is Severity.WARNING
    tip = card_tooltip(window, name, "checks")
    assert "watercolor" in tip and finding.suggestion in tip
    # other cards carry no marker
    other = model.names()[0]
    assert model.findings(other) == ()
    # the Scene panel: the finding under the fields, the setting field edged and explained
    panel = window.scene_findings
    qtbot.waitUntil(lambda: panel.isVisible())
    assert finding.message in panel.text()
    assert editor.setting_edit.property("finding") == "warning"
    assert finding.suggestion in editor.setting_edit.toolTip()
    assert editor.framing_combo.property("finding") == ""
    settle_images(qtbot, window)
    shot(window, f"main-window-prompt-check-{palette}.png")
    # fixed by typing: the marker and the edge go
    editor.setting_edit.selectAll()
    qtbot.keyClicks(editor.setting_edit, "coffee shop window, blurred interior background")
    qtbot.waitUntil(lambda: model.findings(name) == (), timeout=10000)
    qtbot.waitUntil(lambda: not panel.isVisible())
    assert editor.setting_edit.property("finding") == ""
    assert "Prompt checks" not in card_tooltip(window, name, "checks")
