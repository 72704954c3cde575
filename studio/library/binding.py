"""How a sheet file maps onto library records: its project, character, anchor version, sheet
and scenes, with what each scene sends now at each stage (its fingerprints). Render, export,
status and bundle import share these rules so they find the same records."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from studio.core.anchor import ReferenceImage
from studio.core.fingerprint import (
    Fingerprint,
    RenderEvidence,
    SheetFingerprints,
    adopt_legacy,
    fingerprint,
    fingerprint_texts,
    staleness,
)
from studio.core.imagefile import content_hash
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.reference_files import reference_file
from studio.core.request import Stage
from studio.core.sheet import SHEET_SUFFIX, Scene, Sheet
from studio.library.library import Library
from studio.library.models import (
    AnchorSpec,
    AnchorVersion,
    CharacterRecord,
    ProjectRecord,
    RenderRecord,
    SceneRecord,
    SceneSpec,
    SheetRecord,
)
from studio.library.references import ReferenceImageError, check_reference_image


@dataclass(frozen=True, slots=True)
class SheetBinding:
    """What the library holds for a sheet file: the records renders are linked to."""

    project: ProjectRecord
    character: CharacterRecord
    anchor: AnchorVersion
    sheet: SheetRecord
    scenes: Mapping[str, SceneRecord]
    #: The sheet as it was bound: while a plan is made from this very sheet, what each scene
    #: sends now is what its record says (:meth:`fingerprint`), not composed again.
    bound: Sheet | None = None

    def fingerprint(self, sheet: Sheet, scene: Scene, stage: Stage) -> Fingerprint | None:
        """What ``scene`` of ``sheet`` sends at ``stage`` now, when ``sheet`` is the sheet that
        was bound (the scene's record holds it); None otherwise."""
        if sheet is not self.bound:
            return None
        record = self.scenes.get(scene.name)
        return None if record is None else record.fingerprint(stage)


def project_name(sheet: Sheet) -> str:
    """The library project a sheet's renders go to: its title, else its character's name."""
    return sheet.title.strip() or sheet.character.name.strip()


def sheet_name(path: Path) -> str:
    """The sheet's name in the library: its file name without ``.sheet.toml``."""
    name = path.name
    return name[: -len(SHEET_SUFFIX)] if name.endswith(SHEET_SUFFIX) else path.stem


def scene_spec(sheet: Sheet, scene: Scene, catalog: PresetCatalog) -> SceneSpec:
    """A sheet's scene as the library records it, with what it sends now at each stage."""
    return scene_spec_of(scene, SheetFingerprints(sheet, catalog))


def scene_specs(sheet: Sheet, catalog: PresetCatalog) -> list[SceneSpec]:
    """:func:`scene_spec` of every scene of ``sheet``, in order (what the scenes share is
    composed once)."""
    sheet_fingerprints = SheetFingerprints(sheet, catalog)
    return [scene_spec_of(scene, sheet_fingerprints) for scene in sheet.scenes]


def scene_spec_of(scene: Scene, sheet_fingerprints: SheetFingerprints) -> SceneSpec:
    """:func:`scene_spec` of a scene of the sheet ``sheet_fingerprints`` was made for."""
    return SceneSpec(name=scene.name, setting=scene.setting, lighting=scene.lighting,
                     lens=scene.lens, framing=scene.framing, notes=scene.notes,
                     fingerprints=sheet_fingerprints.stages(scene))


def bind_sheet(library: Library, sheet: Sheet, path: Path,
               catalog: PresetCatalog) -> SheetBinding:
    """Record the sheet (project, character, anchor version, sheet, scenes) and return it.

    The sheet's reference images are read from their files and stored first (each checked: a
    file that is not a usable image is a ``ReferenceImageError`` naming it, and nothing is
    recorded). Saving an anchor that differs from the latest one (its text, seed, negative or
    reference set) makes a new anchor version (the anchor's history). Renders of the sheet made
    before fingerprints were kept are given the one their records prove
    (``studio.core.fingerprint.adopt_legacy``), once.
    """
    head = bind_head(library, sheet, path)
    scenes = library.sheets.sync_scenes(head.sheet.id, scene_specs(head.bound or sheet, catalog))
    return adopt_legacy_renders(library, dataclasses.replace(
        head, scenes={s.name: s for s in scenes}), catalog)


def bind_head(library: Library, sheet: Sheet, path: Path) -> SheetBinding:
    """What :func:`bind_sheet` records before the scenes (references, project, character,
    anchor version, sheet); the binding holds no scenes yet. ``bound`` is the sheet with its
    reference images' hashes (as stored)."""
    references = store_references(library, sheet, path)
    if any(not r.sha256 for r in sheet.character.references):  # read from text alone
        sheet = dataclasses.replace(sheet, character=dataclasses.replace(
            sheet.character, references=tuple(
                dataclasses.replace(r, sha256=stored.sha256)
                for r, stored in zip(sheet.character.references, references, strict=True))))
    ch = sheet.character
    # One transaction for the four records (one disk write before a render's first request,
    # not four); a library open for viewing only is read as it is, without one.
    together = (contextlib.nullcontext() if library.read_only
                else library.db.transaction("record the sheet"))
    with together:
        project = library.projects.ensure(project_name(sheet))
        character = library.characters.ensure(project.id, ch.name)
        anchor = library.characters.save_anchor(character.id, AnchorSpec(
            anchor=ch.anchor, fields=ch.fields.as_dict(), seed=ch.seed,
            negative=ch.negative or "", references=references,
        ))
        record = library.sheets.save(project.id, sheet_name(path), str(path.resolve()),
                                     character.id)
    return SheetBinding(project, character, anchor, record, {}, bound=sheet)


def adopt_legacy_renders(library: Library, binding: SheetBinding,
                         catalog: PresetCatalog) -> SheetBinding:
    """Give the sheet's renders made before fingerprints were kept the one their records prove
    (once the scenes are recorded); returns ``binding``."""
    sheet = binding.bound
    assert sheet is not None
    legacy = library.renders.unfingerprinted(binding.sheet.id)
    names = {s.id: s.name for s in binding.scenes.values()}
    learned = {}
    for render in legacy:
        scene = sheet.scene(names.get(render.scene_id or -1, ""))
        if scene is not None:
            learned[render.id] = legacy_fingerprint(library, sheet, scene, render, catalog)
    if learned:
        library.renders.set_fingerprints(learned)
    return binding


def store_references(library: Library, sheet: Sheet,
                     path: Path) -> tuple[ReferenceImage, ...]:
    """Store the sheet's reference images from their files (paths relative to ``path``) and
    return the set as the anchor keeps it. Every file is read and checked before any is stored
    (a bad one stores none); a file whose bytes are not those the sheet was read with (changed
    since) is refused, so what is stored is what the fingerprints speak of."""
    found = []
    for number, ref in enumerate(sheet.character.references, start=1):
        label = f"{path}: reference image {number} ({ref.path})"
        data = library.references.read_file(reference_file(path, ref), label)
        if ref.sha256 and content_hash(data) != ref.sha256:
            raise ReferenceImageError(f"{label} changed while the sheet was being read; "
                                      "run the command again.")
        check_reference_image(data, label)
        found.append((data, label, ref.role))
    return tuple(ReferenceImage(library.references.store(data, label, checked=True), role)
                 for data, label, role in found)


def legacy_fingerprint(library: Library, sheet: Sheet, scene: Scene, render: RenderRecord,
                       catalog: PresetCatalog) -> Fingerprint:
    """What a render made before fingerprints were kept provably sent (see ``adopt_legacy``)."""
    anchor = None
    if render.anchor_version_id is not None:
        anchor = library.characters.anchor_version(render.anchor_version_id).anchor
    evidence = RenderEvidence(
        prompt=render.prompt, negative=render.negative, model=render.model,
        steps=render.steps, guidance=render.guidance, seed=render.seed_requested,
        width=render.width, height=render.height, anchor=anchor,
        same_provider=render.provider == sheet.profile(render.stage).provider)
    presets = {kind.value: [p.text for p in catalog.of_kind(kind)]
               for kind in (PresetKind.SKIN, PresetKind.QUALITY, PresetKind.LIGHTING,
                            PresetKind.LENS, PresetKind.PATTERN)}
    return adopt_legacy(evidence, fingerprint_texts(sheet, scene, render.stage, catalog),
                        presets)


def render_staleness(library: Library, sheet: Sheet, scene: Scene, render: RenderRecord,
                     catalog: PresetCatalog) -> tuple[str, ...]:
    """Why ``render`` of ``scene`` is out of date against ``sheet`` as it is now (the file or
    the window's unsaved document): the one staleness rule, for a render made before
    fingerprints were kept too (what its record proves, as ``bind_sheet`` would store it)."""
    made_with = render.fingerprint
    if made_with is None:
        made_with = legacy_fingerprint(library, sheet, scene, render, catalog)
    return staleness(made_with, fingerprint(sheet, scene, render.stage, catalog))


def find_sheet_record(library: Library, sheet: Sheet, path: Path) -> SheetRecord | None:
    """The library's record of the sheet file: by its path, else by project and file name."""
    record = library.sheets.for_file(str(Path(path).resolve()))
    if record is not None:
        return record
    project = library.projects.by_name(project_name(sheet))
    if project is None:
        return None
    name = sheet_name(Path(path))
    return next((s for s in library.sheets.of_project(project.id) if s.name == name), None)
