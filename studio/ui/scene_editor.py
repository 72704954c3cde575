"""The scene panel: every field of the current scene, with preset pickers (the catalog's labels,
their effect as a tooltip) and the exact prompt it will send, coloured by part.

Which scene it shows is the selection's (:class:`~studio.ui.viewmodels.selection.SceneSelection`),
which follows a scene through a rename; a field being typed in is never rewritten by the edit
it makes (the model's value is what the field already says).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QRegularExpression, QSignalBlocker, Qt
from PySide6.QtGui import QColor, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextBrowser,
    QWidget,
)

from studio.core.anchor import ReferenceStrength
from studio.core.presets import PresetKind
from studio.core.prompt import PromptPart, prompt_parts, scene_subject, stage_negative
from studio.core.request import Stage
from studio.core.sheet import Scene, scene_references
from studio.ui import theme
from studio.ui.viewmodels.document import SheetDocument
from studio.ui.viewmodels.inspector import short_clause
from studio.ui.viewmodels.selection import SceneSelection
from studio.ui.widgets import (
    keep_typed_number,
    scrolling_column,
    section_label,
    show_plain_text,
)

STRENGTH_LABELS = {ReferenceStrength.OFF: "Off: words only",
                   ReferenceStrength.LIGHT: "Light: a likeness, free pose and style",
                   ReferenceStrength.STRONG: "Strong: hold the face closely"}

PART_COLOURS = {"reference": "#c2185b", "anchor": "#2f6fd6", "skin": "#8e44ad",
                "setting": "#2e7d32", "pattern": "#00838f", "lighting": "#c77700",
                "lens": "#6d4c41", "quality": "#7b1fa2"}


def part_colour(role: str) -> str:
    """A prompt part's colour, lightened on a dark palette so it stays readable."""
    colour = QColor(PART_COLOURS.get(role, "#444444"))
    if theme.is_dark():
        colour = theme.blend(colour, QColor("white"), 0.45)
    return colour.name()


