"""Sheet templates: ready sets of scenes as artists make them (turnaround, expressions, ...).

A template is data: an ordered list of cells, each with a label (the scene's name), the pose,
angle or expression text, and optionally its own framing, lens, outfit and notes, over one
lighting, lens, framing and setting the whole template shares, so the only differences between
its cells are the intended ones. Built-in templates live in ``resources/templates/*.toml``; the
user's in ``templates.toml`` or ``templates/*.toml`` in the config folder, where an entry with a
built-in id replaces the built-in (in its place in the list).

Cells marked ``optional`` are part of the template but left out of a new sheet unless asked
for (``include_optional``; ``studio new --all``).

A template file::

    format = 1

    [[template]]
    id = "turnaround"                 # lower-case words joined by hyphens
    label = "Turnaround"
    description = "Full body from five angles."
    layout = "turnaround"             # the export layout that fits: see SheetLayout
    lighting = "flat-studio"          # shared by every cell: a preset id or free text
    lens = ""                         # shared; a cell may name its own
    framing = "full-body"             # shared; a cell may name its own
    setting = "full body, neutral A-pose"   # appended to every cell's text

    [[template.cells]]
    label = "Front"
    text = "front view"
    # framing, lens, outfit, notes and optional = true are optional
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from studio.core.anchor import AnchorFields, compose_anchor, name_in_anchor
from studio.core.errors import StudioInputError, TemplateError
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.resources import resource_path
from studio.core.sheet import Character, Scene, Sheet, frame_size
from studio.core.tomlfile import TomlReader, describe, parse_toml, read_toml_file

TEMPLATES_FORMAT = 1
TEMPLATES_FOLDER = "templates"
USER_TEMPLATES_FILE = "templates.toml"
_TEMPLATE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class UnknownTemplateError(StudioInputError):
    """No template has the id asked for; the message names the ones there are."""


class SheetLayout(StrEnum):
    """The page layouts a sheet exports in; a template names the one that fits it."""

    SHEET = "sheet"
    STORYBOARD = "storyboard"
    TURNAROUND = "turnaround"
    EXPRESSIONS = "expressions"
    MODEL_SHEET = "model-sheet"


@dataclass(frozen=True, slots=True)
class TemplateCell:
    """One cell of a template: a scene-to-be. Empty fields take the template's."""

    label: str
    text: str = ""
    framing: str = ""
    lens: str = ""
    outfit: str = ""
    notes: str = ""
    optional: bool = False


@dataclass(frozen=True, slots=True)
class SheetTemplate:
    id: str
    label: str
    cells: tuple[TemplateCell, ...]
    description: str = ""
    layout: SheetLayout = SheetLayout.SHEET
    lighting: str = ""
    lens: str = ""
    framing: str = "portrait"
    setting: str = ""
    source: str = "built-in"

    @property
    def optional_count(self) -> int:
        return sum(1 for c in self.cells if c.optional)

    def chosen_cells(self, include_optional: bool = False) -> tuple[TemplateCell, ...]:
        return tuple(c for c in self.cells if include_optional or not c.optional)

    def scene_for(self, cell: TemplateCell, name: str | None = None) -> Scene:
        """The scene a cell becomes: its text then the shared setting, the shared lighting,
        the cell's framing and lens or the template's, grouped under the template's id."""
        setting = ", ".join(p.strip().strip(",") for p in (cell.text, self.setting)
                            if p.strip())
        return Scene(name=name or cell.label, setting=setting, lighting=self.lighting,
                     lens=cell.lens or self.lens, framing=cell.framing or self.framing,
                     notes=cell.notes, group=self.id, outfit=cell.outfit)

    def scenes(self, include_optional: bool = False) -> tuple[Scene, ...]:
        return tuple(self.scene_for(c) for c in self.chosen_cells(include_optional))


