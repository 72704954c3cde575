"""From the library to an export: a sheet file's latest renders as a ``SheetDocument``, and the
images and settings records a bundle holds.

The sheet file decides the scenes and their order; the library supplies, for each scene, its
latest final (else its latest preview, marked as standing in), and the one staleness rule says
whether that render is out of date against the sheet file as it is now. The character's
reference images are shown beside the anchor, and a bundle carries them under ``references/``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio import APP_DISPLAY_NAME, __version__
from studio.core.imagefile import ImageFileError, content_hash, read_image_file
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.reference_files import reference_file
from studio.core.references import ReferenceUnavailableError
from studio.core.request import Stage
from studio.core.sheet import Sheet
from studio.export.bundle import REFERENCES_DIR, slug
from studio.export.bundle_writer import BundleImage
from studio.export.images import can_open
from studio.export.model import ExportCell, ExportError, ExportReference, SheetDocument
from studio.library.binding import find_sheet_record, render_staleness
from studio.library.models import AnchorVersion, RenderFilter, RenderRecord, SheetCell, SheetRecord
from studio.library.renders import render_data

if TYPE_CHECKING:
    from studio.library import Library
    from studio.library.status import IdentityLookup

PRODUCER = f"{APP_DISPLAY_NAME} {__version__}"
_EXTENSIONS = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpg", b"RIFF": "webp"}


class NoRendersError(ExportError):
    """The sheet has nothing in the library to export yet."""


def _no_renders(path: Path) -> NoRendersError:
    return NoRendersError(
        f"{path} has no renders in the library yet; render it first, e.g. "
        f"studio render {path} --stage preview (then --stage final)."
    )


@dataclass(frozen=True, slots=True)
class SheetExport:
    """What exporting a sheet needs: the document to lay out and the renders behind it."""

    document: SheetDocument
    sheet: Sheet
    sheet_path: Path
    record: SheetRecord
    #: The render shown in each cell, and for a final also the preview it came from.
    renders: tuple[RenderRecord, ...]
    anchors: dict[int, AnchorVersion]
    #: Each render's identity score (``{"distance", "verdict"}``); None: no scores exported.
    identity: IdentityLookup | None = None
    #: The bytes of each of the sheet's reference images, in the sheet's order (empty bytes
    #: where neither its file nor the library has it).
    reference_images: tuple[bytes, ...] = ()


def _current_anchor(versions: Sequence[AnchorVersion], sheet: Sheet) -> AnchorVersion | None:
    matching = [v for v in versions
                if v.anchor == sheet.character.anchor and v.seed in (None, sheet.character.seed)]
    return matching[-1] if matching else None


def _read_image(render: RenderRecord) -> bytes:
    if render.image_path is None:
        return b""
    try:
        return render.image_path.read_bytes()
    except OSError:
        return b""  # drawn as "Image could not be read"; `studio library check` explains


def read_reference_images(library: Library, sheet: Sheet, sheet_path: Path) -> tuple[bytes, ...]:
    """The bytes of each reference image of ``sheet``: from its file when it still holds the
    image the sheet was read with, else from the library by hash; empty when neither has it."""
    found = []
    for ref in sheet.character.references:
        data = b""
        with contextlib.suppress(ImageFileError):
            data = read_image_file(reference_file(sheet_path, ref))
        if not data or (ref.sha256 and content_hash(data) != ref.sha256):
            try:
                data = library.references.reference_bytes(ref.sha256)
            except ReferenceUnavailableError:
                data = b""
        found.append(data)
    return tuple(found)


def gather_sheet(
    library: Library,
    sheet: Sheet,
    sheet_path: Path,
    catalog: PresetCatalog,
    *,
    exported: str | None = None,
    identity: IdentityLookup | None = None,
) -> SheetExport:
    """The sheet's latest renders as an export; ``NoRendersError`` when it has none (library
    errors come out as the library raises them). ``identity`` scores the bundle's renders."""
    sheet_path = Path(sheet_path)
    record = find_sheet_record(library, sheet, sheet_path)
    if record is None:
        raise _no_renders(sheet_path)
    cells = library.renders.cells(record.id)
    versions = (library.characters.anchor_versions(record.character_id)
                if record.character_id is not None else [])
    if not cells:
        raise _no_renders(sheet_path)
    by_scene: dict[str, dict[Stage, SheetCell]] = {}
    for cell in cells:
        by_scene.setdefault(cell.scene.name, {})[cell.stage] = cell
    current = _current_anchor(versions, sheet)
    reference_images = read_reference_images(library, sheet, sheet_path)
    shown: list[ExportCell] = []
    renders: list[RenderRecord] = []
    for scene in sheet.scenes:
        stages = by_scene.get(scene.name, {})
        chosen = stages.get(Stage.FINAL) or stages.get(Stage.PREVIEW)
        lighting = catalog.label_for(PresetKind.LIGHTING, scene.lighting)
        lens = catalog.label_for(PresetKind.LENS, scene.lens)
        framing = catalog.label_for(PresetKind.FRAMING, scene.framing)
        if chosen is None:
            shown.append(ExportCell(scene=scene.name, lighting=lighting, lens=lens,
                                    framing=framing, notes=scene.notes, group=scene.group,
                                    outfit=scene.outfit))
            continue
        render = chosen.render
        renders.append(render)
        preview = stages.get(Stage.PREVIEW)
        if chosen.stage is Stage.FINAL and preview is not None:
            renders.append(preview.render)
        shown.append(ExportCell(
            scene=scene.name, lighting=lighting, lens=lens, framing=framing, notes=scene.notes,
            seed=render.seed, model=render.model, provider=render.provider,
            image=_read_image(render), stage=render.stage,
            out_of_date=render_staleness(library, sheet, scene, render, catalog),
            render_id=render.id, group=scene.group, outfit=scene.outfit,
        ))
    document = SheetDocument(
        title=sheet.title, character=sheet.character.name, anchor=sheet.character.anchor,
        seed=sheet.character.seed, cells=tuple(shown),
        anchor_version=None if current is None else current.version,
        exported=exported if exported is not None else datetime.now(UTC).date().isoformat(),
        producer=PRODUCER, template=sheet.template,
        references=tuple(ExportReference(data, ref.role.value) for ref, data
                         in zip(sheet.character.references, reference_images, strict=True)
                         if data),
    )
    return SheetExport(document, sheet, sheet_path, record, tuple(renders),
                       {v.id: v for v in versions}, identity, reference_images)


