"""Drawing laid-out pages into a PDF with Qt's ``QPdfWriter``: character sheets and storyboards.

Why Qt: it writes real vector text with the font embedded (searchable, sharp at any zoom, any
script the font has) and places every image at its full pixel size, which Pillow's PDF writer
cannot (it only stores one raster image per page). Qt is a dependency of the app anyway; this
module is the only place in ``studio.export`` that imports it, and only ``QtGui`` (no widgets).

``QPdfWriter`` needs a ``QGuiApplication`` to exist (fonts come from it) but then works from any
thread; the window already has one, and ``studio export`` makes an offscreen one with
``gui_application()``. Images are decoded by Pillow (PNG, JPEG and WebP alike) and handed to Qt
as RGB pixels.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QCoreApplication, QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)

from studio.core.templates import SheetLayout
from studio.export.canvas import BoxOp, ImageOp, Page, TextOp
from studio.export.files import atomic_path
from studio.export.images import UnreadableImageError, decode_rgb
from studio.export.metadata import sheet_record
from studio.export.model import (
    CancelToken,
    ExportError,
    PageSize,
    ProgressCallback,
    SheetDocument,
    SheetOptions,
    Steps,
    StoryboardOptions,
)
from studio.export.pages import layout_pages, layout_title, page_setup
from studio.export.text import FontFiles, find_fonts, measure_for

#: Device resolution of the PDF's coordinate space (text and images are resolution-free).
PDF_RESOLUTION = 1200

_PAGE_IDS: dict[PageSize, QPageSize.PageSizeId] = {
    PageSize.A4: QPageSize.PageSizeId.A4,
    PageSize.A3: QPageSize.PageSizeId.A3,
    PageSize.A5: QPageSize.PageSizeId.A5,
    PageSize.LETTER: QPageSize.PageSizeId.Letter,
    PageSize.LEGAL: QPageSize.PageSizeId.Legal,
    PageSize.TABLOID: QPageSize.PageSizeId.Tabloid,
}

_font_lock = threading.Lock()
_families: dict[bytes, str] = {}


def gui_application() -> QCoreApplication:
    """The running application, or a new offscreen ``QGuiApplication`` for headless exports.

    Call it on the main thread before writing PDFs and keep the result while exporting.
    """
    app = QCoreApplication.instance()
    if app is not None:
        return app
    if threading.current_thread() is not threading.main_thread():
        raise ExportError("PDF export must be set up on the main thread.")
    return QGuiApplication(["studio", "-platform", "offscreen"])


def _require_gui() -> None:
    if not isinstance(QCoreApplication.instance(), QGuiApplication):
        raise ExportError(
            "PDF export needs the studio's window or an offscreen Qt application; call "
            "studio.export.pdf.gui_application() first."
        )


def _family(data: bytes) -> str:
    """Register the font bytes with Qt once per process and return the family name."""
    with _font_lock:
        family = _families.get(data)
        if family is None:
            font_id = QFontDatabase.addApplicationFontFromData(QByteArray(data))
            names = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
            family = names[0] if names else QFontDatabase.systemFont(
                QFontDatabase.SystemFont.GeneralFont).family()
            _families[data] = family
        return family


def prepare_fonts() -> None:
    """Register the export font with Qt now. Call it on the GUI thread before exporting PDFs
    from a worker, so Qt's font database is only ever changed from the GUI thread."""
    _require_gui()
    fonts = find_fonts()
    _family(fonts.regular)
    _family(fonts.bold)


class _QtFonts:
    def __init__(self, files: FontFiles) -> None:
        self._regular = _family(files.regular)
        self._bold = _family(files.bold)
        self._same = files.regular == files.bold
        self._cache: dict[tuple[float, bool], QFont] = {}

    def get(self, size: float, bold: bool) -> QFont:
        key = (size, bold)
        font = self._cache.get(key)
        if font is None:
            font = QFont(self._bold if bold else self._regular)
            font.setPointSizeF(size)
            font.setBold(bold)
            font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
            font.setKerning(True)
            self._cache[key] = font
        return font


def _qcolor(rgb: tuple[int, int, int]) -> QColor:
    return QColor(rgb[0], rgb[1], rgb[2])


