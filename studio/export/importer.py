"""Importing a bundle: the project recreated in this library, the sheet file in a folder.

The bundle is checked as a whole first (``studio.export.bundle``): a hostile or damaged one is
refused before anything is written. Then the sheet file, the settings and the documents are
unpacked into the target folder (never outside it), the sheet is recorded in the library
(project, character, anchor versions, scenes) and every image is stored with its settings, its
stage, its scene, its anchor version and the preview a final came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core import codec
from studio.core.errors import StudioInputError
from studio.core.fingerprint import Fingerprint
from studio.core.lifecycle import Approval, Outcome, Timings
from studio.core.presets import PresetCatalog
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.core.sheet import Sheet, parse_sheet
from studio.export.bundle import Bundle, BundleError, BundleLimits
from studio.export.model import CancelToken, ProgressCallback, Steps
from studio.library.binding import project_name, scene_spec, sheet_name
from studio.library.models import (
    AnchorSpec,
    AnchorVersion,
    ProjectRecord,
    RenderDraft,
    RenderRecord,
    SheetRecord,
)

if TYPE_CHECKING:
    from studio.library import Library


@dataclass(frozen=True, slots=True)
class ImportedBundle:
    """What an import made: the sheet file written, its library records and the renders."""

    sheet_path: Path
    project: ProjectRecord
    sheet: SheetRecord
    renders: tuple[RenderRecord, ...]
    unpacked: tuple[Path, ...]


def _int(row: Mapping[str, Any], key: str) -> int | None:
    value = row.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _str(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""


def _stage(row: Mapping[str, Any]) -> Stage:
    try:
        return Stage(_str(row, "stage"))
    except ValueError:
        return Stage.FINAL


def _decoded(cls: type[Any], value: Any) -> Any:
    """A value the bundle's settings hold in the codec's form, or None when it does not fit."""
    try:
        return None if value is None else codec.from_data(cls, value)
    except codec.CodecError:
        return None


def _bind(library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
          rows: Sequence[Mapping[str, Any]]) -> tuple[ProjectRecord, SheetRecord,
                                                    dict[str, int], dict[str, AnchorVersion]]:
    """Record the sheet as `studio render` does, with the anchors the images were made with
    saved first (oldest version first) so the sheet's own anchor is the latest."""
    ch = sheet.character
    project = library.projects.ensure(project_name(sheet))
    character = library.characters.ensure(project.id, ch.name)
    anchors: dict[str, AnchorVersion] = {}
    older = sorted({(_int(r, "anchor_version") or 0, _str(r, "anchor")) for r in rows
                    if _str(r, "anchor") and _str(r, "anchor") != ch.anchor})
    for _, text in older:
        if text not in anchors:
            anchors[text] = library.characters.save_anchor(character.id, AnchorSpec(anchor=text,
                                                                         seed=ch.seed))
    anchors[ch.anchor] = library.characters.save_anchor(character.id, AnchorSpec(
        anchor=ch.anchor, fields=ch.fields.as_dict(), seed=ch.seed, negative=ch.negative or ""))
    record = library.sheets.save(project.id, sheet_name(sheet_path), str(sheet_path.resolve()),
                                character.id)
    scenes = library.sheets.sync_scenes(record.id, [scene_spec(sheet, sc, catalog)
                                                    for sc in sheet.scenes])
    return project, record, {s.name: s.id for s in scenes}, anchors


