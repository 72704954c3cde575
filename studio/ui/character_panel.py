"""The character panel: name, structured anchor fields and the composed (editable) anchor, its
version history, the reference images (:mod:`studio.ui.reference_strip`), the locked seed with
re-roll, the negative prompt with the recommended presets, skin-detail and quality toggles, and
the live prompt checks with one-click fixes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRegularExpression, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.checks import CapabilityLookup, Finding, Severity, lint_sheet
from studio.core.presets import PresetKind
from studio.core.request import Stage
from studio.ui import icons
from studio.ui.reference_strip import ReferenceStrip
from studio.ui.viewmodels.document import SheetDocument
from studio.ui.viewmodels.images import ImageCache
from studio.ui.viewmodels.references import ReferenceSet
from studio.ui.widgets import (
    FlowLayout,
    keep_typed_number,
    scrolling_column,
    section_label,
    show_line_text,
    show_plain_text,
)

if TYPE_CHECKING:  # the history comes with the library, once the window shows
    from studio.ui.viewmodels.history import AnchorHistoryEntry

FIELD_LABELS = (
    ("age", "Age", "30"),
    ("presentation", "Presentation", "woman"),
    ("build", "Build", "slim athletic"),
    ("hair", "Hair", "dark brown wavy hair past shoulders"),
    ("skin_tone", "Skin tone", "warm olive"),
    ("eyes", "Eyes", "brown"),
    ("features", "Features", "small nose, defined jaw"),
    ("outfit", "Outfit", "charcoal wool coat"),
)

SEVERITY_MARK = {Severity.ERROR: ("●", "#c62828"), Severity.WARNING: ("●", "#b7791f"),
                 Severity.INFO: ("●", "#2f6fd6")}


class ChecksPanel(QWidget):
    """The prompt checks of the sheet, re-run shortly after every edit."""

    findingsChanged = Signal(list)

    def __init__(self, document: SheetDocument, capabilities: CapabilityLookup | None = None,
                 parent: QWidget | None = None, delay_ms: int = 150) -> None:
        super().__init__(parent)
        self.setObjectName("checksPanel")
        self._doc = document
        self._caps = capabilities
        self.findings: list[Finding] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.run_now)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.summary = QLabel(self)
        self.summary.setObjectName("checksSummary")
        layout.addWidget(self.summary)
        self._rows = QVBoxLayout()
        self._rows.setSpacing(4)
        layout.addLayout(self._rows)
        self.fix_buttons: list[QPushButton] = []
        document.changed.connect(self._timer.start)
        self._timer.start()  # the first run too: after the window has shown itself

    def set_capabilities(self, lookup: CapabilityLookup | None) -> None:
        self._caps = lookup
        self.run_now()

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def run_now(self) -> None:
        self._timer.stop()
        self.findings = lint_sheet(self._doc.sheet, self._doc.catalog, self._caps)
        self._rebuild()
        self.findingsChanged.emit(self.findings)

    def _rebuild(self) -> None:
        while self._rows.count():
            item = self._rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.fix_buttons = []
        counts = {s: sum(1 for f in self.findings if f.severity is s) for s in Severity}
        if not self.findings:
            self.summary.setText("✓ No problems found")
        else:
            parts = [f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
            self.summary.setText("Prompt checks: " + ", ".join(parts))
        for finding in self.findings:
            self._rows.addWidget(self._row(finding))

    def _row(self, finding: Finding) -> QWidget:
        row = QFrame(self)
        row.setObjectName("finding")
        row.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(6, 4, 6, 4)
        mark, colour = SEVERITY_MARK[finding.severity]
        dot = QLabel(mark, row)
        dot.setStyleSheet(f"color: {colour};")
        dot.setToolTip(finding.severity.value)
        dot.setAlignment(Qt.AlignmentFlag.AlignTop)
        text = QLabel(row)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setText(f"{finding.message}\n→ {finding.suggestion}")
        text.setToolTip(f"[{finding.id}] {finding.severity.value}")
        text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        text.setMinimumWidth(120)
        layout.addWidget(dot)
        layout.addWidget(text, 1)
        if finding.fix is not None:
            fix = finding.fix
            button = QPushButton("Fix", row)
            button.setToolTip(fix.label)
            button.setObjectName(f"fix-{finding.id}")
            button.clicked.connect(lambda _=False, f=fix: self._doc.apply_fix(f))
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            self.fix_buttons.append(button)
        return row


class CharacterPanel(QWidget):
    """Edits the character of the open sheet; every change is one undoable step."""

    historyRestoreRequested = Signal(object)

    def __init__(self, document: SheetDocument, capabilities: CapabilityLookup | None = None,
                 parent: QWidget | None = None, *, references: ReferenceSet | None = None,
                 images: ImageCache | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("characterPanel")
        self._doc = document

        body, layout = scrolling_column(self)
        layout.setSpacing(4)

        # name
        layout.addWidget(section_label("Character", body))
        self.name_edit = QLineEdit(body)
        self.name_edit.setObjectName("characterName")
        self.name_edit.setPlaceholderText("A specific first name, e.g. Emma")
        self.name_edit.setToolTip("A specific first name keeps the character consistent")
        self.name_edit.textEdited.connect(lambda t: self._doc.set_name(t))
        layout.addWidget(self.name_edit)

        # structured anchor fields
        layout.addWidget(section_label("Anchor", body))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.field_edits: dict[str, QLineEdit] = {}
        for key, label, example in FIELD_LABELS:
            edit = QLineEdit(body)
            edit.setObjectName(f"anchorField-{key}")
            edit.setPlaceholderText(example)
            edit.textEdited.connect(lambda t, k=key: self._doc.set_anchor_field(k, t))
            form.addRow(label, edit)
            self.field_edits[key] = edit
        layout.addLayout(form)

        # the composed anchor, editable
        self.anchor_edit = QPlainTextEdit(body)
        self.anchor_edit.setObjectName("anchorText")
        self.anchor_edit.setPlaceholderText("The anchor every scene repeats")
        self.anchor_edit.setFixedHeight(72)
        self.anchor_edit.setTabChangesFocus(True)
        self.anchor_edit.textChanged.connect(self._anchor_typed)
        layout.addWidget(self.anchor_edit)
        status_row = QHBoxLayout()
        self.anchor_status = QLabel(body)
        self.anchor_status.setObjectName("anchorStatus")
        self.anchor_status.setWordWrap(True)
        self.recompose_button = QPushButton("Compose from fields", body)
        self.recompose_button.setObjectName("recompose")
        self.recompose_button.clicked.connect(lambda: self._doc.recompose_anchor())
        status_row.addWidget(self.anchor_status, 1)
        status_row.addWidget(self.recompose_button)
        layout.addLayout(status_row)

        # history
        history_row = QHBoxLayout()
        self.history_combo = QComboBox(body)
        self.history_combo.setObjectName("anchorHistory")
        self.history_combo.setToolTip("Earlier versions of this character's anchor")
        self.history_restore = QPushButton("Use", body)
        self.history_restore.setObjectName("anchorHistoryUse")
        self.history_restore.setToolTip("Put this version's anchor back (one undoable step)")
        self.history_restore.clicked.connect(self._restore_history)
        history_row.addWidget(QLabel("History", body))
        history_row.addWidget(self.history_combo, 1)
        history_row.addWidget(self.history_restore)
        self.history_box = QWidget(body)
        self.history_box.setLayout(history_row)
        self.history_box.hide()
        layout.addWidget(self.history_box)

        # reference images
        self.reference_strip: ReferenceStrip | None = None
        if references is not None:
            layout.addWidget(section_label("Reference images", body))
            self.reference_strip = ReferenceStrip(references, images, body)
            layout.addWidget(self.reference_strip)

        # seed
        layout.addWidget(section_label("Seed", body))
        seed_row = QHBoxLayout()
        self.seed_edit = QLineEdit(body)
        self.seed_edit.setObjectName("seed")
        self.seed_edit.setValidator(QRegularExpressionValidator(
            QRegularExpression(r"^\d{0,10}$"), self.seed_edit))
        self.seed_edit.setToolTip("The seed every scene shares (0 to 4294967295)")
        self.seed_edit.textEdited.connect(self._seed_typed)
        self.lock_button = QToolButton(body)
        self.lock_button.setObjectName("seedLock")
        self.lock_button.setCheckable(True)
        self.lock_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.lock_button.setChecked(document.seed_locked)
        self.lock_button.toggled.connect(self._lock_toggled)
        self.reroll_button = QToolButton(body)
        self.reroll_button.setObjectName("seedReroll")
        self.reroll_button.setText("Re-roll")
        self.reroll_button.setIcon(icons.dice_icon())
        self.reroll_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reroll_button.setToolTip("Pick a new random seed for the whole sheet")
        self.reroll_button.clicked.connect(lambda: self._doc.reroll_seed())
        seed_row.addWidget(self.seed_edit, 1)
        seed_row.addWidget(self.lock_button)
        seed_row.addWidget(self.reroll_button)
        layout.addLayout(seed_row)

        # negative prompt
        neg_head = QHBoxLayout()
        neg_head.addWidget(section_label("Negative prompt (finals)", body), 1)
        self.negative_presets = QToolButton(body)
        self.negative_presets.setObjectName("negativePresets")
        self.negative_presets.setText("Presets")
        self.negative_presets.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.negative_menu = QMenu(self.negative_presets)
        self.negative_menu.setToolTipsVisible(True)
        self.negative_presets.setMenu(self.negative_menu)
        neg_head.addWidget(self.negative_presets)
        layout.addLayout(neg_head)
        self.negative_edit = QPlainTextEdit(body)
        self.negative_edit.setObjectName("negative")
        self.negative_edit.setFixedHeight(60)
        self.negative_edit.setTabChangesFocus(True)
        self.negative_edit.textChanged.connect(self._negative_typed)
        layout.addWidget(self.negative_edit)

        # skin and quality toggles
        self.toggles: dict[tuple[PresetKind, str], QToolButton] = {}
        for kind, title in ((PresetKind.SKIN, "Skin detail"), (PresetKind.QUALITY, "Quality")):
            layout.addWidget(section_label(title, body))
            box = QWidget(body)
            box.setObjectName(f"toggles-{kind.value}")
            box.setStyleSheet("QToolButton { padding: 3px 8px; border: 1px solid palette(mid); "
                              "border-radius: 10px; background: palette(button); } "
                              "QToolButton:checked { background: palette(highlight); "
                              "color: palette(highlighted-text); "
                              "border-color: palette(highlight); }")
            flow = FlowLayout(box, spacing=4)
            for preset in document.catalog.of_kind(kind):
                button = QToolButton(box)
                button.setObjectName(f"toggle-{kind.value}-{preset.id}")
                button.setText(preset.label)
                button.setCheckable(True)
                button.setToolTip(preset.tooltip)
                button.toggled.connect(
                    lambda on, k=kind, pid=preset.id: self._toggle(k, pid, on))
                flow.add(button)
                self.toggles[(kind, preset.id)] = button
            layout.addWidget(box)

        # checks
        layout.addWidget(section_label("Prompt checks", body))
        self.checks = ChecksPanel(document, capabilities, body)
        layout.addWidget(self.checks)
        layout.addStretch(1)

        self._refreshing = False
        self._build_negative_menu()
        document.changed.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ binding
    def refresh(self) -> None:
        self._refreshing = True
        try:
            ch = self._doc.sheet.character
            show_line_text(self.name_edit, ch.name)
            for key, edit in self.field_edits.items():
                show_line_text(edit, getattr(ch.fields, key))
            show_plain_text(self.anchor_edit, ch.anchor)
            composed = self._doc.anchor_is_composed()
            if ch.fields.is_empty():
                self.anchor_status.setText("Typed by hand (no fields filled in)")
            elif composed:
                self.anchor_status.setText("Composed from the fields above")
            else:
                self.anchor_status.setText("Edited by hand: the fields no longer change it")
            self.recompose_button.setVisible(not composed)
            keep_typed_number(self.seed_edit, ch.seed)
            self._apply_lock()
            recommended = self._doc.catalog.recommended_negative(Stage.FINAL)
            self.negative_edit.setPlaceholderText(
                f"Default: {recommended}" if recommended else "No negative prompt")
            # Spaces typed first are kept: the sheet holds no negative prompt for them yet.
            show_plain_text(self.negative_edit, ch.negative or "",
                            lambda typed: (typed if typed.strip() else None) == ch.negative)
            for (kind, pid), button in self.toggles.items():
                values = ch.skin if kind is PresetKind.SKIN else ch.quality
                with QSignalBlocker(button):
                    button.setChecked(pid in values)
        finally:
            self._refreshing = False

    def _apply_lock(self) -> None:
        locked = self.lock_button.isChecked()
        self.lock_button.setText("Locked" if locked else "Unlocked")
        self.lock_button.setIcon(icons.lock_icon(locked))
        self.lock_button.setToolTip(
            "The seed is locked: every scene renders with it. Click to unlock and re-roll."
            if locked else "The seed is unlocked: type a new one or re-roll. Click to lock.")
        self.seed_edit.setReadOnly(locked)
        self.reroll_button.setEnabled(not locked)

    def _lock_toggled(self, on: bool) -> None:
        self._doc.seed_locked = on
        self._apply_lock()

    def _anchor_typed(self) -> None:
        if self._refreshing:
            return
        self._doc.set_character("Edit the anchor", "character.anchor",
                                anchor=self.anchor_edit.toPlainText())

    def _seed_typed(self, text: str) -> None:
        if text.strip():
            self._doc.set_seed(int(text))

    def _negative_typed(self) -> None:
        if self._refreshing:
            return
        text = self.negative_edit.toPlainText()
        self._doc.set_character("Edit the negative prompt", "character.negative",
                                negative=text if text.strip() else None)

    def _toggle(self, kind: PresetKind, preset_id: str, on: bool) -> None:
        if not self._refreshing:
            self._doc.toggle_preset(kind, preset_id, on)

    def _build_negative_menu(self) -> None:
        menu = self.negative_menu
        menu.clear()
        for preset in self._doc.catalog.of_kind(PresetKind.NEGATIVE):
            if preset.stage is Stage.PREVIEW:
                continue
            label = preset.label + ("  (recommended)" if preset.recommended
                                    and "ecommended" not in preset.label else "")
            action = menu.addAction(label)
            action.setToolTip(preset.tooltip)
            action.triggered.connect(
                lambda _=False, text=preset.text, lab=preset.label: self._doc.set_character(
                    f"Use the {lab} negative prompt", negative=text))
        menu.addSeparator()
        clear = menu.addAction("Use the default")
        clear.setToolTip("Leave it empty: finals use the recommended negative prompt")
        clear.triggered.connect(lambda: self._doc.set_character(
            "Use the default negative prompt", negative=None))

    # ------------------------------------------------------------------ history
    def set_history(self, entries: list[AnchorHistoryEntry]) -> None:
        """The saved versions of this character's anchor, newest first. The version the user
        has picked stays picked when the list is read again (a batch adds one)."""
        from studio.ui.viewmodels.history import AnchorHistoryEntry

        combo = self.history_combo
        if [combo.itemData(i) for i in range(combo.count())] == entries:
            return  # read again after a write that added no version: nothing to lay out
        picked = combo.currentData()
        self.history_box.setVisible(bool(entries))
        with QSignalBlocker(self.history_combo):
            self.history_combo.clear()
            for entry in entries:
                self.history_combo.addItem(entry.label, entry)
                self.history_combo.setItemData(self.history_combo.count() - 1, entry.anchor,
                                               Qt.ItemDataRole.ToolTipRole)
            if isinstance(picked, AnchorHistoryEntry):
                again = next((i for i, e in enumerate(entries) if e.anchor == picked.anchor
                              and e.seed == picked.seed), None)
                if again is not None:
                    self.history_combo.setCurrentIndex(again)

    def _restore_history(self) -> None:
        from studio.ui.viewmodels.history import AnchorHistoryEntry

        entry = self.history_combo.currentData()
        if isinstance(entry, AnchorHistoryEntry):
            changes: dict[str, object] = {"anchor": entry.anchor}
            if entry.seed is not None:
                changes["seed"] = entry.seed
            self._doc.set_character(f"Use the anchor {entry.label}", **changes)
            self.historyRestoreRequested.emit(entry)
