"""Importing a bundle, all or nothing: the project recreated in this library, the sheet file and
the documents in a folder.

A bundle comes from someone else, so the whole of it is checked before anything is written: the
archive itself (``studio.export.bundle``: names, sizes, ratios, the manifest), the sheet file,
every settings row (numbers the library keeps must be in range) and every image (PNG, JPEG or
WebP, its pixels counted from its header, then decoded whole), the character's reference images
as well (each one the sheet file names must be in the bundle). Only then are the sheet file, the
settings and the documents unpacked into a hidden folder beside the target, and the library
written in one transaction: the project, character, anchor versions, sheet and scenes, and every
image with its settings, its stage, its scene, its anchor version and the preview a final came
from. The unpacked files are moved into place as the transaction's last step. If anything fails
(a full disk, a cancel, a damaged entry) the transaction rolls back, the image files it wrote
are removed and so are the unpacked files: nothing is left, and the import can simply be run
again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from studio.core import codec
from studio.core import limits as core_limits
from studio.core.anchor import ReferenceImage, ReferenceStrength
from studio.core.errors import StudioInputError
from studio.core.fingerprint import Fingerprint
from studio.core.imagefile import content_hash
from studio.core.lifecycle import Approval, Outcome, Timings
from studio.core.presets import PresetCatalog
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.core.sheet import Sheet, parse_sheet
from studio.core.text import shorten
from studio.export.bundle import Bundle, BundleError, BundleLimits
from studio.export.model import CancelToken, ExportError, ProgressCallback, Steps
from studio.library.binding import project_name, scene_spec, sheet_name
from studio.library.decoding import check_image
from studio.library.errors import ImageImportError
from studio.library.models import (
    AnchorSpec,
    AnchorVersion,
    ProjectRecord,
    RenderDraft,
    RenderRecord,
    SheetRecord,
)
from studio.library.storage import fsync_dir

if TYPE_CHECKING:
    from studio.library import Library

_SEED = (core_limits.PARAM_SEED_MIN, core_limits.PARAM_SEED_MAX)
_ID = (0, 2**63 - 1)
#: The numbers of a settings row the library keeps, and the range each must be in.
ROW_NUMBERS: dict[str, tuple[float, float]] = {
    "seed": _SEED,
    "seed_requested": _SEED,
    "seed_returned": _SEED,
    "width": (0, core_limits.PARAM_SIDE_MAX),
    "height": (0, core_limits.PARAM_SIDE_MAX),
    "steps": (0, core_limits.STEPS_MAX),
    "guidance": (core_limits.GUIDANCE_MIN, core_limits.GUIDANCE_MAX),
    "cost": (0.0, core_limits.COST_MAX),
    "render_id": _ID,
    "parent_id": _ID,
    "anchor_version": _ID,
}


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


def _has_infinity(value: object) -> bool:
    """Whether a float anywhere in ``value`` is infinite (JSON's ``1e400`` reads as one)."""
    if isinstance(value, float):
        return value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_has_infinity(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_infinity(v) for v in value)
    return False


def _words(bound: float) -> str:
    return f"{int(bound):,}" if float(bound).is_integer() else f"{bound:g}"


def check_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """Refuse settings whose numbers the library cannot keep (out of range, infinite).

    Values of the wrong type (a seed written as text) are tolerated: they are left out when the
    image is stored, as an image without those settings. A number out of range is not a slip:
    the studio never writes one, so the bundle was altered, and it is refused as a whole.
    """
    for number, row in enumerate(rows, start=1):
        where = _str(row, "file") or f"row {number}"
        for key, (low, high) in ROW_NUMBERS.items():
            value = row.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if core_limits.number_within(value, low, high) is None:
                raise BundleError(
                    f"The bundle is refused: its settings.json gives {shorten(where, 80)} the "
                    f"{key} {shorten(str(value), 24)}, outside {_words(low)}..{_words(high)}; "
                    "it was not "
                    "made by the studio or was altered.")
        for key, value in row.items():
            if _has_infinity(value):
                raise BundleError(
                    f"The bundle is refused: its settings.json gives {shorten(where, 80)} an "
                    f"infinite number in \"{shorten(str(key), 40)}\"; it was not made by the "
                    "studio or was altered.")


# ----------------------------------------------------------------------------- the folder


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, deepest first."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
    return missing


class _Unpacked:
    """The bundle's files unpacked into a hidden folder beside the target, moved into place in
    one step at the end, and removed (with any folder made for them) if the import fails."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._moved: list[Path] = []
        self._made_target = False
        self._made_parents: list[Path] = []
        try:
            self._made_parents = _make_parents(target.parent)
            self.staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.importing-",
                                                 dir=target.parent)).resolve()
        except BaseException:
            self._remove_parents()
            raise

    def _remove_parents(self) -> None:
        for folder in self._made_parents:
            with contextlib.suppress(OSError):
                folder.rmdir()

    def final_paths(self, written: Sequence[Path]) -> tuple[Path, ...]:
        return tuple(self.target / p.relative_to(self.staging) for p in written)

    def move_into_place(self) -> None:
        """The unpacked files under ``target``: the folder renamed into place when the target
        is new, else each file moved in (none of them may exist there)."""
        if not self.target.exists():
            self.staging.rename(self.target)
            self._made_target = True
        else:
            for path in sorted(self.staging.iterdir()):
                final = self.target / path.name
                if final.exists() or final.is_symlink():
                    raise BundleError(f"{final} appeared while the bundle was imported; "
                                      "import into an empty folder.")
                path.rename(final)
                self._moved.append(final)
        fsync_dir(self.target)
        fsync_dir(self.target.parent)

    def undo(self) -> None:
        """Remove what the import put in place (the library's transaction is rolling back)."""
        if self._made_target:
            shutil.rmtree(self.target, ignore_errors=True)
            self._made_target = False
        for path in self._moved:
            with contextlib.suppress(OSError):
                path.unlink()
        self._moved.clear()

    def close(self, failed: bool) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        if failed:
            self.undo()
            self._remove_parents()


# ----------------------------------------------------------------------------- the import


class BundleImport:
    """One bundle, checked whole when this is made: nothing has been written yet, and
    ``into`` writes it all or nothing. Use as a context manager (it holds the bundle open).

    Raises ``BundleError`` (a sentence naming the entry and the rule) for a bundle that is
    refused, or for files of it that already exist in ``target``.
    """

    UNPACKED_KINDS = ("sheet", "settings", "document", "manifest", "reference")

    def __init__(self, bundle_path: Path, target: Path, catalog: PresetCatalog, *,
                 limits: BundleLimits | None = None, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> None:
        self.target = Path(target)
        self.catalog = catalog
        self._cancel = cancel
        self.bundle = Bundle(Path(bundle_path), limits)
        try:
            self.images = self.bundle.images()
            self._steps = Steps(2 * len(self.images) + 4, progress, cancel)
            self.sheet, self.rows = self._check()
        except BaseException:
            self.bundle.close()
            raise
        self.by_file = {_str(r, "file"): r for r in self.rows if _str(r, "file")}

    def __enter__(self) -> BundleImport:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.bundle.close()

    def _check(self) -> tuple[Sheet, list[dict[str, Any]]]:
        bundle, steps = self.bundle, self._steps
        steps.step("Checking the sheet and the settings")
        target = self.target
        if target.exists() and not target.is_dir():
            raise BundleError(f"{target} is a file; import into a folder.")
        if target.is_dir():
            for entry in bundle.entries.values():
                if entry.kind in self.UNPACKED_KINDS:
                    existing = target.joinpath(*entry.path.parts)
                    if existing.exists() or existing.is_symlink():
                        raise BundleError(f"{existing} already exists; import into an empty "
                                          "folder.")
        try:
            sheet = parse_sheet(bundle.sheet_text(), self.catalog, bundle.sheet_file)
        except StudioInputError as exc:
            raise BundleError(f"The bundle's sheet file cannot be used: {exc}") from None
        if not project_name(sheet) or not sheet.character.name.strip():
            raise BundleError("The bundle's sheet file cannot be used: its character has no "
                              "name.")
        sheet = self._references(sheet)
        rows = bundle.settings()
        check_rows(rows)
        for entry in self.images:
            steps.step(f"Checking {entry.path.name}")
            try:
                check_image(bundle.image(entry), entry.name)
            except ImageImportError as exc:
                raise BundleError(f"The bundle is refused: {exc}") from None
        return sheet, rows

    def _references(self, sheet: Sheet) -> Sheet:
        """The sheet with the hash of each reference image it names, each one read from the
        bundle and checked like an image; their bytes are kept to be stored with the sheet."""
        entries = {e.name: e for e in self.bundle.references()}
        found: list[ReferenceImage] = []
        self.reference_images: list[bytes] = []
        for ref in sheet.character.references:
            entry = entries.get(ref.path)
            if entry is None:
                raise BundleError(f"The bundle is refused: its sheet file names the reference "
                                  f"image \"{shorten(ref.path, 80)}\", which it does not hold; "
                                  "it was not made by the studio or was altered.")
            data = self.bundle.image(entry)
            try:
                check_image(data, entry.name)
            except ImageImportError as exc:
                raise BundleError(f"The bundle is refused: {exc}") from None
            found.append(dataclasses.replace(ref, sha256=content_hash(data)))
            self.reference_images.append(data)
        character = dataclasses.replace(sheet.character, references=tuple(found))
        return dataclasses.replace(sheet, character=character)

    def into(self, library: Library) -> ImportedBundle:
        """Unpack and record the checked bundle in ``library``, all or nothing.

        Raises ``BundleError`` for an entry that turns out damaged while it is read again,
        ``ExportError`` for files that cannot be written (a sentence), ``ExportCancelledError``
        on a cancel, and the library's own errors (a full disk, a read-only library); in every
        case nothing is left of the import.
        """
        steps = self._steps
        steps.step("Unpacking the sheet and its documents")
        failed = True
        try:
            unpacked = _Unpacked(self.target)
        except OSError as exc:
            raise _write_error(self.target, exc) from exc
        try:
            try:
                written = self.bundle.extract(unpacked.staging, kinds=self.UNPACKED_KINDS,
                                              cancel=self._cancel)
            except OSError as exc:
                raise _write_error(self.target, exc) from exc
            project, record, made = self._record(library, unpacked)
            failed = False  # committed: from here on, the import stands
        finally:
            unpacked.close(failed)
        steps.finish()
        return ImportedBundle(self.target / self.bundle.sheet_file, project, record,
                              tuple(library.renders.many(made)),
                              unpacked.final_paths(written))

    def _record(self, library: Library,
                unpacked: _Unpacked) -> tuple[ProjectRecord, SheetRecord, list[int]]:
        sheet, rows, by_file, steps = self.sheet, self.rows, self.by_file, self._steps
        sheet_path = self.target / self.bundle.sheet_file
        # Previews before finals, oldest first, so a final's preview is stored before it.
        ordered = sorted(self.images, key=lambda e: (
            _stage(by_file.get(e.name, {})) is Stage.FINAL,
            _int(by_file.get(e.name, {}), "render_id") or 0, e.name))
        with library.db.transaction("import the bundle") as (_conn, _changes):
            steps.step("Recording the sheet")
            references = tuple(
                ReferenceImage(library.references.store(data, ref.path, checked=True), ref.role)
                for ref, data in zip(sheet.character.references, self.reference_images,
                                     strict=True))
            project, record, scene_ids, anchors = _bind(library, sheet, sheet_path,
                                                        self.catalog, rows, references)
            ids: dict[int, int] = {}
            made: list[int] = []
            for entry in ordered:
                steps.step(f"Importing {entry.path.name}")
                data = self.bundle.image(entry)
                row = by_file.get(entry.name)
                if row is None:
                    made.append(library.maintenance.import_image(
                        data, project.id, name=entry.path.stem).render.id)
                    continue
                render_id = _store(library, project.id, record, sheet, scene_ids, anchors, ids,
                                   row, data)
                old = _int(row, "render_id")
                if old is not None:
                    ids[old] = render_id
                made.append(render_id)
            # The files go into place last; if the commit still fails, they are taken back.
            library.db.on_rollback(unpacked.undo)
            try:
                unpacked.move_into_place()
            except OSError as exc:
                raise _write_error(self.target, exc) from exc
        return project, record, made


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
    """Recreate a bundle's project in ``library`` and unpack its files into ``target``, all or
    nothing (see ``BundleImport``)."""
    with BundleImport(bundle_path, target, catalog, limits=limits, progress=progress,
                      cancel=cancel) as job:
        return job.into(library)


def _write_error(target: Path, exc: OSError) -> ExportError:
    return ExportError(f"Could not write the bundle's files into {target} "
                       f"({exc.strerror or exc}); check that the folder is writable and has "
                       "free space. Nothing was imported.")


def _references(row: Mapping[str, Any]) -> tuple[tuple[ReferenceImage, ...],
                                                 ReferenceStrength]:
    """The reference images a settings record says its render was sent with."""
    refs = _decoded(tuple[ReferenceImage, ...], row.get("references")) or ()
    try:
        strength = ReferenceStrength(_str(row, "reference_strength") or "strong")
    except ValueError:
        strength = ReferenceStrength.STRONG
    return refs, (strength if refs else ReferenceStrength.OFF)


def _bind(library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
          rows: Sequence[Mapping[str, Any]], references: tuple[ReferenceImage, ...] = ()
          ) -> tuple[ProjectRecord, SheetRecord, dict[str, int], dict[str, AnchorVersion]]:
    """Record the sheet as `studio render` does, with the anchors the images were made with
    saved first (oldest version first) so the sheet's own anchor is the latest, with its
    reference set (stored already)."""
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
        anchor=ch.anchor, fields=ch.fields.as_dict(), seed=ch.seed, negative=ch.negative or "",
        references=references))
    record = library.sheets.save(project.id, sheet_name(sheet_path), str(sheet_path.resolve()),
                                character.id)
    scenes = library.sheets.sync_scenes(record.id, [scene_spec(sheet, sc, catalog)
                                                    for sc in sheet.scenes])
    return project, record, {s.name: s.id for s in scenes}, anchors


def _store(library: Library, project_id: int, record: SheetRecord, sheet: Sheet,
           scene_ids: Mapping[str, int], anchors: Mapping[str, AnchorVersion],
           ids: Mapping[int, int], row: Mapping[str, Any], data: bytes) -> int:
    scene = _str(row, "scene")
    anchor = anchors.get(_str(row, "anchor"))
    parent = _int(row, "parent_id")
    tags = row.get("tags")
    references, strength = _references(row)
    draft = RenderDraft(
        request=GenerationRequest(
            prompt=_str(row, "prompt"), negative=_str(row, "negative"),
            width=_int(row, "width") or 0, height=_int(row, "height") or 0,
            steps=_int(row, "steps") or 0, guidance=_float(row, "guidance") or 0.0,
            model=_str(row, "model"), seed=_int(row, "seed_requested"), stage=_stage(row),
            provider=_str(row, "provider") or "import",
            references=references, reference_strength=strength,
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
    return render.id


__all__ = ["BundleImport", "ImportedBundle", "check_rows", "import_bundle"]
