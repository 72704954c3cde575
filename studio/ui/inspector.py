"""The inspector: for the selected card's preview or final, exactly what was sent and what came
back (prompt, negative, settings, provider, model, request id, seeds, time, cost, the verdict),
with "use all settings", "use seed", "use prompt", copy to clipboard, open the file's folder and
move to the trash. It binds to :class:`~studio.ui.viewmodels.inspector.InspectorModel`, which
reads the render off the GUI thread and again when the library says it changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import codec
from studio.core.request import Stage
from studio.ui.viewmodels.identity import RenderFacts
from studio.ui.viewmodels.inspector import InspectorModel, parameters_text
from studio.ui.viewmodels.references import ROLE_LABELS
from studio.ui.widgets import scrolling_column, section_label

if TYPE_CHECKING:
    from studio.library import RenderRecord

FIELDS = ("provider", "model", "request", "seed", "size", "steps", "guidance", "time", "cost",
          "created", "status", "verdict", "references", "identity")


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
        self.prompt = QPlainTextEdit(self.box)
        self.prompt.setObjectName("inspectorPrompt")
        self.prompt.setReadOnly(True)
        self.prompt.setFixedHeight(110)
        box.addWidget(self.prompt)
        box.addWidget(section_label("Negative prompt", self.box))
        self.negative = QPlainTextEdit(self.box)
        self.negative.setReadOnly(True)
        self.negative.setFixedHeight(54)
        box.addWidget(self.negative)
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for key in FIELDS:
            label = QLabel(self.box)
            label.setObjectName(f"inspector-{key}")
            label.setWordWrap(True)
            label.setTextInteractionFlags(label.textInteractionFlags()
                                          | label.textInteractionFlags().TextSelectableByMouse)
            form.addRow(key.replace("request", "request id").capitalize(), label)
            self.values[key] = label
        box.addLayout(form)
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
        self.prompt.setPlainText(render.prompt)
        self.negative.setPlainText(render.negative or "(none)")
        seed = "—" if render.seed_requested is None else str(render.seed_requested)
        if render.seed_returned is not None and render.seed_returned != render.seed_requested:
            seed += f" → {render.seed_returned} (returned)"
        timings = codec.to_data(render.timings)
        total = render.timings.total
        detail = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if v)
        values = {
            "provider": render.provider,
            "model": render.model,
            "request": render.request_id or "—",
            "seed": seed,
            "size": f"{render.width}x{render.height}",
            "steps": str(render.steps),
            "guidance": f"{render.guidance:g}",
            "time": f"{total:.1f} s" + (f" ({detail})" if detail else ""),
            "cost": "unknown" if render.cost is None else f"{render.cost:.4f}",
            "created": render.created.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "status": render.status_word + (f": {render.error}" if render.error else ""),
            "verdict": " · ".join(part for part in (
                "" if render.approval.value == "none" else render.approval.value.title(),
                "★ starred" if render.star else "",
                "in the trash" if render.trashed is not None else "") if part) or "none",
            "references": _references_text(render),
            "identity": self._identity_text(render.id),
        }
        for key, text in values.items():
            self.values[key].setText(text)
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


def _references_text(render: RenderRecord) -> str:
    refs = render.references
    if not refs:
        return "none"
    roles = ", ".join(f"{ROLE_LABELS[r.role].lower()} {r.short}" for r in refs)
    return f"{len(refs)} ({roles}), {render.reference_strength.value}"
