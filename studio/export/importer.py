"""Importing a bundle, all or nothing: the project recreated in this library, the sheet file and
the documents in a folder.

A bundle comes from someone else, so the whole of it is checked before anything is written: the
archive itself (``studio.export.bundle_reader``: names, sizes, ratios, the manifest), the sheet
file, every settings row (``studio.export.import_rows``: numbers the library keeps must be in
range) and every image (PNG, JPEG or WebP, its pixels counted from its header, then decoded
whole), the character's reference images as well (each one the sheet file names must be in the
bundle). Only then are the sheet file, the settings and the documents unpacked into a hidden
folder beside the target, and the library written in one transaction: the project, character,
anchor versions, sheet and scenes, and every image with its settings, its stage, its scene, its
anchor version and the preview a final came from. The unpacked files are moved into place as the
transaction's last step. If anything fails (a full disk, a cancel, a damaged entry) the
transaction rolls back, the image files it wrote are removed and so are the unpacked files:
nothing is left, and the import can simply be run again. The unpacked files wait in
``studio.export.import_folder``; the library records are made by
``studio.export.import_records``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from studio.core.anchor import ReferenceImage
from studio.core.errors import StudioInputError
from studio.core.imagefile import content_hash
from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Sheet, parse_sheet
from studio.core.text import shorten
from studio.export.bundle import BundleError, BundleLimits
from studio.export.bundle_reader import Bundle
from studio.export.import_folder import Unpacked
from studio.export.import_records import record_render, record_sheet
from studio.export.import_rows import check_rows, row_int, row_stage, row_str
from studio.export.model import CancelToken, ExportError, ProgressCallback, Steps
from studio.library.binding import project_name
from studio.library.decoding import check_image
from studio.library.errors import ImageImportError
from studio.library.models import ProjectRecord, RenderRecord, SheetRecord

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
        self.by_file = {row_str(r, "file"): r for r in self.rows if row_str(r, "file")}

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
            unpacked = Unpacked(self.target)
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
                unpacked: Unpacked) -> tuple[ProjectRecord, SheetRecord, list[int]]:
        sheet, rows, by_file, steps = self.sheet, self.rows, self.by_file, self._steps
        sheet_path = self.target / self.bundle.sheet_file
        # Previews before finals, oldest first, so a final's preview is stored before it.
        ordered = sorted(self.images, key=lambda e: (
            row_stage(by_file.get(e.name, {})) is Stage.FINAL,
            row_int(by_file.get(e.name, {}), "render_id") or 0, e.name))
        with library.db.transaction("import the bundle") as (_conn, _changes):
            steps.step("Recording the sheet")
            references = tuple(
                ReferenceImage(library.references.store(data, ref.path, checked=True), ref.role)
                for ref, data in zip(sheet.character.references, self.reference_images,
                                     strict=True))
            project, record, scene_ids, anchors = record_sheet(library, sheet, sheet_path,
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
                render_id = record_render(library, project.id, record, sheet, scene_ids,
                                          anchors, ids, row, data)
                old = row_int(row, "render_id")
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



__all__ = ["BundleImport", "ImportedBundle", "import_bundle"]
