"""What the GUI thread does again when little has changed, while a batch renders: the
inspector as each identity score arrives, the anchor's history as each render is written."""

from __future__ import annotations

from tests.ui.test_viewer import _previews_done


def test_a_score_arriving_leaves_the_inspectors_prompt_as_laid_out(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    """Every identity score of a batch re-showed the selected render: its prompt and negative
    prompt were set again and laid out again (13 ms of the GUI thread, each time)."""
    window = make_window()
    _previews_done(qtbot, window)
    name = window.model.names()[0]
    window.grid.select_name(name)
    inspector = window.inspector
    qtbot.waitUntil(lambda: inspector.record is not None)
    laid_out = []
    for edit in (inspector.prompt, inspector.negative):
        edit.document().contentsChanged.connect(lambda: laid_out.append(True))
    inspector._show()  # what each score arriving does (the identity row may change)
    assert laid_out == []
    assert inspector.prompt.toPlainText() and inspector.negative.toPlainText()


def test_the_anchor_history_read_again_unchanged_is_not_rebuilt(  # type: ignore[no-untyped-def]
        make_window, qtbot) -> None:
    """The history is read again after every write that touches the character; the list
    rebuilt (and the panel laid out) each time though nothing was added."""
    window = make_window()
    _previews_done(qtbot, window)
    panel = window.character_panel
    combo = panel.history_combo
    qtbot.waitUntil(lambda: combo.count() > 0)
    entries = [combo.itemData(i) for i in range(combo.count())]
    rebuilt = []
    combo.model().modelReset.connect(lambda: rebuilt.append(True))
    combo.model().rowsRemoved.connect(lambda *_: rebuilt.append(True))
    panel.set_history(list(entries))
    assert rebuilt == []
    panel.set_history(entries[:-1] if len(entries) > 1 else [])
    assert rebuilt  # a real change still shows
