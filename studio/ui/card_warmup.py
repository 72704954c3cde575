"""A scene card drawn off screen in every state a render passes through, ahead of a first batch.

The first time a card's slot was drawn again over its picture (a render moving on), PySide made
the Python classes of the enums ``QPainter.fillRect``'s overloads name (QGradient's, one of them
169 members: about 4 ms of the GUI thread), and Qt set up what drawing each state's text and
marks needs for the first time. A first batch paid for that in the longest turns of the window's
event loop, while its cards changed many times a second (benchmarks/ui_window.py). These steps
pay for it at idle (:class:`~studio.ui.read_ahead.ReadAhead` runs them, one per turn of the event
loop), on a card of their own: no scene, card or model of the window is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, Qt
from PySide6.QtGui import QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QStyleOptionViewItem

from studio.core.lifecycle import Approval, JobState
from studio.core.sheet import Scene
from studio.ui.card_painting import FRAME, CardPainter
from studio.ui.viewmodels.cells import Cell, Slot
from studio.ui.viewmodels.scenes import Index, Role

#: What the preview and the final show, step by step (and whether the final is out of date): a
#: batch's states in the order a render goes through them, then the ways a job ends.
STEPS: tuple[tuple[Slot, Slot, bool], ...] = (
    (Slot(state=JobState.QUEUED, position=2), Slot(), False),
    (Slot(state=JobState.SENDING, provider="offline"), Slot(state=JobState.QUEUED), False),
    (Slot(state=JobState.PROCESSING, provider="offline", eta=4.0),
     Slot(state=JobState.SUBMITTED, provider="offline"), False),
    (Slot(state=JobState.DOWNLOADING, provider="offline"),
     Slot(state=JobState.PROCESSING, provider="offline", position=1), False),
    (Slot(state=JobState.DONE, provider="offline", model="schnell", approval=Approval.APPROVED,
          star=True), Slot(state=JobState.FAILED, message="The provider refused the prompt."),
     True),
    (Slot(state=JobState.UNCERTAIN, message="The provider did not answer."),
     Slot(state=JobState.CANCELLED), False),
)


class _SampleCard(QAbstractListModel):
    """One card, as the scene model answers for it, whose cell the steps change."""

    def __init__(self) -> None:
        super().__init__()
        self.scene = Scene(name="Sample scene", setting="a street corner at dusk, walking",
                           seed=7)
        self.cell = Cell()
        self.final_stale = False

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Role.SCENE:
            return self.scene
        if role == Role.CELL:
            return self.cell
        if role == Role.FINAL_STALE:
            return self.final_stale
        if role == Qt.ItemDataRole.DisplayRole:
            return self.scene.name
        return None


def warm_steps(painter_of_cards: CardPainter, option: QStyleOptionViewItem,
               ) -> Sequence[Callable[[], object]]:
    """Steps that draw a sample card (in ``option``'s palette, font and size) whole and then
    its slots and buttons again over it (the parts it has at that size), once per state of
    :data:`STEPS`."""
    model = _SampleCard()
    rect = QRect(0, 0, option.rect.width(), option.rect.height())
    local = QStyleOptionViewItem(option)
    local.rect = rect

    def draw(preview: Slot, final: Slot, final_stale: bool) -> None:
        model.cell = Cell(preview=preview, final=final)
        model.final_stale = final_stale
        index = model.index(0)
        picture = QPixmap(rect.size())
        picture.fill(local.palette.color(QPalette.ColorRole.Base))
        painter = QPainter(picture)
        try:
            painter_of_cards.draw(painter, local, index, None)
            parts = painter_of_cards.parts_of(local, index, None) or {}
            painter_of_cards.draw_parts(painter, local, index, None,
                                        [part for part in parts if part != FRAME])
        finally:
            painter.end()

    return [partial(draw, *step) for step in STEPS]
