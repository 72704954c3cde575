"""The open sheet as a view-model: the immutable core ``Sheet``, its file, and the undo stack.

Every edit replaces the sheet with a new value through a ``QUndoCommand``, so undo/redo is exact
and widgets only ever render ``document.sheet``. Consecutive edits of the same field (typing)
merge into one undo step.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from studio.core.anchor import AnchorFields, compose_anchor
from studio.core.checks import Fix, apply_fix
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.reference_files import rebase_references
from studio.core.request import SEED_MAX, SEED_MIN
from studio.core.sheet import Character, Scene, Sheet, load_sheet, save_sheet

_MERGE_ID = 0x5EE7
DEFAULT_SETTING = "neutral grey studio backdrop, medium shot"


class _SheetEdit(QUndoCommand):
    def __init__(self, doc: SheetDocument, before: Sheet, after: Sheet, text: str,
                 merge_key: str | None) -> None:
        super().__init__(text)
        self._doc = doc
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def id(self) -> int:
        return _MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, _SheetEdit) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self._doc._set(self.after)

    def undo(self) -> None:
        self._doc._set(self.before)


def new_character_sheet(catalog: PresetCatalog, name: str = "Emma") -> Sheet:
    """A blank sheet for "New": a named character, a seed and one headshot scene."""
    fields = AnchorFields(age="30", presentation="woman")
    scene = Scene(name="Headshot", setting="neutral grey studio backdrop, medium shot",
                  lighting=_first(catalog, PresetKind.LIGHTING),
                  lens=_first(catalog, PresetKind.LENS), framing="portrait")
    return Sheet(character=Character(name=name, anchor=compose_anchor(name, fields), seed=42,
                                     fields=fields), scenes=(scene,))


def _first(catalog: PresetCatalog, kind: PresetKind) -> str:
    ids = catalog.ids(kind)
    return ids[0] if ids else ""


def sheet_for_file(sheet: Sheet, old_path: Path | None, new_path: Path) -> Sheet:
    """``sheet`` as it is written to ``new_path``: every reference path relative to the new
    folder where it can be. An unsaved sheet's reference paths are absolute, so any other
    folder serves as the old one."""
    old = old_path if old_path is not None else Path(new_path).resolve().parent.parent / "-"
    return rebase_references(sheet, old, new_path)


def unique_name(wanted: str, taken: set[str]) -> str:
    if wanted not in taken:
        return wanted
    n = 2
    base = wanted
    while f"{base} {n}" in taken:
        n += 1
    return f"{base} {n}"


def renamed_scene(before: Sheet, after: Sheet) -> tuple[str, str] | None:
    """``(old, new)`` when ``after`` differs from ``before`` by one scene's new name at the same
    place (a rename, or its undo); None for anything else."""
    old = [s.name for s in before.scenes]
    new = [s.name for s in after.scenes]
    if len(old) != len(new):
        return None
    pairs = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    if len(pairs) == 1 and pairs[0][1] not in old:
        return pairs[0]
    return None


class SheetDocument(QObject):
    """The sheet being edited. ``changed`` fires after every edit, undo and redo;
    ``sceneRenamed(old, new)`` just before it when the edit renamed a scene, so whatever follows
    a scene by name (the selection, the scene panel, the cards' renders) follows it."""

    changed = Signal()
    sceneRenamed = Signal(str, str)
    pathChanged = Signal()
    modifiedChanged = Signal(bool)

    def __init__(self, sheet: Sheet, catalog: PresetCatalog, path: Path | None = None,
                 parent: QObject | None = None, *, display_name: str | None = None) -> None:
        super().__init__(parent)
        self._sheet = sheet
        self.catalog = catalog
        self._path = path
        self._display_name = display_name
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.seed_locked = True

    @Slot(bool)
    def _clean_changed(self, clean: bool) -> None:
        self.modifiedChanged.emit(not clean)

    # ------------------------------------------------------------------ state
    @property
    def sheet(self) -> Sheet:
        return self._sheet

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def display_name(self) -> str:
        if self._path is not None:
            return self._path.name
        return self._display_name or "Untitled sheet"

    def _set(self, sheet: Sheet) -> None:
        if sheet != self._sheet:
            renamed = renamed_scene(self._sheet, sheet)
            self._sheet = sheet
            if renamed is not None:
                self.sceneRenamed.emit(*renamed)
            self.changed.emit()

    # ------------------------------------------------------------------ files
    @classmethod
    def open(cls, path: Path, catalog: PresetCatalog, parent: QObject | None = None
             ) -> SheetDocument:
        """Read a sheet file; raises ``SheetError`` with a sentence for the user."""
        return cls(load_sheet(path, catalog), catalog, path, parent)

    def reset(self, sheet: Sheet, path: Path | None, display_name: str | None = None) -> None:
        """Show another sheet (open, new): a fresh undo history, nothing modified."""
        self._path = path
        self._display_name = display_name
        self.undo_stack.clear()
        self._sheet = sheet
        self.changed.emit()
        self.pathChanged.emit()
        self.modifiedChanged.emit(False)

    def save(self, path: Path | None = None) -> Path:
        target = path or self._path
        if target is None:
            raise ValueError("the sheet has no file yet; choose where to save it")
        # Reference images are named relative to the sheet file wherever it is saved.
        sheet = sheet_for_file(self._sheet, self._path, target)
        save_sheet(sheet, target)
        moved, self._sheet = sheet != self._sheet, sheet
        if target != self._path:
            self._path = target
            self.pathChanged.emit()
        if moved:
            self.changed.emit()
        self.undo_stack.setClean()
        return target

    # ------------------------------------------------------------------ edits
    def apply(self, sheet: Sheet, text: str, merge_key: str | None = None) -> None:
        """Replace the sheet as one undoable step (merged with the last one of ``merge_key``)."""
        if sheet == self._sheet:
            return
        self.undo_stack.push(_SheetEdit(self, self._sheet, sheet, text, merge_key))

    def set_character(self, text: str, merge_key: str | None = None, /,
                      **changes: Any) -> None:
        ch = replace(self._sheet.character, **changes)
        self.apply(replace(self._sheet, character=ch), text, merge_key)

    def set_name(self, name: str) -> None:
        """Rename the character; a composed anchor follows the new name."""
        ch = self._sheet.character
        changes: dict[str, Any] = {"name": name}
        if self.anchor_is_composed():
            changes["anchor"] = compose_anchor(name, ch.fields)
        self.set_character("Rename the character", "character.name", **changes)

    def anchor_is_composed(self) -> bool:
        """Whether the anchor text is exactly what the fields compose to (not hand-edited)."""
        ch = self._sheet.character
        return ch.fields.is_empty() or ch.anchor == compose_anchor(ch.name, ch.fields)

    def set_anchor_field(self, field_name: str, value: str) -> None:
        ch = self._sheet.character
        composed = self.anchor_is_composed()
        fields = replace(ch.fields, **{field_name: value})
        changes: dict[str, Any] = {"fields": fields}
        if composed:
            changes["anchor"] = compose_anchor(ch.name, fields)
        label = field_name.replace("_", " ")
        self.set_character(f"Edit the anchor's {label}", f"character.fields.{field_name}",
                           **changes)

    def recompose_anchor(self) -> None:
        ch = self._sheet.character
        self.set_character("Compose the anchor from its fields",
                           anchor=compose_anchor(ch.name, ch.fields))

    def set_seed(self, seed: int) -> None:
        seed = max(SEED_MIN, min(SEED_MAX, seed))
        self.set_character("Change the seed", "character.seed", seed=seed)

    def reroll_seed(self, rng: random.Random | None = None) -> int:
        seed = (rng or random.SystemRandom()).randint(SEED_MIN, SEED_MAX)
        self.set_character("Re-roll the seed", seed=seed)
        return seed

    def toggle_preset(self, kind: PresetKind, preset_id: str, on: bool) -> None:
        attr = "skin" if kind is PresetKind.SKIN else "quality"
        current = list(getattr(self._sheet.character, attr))
        if on and preset_id not in current:
            current.append(preset_id)
        elif not on and preset_id in current:
            current.remove(preset_id)
        label = self.catalog.label_for(kind, preset_id)
        self.set_character(f"{'Add' if on else 'Remove'} {label}", **{attr: tuple(current)})

    def apply_fix(self, fix: Fix) -> None:
        self.apply(apply_fix(self._sheet, fix), fix.label)

    # scenes -------------------------------------------------------------
    def scene_names(self) -> list[str]:
        return [s.name for s in self._sheet.scenes]

    def add_scene(self, scene: Scene | None = None, index: int | None = None) -> Scene:
        taken = set(self.scene_names())
        if scene is None:
            scene = Scene(name="", setting=DEFAULT_SETTING,
                          lighting=_first(self.catalog, PresetKind.LIGHTING),
                          lens=_first(self.catalog, PresetKind.LENS), framing="portrait")
        scene = replace(scene, name=unique_name(scene.name.strip() or f"Scene {len(taken) + 1}",
                                                taken))
        scenes = list(self._sheet.scenes)
        scenes.insert(len(scenes) if index is None else index, scene)
        self.apply(self._sheet.with_scenes(tuple(scenes)), f"Add the scene \"{scene.name}\"")
        return scene

    def add_scene_from_pattern(self, pattern_id: str) -> Scene:
        preset = self.catalog.get(PresetKind.PATTERN, pattern_id)
        if preset is None:
            return self.add_scene()
        scene = Scene(name=preset.label, setting=DEFAULT_SETTING,
                      pattern=pattern_id,
                      lighting=preset.lighting or _first(self.catalog, PresetKind.LIGHTING),
                      lens=preset.lens or _first(self.catalog, PresetKind.LENS),
                      framing=preset.framing or "portrait")
        return self.add_scene(scene)

    def duplicate_scene(self, name: str) -> Scene | None:
        names = self.scene_names()
        if name not in names:
            return None
        src = self._sheet.scenes[names.index(name)]
        copy = replace(src, name=unique_name(f"{src.name} (copy)", set(names)))
        scenes = list(self._sheet.scenes)
        scenes.insert(names.index(name) + 1, copy)
        self.apply(self._sheet.with_scenes(tuple(scenes)), f"Duplicate \"{name}\"")
        return copy

    def remove_scenes(self, names: list[str]) -> None:
        gone = set(names)
        scenes = tuple(s for s in self._sheet.scenes if s.name not in gone)
        label = f"Delete \"{names[0]}\"" if len(names) == 1 else f"Delete {len(names)} scenes"
        self.apply(self._sheet.with_scenes(scenes), label)

    def move_scene(self, source: int, destination: int) -> None:
        """Move the scene at ``source`` so that it lands before the scene now at
        ``destination`` (``len`` to put it last)."""
        scenes = list(self._sheet.scenes)
        if not 0 <= source < len(scenes) or destination in (source, source + 1):
            return
        scene = scenes.pop(source)
        scenes.insert(destination - 1 if destination > source else destination, scene)
        self.apply(self._sheet.with_scenes(tuple(scenes)), f"Move \"{scene.name}\"")

    def update_scene(self, name: str, /, text: str | None = None, merge: bool = True,
                     **changes: Any) -> str:
        """Change fields of the scene called ``name``; returns its (possibly new) name."""
        names = self.scene_names()
        if name not in names:
            return name
        if "name" in changes:
            new = str(changes["name"]).strip()
            if not new or (new != name and new in names):
                changes.pop("name")
            else:
                changes["name"] = new
        index = names.index(name)
        old = self._sheet.scenes[index]
        scene = replace(old, **changes)
        scenes = list(self._sheet.scenes)
        scenes[index] = scene
        keys = ",".join(sorted(changes))
        self.apply(self._sheet.with_scenes(tuple(scenes)),
                   text or f"Edit \"{old.name}\"",
                   f"scene.{index}.{keys}" if merge else None)
        return scene.name
