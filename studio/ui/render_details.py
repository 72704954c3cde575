"""What the inspector and the viewer show of a render beside its image: its prompt (the reference
clause shortened, the whole prompt in a tooltip and one click away) and its settings as a form.
Both write them out through :func:`~studio.ui.viewmodels.inspector.render_facts` and
:func:`~studio.ui.viewmodels.inspector.shown_prompt`, so the two never disagree."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from studio.ui.viewmodels.inspector import PromptText
from studio.ui.widgets import show_plain_text

SHOW_WHOLE = "Show the whole prompt"
SHOW_SHORT = "Shorten the reference clause"


class PromptBox(QWidget):
    """A read-only prompt. A prompt sent with reference images opens shortened ("[the woman
    from 3 reference images] …"); its tooltip holds the whole prompt, and the button under it
    shows the whole prompt in the box (and shortens it again)."""

    def __init__(self, name: str, parent: QWidget | None = None, *,
                 keys_stay_outside: bool = False) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName(name)
        self.text.setReadOnly(True)
        column.addWidget(self.text, 1)
        self.whole = QToolButton(self)
        self.whole.setObjectName(f"{name}-whole")
        self.whole.setCheckable(True)
        self.whole.setAutoRaise(True)
        self.whole.setText(SHOW_WHOLE)
        self.whole.setToolTip("The prompt exactly as it was sent, reference clause included")
        self.whole.toggled.connect(self._toggled)
        column.addWidget(self.whole, 0, Qt.AlignmentFlag.AlignLeft)
        if keys_stay_outside:  # a window whose single-letter keys must keep working
            for widget in (self.text, self.whole):
                widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.shown = PromptText("", "")
        self.show_prompt(self.shown)

    def show_prompt(self, shown: PromptText) -> None:
        """Show ``shown``: shortened while it can be, unless the user asked for it whole."""
        self.shown = shown
        self.whole.setVisible(shown.shortened)
        # Unchanged text is left alone: laying a prompt out again costs the GUI thread
        # milliseconds, and the inspector shows the same render again as its scores arrive.
        show_plain_text(self.text, shown.full if self.whole.isChecked() or not shown.shortened
                        else shown.short)
        # Rich text, so the tooltip wraps a long prompt instead of running off the screen.
        self.text.setToolTip(f"<p>{html.escape(shown.full)}</p>" if shown.shortened else "")

    def _toggled(self, whole: bool) -> None:
        self.whole.setText(SHOW_SHORT if whole else SHOW_WHOLE)
        self.show_prompt(self.shown)


class FactsForm(QFormLayout):
    """(label, text) rows, selectable; the rows are rebuilt only when their labels change (a
    render of another kind), else their texts change in place. ``values`` maps each label to
    the label showing its text."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name
        self.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.values: dict[str, QLabel] = {}

    def show_facts(self, facts: list[tuple[str, str]]) -> None:
        if [label for label, _ in facts] != list(self.values):
            while self.rowCount():
                self.removeRow(0)
            self.values = {}
            for label, _ in facts:
                value = QLabel()
                value.setObjectName(f"{self._name}-{re.sub(r'[^a-z]+', '-', label.lower())}")
                value.setWordWrap(True)
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.addRow(label, value)
                self.values[label] = value
        for label, text in facts:
            self.values[label].setText(text)
