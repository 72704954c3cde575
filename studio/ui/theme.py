"""Colours that follow the system's light or dark palette, for the states cards show."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from studio.core.lifecycle import JobState


def is_dark(palette: QPalette | None = None) -> bool:
    pal = palette or QApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def status_colour(state: JobState | None, stale: bool = False,
                  palette: QPalette | None = None) -> QColor:
    """The colour of a job state (None: nothing rendered)."""
    dark = is_dark(palette)
    if state is JobState.DONE and stale:
        return QColor("#d9a400" if dark else "#9a6b00")
    grey, blue = "#8a8f98", "#5b8def"
    colours = {
        JobState.QUEUED: grey,
        JobState.SENDING: blue,
        JobState.SUBMITTED: blue,
        JobState.PROCESSING: blue if dark else "#2f6fd6",
        JobState.DOWNLOADING: "#3aa6a0",
        JobState.DONE: "#4caf50" if dark else "#2e7d32",
        JobState.FAILED: "#ef5350" if dark else "#c62828",
        JobState.CANCELLED: grey,
        JobState.UNCERTAIN: "#d9a400" if dark else "#9a6b00",
    }
    return QColor(grey if state is None else colours[state])


def accent(palette: QPalette | None = None) -> QColor:
    pal = palette or QApplication.palette()
    return pal.color(QPalette.ColorRole.Highlight)


def card_background(palette: QPalette, selected: bool, hovered: bool) -> QColor:
    base = palette.color(QPalette.ColorRole.Base)
    if selected:
        hl = palette.color(QPalette.ColorRole.Highlight)
        return blend(base, hl, 0.18)
    if hovered:
        return blend(base, palette.color(QPalette.ColorRole.Text), 0.04)
    return base


def blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


APPROVED = QColor("#2e7d32")
REJECTED = QColor("#c62828")
STAR = QColor("#f5b301")
