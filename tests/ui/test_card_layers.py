"""A card whose render moves on is drawn again in its slots only: its frame (name, chips,
buttons) is copied from the picture it showed. The copy with the slots drawn over it must be,
pixel for pixel, the card drawn whole."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage, QPainter, QPalette, QPixmap

from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.ui.card_painting import BUTTONS, FRAME, CardPainter
from studio.ui.viewmodels.cells import Slot
from tests.ui.conftest import close_window, settle_images
from tests.ui.test_grid import load_storyboard

#: What a preview goes through while it renders, then two ways it can end.
STEPS = (
    Slot(state=JobState.QUEUED, position=3),
    Slot(state=JobState.SENDING),
    Slot(state=JobState.PROCESSING, provider="modelslab"),
    Slot(state=JobState.DOWNLOADING, provider="modelslab"),
    Slot(state=JobState.DONE, image=Path("/renders/not-yet-decoded.png"), model="flux"),
    Slot(state=JobState.FAILED, message="The provider refused the prompt: it names a brand; "
                                        "take the brand out and render again."),
)


def _whole(painter_of_cards: CardPainter, grid, row: int) -> QImage:  # type: ignore[no-untyped-def]
    option = grid.card_option(row, QRect(0, 0, *_size(grid, row)))
    picture = QPixmap(option.rect.size())
    picture.fill(option.palette.color(QPalette.ColorRole.Base))
    painter = QPainter(picture)
    painter_of_cards.draw(painter, option, grid.model().index(row), None)
    painter.end()
    return picture.toImage()


def _parts(painter_of_cards: CardPainter, grid, row: int):  # type: ignore[no-untyped-def]
    option = grid.card_option(row, QRect(0, 0, *_size(grid, row)))
    return painter_of_cards.parts_of(option, grid.model().index(row), None)


def _parts_over(painter_of_cards: CardPainter, grid, row: int, before: QImage,  # type: ignore[no-untyped-def]
                parts: list) -> QImage:  # type: ignore[type-arg]
    option = grid.card_option(row, QRect(0, 0, *_size(grid, row)))
    picture = QPixmap.fromImage(before)
    painter = QPainter(picture)
    painter_of_cards.draw_parts(painter, option, grid.model().index(row), None, parts)
    painter.end()
    return picture.toImage()


def _size(grid, row: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    rect = grid.visualRect(grid.model().index(row))
    return rect.width(), rect.height()


@pytest.mark.parametrize("card_size", [0, 3])  # a thumbnail and a full card
def test_slots_drawn_over_the_picture_before_are_the_card_drawn_whole(  # type: ignore[no-untyped-def]
        make_window, qtbot, card_size: int) -> None:
    window = make_window()
    load_storyboard(window, qtbot, scenes=40)
    grid, model = window.grid, window.model
    grid.set_card_size(card_size)
    settle_images(qtbot, window)
    painter_of_cards = window.delegate._card_painter
    name = model.names()[1]
    before, parts = _whole(painter_of_cards, grid, 1), _parts(painter_of_cards, grid, 1)
    compared = 0
    for stage in (Stage.PREVIEW, Stage.FINAL):
        for slot in STEPS:
            model.set_slot(name, stage, slot)
            now = _parts(painter_of_cards, grid, 1)
            whole = _whole(painter_of_cards, grid, 1)
            if now[FRAME] != parts[FRAME]:
                # Only a thumbnail turning to its final lays the card out anew.
                assert card_size == 0 and stage is Stage.FINAL and slot is STEPS[0]
            else:
                changed = [part for part in now if now[part] != parts.get(part)]
                assert changed and FRAME not in changed
                assert stage in changed and {*changed} <= {stage, BUTTONS}
                assert _parts_over(painter_of_cards, grid, 1, before, changed) == whole, \
                    slot.state
                compared += 1
            before, parts = whole, now
    assert compared == 2 * len(STEPS) - (card_size == 0)
    close_window(qtbot, window)


def test_a_card_whose_render_moves_on_is_drawn_in_its_slots_alone(  # type: ignore[no-untyped-def]
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    load_storyboard(window, qtbot, scenes=40)
    grid, model = window.grid, window.model
    settle_images(qtbot, window)
    qtbot.waitUntil(lambda: not window.render_facts.busy, timeout=20000)
    window.delegate.badges = None
    name = model.names()[0]
    model.set_slot(name, Stage.PREVIEW, STEPS[2])
    grid.viewport().repaint()
    drawn: list[str] = []
    for method in ("draw", "draw_parts"):
        original = getattr(CardPainter, method)

        def counting(self, painter, option, index, *args, _name=method, _original=original):  # type: ignore[no-untyped-def]
            drawn.append(_name)
            return _original(self, painter, option, index, *args)

        monkeypatch.setattr(CardPainter, method, counting)
    model.set_slot(name, Stage.PREVIEW, STEPS[3])  # processing -> downloading
    window.delegate._new_frame()
    grid.viewport().repaint()
    assert drawn == ["draw_parts"]
    drawn.clear()
    starred = replace(STEPS[3], star=True)  # the card's star: its frame
    model.set_cell(name, model.cell(name).__class__(preview=starred))
    window.delegate._new_frame()
    grid.viewport().repaint()
    assert drawn == ["draw"]
    close_window(qtbot, window)


@pytest.mark.parametrize("card_size", [0, 3])
def test_an_uncertain_sentence_stops_above_its_buttons(  # type: ignore[no-untyped-def]
        make_window, qtbot, card_size: int) -> None:
    """However long the sentence, none of it runs under the Send again and Forget buttons
    drawn along the bottom of the slot (the tooltip has it whole)."""
    from studio.ui.card_badges import uncertain_rects
    from studio.ui.scene_delegate import card_layout

    window = make_window()
    load_storyboard(window, qtbot, scenes=40)
    grid, model = window.grid, window.model
    grid.set_card_size(card_size)
    settle_images(qtbot, window)
    name = model.names()[1]
    stage = Stage.FINAL if card_size else Stage.PREVIEW  # a thumbnail shows one slot
    model.set_slot(name, stage, Slot(state=JobState.UNCERTAIN, message=" ".join(
        ["The provider may have accepted this render and billed it."] * 12)))
    card = _whole(window.delegate._card_painter, grid, 1)
    slot = card_layout(QRect(0, 0, *_size(grid, 1))).slots[stage]
    top = min(button.top() for button in uncertain_rects(slot).values())
    band = QRect(slot.left() + 8, top - 2, slot.width() - 16, slot.bottom() - 8 - (top - 2))
    colours = {card.pixel(x, y) for x in range(band.left(), band.right() + 1)
               for y in range(band.top(), band.bottom() + 1)}
    assert len(colours) == 1, "the sentence runs under the buttons"
    close_window(qtbot, window)


def test_a_slots_sentence_breaks_between_words_and_says_when_it_goes_on(qapp) -> None:  # type: ignore[no-untyped-def]
    """Only a word wider than the slot (an environment variable's name) breaks inside itself;
    a sentence longer than the slot ends its last line in "…"."""
    from PySide6.QtGui import QFont, QFontMetrics

    from studio.providers.errors import KeyRefusedError
    from studio.ui.card_painting import message_lines

    font = QFont()
    font.setPixelSize(12)
    width = QFontMetrics(font).horizontalAdvance("STUDIO_MODELSLAB_API") - 1
    sentence = KeyRefusedError("modelslab", "refused").user_message("Library 2")
    long_word = "STUDIO_MODELSLAB_API_KEY),"
    lines = message_lines(sentence, font, width, 40)
    broken = {sentence.replace(long_word, f"{long_word[:k]} {long_word[k:]}")
              for k in range(1, len(long_word))}
    assert " ".join(lines) in broken  # the long word broken once, nothing else
    for line in lines:
        assert QFontMetrics(font).horizontalAdvance(line) <= width
        for word in line.split():
            assert word in sentence.split() or word in long_word, (word, lines)

    cut = message_lines(sentence, font, width, 3)
    assert cut[:2] == lines[:2] and len(cut) == 3 and cut[2].endswith("…")
    assert message_lines("Failed.", font, width, 3) == ["Failed."]
    assert message_lines("one\ntwo", font, width * 4, 3) == ["one two"]
