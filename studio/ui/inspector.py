"""The inspector: for the selected card's preview or final, exactly what was sent and what came
back (prompt, negative, settings, provider, model, request id, seeds, time, cost), with "use all
settings", "use seed", "use prompt", copy to clipboard and open the file's folder."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

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
from studio.core.presets import PresetKind
from studio.core.prompt import prompt_parts
from studio.core.request import SEED_MAX, Stage
from studio.core.sheet import Scene, frame_size
from studio.library import RenderRecord
from studio.ui.document import SheetDocument
from studio.ui.widgets import scrolling_column, section_label

FIELDS = ("provider", "model", "request", "seed", "size", "steps", "guidance", "time", "cost",
          "created", "status")


def parameters_text(render: RenderRecord) -> str:
    """The settings in the layout other image tools read (A1111 ``parameters``)."""
    lines = [render.prompt]
    if render.negative:
        lines.append(f"Negative prompt: {render.negative}")
    seed = render.seed if render.seed is not None else -1
    lines.append(f"Steps: {render.steps}, CFG scale: {render.guidance:g}, Seed: {seed}, "
                 f"Size: {render.width}x{render.height}, Model: {render.model}, "
                 f"Provider: {render.provider}")
    return "\n".join(lines)


def setting_from_prompt(doc: SheetDocument, scene: Scene, prompt: str) -> str:
    """The scene text of ``prompt``: the prompt without the parts the sheet adds around it
    (anchor, skin, presets, quality), so using it does not repeat them."""
    text = prompt
    for part in prompt_parts(doc.sheet, scene, doc.catalog):
        if part.role != "setting" and part.text.strip():
            text = text.replace(part.text.strip(), "")
    text = re.sub(r"\s*,\s*(,\s*)+", ", ", text).strip(" ,")
    return text or scene.setting


class Inspector(QWidget):
    """Shows one render; ``stageChanged`` asks the window for the other stage's render."""

    stageChanged = Signal(object)

    def __init__(self, document: SheetDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self._doc = document
        self.record: RenderRecord | None = None
        self.scene_name: str | None = None
        self.stage = Stage.PREVIEW
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
                ("folder", "Open folder", "Show the image file in its folder"))):
            button = QPushButton(text, self.box)
            button.setObjectName(f"inspector-{key}")
            button.setToolTip(tip)
            grid.addWidget(button, i // 2, i % 2)
            self.buttons[key] = button
        self.buttons["use_all"].clicked.connect(self.use_all)
        self.buttons["use_seed"].clicked.connect(self.use_seed)
        self.buttons["use_prompt"].clicked.connect(self.use_prompt)
        self.buttons["copy"].clicked.connect(self.copy)
        self.buttons["folder"].clicked.connect(self.open_folder)
        box.addLayout(grid)
        layout.addWidget(self.box)
        layout.addStretch(1)
        self.open_url: Callable[[QUrl], Any] = QDesktopServices.openUrl
        self.show_render(None, None)

    def _stage_clicked(self, index: int) -> None:
        self.stage = list(Stage)[index]
        self.stageChanged.emit(self.stage)

    def show_render(self, scene_name: str | None, render: RenderRecord | None) -> None:
        self.scene_name = scene_name
        self.record = render
        self.empty.setVisible(render is None)
        self.box.setVisible(render is not None)
        if render is None:
            return
        self.stage_group.button(list(Stage).index(render.stage)).setChecked(True)
        self.stage = render.stage
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
        }
        for key, text in values.items():
            self.values[key].setText(text)
        has_image = render.image_path is not None
        self.buttons["folder"].setEnabled(has_image)
        scene_known = scene_name is not None and self._doc.sheet.scene(scene_name) is not None
        for key in ("use_all", "use_seed", "use_prompt"):
            self.buttons[key].setEnabled(scene_known)

    # ------------------------------------------------------------------ actions
    def _scene(self) -> Scene | None:
        return self._doc.sheet.scene(self.scene_name) if self.scene_name else None

    def _seed_change(self, scene: Scene) -> int | None:
        assert self.record is not None
        seed = self.record.seed
        if seed is None or not 0 <= seed <= SEED_MAX or seed == self._doc.sheet.character.seed:
            return None
        return seed

    def use_seed(self) -> None:
        scene = self._scene()
        if scene is None or self.record is None:
            return
        self._doc.update_scene(scene.name, f"Use the seed of a render for \"{scene.name}\"",
                               merge=False, seed=self._seed_change(scene))

    def use_prompt(self) -> None:
        scene = self._scene()
        if scene is None or self.record is None:
            return
        self._doc.update_scene(scene.name, f"Use the prompt of a render for \"{scene.name}\"",
                               merge=False,
                               setting=setting_from_prompt(self._doc, scene, self.record.prompt))

    def use_all(self) -> None:
        scene = self._scene()
        render = self.record
        if scene is None or render is None:
            return
        doc = self._doc
        framing = scene.framing
        if frame_size(framing, doc.catalog) != (render.width, render.height):
            framing = next((p.id for p in doc.catalog.of_kind(PresetKind.FRAMING)
                            if (p.width, p.height) == (render.width, render.height)),
                           f"{render.width}x{render.height}")
        new_scene = replace(scene, setting=setting_from_prompt(doc, scene, render.prompt),
                            seed=self._seed_change(scene), framing=framing)
        sheet = doc.sheet.with_scenes(tuple(new_scene if s.name == scene.name else s
                                            for s in doc.sheet.scenes))
        if render.steps > 0:
            profile = replace(sheet.profile(render.stage), steps=render.steps,
                              guidance=render.guidance)
            sheet = (replace(sheet, preview=profile) if render.stage is Stage.PREVIEW
                     else replace(sheet, final=profile))
        doc.apply(sheet, f"Use all settings of a render for \"{scene.name}\"")

    def copy(self) -> None:
        if self.record is not None:
            QGuiApplication.clipboard().setText(parameters_text(self.record))

    def open_folder(self) -> None:
        if self.record is not None and self.record.image_path is not None:
            self.open_url(QUrl.fromLocalFile(str(self.record.image_path.parent)))
