"""The inspector: for the selected card's preview or final, exactly what was sent and what came
back (prompt, negative, settings, provider, model, request id, seeds, time, cost, the verdict),
with "use all settings", "use seed", "use prompt", copy to clipboard, open the file's folder and
move to the trash. It binds to :class:`~studio.ui.viewmodels.inspector.InspectorModel`, which
reads the render off the GUI thread and again when the library says it changed. The settings are
written out as the viewer writes them (:func:`~studio.ui.viewmodels.inspector.render_facts`),
with the identity figures after them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.request import Stage
from studio.ui.render_details import FactsForm, PromptBox
from studio.ui.viewmodels.identity import RenderFacts
from studio.ui.viewmodels.inspector import (
    FACT_LABELS,
    InspectorModel,
    parameters_text,
    render_facts,
    shown_prompt,
)
from studio.ui.widgets import scrolling_column, section_label, show_plain_text

if TYPE_CHECKING:
    from studio.library import RenderRecord


class Inspector(QWidget):
    """Shows the render its view-model holds; ``referenceRequested(record)`` for "Use as
    reference"."""

    referenceRequested = Signal(object)

    def __init__(self, model: InspectorModel, parent: QWidget | None = None,
                 facts: RenderFacts | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self._model = model
        self._facts = facts
        body, layout = scrolling_column(self)
        row = QHBoxLayout()
        self.stage_group = QButtonGroup(self)
        for i, stage in enumerate(Stage):
            button = QPushButton(stage.value.title(), body)
            button.setCheckable(True)
            button.setObjectName(f"inspectorStage-{stage.value}")
            self.stage_group.addButton(button, i)
            row.addWidget(button)
        self.stage_group.button(0).setChecked(True)
        self.stage_group.idClicked.connect(self._stage_clicked)
        row.addStretch(1)
        layout.addLayout(row)
        self.empty = QLabel("Select a card with a render to see exactly what was sent.", body)
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        self.box = QWidget(body)
        box = QVBoxLayout(self.box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(section_label("Prompt", self.box))
        self.prompt_box = PromptBox("inspectorPrompt", self.box)
        self.prompt = self.prompt_box.text
        self.prompt.setFixedHeight(110)
        box.addWidget(self.prompt_box)
        box.addWidget(section_label("Negative prompt", self.box))
        self.negative = QPlainTextEdit(self.box)
        self.negative.setReadOnly(True)
        self.negative.setFixedHeight(54)
        box.addWidget(self.negative)
        self.form = FactsForm("inspector")
        self.form.show_facts([(label, "") for label in (*FACT_LABELS, "Identity")])
        box.addLayout(self.form)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, (key, text, tip) in enumerate((
                ("use_all", "Use all settings", "Prompt, seed, size, steps and guidance"),
                ("use_seed", "Use seed", "Give the scene this render's seed"),
                ("use_prompt", "Use prompt", "Make this render's prompt the scene's text"),
                ("copy", "Copy", "Copy the settings as text other image tools read"),
                ("folder", "Open folder", "Show the image file in its folder"),
                ("trash", "Move to trash", "Move this render to the library's trash (the "
                 "library browser can restore it)"),
                ("reference", "Use as reference", "Add this render to the character's "
                 "reference images (at most 4)"))):
            button = QPushButton(text, self.box)
            button.setObjectName(f"inspector-{key}")
            button.setToolTip(tip)
            grid.addWidget(button, i // 2, i % 2)
            self.buttons[key] = button
        self.buttons["use_all"].clicked.connect(model.use_all)
        self.buttons["use_seed"].clicked.connect(model.use_seed)
        self.buttons["use_prompt"].clicked.connect(model.use_prompt)
        self.buttons["copy"].clicked.connect(self.copy)
        self.buttons["folder"].clicked.connect(self.open_folder)
        self.buttons["trash"].clicked.connect(model.trash)
        self.buttons["reference"].clicked.connect(
            lambda: self.referenceRequested.emit(self.record))
        box.addLayout(grid)
        layout.addWidget(self.box)
        layout.addStretch(1)
        self.error = QLabel(body)
        self.error.setObjectName("inspectorError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        layout.addWidget(self.error)
        self.open_url: Callable[[QUrl], Any] = QDesktopServices.openUrl
        model.changed.connect(self._show)
        if facts is not None:
            facts.changed.connect(self._show)
        self._show()

    @property
    def record(self) -> RenderRecord | None:
        return self._model.record

    @property
    def values(self) -> dict[str, QLabel]:
        """Each row's label ("Provider", "Verdict", "Identity", ...) to the text it shows."""
        return self.form.values

    def _stage_clicked(self, index: int) -> None:
        self._model.set_stage(list(Stage)[index])

    def _show(self) -> None:
        model = self._model
        render = model.record
        self.error.setText(model.error)
        self.error.setVisible(bool(model.error))
        self.empty.setVisible(render is None)
        self.box.setVisible(render is not None)
        self.stage_group.button(list(Stage).index(model.stage)).setChecked(True)
        if render is None:
            return
        self.prompt_box.show_prompt(shown_prompt(render))
        show_plain_text(self.negative, render.negative or "(none)")
        self.form.show_facts([*render_facts(render), ("Identity", self._identity_text(render.id))])
        has_image = render.image_path is not None
        self.buttons["folder"].setEnabled(has_image)
        scene_known = model.scene is not None
        for key in ("use_all", "use_seed", "use_prompt"):
            self.buttons[key].setEnabled(scene_known)
        self.buttons["trash"].setEnabled(render.trashed is None)

    def _identity_text(self, render_id: int) -> str:
        """The identity figures: distance, verdict, faces, and what they are measured from."""
        facts = self._facts
        if facts is None:
            return "—"
        if facts.unavailable_reason:
            return "not available on this system"
        fact = facts.fact(render_id)
        if fact is None or fact.score is None:
            return "scoring…" if facts.busy else "not scored"
        score = fact.score
        faces = {0: "no face", 1: "1 face"}.get(score.faces, f"{score.faces} faces")
        if score.distance is None:
            return f"not scorable ({faces}): {score.explanation.removeprefix('Not scored: ')}"
        rules = facts.rules
        source = f" from {facts.source.describe()}" if facts.source is not None else ""
        threshold = f"; same person under {rules.threshold:.2f}" if rules is not None else ""
        return f"{score.verdict.value}: distance {score.distance:.3f}{source}{threshold}"

    # ------------------------------------------------------------------ actions
    def copy(self) -> None:
        if self.record is not None:
            QGuiApplication.clipboard().setText(parameters_text(self.record))

    def open_folder(self) -> None:
        if self.record is not None and self.record.image_path is not None:
            self.open_url(QUrl.fromLocalFile(str(self.record.image_path.parent)))

