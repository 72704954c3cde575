"""How a sheet file maps onto library records: its project, character, anchor version, sheet
and scenes. Render, export and bundle import share these rules so they find the same records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from studio.core.sheet import SHEET_SUFFIX, Scene, Sheet
from studio.library.library import Library
from studio.library.models import (
    AnchorSpec,
    AnchorVersion,
    CharacterRecord,
    ProjectRecord,
    SceneRecord,
    SceneSpec,
    SheetRecord,
)


@dataclass(frozen=True, slots=True)
class SheetBinding:
    """What the library holds for a sheet file: the records renders are linked to."""

    project: ProjectRecord
    character: CharacterRecord
    anchor: AnchorVersion
    sheet: SheetRecord
    scenes: Mapping[str, SceneRecord]


def project_name(sheet: Sheet) -> str:
    """The library project a sheet's renders go to: its title, else its character's name."""
    return sheet.title.strip() or sheet.character.name.strip()


def sheet_name(path: Path) -> str:
    """The sheet's name in the library: its file name without ``.sheet.toml``."""
    name = path.name
    return name[: -len(SHEET_SUFFIX)] if name.endswith(SHEET_SUFFIX) else path.stem


def scene_spec(scene: Scene) -> SceneSpec:
    """A sheet's scene as the library records it (its text hash decides out-of-date cells)."""
    return SceneSpec(name=scene.name, setting=scene.setting, lighting=scene.lighting,
                     lens=scene.lens, framing=scene.framing, notes=scene.notes,
                     pattern=scene.pattern, seed=scene.seed)


def bind_sheet(library: Library, sheet: Sheet, path: Path) -> SheetBinding:
    """Record the sheet (project, character, anchor version, sheet, scenes) and return it.

    Saving an anchor that differs from the latest one makes a new anchor version, which marks
    the cells rendered with the old one out of date.
    """
    ch = sheet.character
    project = library.ensure_project(project_name(sheet))
    character = library.ensure_character(project.id, ch.name)
    anchor = library.save_anchor(character.id, AnchorSpec(
        anchor=ch.anchor, fields=ch.fields.as_dict(), seed=ch.seed, negative=ch.negative or "",
    ))
    record = library.save_sheet(project.id, sheet_name(path), str(path.resolve()), character.id)
    scenes = library.sync_scenes(record.id, [scene_spec(sc) for sc in sheet.scenes])
    return SheetBinding(project, character, anchor, record, {s.name: s for s in scenes})