def import_bundle(
    library: Library,
    bundle_path: Path,
    target: Path,
    catalog: PresetCatalog,
    *,
    limits: BundleLimits | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ImportedBundle:
    """Recreate a bundle's project in ``library`` and unpack its files into ``target``.

    Raises ``BundleError`` (a refused or unreadable bundle, an existing file in ``target``)
    before anything is written; ``ExportError`` or the library's own errors (an image it
    cannot store, a full disk) for a write that fails.
    """
    with Bundle(Path(bundle_path), limits) as bundle:
        try:
            sheet = parse_sheet(bundle.sheet_text(), catalog, bundle.sheet_file)
        except StudioInputError as exc:
            raise BundleError(f"The bundle's sheet file cannot be used: {exc}") from None
        rows = bundle.settings()
        by_file = {_str(r, "file"): r for r in rows if _str(r, "file")}
        images = bundle.images()
        steps = Steps(len(images) + 2, progress, cancel)
        steps.step("Unpacking the sheet and its documents")
        unpacked = bundle.extract(target, kinds=("sheet", "settings", "document", "manifest"),
                                  cancel=cancel)
        sheet_path = Path(target) / bundle.sheet_file
        steps.step("Recording the sheet")
        try:
            project, record, scene_ids, anchors = _bind(library, sheet, sheet_path, catalog,
                                                        rows)
        except ValueError as exc:  # e.g. a character with an empty name
            raise BundleError(f"The bundle's sheet cannot be recorded: {exc}") from None
        # Previews before finals, oldest first, so a final's preview is stored before it.
        ordered = sorted(images, key=lambda e: (
            _stage(by_file.get(e.name, {})) is Stage.FINAL,
            _int(by_file.get(e.name, {}), "render_id") or 0, e.name))
        ids: dict[int, int] = {}
        made: list[RenderRecord] = []
        for entry in ordered:
            steps.step(f"Importing {entry.path.name}")
            data = bundle.read(entry.name)
            row = by_file.get(entry.name)
            if row is None:
                made.append(library.maintenance.import_image(data, project.id,
                                                             name=entry.path.stem).render)
                continue
            render = _store(library, project.id, record, sheet, scene_ids, anchors, ids, row,
                            data)
            old = _int(row, "render_id")
            if old is not None:
                ids[old] = render.id
            made.append(render)
        steps.finish()
    return ImportedBundle(sheet_path, project, record, tuple(made), tuple(unpacked))


def _store(library: Library, project_id: int, record: SheetRecord, sheet: Sheet,
           scene_ids: Mapping[str, int], anchors: Mapping[str, AnchorVersion],
           ids: Mapping[int, int], row: Mapping[str, Any], data: bytes) -> RenderRecord:
    scene = _str(row, "scene")
    anchor = anchors.get(_str(row, "anchor"))
    parent = _int(row, "parent_id")
    tags = row.get("tags")
    draft = RenderDraft(
        request=GenerationRequest(
            prompt=_str(row, "prompt"), negative=_str(row, "negative"),
            width=_int(row, "width") or 0, height=_int(row, "height") or 0,
            steps=_int(row, "steps") or 0, guidance=_float(row, "guidance") or 0.0,
            model=_str(row, "model"), seed=_int(row, "seed_requested"), stage=_stage(row),
            provider=_str(row, "provider") or "import",
            context=SceneContext(scene=scene,
                                 character=_str(row, "character") or sheet.character.name),
        ),
        project_id=project_id,
        sheet_id=record.id if scene in scene_ids else None,
        scene_id=scene_ids.get(scene),
        anchor_version_id=None if anchor is None else anchor.id,
        parent_id=None if parent is None else ids.get(parent),
        fingerprint=_decoded(Fingerprint, row.get("fingerprint")),
        notes=_str(row, "notes"),
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
    )
    outcome = Outcome(
        request_id=_str(row, "request_id"),
        seed_returned=_int(row, "seed_returned"),
        timings=_decoded(Timings, row.get("timings")) or Timings(),
        cost=_float(row, "cost"),
    )
    render = library.renders.record(draft, data, outcome)
    try:
        approval = Approval(_str(row, "approval") or "none")
    except ValueError:
        approval = Approval.NONE
    if approval is not Approval.NONE:
        library.renders.set_approval([render.id], approval)
    if row.get("star") is True:
        library.renders.set_star([render.id], True)
    if approval is not Approval.NONE or row.get("star") is True:
        render = library.renders.get(render.id)
    return render
