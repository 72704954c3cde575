"""Recording a checked bundle in the library: the sheet bound as ``studio render`` binds it,
with the anchors its images were made with, then each image with its settings, stage, scene,
anchor version, approval and the preview it came from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.anchor import ReferenceImage
from studio.core.fingerprint import Fingerprint
from studio.core.lifecycle import Approval, Outcome, Timings
from studio.core.presets import PresetCatalog
from studio.core.request import GenerationRequest, SceneContext
from studio.core.sheet import Sheet
from studio.export.import_rows import (
    decoded,
    row_float,
    row_int,
    row_references,
    row_stage,
    row_str,
)
from studio.library.binding import project_name, scene_spec, sheet_name
from studio.library.models import AnchorSpec, AnchorVersion, ProjectRecord, RenderDraft, SheetRecord

if TYPE_CHECKING:
    from studio.library import Library


def record_sheet(library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
                 rows: Sequence[Mapping[str, Any]], references: tuple[ReferenceImage, ...] = ()
                 ) -> tuple[ProjectRecord, SheetRecord, dict[str, int], dict[str, AnchorVersion]]:
    """Record the sheet as `studio render` does, with the anchors the images were made with
    saved first (oldest version first) so the sheet's own anchor is the latest, with its
    reference set (stored already)."""
    ch = sheet.character
    project = library.projects.ensure(project_name(sheet))
    character = library.characters.ensure(project.id, ch.name)
    anchors: dict[str, AnchorVersion] = {}
    older = sorted({(row_int(r, "anchor_version") or 0, row_str(r, "anchor")) for r in rows
                    if row_str(r, "anchor") and row_str(r, "anchor") != ch.anchor})
    for _, text in older:
        if text not in anchors:
            anchors[text] = library.characters.save_anchor(character.id, AnchorSpec(anchor=text,
                                                                         seed=ch.seed))
    anchors[ch.anchor] = library.characters.save_anchor(character.id, AnchorSpec(
        anchor=ch.anchor, fields=ch.fields.as_dict(), seed=ch.seed, negative=ch.negative or "",
        references=references))
    record = library.sheets.save(project.id, sheet_name(sheet_path), str(sheet_path.resolve()),
                                character.id)
    scenes = library.sheets.sync_scenes(record.id, [scene_spec(sheet, sc, catalog)
                                                    for sc in sheet.scenes])
    return project, record, {s.name: s.id for s in scenes}, anchors


def record_render(library: Library, project_id: int, record: SheetRecord, sheet: Sheet,
                  scene_ids: Mapping[str, int], anchors: Mapping[str, AnchorVersion],
                  ids: Mapping[int, int], row: Mapping[str, Any], data: bytes) -> int:
    """Store one image with its settings ``row``; returns its new render id. ``ids`` maps the
    bundle's render ids to those stored already (a final's preview comes first)."""
    scene = row_str(row, "scene")
    anchor = anchors.get(row_str(row, "anchor"))
    parent = row_int(row, "parent_id")
    tags = row.get("tags")
    references, strength = row_references(row)
    draft = RenderDraft(
        request=GenerationRequest(
            prompt=row_str(row, "prompt"), negative=row_str(row, "negative"),
            width=row_int(row, "width") or 0, height=row_int(row, "height") or 0,
            steps=row_int(row, "steps") or 0, guidance=row_float(row, "guidance") or 0.0,
            model=row_str(row, "model"), seed=row_int(row, "seed_requested"), stage=row_stage(row),
            provider=row_str(row, "provider") or "import",
            references=references, reference_strength=strength,
            context=SceneContext(scene=scene,
                                 character=row_str(row, "character") or sheet.character.name),
        ),
        project_id=project_id,
        sheet_id=record.id if scene in scene_ids else None,
        scene_id=scene_ids.get(scene),
        anchor_version_id=None if anchor is None else anchor.id,
        parent_id=None if parent is None else ids.get(parent),
        fingerprint=decoded(Fingerprint, row.get("fingerprint")),
        notes=row_str(row, "notes"),
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
    )
    outcome = Outcome(
        request_id=row_str(row, "request_id"),
        seed_returned=row_int(row, "seed_returned"),
        timings=decoded(Timings, row.get("timings")) or Timings(),
        cost=row_float(row, "cost"),
    )
    render = library.renders.record(draft, data, outcome)
    try:
        approval = Approval(row_str(row, "approval") or "none")
    except ValueError:
        approval = Approval.NONE
    if approval is not Approval.NONE:
        library.renders.set_approval([render.id], approval)
    if row.get("star") is True:
        library.renders.set_star([render.id], True)
    return render.id