class TemplateCatalog:
    """The templates by id, built-ins first in their order, then the user's own."""

    def __init__(self, templates: Iterable[SheetTemplate]) -> None:
        self._by_id: dict[str, SheetTemplate] = {}
        for template in templates:
            # A later template with the same id replaces the earlier one (the user's over
            # ours) but keeps the built-in's place in the list.
            self._by_id[template.id] = template

    def all(self) -> list[SheetTemplate]:
        return list(self._by_id.values())

    def ids(self) -> list[str]:
        return list(self._by_id)

    def get(self, template_id: str) -> SheetTemplate | None:
        return self._by_id.get(template_id)

    def require(self, template_id: str) -> SheetTemplate:
        """The template, or a ``TemplateError`` sentence naming the known ids."""
        template = self.get(template_id)
        if template is not None:
            return template
        near = difflib.get_close_matches(template_id, self.ids(), n=1, cutoff=0.5)
        guess = f"did you mean \"{near[0]}\"? Use" if near else "use"
        raise UnknownTemplateError(
            f"There is no template \"{template_id}\"; {guess} one of: "
            f"{', '.join(self.ids())} (studio templates lists them).")

    def __len__(self) -> int:
        return len(self._by_id)


# --------------------------------------------------------------------------- reading


class _TemplateReader(TomlReader):
    error = TemplateError
    format_name = "the template format"

    def __init__(self, text: str, path: str, catalog: PresetCatalog, source: str) -> None:
        super().__init__(text, path, catalog)
        self.source = source
        self.cells_seen = 0  # [[template.cells]] headers before the current one, file-wide

    def document(self, data: Mapping[str, Any]) -> list[SheetTemplate]:
        fmt = self.get(data, "format", int, key="format", required=True,
                       hint=f"add format = {TEMPLATES_FORMAT} as the first line")
        if fmt != TEMPLATES_FORMAT:
            raise self.fail(f"is {fmt}, not a template format this studio reads",
                            key="format", field_name="format",
                            hint=f"write format = {TEMPLATES_FORMAT}")
        self.no_unknown(data, {"format", "template"}, "", "")
        raw = data.get("template", [])
        if not isinstance(raw, list):
            raise self.fail("must be an array of tables", key="template",
                            hint="write each template as a [[template]] table")
        out: list[SheetTemplate] = []
        seen: set[str] = set()
        for i, tbl in enumerate(raw):
            template = self.template(tbl, i)
            if template.id in seen:
                raise self.fail(f"repeats the template id \"{template.id}\"",
                                key=f"template[{i + 1}].id", table="template", index=i,
                                field_name="id", hint="give each template of a file its own id")
            seen.add(template.id)
            out.append(template)
        return out

    def text(self, tbl: Mapping[str, Any], name: str, key: str, table: str, index: int, *,
             required: bool = False, hint: str = "") -> str:
        value = self.get(tbl, name, str, key=f"{key}.{name}", table=table, index=index,
                         required=required, hint=hint)
        return "" if value is None else str(value).strip()

    def framing(self, value: str, key: str, table: str, index: int) -> str:
        if value and frame_size(value, self.catalog) is None:
            ids = ", ".join(self.catalog.ids(PresetKind.FRAMING))
            raise self.fail(f"\"{value}\" is neither a framing preset nor WIDTHxHEIGHT",
                            key=key, table=table, index=index, field_name="framing",
                            hint=f"use one of {ids}, or e.g. 768x1024")
        return value

    def template(self, tbl: Any, i: int) -> SheetTemplate:
        key = f"template[{i + 1}]"
        if not isinstance(tbl, dict):
            raise self.fail("must be a table", key=key, hint="write [[template]] before it")
        tid = self.text(tbl, "id", key, "template", i, required=True,
                        hint="add id = \"my-template\"")
        if not _TEMPLATE_ID.match(tid):
            raise self.fail(f"\"{tid}\" is not a template id", key=f"{key}.id",
                            table="template", index=i, field_name="id",
                            hint="use lower-case letters, digits and hyphens, e.g. "
                            "\"night-poses\"")
        key = f"template \"{tid}\""
        self.no_unknown(tbl, {"id", "label", "description", "layout", "lighting", "lens",
                              "framing", "setting", "cells"}, key, "template", i)
        label = self.text(tbl, "label", key, "template", i, required=True,
                          hint="add label = \"Night poses\" (the name shown in lists)")
        layout_name = self.text(tbl, "layout", key, "template", i) or SheetLayout.SHEET.value
        try:
            layout = SheetLayout(layout_name)
        except ValueError:
            raise self.fail(f"names an unknown layout \"{layout_name}\"", key=f"{key}.layout",
                            table="template", index=i, field_name="layout",
                            hint="use one of: " + ", ".join(v.value for v in SheetLayout)
                            ) from None
        lighting = self.preset_value(PresetKind.LIGHTING, self.text(tbl, "lighting", key,
                                     "template", i), key=f"{key}.lighting", table="template",
                                     index=i, name="lighting")
        lens = self.preset_value(PresetKind.LENS, self.text(tbl, "lens", key, "template", i),
                                 key=f"{key}.lens", table="template", index=i, name="lens")
        framing = self.framing(self.text(tbl, "framing", key, "template", i), f"{key}.framing",
                               "template", i) or "portrait"
        setting = self.text(tbl, "setting", key, "template", i)
        raw_cells = tbl.get("cells")
        if not isinstance(raw_cells, list) or not raw_cells:
            raise self.fail("has no cells" if raw_cells is None else
                            f"'cells' must be an array of tables, not {describe(raw_cells)}",
                            key=key, table="template", index=i,
                            hint="add a [[template.cells]] table with a label for each cell")
        cells: list[TemplateCell] = []
        labels: set[str] = set()
        for j, cell_tbl in enumerate(raw_cells):
            cell = self.cell(cell_tbl, f"{key}.cells[{j + 1}]", bool(setting))
            if cell.label in labels:
                raise self.fail(f"repeats the cell label \"{cell.label}\"",
                                key=f"{key}.cells[{j + 1}].label", table="template.cells",
                                index=self.cells_seen - 1, field_name="label",
                                hint="cell labels become scene names and must be unique")
            labels.add(cell.label)
            cells.append(cell)
        return SheetTemplate(
            id=tid, label=label, cells=tuple(cells),
            description=self.text(tbl, "description", key, "template", i), layout=layout,
            lighting=lighting, lens=lens, framing=framing, setting=setting, source=self.source,
        )

    def cell(self, tbl: Any, key: str, has_setting: bool) -> TemplateCell:
        index = self.cells_seen
        self.cells_seen += 1
        table = "template.cells"
        if not isinstance(tbl, dict):
            raise self.fail("must be a table", key=key, hint="write [[template.cells]] before it")
        self.no_unknown(tbl, {"label", "text", "framing", "lens", "outfit", "notes",
                              "optional"}, key, table, index)
        label = self.text(tbl, "label", key, table, index, required=True,
                          hint="add label = \"Front\" (it becomes the scene's name)")
        if not label:
            raise self.fail("is empty", key=f"{key}.label", table=table, index=index,
                            field_name="label", hint="give the cell a label")
        text = self.text(tbl, "text", key, table, index)
        if not text and not has_setting:
            raise self.fail("has no text and its template no setting", key=key, table=table,
                            index=index, hint="add text = \"front view\" (the pose, angle or "
                            "expression) or a setting to the template")
        optional = self.get(tbl, "optional", bool, key=f"{key}.optional", table=table,
                            index=index)
        return TemplateCell(
            label=label, text=text,
            framing=self.framing(self.text(tbl, "framing", key, table, index),
                                 f"{key}.framing", table, index),
            lens=self.preset_value(PresetKind.LENS, self.text(tbl, "lens", key, table, index),
                                   key=f"{key}.lens", table=table, index=index, name="lens"),
            outfit=self.text(tbl, "outfit", key, table, index),
            notes=self.text(tbl, "notes", key, table, index),
            optional=bool(optional),
        )


