"""A sheet in memory: its character, its scenes and the two stage profiles, and what each
scene's cell sends (its anchor, its reference images, its frame size).

The sheet *file* (``*.sheet.toml``, reading and writing) is :mod:`studio.core.sheet`, which
also offers every name here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from studio.core.anchor import (
    AnchorFields,
    ReferenceImage,
    ReferenceRole,
    ReferenceStrength,
    anchor_with_outfit,
)
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import Stage
from studio.core.stages import StageProfile, default_profile

_SIZE_RE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


@dataclass(frozen=True, slots=True)
class Character:
    name: str
    anchor: str
    seed: int
    fields: AnchorFields = field(default_factory=AnchorFields)
    negative: str | None = None  # None: the catalog's recommended negative for finals
    skin: tuple[str, ...] = ()  # skin-detail preset ids or free text
    quality: tuple[str, ...] = ()  # quality-marker preset ids or free text
    #: The reference set (at most ``REFERENCES_MAX``), paths relative to the sheet file.
    references: tuple[ReferenceImage, ...] = ()


@dataclass(frozen=True, slots=True)
class Scene:
    name: str
    setting: str
    lighting: str = ""
    lens: str = ""
    framing: str = "portrait"
    seed: int | None = None  # None: the sheet's locked seed
    pattern: str = ""
    notes: str = ""
    #: The template the scene came from (its id), for sections in the grid and export layouts.
    group: str = ""
    #: Replaces only the outfit in the anchor for this scene (see ``scene_anchor``).
    outfit: str = ""
    #: How strongly the scene holds to the reference images; None: strong when the character
    #: has any (see ``scene_reference_strength``).
    reference: ReferenceStrength | None = None


@dataclass(frozen=True, slots=True)
class Sheet:
    character: Character
    scenes: tuple[Scene, ...] = ()
    preview: StageProfile = field(default_factory=lambda: default_profile(Stage.PREVIEW))
    final: StageProfile = field(default_factory=lambda: default_profile(Stage.FINAL))
    title: str = ""
    #: The id of the template the sheet was made from (informational; picks the export layout).
    template: str = ""

    def profile(self, stage: Stage) -> StageProfile:
        return self.preview if stage is Stage.PREVIEW else self.final

    def scene(self, name: str) -> Scene | None:
        return next((s for s in self.scenes if s.name == name), None)

    def seed_for(self, scene: Scene) -> int:
        return self.character.seed if scene.seed is None else scene.seed

    def with_scenes(self, scenes: tuple[Scene, ...]) -> Sheet:
        return replace(self, scenes=scenes)


def scene_anchor(sheet: Sheet, scene: Scene) -> str:
    """The anchor a scene sends: the character's, with the scene's outfit (if any) in place of
    the character's own (the rule is ``anchor_with_outfit``'s)."""
    ch = sheet.character
    return anchor_with_outfit(ch.anchor, ch.name, ch.fields, scene.outfit)


def scene_reference_strength(sheet: Sheet, scene: Scene) -> ReferenceStrength:
    """How strongly ``scene`` holds to the character's reference images: its own setting,
    else strong; off when there is nothing to send (:func:`scene_references`)."""
    if not scene_references(sheet, scene):
        return ReferenceStrength.OFF
    return scene.reference or ReferenceStrength.STRONG


def scene_references(sheet: Sheet, scene: Scene) -> tuple[ReferenceImage, ...]:
    """The reference images ``scene`` sends, in the sheet's order: none when the scene is set
    to "off"; a scene with its own outfit leaves out the outfit pictures (its text wins)."""
    if scene.reference is ReferenceStrength.OFF:
        return ()
    refs = sheet.character.references
    if scene.outfit.strip():
        refs = tuple(r for r in refs if r.role is not ReferenceRole.OUTFIT)
    return refs


def frame_size(framing: str, catalog: PresetCatalog) -> tuple[int, int] | None:
    """Width and height of a framing preset id or a ``WIDTHxHEIGHT`` value."""
    preset = catalog.get(PresetKind.FRAMING, framing)
    if preset is not None and preset.width and preset.height:
        return preset.width, preset.height
    match = _SIZE_RE.match(framing.strip())
    if match:
        return int(match.group(1)), int(match.group(2))
    return None
