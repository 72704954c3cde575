"""Parts of the window made after its first paint are there the moment the user asks for them:
the Inspector behind the Scene panel's tab, the dialogs, and what the window reads on its first
write."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar

from studio.core.anchor import ReferenceRole
from studio.ui.inspector import Inspector
from tests.ui.test_viewer import _previews_done


def _dock_tab(window, title: str) -> tuple[QTabBar, int]:  # type: ignore[no-untyped-def]
    """The tab bar of the window's tabbed docks and the index of the tab named ``title``."""
    for bar in window.findChildren(QTabBar):
        for index in range(bar.count()):
            if bar.tabText(index) == title:
                return bar, index
    raise AssertionError(f"no dock tab named {title!r}")


def test_the_inspector_tab_clicked_shows_the_selected_render_and_its_buttons_work(  # type: ignore[no-untyped-def]
        make_window, qtbot, dialogs, tmp_path: Path) -> None:
    window = make_window()
    _previews_done(qtbot, window)
    model, doc = window.model, window.document
    name = model.names()[1]
    window.grid.select_name(name)
    dialogs.save_paths.append(tmp_path / "emma.sheet.toml")
    window.actions_by_name["save_as"].trigger()  # a reference is copied beside the sheet
    qtbot.waitUntil(lambda: doc.path is not None and not window.rendering.sheet_library.loading)

    # As the user does it: a click on the Inspector tab, nothing of the window's asked first.
    bar, index = _dock_tab(window, "Inspector")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: isinstance(window.inspector_dock.widget(), Inspector)
                    and window.inspector_dock.widget().isVisible())
    inspector = window.inspector_dock.widget()
    assert inspector is window.inspector
    render_id = model.cell(name).preview.render_id
    qtbot.waitUntil(lambda: inspector.record is not None and inspector.record.id == render_id)
    assert inspector.prompt.isVisible() and inspector.prompt.toPlainText()
    assert inspector.minimumWidth() == 300

    # Its buttons reach the window: "Use as reference" adds the render to the character.
    qtbot.mouseClick(inspector.buttons["reference"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(doc.sheet.character.references) == 1)
    assert doc.sheet.character.references[0].role is ReferenceRole.FACE  # the first is the face

    # Back on the Scene tab and again: the same Inspector, not a second one.
    with qtbot.waitSignal(window.inspector_dock.visibilityChanged):
        bar.setCurrentIndex(_dock_tab(window, "Scene")[1])
    with qtbot.waitSignal(window.inspector_dock.visibilityChanged):
        bar.setCurrentIndex(index)
    assert window.inspector_dock.widget() is inspector
    assert window.findChildren(Inspector) == [inspector]


def test_the_dialogs_are_there_when_asked(qapp) -> None:  # type: ignore[no-untyped-def]
    """The real dialogs read their classes when one first opens; every one of them does."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from studio.ui.services import QtDialogs

    answers: list[str] = []
    originals = (QFileDialog.getOpenFileName, QFileDialog.getSaveFileName, QMessageBox.question,
                 QMessageBox.exec)
    try:
        QFileDialog.getOpenFileName = staticmethod(  # type: ignore[method-assign]
            lambda *a, **k: (answers.append("open") or "/tmp/a.sheet.toml", ""))
        QFileDialog.getSaveFileName = staticmethod(  # type: ignore[method-assign]
            lambda *a, **k: (answers.append("save") or "/tmp/b.toml", ""))
        QMessageBox.question = staticmethod(  # type: ignore[method-assign]
            lambda *a, **k: (answers.append("confirm") and None) or QMessageBox.StandardButton.Yes)
        QMessageBox.exec = lambda self: (  # type: ignore[method-assign]
            answers.append("ask") and None) or QMessageBox.StandardButton.Discard
        dialogs = QtDialogs()
        assert dialogs.open_sheet_path(None, None) == Path("/tmp/a.sheet.toml")  # type: ignore[arg-type]
        assert dialogs.save_sheet_path(None, Path("/tmp/b")) == Path("/tmp/b.sheet.toml")  # type: ignore[arg-type]
        assert dialogs.confirm(None, "Title", "Text?") is True  # type: ignore[arg-type]
        assert dialogs.ask_save_changes(None, "Emma") == "discard"  # type: ignore[arg-type]
    finally:
        (QFileDialog.getOpenFileName, QFileDialog.getSaveFileName, QMessageBox.question,
         QMessageBox.exec) = originals  # type: ignore[method-assign]
    assert answers == ["open", "save", "confirm", "ask"]