def read_templates(path: Path, catalog: PresetCatalog, source: str) -> list[SheetTemplate]:
    """The templates of one file; ``TemplateError`` at the first problem."""
    text = read_toml_file(path, TemplateError, "template")
    data = parse_toml(text, str(path), TemplateError, "template")
    return _TemplateReader(text, str(path), catalog, source).document(data)


def builtin_templates_dir() -> Path:
    return resource_path(TEMPLATES_FOLDER)


def load_templates(
    catalog: PresetCatalog,
    *,
    user_file: Path | None = None,
    user_dir: Path | None = None,
    builtin_dir: Path | None = None,
) -> TemplateCatalog:
    """The built-in templates (files in name order), then the user's ``templates.toml`` and
    ``templates/*.toml`` (in name order) where they exist, merged over them by id."""
    found: list[SheetTemplate] = []
    for path in sorted((builtin_dir or builtin_templates_dir()).glob("*.toml")):
        found += read_templates(path, catalog, "built-in")
    if user_file is not None and user_file.is_file():
        found += read_templates(user_file, catalog, "user")
    if user_dir is not None and user_dir.is_dir():
        for path in sorted(user_dir.glob("*.toml")):
            found += read_templates(path, catalog, "user")
    return TemplateCatalog(found)


# --------------------------------------------------------------------------- making sheets


