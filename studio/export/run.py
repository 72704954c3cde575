"""One export, whatever its format: what `studio export` and the Export dialog call.

``run_export`` writes a character sheet PNG, a sheet or storyboard PDF, or a ZIP bundle for a
gathered sheet, reporting progress as one count across all its phases and honouring a cancel
token throughout. PDFs (also those inside a bundle) need a ``QGuiApplication``; see
``studio.export.pdf.gui_application``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from studio.core.sheet import dump_sheet
from studio.core.templates import SheetLayout
from studio.export.bundle import slug
from studio.export.bundle_writer import write_bundle
from studio.export.gather import (
    SheetExport,
    all_sheet_renders,
    bundle_images,
    bundle_references,
)
from studio.export.model import (
    CancelToken,
    ExportProgress,
    ProgressCallback,
    SheetOptions,
    StoryboardOptions,
)
from studio.library.binding import sheet_name

if TYPE_CHECKING:
    from studio.library import Library


class ExportFormat(StrEnum):
    PNG = "png"
    PDF = "pdf"
    ZIP = "zip"


#: The layouts a sheet exports in (the vocabulary lives with the templates that name them).
Layout = SheetLayout


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to write and where. ``layout`` picks the PNG's and the PDF's layout (a bundle
    holds the sheet PNG and PDF and the storyboard PDF whatever it is)."""

    format: ExportFormat
    out: Path
    layout: Layout = Layout.SHEET
    sheet: SheetOptions = field(default_factory=SheetOptions)
    storyboard: StoryboardOptions = field(default_factory=StoryboardOptions)
    #: Bundle every kept render of the sheet, not only the ones on it (and their previews).
    all_renders: bool = False


class _Phases:
    """Maps each phase's own progress onto one 0..total count."""

    SCALE = 100

    def __init__(self, count: int, progress: ProgressCallback | None) -> None:
        self.count = count
        self.index = -1
        self._progress = progress

    def next(self) -> ProgressCallback:
        self.index += 1
        base = self.index * self.SCALE

        def report(p: ExportProgress) -> None:
            if self._progress is not None:
                done = base + (p.done * self.SCALE) // max(p.total, 1)
                self._progress(ExportProgress(done, self.count * self.SCALE, p.step))

        return report


def run_export(
    export: SheetExport,
    request: ExportRequest,
    *,
    library: Library | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write the export; returns the path written. ``library`` is needed for
    ``all_renders``."""
    from studio.export.png import sheet_png_bytes, write_layout_png

    out = Path(request.out)
    doc = export.document
    if request.format is ExportFormat.PNG:
        return write_layout_png(doc, out, request.layout, request.sheet, request.storyboard,
                                progress=progress, cancel=cancel)
    from studio.export.pdf import write_layout_pdf, write_sheet_pdf, write_storyboard_pdf

    if request.format is ExportFormat.PDF:
        return write_layout_pdf(doc, out, request.layout, request.sheet, request.storyboard,
                                progress=progress, cancel=cancel)
    phases = _Phases(4, progress)
    renders = list(export.renders)
    if request.all_renders and library is not None:
        renders += all_sheet_renders(library, export.record)
    base = slug(sheet_name(export.sheet_path))
    documents: dict[str, bytes] = {}
    documents[f"{base}.sheet.png"] = sheet_png_bytes(doc, request.sheet, progress=phases.next(),
                                                     cancel=cancel)
    with tempfile.TemporaryDirectory(prefix="studio-export-") as folder:
        sheet_pdf = write_sheet_pdf(doc, Path(folder) / "sheet.pdf", request.sheet,
                                    progress=phases.next(), cancel=cancel)
        story_pdf = write_storyboard_pdf(doc, Path(folder) / "storyboard.pdf",
                                         request.storyboard, progress=phases.next(),
                                         cancel=cancel)
        documents[f"{base}.sheet.pdf"] = sheet_pdf.read_bytes()
        documents[f"{base}.storyboard.pdf"] = story_pdf.read_bytes()
    references, bundled_sheet = bundle_references(export)
    try:
        sheet_text = export.sheet_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        sheet_text = dump_sheet(export.sheet)  # the sheet as loaded, if its file is gone
    if references:
        # Its reference paths now point into the bundle's references/ folder.
        sheet_text = dump_sheet(bundled_sheet)
    return write_bundle(out, sheet_file=f"{base}.sheet.toml", sheet_text=sheet_text,
                        images=bundle_images(export, renders), documents=documents,
                        producer=doc.producer, progress=phases.next(), cancel=cancel,
                        references=references)
