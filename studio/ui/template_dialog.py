"""Sheet templates in the window: File › New from template (a new sheet holding a template's
cells, as ``studio new --template`` writes it) and Scene › Add from template (a template's cells
added after the open sheet's scenes, one undo step).

The templates are the built-in ones and the user's from the config folder
(``templates.toml``, ``templates/*.toml``), read when first asked for.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import TemplateError
from studio.core.presets import PresetCatalog
from studio.core.request import SEED_MAX
from studio.core.sheet import Sheet
from studio.core.templates import (
    SheetTemplate,
    TemplateCatalog,
    append_template,
    load_templates,
    sheet_from_template,
)
from studio.ui.scene_grid import group_label

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow


class WindowTemplates:
    """The templates the window offers; ``group_label`` names a grid section by its template."""

    def __init__(self, catalog: PresetCatalog, config_dir: Path) -> None:
        self._catalog = catalog
        self._config_dir = config_dir
        self._templates: TemplateCatalog | None = None

    def load(self) -> TemplateCatalog:
        """The templates (read once); raises TemplateError with the sentence for a user file
        that cannot be read."""
        if self._templates is None:
            self._templates = load_templates(
                self._catalog, user_file=self._config_dir / "templates.toml",
                user_dir=self._config_dir / "templates")
        return self._templates

    def group_label(self, group: str) -> str:
        try:
            template = self.load().get(group) if group else None
        except TemplateError:
            template = None
        return template.label if template is not None else group_label(group)


def cells_text(template: SheetTemplate) -> str:
    count = len(template.cells) - template.optional_count
    text = f"{count} cell{'s' if count != 1 else ''}"
    if template.optional_count:
        text += f" (+{template.optional_count} optional)"
    return text


class TemplateDialog(QDialog):
    """Pick a template; for a new sheet, the character's name and (optionally) anchor too."""

    def __init__(self, templates: TemplateCatalog, new_sheet: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.new_sheet = new_sheet
        self.setObjectName("newFromTemplate" if new_sheet else "addFromTemplate")
        self.setWindowTitle("New sheet from a template" if new_sheet
                            else "Add scenes from a template")
        self.setMinimumWidth(520)
        column = QVBoxLayout(self)
        column.addWidget(QLabel("Template" if new_sheet else
                                "Add a template's cells after the sheet's scenes:", self))
        self.list = QListWidget(self)
        self.list.setObjectName("templateList")
        for template in templates.all():
            item = QListWidgetItem(f"{template.label}  ·  {cells_text(template)}")
            item.setData(Qt.ItemDataRole.UserRole, template)
            cells = ", ".join(c.label + (" (optional)" if c.optional else "")
                              for c in template.cells)
            item.setToolTip("\n".join(t for t in (template.description, f"Cells: {cells}") if t))
            self.list.addItem(item)
        column.addWidget(self.list, 1)
        self.cells_label = QLabel(self)
        self.cells_label.setObjectName("templateCells")
        self.cells_label.setWordWrap(True)
        # Room for the longest list (a wrapped label is not given its height by the dialog).
        self.cells_label.setMinimumHeight(3 * self.fontMetrics().lineSpacing() + 4)
        self.cells_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.cells_label)
        self.optional = QCheckBox("Include the optional cells", self)
        self.optional.setObjectName("templateOptional")
        column.addWidget(self.optional)
        form = QFormLayout()
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("templateName")
        self.name_edit.setPlaceholderText("The character's first name, e.g. Mara")
        self.anchor_edit = QPlainTextEdit(self)
        self.anchor_edit.setObjectName("templateAnchor")
        self.anchor_edit.setPlaceholderText("Optional: age, hair, eyes, distinctive features "
                                            "(you can fill it in the Character panel later)")
        self.anchor_edit.setFixedHeight(70)
        if new_sheet:
            form.addRow("Name", self.name_edit)
            form.addRow("Anchor", self.anchor_edit)
            column.addLayout(form)
        else:
            self.name_edit.hide()
            self.anchor_edit.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create the sheet" if new_sheet else "Add the scenes")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        column.addWidget(self.buttons)
        self.list.currentItemChanged.connect(self._update)
        self.list.itemDoubleClicked.connect(lambda _item: self._accept_if_ready())
        self.name_edit.textChanged.connect(self._update)
        if self.list.count():
            self.list.setCurrentRow(0)
        self._update()

    def template(self) -> SheetTemplate | None:
        item = self.list.currentItem()
        template = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return template if isinstance(template, SheetTemplate) else None

    def select(self, template_id: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole).id == template_id:
                self.list.setCurrentRow(row)
                return

    @property
    def ready(self) -> bool:
        return self.template() is not None and (not self.new_sheet
                                                or bool(self.name_edit.text().strip()))

    def _update(self, *_args: object) -> None:
        template = self.template()
        if template is None:
            self.cells_label.setText("")
        else:
            self.cells_label.setText("Cells: " + ", ".join(
                c.label + (" (optional)" if c.optional else "") for c in template.cells))
        self.optional.setEnabled(template is not None and template.optional_count > 0)
        self.ok_button.setEnabled(self.ready)
        if self.new_sheet and template is not None and not self.name_edit.text().strip():
            self.ok_button.setToolTip("Give the character a name first.")
        else:
            self.ok_button.setToolTip("")

    def _accept_if_ready(self) -> None:
        if self.ready:
            self.accept()

    def new_sheet_from(self, seed: int | None = None) -> Sheet:
        """The sheet ``studio new --template`` would write for these answers (a random seed,
        like the command's, unless ``seed`` is given)."""
        template = self.template()
        assert template is not None
        return sheet_from_template(
            template, self.name_edit.text().strip(),
            secrets.randbelow(SEED_MAX + 1) if seed is None else seed,
            anchor=self.anchor_edit.toPlainText().strip(),
            include_optional=self.optional.isChecked())

    def added_to(self, sheet: Sheet) -> Sheet:
        template = self.template()
        assert template is not None
        return append_template(sheet, template, include_optional=self.optional.isChecked())


def _open(window: MainWindow, new_sheet: bool,
          done: Callable[[TemplateDialog], None]) -> TemplateDialog | None:
    try:
        templates = window.templates.load()
    except TemplateError as exc:
        window.show_message(f"The sheet templates cannot be read: {exc} Fix or remove that "
                            "file in the settings folder, then try again.", "error")
        return None
    dialog = TemplateDialog(templates, new_sheet, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(lambda: done(dialog))
    dialog.open()
    return dialog


def new_from_template(window: MainWindow) -> TemplateDialog | None:
    """File › New from template: the new sheet replaces the open one (after asking to save
    its changes), unsaved, titled after the character and the template."""

    def create(dialog: TemplateDialog) -> None:
        sheet = dialog.new_sheet_from()
        if window.session.settle_changes():
            window.session.load(sheet, None, sheet.title or "Untitled sheet")

    return _open(window, True, create)


def add_from_template(window: MainWindow) -> TemplateDialog | None:
    """Scene › Add from template: the cells after the sheet's scenes, one undo step; the
    first of them selected."""

    def add(dialog: TemplateDialog) -> None:
        doc = window.document
        before = len(doc.sheet.scenes)
        template = dialog.template()
        assert template is not None
        doc.apply(dialog.added_to(doc.sheet), f"Add the {template.label} template")
        if len(doc.sheet.scenes) > before:
            window.grid.select_name(doc.sheet.scenes[before].name)

    return _open(window, False, add)