def _draw_page(painter: QPainter, page: Page, scale: float, fonts: _QtFonts, steps: Steps) -> None:
    def rect(r: Any) -> QRectF:
        return QRectF(r.x * scale, r.y * scale, r.w * scale, r.h * scale)

    for op in page.ops:
        if isinstance(op, TextOp):
            painter.setFont(fonts.get(op.size, op.bold))
            painter.setPen(_qcolor(op.color))
            painter.drawText(QPointF(op.x * scale, op.y * scale), op.text)
        elif isinstance(op, BoxOp):
            if op.fill is not None:
                painter.fillRect(rect(op.rect), _qcolor(op.fill))
            if op.stroke is not None:
                painter.setPen(QPen(_qcolor(op.stroke), op.stroke_width * scale))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(rect(op.rect))
        elif isinstance(op, ImageOp):
            steps.step(f"Placing {op.label}")
            try:
                picture = decode_rgb(op.image)
            except UnreadableImageError:
                continue
            pixels = picture.tobytes()
            qimage = QImage(pixels, picture.width, picture.height, picture.width * 3,
                            QImage.Format.Format_RGB888)
            painter.drawImage(rect(op.rect), qimage)
            del qimage, pixels
            picture.close()


def write_pdf(
    pages: Sequence[Page],
    path: Path,
    *,
    page_size: PageSize,
    landscape: bool,
    title: str,
    producer: str = "",
    attachments: Mapping[str, bytes] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write ``pages`` (all of ``page_size``) as a PDF at ``path``, through a temporary name.

    ``attachments`` are embedded files (e.g. the settings JSON) where Qt supports them (6.8+).
    """
    _require_gui()
    fonts = _QtFonts(find_fonts())
    steps = Steps(sum(p.image_count for p in pages) + len(pages) + 1, progress, cancel)
    path = Path(path)
    with atomic_path(path) as temp:
        writer = QPdfWriter(str(temp))
        writer.setResolution(PDF_RESOLUTION)
        writer.setTitle(title)
        writer.setCreator(producer or "Character Sheet Studio")
        orientation = (QPageLayout.Orientation.Landscape if landscape
                       else QPageLayout.Orientation.Portrait)
        layout = QPageLayout(QPageSize(_PAGE_IDS[page_size]), orientation,
                             QMarginsF(0, 0, 0, 0))
        writer.setPageLayout(layout)
        add_attachment = getattr(writer, "addFileAttachment", None)
        if add_attachment is not None:
            for name, data in (attachments or {}).items():
                add_attachment(name, QByteArray(data), "application/json")
        painter = QPainter()
        if not painter.begin(writer):
            raise ExportError(
                f"Could not start writing {path}; check that the folder is writable."
            )
        try:
            for index, page in enumerate(pages):
                steps.step(f"Page {index + 1} of {len(pages)}")
                if index:
                    writer.newPage()
                scale = writer.width() / page.width
                _draw_page(painter, page, scale, fonts, steps)
        finally:
            painter.end()
        del painter, writer
        steps.finish()
    return path


def write_layout_pdf(
    doc: SheetDocument,
    path: Path,
    layout: SheetLayout = SheetLayout.SHEET,
    options: SheetOptions | None = None,
    storyboard: StoryboardOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """The sheet in ``layout`` as a PDF, paginated, images at their full resolution; the
    storyboard takes its paper and panels from ``storyboard``, every other layout from
    ``options``."""
    options = options or SheetOptions()
    storyboard = storyboard or StoryboardOptions()
    pages = layout_pages(doc, layout, options, storyboard, measure_for(find_fonts()))
    page_size, landscape = page_setup(layout, options, storyboard)
    settings = json.dumps(sheet_record(doc), indent=2, ensure_ascii=False).encode("utf-8")
    return write_pdf(pages, path, page_size=page_size, landscape=landscape,
                     title=layout_title(doc, layout), producer=doc.producer,
                     attachments={"sheet-settings.json": settings},
                     progress=progress, cancel=cancel)


def write_sheet_pdf(
    doc: SheetDocument,
    path: Path,
    options: SheetOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """The character sheet as a PDF, paginated, images at their full resolution."""
    return write_layout_pdf(doc, path, SheetLayout.SHEET, options, progress=progress,
                            cancel=cancel)


def write_storyboard_pdf(
    doc: SheetDocument,
    path: Path,
    options: StoryboardOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """The storyboard as a PDF: scenes in sheet order with shot labels, captions and notes."""
    return write_layout_pdf(doc, path, SheetLayout.STORYBOARD, storyboard=options,
                            progress=progress, cancel=cancel)
