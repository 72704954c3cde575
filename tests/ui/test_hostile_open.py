"""File > Open on a hostile sheet: the window says why in a sentence and keeps the sheet it
had (before, a 500-deep array raised a RecursionError in the slot and showed nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HEAD = ('format = 1\n[character]\nname = "Mara"\nanchor = "Mara, 40-year-old woman"\n'
        'seed = 7\n[[scenes]]\nname = "Dock"\nsetting = "harbour dock at dawn"\n')


@pytest.mark.parametrize(("body", "words"), [
    ("notes = " + "[" * 500 + "]" * 500, "nests arrays or tables more than 16 levels deep"),
    ("notes = " + "{a = " * 450 + "1" + "}" * 450, "past the limit of 16"),
    ("lighting = " + json.dumps("warm light " * 90_910),
     "'scenes[1].lighting' of the scene \"Dock\" is 1,000,010 characters long"),
], ids=["array-500", "inline-450", "lighting-1M"])
def test_file_open_on_a_hostile_sheet_shows_the_sentence(  # type: ignore[no-untyped-def]
        make_window, dialogs, tmp_path: Path, body: str, words: str) -> None:
    window = make_window()
    path = tmp_path / "hostile.sheet.toml"
    path.write_text(HEAD + body + "\n", encoding="utf-8")
    dialogs.open_paths.append(path)
    window.actions_by_name["open"].trigger()
    assert dialogs.asked[-1] == "open"
    assert window.messages.text.startswith(f"The sheet cannot be opened: {path}:9: ")
    assert words in window.messages.text
    assert window.document.sheet.character.name == "Emma"  # the sheet it had stays