def narrow_combo(combo: QComboBox) -> QComboBox:
    """A combo that narrows with its panel (its list still shows every label whole) instead
    of widening the panel to its longest label."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return combo


class PresetCombo(QComboBox):
    """Picks a preset by its label; a value not in the catalog shows as free text."""

    def __init__(self, document: SheetDocument, kind: PresetKind, allow_none: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        narrow_combo(self)
        self.kind = kind
        self.setObjectName(f"sceneCombo-{kind.value}")
        if allow_none:
            self.addItem("None", "")
        for preset in document.catalog.of_kind(kind):
            self.addItem(preset.label, preset.id)
            self.setItemData(self.count() - 1, preset.tooltip, Qt.ItemDataRole.ToolTipRole)
        self._fixed = self.count()

    def set_value(self, value: str) -> None:
        with QSignalBlocker(self):
            while self.count() > self._fixed:
                self.removeItem(self.count() - 1)
            i = self.findData(value)
            if i < 0:
                self.addItem(f"Free text: {value}", value)
                i = self.count() - 1
            self.setCurrentIndex(i)
            # The label first: the combo may be too narrow to show all of it.
            tip = self.itemData(i, Qt.ItemDataRole.ToolTipRole) or ""
            self.setToolTip(f"{self.itemText(i)}\n{tip}" if tip else self.itemText(i))

    def value(self) -> str:
        return str(self.currentData() or "")


class SceneEditor(QWidget):
    """Edits the selection's current scene; every change is one undoable step."""

    def __init__(self, document: SheetDocument, selection: SceneSelection,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sceneEditor")
        self._doc = document
        self._selection = selection
        body, layout = scrolling_column(self)
        self.empty_label = QLabel("Select a scene card to edit it.", body)
        self.empty_label.setWordWrap(True)
        layout.addWidget(self.empty_label)

        self.form_box = QWidget(body)
        form = QFormLayout(self.form_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(self.form_box)
        self.name_edit.setObjectName("sceneName")
        self.name_edit.editingFinished.connect(self._name_done)
        form.addRow("Name", self.name_edit)
        self.setting_edit = QPlainTextEdit(self.form_box)
        self.setting_edit.setObjectName("sceneSetting")
        self.setting_edit.setFixedHeight(64)
        self.setting_edit.setTabChangesFocus(True)
        self.setting_edit.setPlaceholderText("Where and how: coffee shop window, seated, ...")
        self.setting_edit.textChanged.connect(self._setting_typed)
        form.addRow("Setting", self.setting_edit)
        self.pattern_combo = PresetCombo(document, PresetKind.PATTERN, True, self.form_box)
        self.pattern_combo.activated.connect(lambda _i: self._set("pattern", self.pattern_combo))
        form.addRow("Pattern", self.pattern_combo)
        self.lighting_combo = PresetCombo(document, PresetKind.LIGHTING, True, self.form_box)
        self.lighting_combo.activated.connect(
            lambda _i: self._set("lighting", self.lighting_combo))
        form.addRow("Lighting", self.lighting_combo)
        self.lens_combo = PresetCombo(document, PresetKind.LENS, True, self.form_box)
        self.lens_combo.activated.connect(lambda _i: self._set("lens", self.lens_combo))
        form.addRow("Lens", self.lens_combo)
        self.framing_combo = PresetCombo(document, PresetKind.FRAMING, False, self.form_box)
        self.framing_combo.activated.connect(lambda _i: self._set("framing", self.framing_combo))
        form.addRow("Framing", self.framing_combo)
        self.strength_combo = narrow_combo(QComboBox(self.form_box))
        self.strength_combo.setObjectName("sceneReferenceStrength")
        for strength, label in STRENGTH_LABELS.items():
            self.strength_combo.addItem(label, strength.value)
        self.strength_combo.activated.connect(self._strength_chosen)
        form.addRow("References", self.strength_combo)
        seed_row = QHBoxLayout()
        self.seed_override = QCheckBox("Own seed", self.form_box)
        self.seed_override.setObjectName("sceneSeedOverride")
        self.seed_override.setToolTip("Off: the scene uses the sheet's locked seed")
        self.seed_override.toggled.connect(self._seed_toggled)
        self.seed_edit = QLineEdit(self.form_box)
        self.seed_edit.setObjectName("sceneSeed")
        self.seed_edit.setValidator(QRegularExpressionValidator(
            QRegularExpression(r"^\d{0,10}$"), self.seed_edit))
        self.seed_edit.textEdited.connect(self._seed_typed)
        seed_row.addWidget(self.seed_override)
        seed_row.addWidget(self.seed_edit, 1)
        form.addRow("Seed", seed_row)
        self.notes_edit = QPlainTextEdit(self.form_box)
        self.notes_edit.setObjectName("sceneNotes")
        self.notes_edit.setFixedHeight(54)
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.textChanged.connect(self._notes_typed)
        form.addRow("Notes", self.notes_edit)
        layout.addWidget(self.form_box)

        layout.addWidget(section_label("Prompt sent", body))
        self.prompt_view = QTextBrowser(body)
        self.prompt_view.setObjectName("promptPreview")
        self.prompt_view.setMinimumHeight(120)
        self.prompt_view.setOpenLinks(False)
        layout.addWidget(self.prompt_view, 1)
        self._refreshing = False
        document.changed.connect(self.refresh)
        selection.changed.connect(self.refresh)
        self.refresh()

    @property
    def scene_name(self) -> str | None:
        """The scene shown (the selection's current one)."""
        return self._selection.current

    def _scene(self) -> Scene | None:
        return self._doc.sheet.scene(self.scene_name) if self.scene_name else None

    def refresh(self) -> None:
        scene = self._scene()
        self.empty_label.setVisible(scene is None)
        self.form_box.setVisible(scene is not None)
        self.prompt_view.setVisible(scene is not None)
        if scene is None:
            return
        self._refreshing = True
        try:
            if not self.name_edit.hasFocus():
                with QSignalBlocker(self.name_edit):
                    self.name_edit.setText(scene.name)
            show_plain_text(self.setting_edit, scene.setting)
            show_plain_text(self.notes_edit, scene.notes)
            self.pattern_combo.set_value(scene.pattern)
            self.lighting_combo.set_value(scene.lighting)
            self.lens_combo.set_value(scene.lens)
            self.framing_combo.set_value(scene.framing)
            self._show_strength(scene)
            with QSignalBlocker(self.seed_override):
                self.seed_override.setChecked(scene.seed is not None)
            self.seed_edit.setEnabled(scene.seed is not None)
            keep_typed_number(self.seed_edit, scene.seed if scene.seed is not None
                              else self._doc.sheet.character.seed)
            parts = prompt_parts(self._doc.sheet, scene, self._doc.catalog)
            self.prompt_view.setHtml(self.prompt_html(scene, parts))
            self.prompt_view.setToolTip(self._whole_clause(parts))
        finally:
            self._refreshing = False

    def _show_strength(self, scene: Scene) -> None:
        refs = self._doc.sheet.character.references
        combo = self.strength_combo
        combo.setEnabled(bool(refs))
        # With no reference images nothing is sent, whatever the scene asks for.
        chosen = (scene.reference or ReferenceStrength.STRONG) if refs else ReferenceStrength.OFF
        with QSignalBlocker(combo):
            combo.setCurrentIndex(max(0, combo.findData(chosen.value)))
        if not refs:
            combo.setToolTip("Add reference images in the character panel to use them here")
            return
        sent = len(scene_references(self._doc.sheet, scene))
        default = " (the default)" if scene.reference is None else ""
        combo.setToolTip(f"{combo.currentText()}\n"
                         f"How strongly this scene holds to the character's reference images"
                         f"{default}; it sends {sent} of {len(refs)}. Each model maps light "
                         "and strong onto its own setting.")

    @staticmethod
    def _whole_clause(parts: list[PromptPart]) -> str:
        """The reference clause as sent, for the tooltip of the shortened one ("" if none)."""
        for part in parts:
            if part.role == "reference":
                return f"<p>Sent as: {html.escape(part.text.strip().strip(','))}</p>"
        return ""

    def prompt_html(self, scene: Scene, parts: list[PromptPart]) -> str:
        sheet, catalog = self._doc.sheet, self._doc.catalog

        def span(role: str, text: str) -> str:
            if role == "reference":  # shortened as everywhere; the tooltip has it whole
                text = short_clause(scene_subject(sheet, scene),
                                    len(scene_references(sheet, scene)))
            return f'<span style="color:{part_colour(role)}">{html.escape(text)}</span>'

        spans = ", ".join(span(p.role, p.text.strip().strip(",")) for p in parts)
        legend = " ".join(f'<span style="color:{part_colour(r)}">■ {r}</span>'
                          for r in dict.fromkeys(p.role for p in parts))
        negative = stage_negative(sheet, Stage.FINAL, catalog)
        return (f"<p>{spans}</p><p style='font-size:small'>{legend}</p>"
                f"<p style='font-size:small'><b>Negative (finals):</b> "
                f"{html.escape(negative) or '<i>none</i>'}</p>")

    # ------------------------------------------------------------------ edits
    def _name_done(self) -> None:
        scene = self._scene()
        if scene is None:
            return
        new = self.name_edit.text().strip()
        name = scene.name
        if new and new != scene.name:
            # The selection follows the rename (the document announces it), so this panel
            # goes on showing the scene; a name taken or empty is refused and put back.
            name = self._doc.update_scene(scene.name, f"Rename \"{scene.name}\"", merge=False,
                                          name=new)
        if self.name_edit.text() != name:
            self.name_edit.setText(name)

    def _setting_typed(self) -> None:
        if not self._refreshing and self.scene_name:
            self._doc.update_scene(self.scene_name, "Edit the setting",
                                   setting=self.setting_edit.toPlainText())

    def _notes_typed(self) -> None:
        if not self._refreshing and self.scene_name:
            self._doc.update_scene(self.scene_name, "Edit the notes",
                                   notes=self.notes_edit.toPlainText())

    def _set(self, key: str, combo: PresetCombo) -> None:
        if self.scene_name:
            self._doc.update_scene(self.scene_name, f"Set the {key}", merge=False,
                                   **{key: combo.value()})

    def _strength_chosen(self, _index: int) -> None:
        if self.scene_name:
            strength = ReferenceStrength(str(self.strength_combo.currentData()))
            self._doc.update_scene(self.scene_name, f"Set the references to {strength.value}",
                                   merge=False, reference=strength)

    def _seed_toggled(self, on: bool) -> None:
        if self.scene_name:
            seed = int(self.seed_edit.text() or self._doc.sheet.character.seed) if on else None
            self._doc.update_scene(self.scene_name, "Give the scene its own seed" if on else
                                   "Use the sheet's seed", merge=False, seed=seed)

    def _seed_typed(self, text: str) -> None:
        if self.scene_name and text.strip() and self.seed_override.isChecked():
            self._doc.update_scene(self.scene_name, "Change the scene's seed",
                                   seed=min(int(text), 4_294_967_295))