def _unique_name(wanted: str, taken: set[str], template: SheetTemplate) -> str:
    if wanted not in taken:
        return wanted
    name = f"{wanted} ({template.label})"
    number = 2
    while name in taken:
        name = f"{wanted} ({template.label} {number})"
        number += 1
    return name


def append_template(sheet: Sheet, template: SheetTemplate, *,
                    include_optional: bool = False) -> Sheet:
    """The sheet with the template's cells added after its scenes, grouped under the
    template's id; a label a scene already uses gets the template's label after it, e.g.
    "Front (Head turn)". A sheet with no scenes and no template yet records this one."""
    taken = {s.name for s in sheet.scenes}
    added: list[Scene] = []
    for cell in template.chosen_cells(include_optional):
        name = _unique_name(cell.label, taken, template)
        taken.add(name)
        added.append(template.scene_for(cell, name))
    if not sheet.scenes and not sheet.template:
        sheet = replace(sheet, template=template.id)
    return sheet.with_scenes((*sheet.scenes, *added))


def character_anchor(name: str, anchor: str = "", anchor_fields: AnchorFields | None = None
                     ) -> str:
    """The anchor of a new character: the text given (starting with the name when it does
    not mention it), else the one its fields compose, else the name alone."""
    name, anchor = name.strip(), anchor.strip()
    if not anchor and anchor_fields is not None and not anchor_fields.is_empty():
        return compose_anchor(name, anchor_fields)
    if not anchor:
        return name
    return anchor if name_in_anchor(name, anchor) else f"{name}, {anchor}"


def sheet_from_template(
    template: SheetTemplate,
    name: str,
    seed: int,
    *,
    anchor: str = "",
    anchor_fields: AnchorFields | None = None,
    include_optional: bool = False,
) -> Sheet:
    """A new sheet for the character ``name`` holding the template's cells; it records the
    template (``template = id``) and is titled e.g. "Mara: turnaround"."""
    if not name.strip():
        raise ValueError("a sheet needs a character name")
    fields = anchor_fields or AnchorFields()
    character = Character(name=name.strip(), anchor=character_anchor(name, anchor, fields),
                          seed=seed, fields=fields)
    empty = Sheet(character=character, title=f"{name.strip()}: {template.label.lower()}",
                  template=template.id)
    return append_template(empty, template, include_optional=include_optional)


def default_layout(sheet: Sheet, templates: TemplateCatalog) -> SheetLayout:
    """The layout a sheet exports in by default: its template's, else the character sheet."""
    template = templates.get(sheet.template) if sheet.template else None
    return template.layout if template is not None else SheetLayout.SHEET

