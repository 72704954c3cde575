"""The notes `studio render` prints before a batch: written in chunks, the same lines as one
print each, escaped the same way."""

from __future__ import annotations

import pytest

from studio.commands.render_report import say

NOTES = ["“Panel 1”: FLUX.1 Schnell takes sides of 256–1024 pixels in steps of 8: 768x1344 was "
         "sent as 584x1024.", "“\x1b[2JPanel\u202e 2”: a\nb\tc", "", "plain ascii"] * 3


@pytest.mark.parametrize("chunk", [1, 2, 5, 1000])
def test_notes_in_chunks_print_as_one_line_each(capsys: pytest.CaptureFixture[str],
                                                chunk: int) -> None:
    for note in NOTES:
        say(note)
    one_by_one = capsys.readouterr().err
    say.lines(iter(NOTES), chunk=chunk)
    assert capsys.readouterr().err == one_by_one
    assert "\x1b" not in one_by_one and "\\x1b[2J" in one_by_one
    assert one_by_one.count("\n") == len(NOTES)


def test_no_notes_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    say.lines([])
    assert capsys.readouterr().err == ""