def all_sheet_renders(library: Library, record: SheetRecord) -> list[RenderRecord]:
    """Every kept (not trashed) successful render of the sheet, oldest first."""
    found: list[RenderRecord] = []
    offset: int | None = 0
    where = RenderFilter(sheet_id=record.id, usable=True)
    while offset is not None:
        page = library.renders.page(where, limit=500, offset=offset)
        found.extend(page.items)
        offset = page.next_offset
    return sorted(found, key=lambda r: (r.created, r.id))


#: Fields of a render's record that only make sense inside the library it came from.
_LOCAL_FIELDS = ("id", "project_id", "sheet_id", "scene_id", "character_id",
                 "anchor_version_id", "image", "image_hash", "trashed")


def render_settings(render: RenderRecord, export: SheetExport) -> dict[str, Any]:
    """A render's settings for the bundle: its library record (``render_data``) minus local
    ids and paths, with the anchor text and the scene's presets beside it (and never a key: the
    library keeps none, and the bundle scrubs any key-like name anyway)."""
    anchor = export.anchors.get(render.anchor_version_id or -1)
    scene = export.sheet.scene(render.scene_name)
    data = {k: v for k, v in render_data(render).items() if k not in _LOCAL_FIELDS}
    identity = None if export.identity is None else export.identity(render)
    return {
        "render_id": render.id,
        **data,
        "anchor": None if anchor is None else anchor.anchor,
        "anchor_version": None if anchor is None else anchor.version,
        "lighting": "" if scene is None else scene.lighting,
        "lens": "" if scene is None else scene.lens,
        "framing": "" if scene is None else scene.framing,
        "image_sha256": render.image_hash,
        "identity_distance": None if identity is None else identity["distance"],
        "identity_verdict": None if identity is None else identity["verdict"],
    }


def _extension(data: bytes) -> str:
    for magic, ext in _EXTENSIONS.items():
        if data.startswith(magic):
            return ext
    return "png"


def bundle_references(export: SheetExport) -> tuple[list[BundleImage], Sheet]:
    """The sheet's reference images as bundle files named ``NN-role-HASH.ext`` under
    ``references/``, and the sheet with its reference paths pointing at them (so the sheet
    file unpacked beside them finds them). An image neither its file nor the library holds
    stays named as it was."""
    sheet = export.sheet
    files: list[BundleImage] = []
    moved = []
    for number, (ref, data) in enumerate(zip(sheet.character.references,
                                             export.reference_images, strict=True), start=1):
        if not data:
            moved.append(ref)
            continue
        name = f"{number:02d}-{ref.role.value}-{content_hash(data)[:8]}.{_extension(data)}"
        files.append(BundleImage(name, data, {"role": ref.role.value}))
        moved.append(dataclasses.replace(ref, path=f"{REFERENCES_DIR}/{name}"))
    character = dataclasses.replace(sheet.character, references=tuple(moved))
    return files, dataclasses.replace(sheet, character=character)


def bundle_images(export: SheetExport, renders: Sequence[RenderRecord]) -> list[BundleImage]:
    """The renders as bundle images named ``NN-scene-stage-ID.ext`` in sheet order."""
    order = {scene.name: i for i, scene in enumerate(export.sheet.scenes)}
    stage_order = {Stage.PREVIEW: 0, Stage.FINAL: 1}
    unique = {r.id: r for r in renders}.values()
    ranked = sorted(unique, key=lambda r: (order.get(r.scene_name, len(order)),
                                           stage_order[r.stage], r.created, r.id))
    out: list[BundleImage] = []
    for render in ranked:
        data = _read_image(render)
        # An image over the limits (stored before they existed) would make the whole bundle
        # refused on import: it stays out (`studio export` names it).
        if not data or not can_open(data):
            continue
        number = order.get(render.scene_name, len(order)) + 1
        name = (f"{number:02d}-{slug(render.scene_name or 'scene')}-{render.stage.value}-"
                f"{render.id}.{_extension(data)}")
        out.append(BundleImage(name, data, render_settings(render, export)))
    return out
