"""The Export dialog: a character sheet PNG/PDF, a storyboard PDF or a ZIP bundle of the open
sheet, with a live preview of the page as it will be written.

Everything slow happens off the GUI thread on the dialog's own ``Background`` pool: reading the
sheet's renders (``load``), drawing the preview page, and the export itself, whose progress
comes back as a signal and which the Cancel button stops (nothing half-written is left under the
file's name). The window opens it with a ``load`` callable, e.g.::

    ExportDialog(lambda: gather_sheet(library, sheet, path, catalog), library=library,
                 start_dir=path.parent, parent=window).open()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.export.bundle import slug
from studio.export.gather import SheetExport
from studio.export.model import (
    PANELS_PER_PAGE,
    CancelToken,
    ExportCancelledError,
    ExportError,
    ExportProgress,
    PageSize,
    ProgressCallback,
    SheetOptions,
    StoryboardOptions,
)
from studio.export.run import ExportFormat, ExportRequest, Layout, run_export
from studio.library import Library
from studio.library.binding import sheet_name
from studio.ui.viewmodels.background import Background

PREVIEW_WIDTH = 380
PREVIEW_HEIGHT = 500


@dataclass(frozen=True, slots=True)
class Choice:
    """One entry of the format list."""

    label: str
    format: ExportFormat
    layout: Layout
    extension: str


CHOICES: tuple[Choice, ...] = (
    Choice("Character sheet (PDF)", ExportFormat.PDF, Layout.SHEET, "pdf"),
    Choice("Character sheet (PNG image)", ExportFormat.PNG, Layout.SHEET, "png"),
    Choice("Storyboard (PDF)", ExportFormat.PDF, Layout.STORYBOARD, "pdf"),
    Choice("Bundle (ZIP: images, settings, sheet and PDFs)", ExportFormat.ZIP, Layout.SHEET,
           "zip"),
)


class Exporter(Protocol):
    def __call__(self, export: SheetExport, request: ExportRequest, *,
                 library: Library | None = None, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> Path: ...


SavePathChooser = Callable[[QWidget, Path, str], Path | None]


def choose_save_path(parent: QWidget, suggested: Path, extension: str) -> Path | None:
    """The real "Save as" dialog."""
    name, _ = QFileDialog.getSaveFileName(parent, "Export to", str(suggested),
                                          f"{extension.upper()} files (*.{extension})")
    if not name:
        return None
    path = Path(name)
    return path if path.suffix.lower() == f".{extension}" else path.with_name(
        f"{path.name}.{extension}")


class _Bridge(QObject):
    """Carries progress from the export's worker thread to the GUI thread (queued)."""

    progress = Signal(int, int, str)


class ExportDialog(QDialog):
    """Choose what to export, see the page, export with progress and cancel."""

    #: The file written, once an export has finished.
    exported = Signal(Path)
    #: The preview page was drawn (tests wait on it).
    preview_ready = Signal()
    #: The sheet's renders were read (or could not be: the message shows why).
    loaded = Signal()

    def __init__(
        self,
        load: Callable[[], SheetExport],
        *,
        library: Library | None = None,
        start_dir: Path | None = None,
        choose_path: SavePathChooser = choose_save_path,
        exporter: Exporter = run_export,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setModal(True)
        self._library = library
        self._start_dir = start_dir or Path.home()
        self._choose_path = choose_path
        self._exporter = exporter
        self._export: SheetExport | None = None
        self._background = Background(parent=self, threads=2, name="studio-export")
        self._bridge = _Bridge(self)
        self._bridge.progress.connect(self._on_progress)
        self._cancel: threading.Event | None = None
        self._preview_generation = 0
        self._preview_page = 0
        self._preview_pages = 0
        self._path_edited = False
        self._build()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self._draw_preview)
        self._update_controls()
        self._set_status("Reading the sheet's renders…")
        self._background.run(load, self._on_loaded, self._on_load_failed,
                             what="Reading the sheet's renders")

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.format_box = QComboBox()
        for choice in CHOICES:
            self.format_box.addItem(choice.label)
        self.page_box = QComboBox()
        for size in PageSize:
            self.page_box.addItem(size.label, size)
        self.orientation_box = QComboBox()
        self.orientation_box.addItems(["Portrait", "Landscape"])
        self.columns_spin = QSpinBox()
        self.columns_spin.setRange(1, 6)
        self.columns_spin.setValue(2)
        self.panels_box = QComboBox()
        for n in PANELS_PER_PAGE:
            self.panels_box.addItem(str(n), n)
        self.panels_box.setCurrentIndex(PANELS_PER_PAGE.index(2))
        self.dpi_spin = QSpinBox()
        self.dpi_spin.setRange(72, 600)
        self.dpi_spin.setSingleStep(50)
        self.dpi_spin.setValue(200)
        self.dpi_spin.setSuffix(" dpi")
        self.all_renders_box = QCheckBox("Every render of the sheet, not only those on it")
        self.path_edit = QLineEdit()
        self.path_edit.textEdited.connect(self._on_path_edited)
        self.choose_button = QPushButton("Choose…")
        self.choose_button.clicked.connect(self._on_choose)

        form = QFormLayout()
        form.addRow("Export", self.format_box)
        form.addRow("Paper", self.page_box)
        form.addRow("Orientation", self.orientation_box)
        form.addRow("Columns", self.columns_spin)
        form.addRow("Panels per page", self.panels_box)
        form.addRow("PNG resolution", self.dpi_spin)
        form.addRow("", self.all_renders_box)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.choose_button)
        form.addRow("File", path_row)
        self._form = form

        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedSize(PREVIEW_WIDTH, PREVIEW_HEIGHT)
        self.preview.setStyleSheet("QLabel { background: #5a5c66; }")
        self.preview.setAccessibleName("Page preview")
        self.prev_button = QPushButton("◀")
        self.next_button = QPushButton("▶")
        self.page_label = QLabel("")
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prev_button.clicked.connect(lambda: self._turn(-1))
        self.next_button.clicked.connect(lambda: self._turn(1))
        nav = QHBoxLayout()
        nav.addWidget(self.prev_button)
        nav.addWidget(self.page_label, 1)
        nav.addWidget(self.next_button)
        preview_column = QVBoxLayout()
        preview_column.addWidget(self.preview)
        preview_column.addLayout(nav)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.close_button = QPushButton("Close")
        self.export_button.clicked.connect(self.start_export)
        self.close_button.clicked.connect(self._on_close_clicked)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addStretch(1)
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addLayout(buttons)
        top = QHBoxLayout(self)
        top.addLayout(left, 1)
        top.addLayout(preview_column)

        for widget in (self.format_box, self.page_box, self.orientation_box, self.panels_box):
            widget.currentIndexChanged.connect(self._on_options_changed)
        self.columns_spin.valueChanged.connect(self._on_options_changed)
        self.dpi_spin.valueChanged.connect(self._update_controls)
        self.all_renders_box.toggled.connect(self._update_controls)

    # ------------------------------------------------------------------ options

    @property
    def choice(self) -> Choice:
        return CHOICES[self.format_box.currentIndex()]

    def request(self) -> ExportRequest:
        """The export the dialog's fields describe."""
        page = PageSize(self.page_box.currentData())
        landscape = self.orientation_box.currentIndex() == 1
        return ExportRequest(
            format=self.choice.format,
            out=Path(self.path_edit.text().strip()),
            layout=self.choice.layout,
            sheet=SheetOptions(page=page, landscape=landscape,
                               columns=self.columns_spin.value(), dpi=self.dpi_spin.value()),
            storyboard=StoryboardOptions(page=page, landscape=landscape,
                                         panels_per_page=int(self.panels_box.currentData())),
            all_renders=self.all_renders_box.isChecked(),
        )

    def _on_options_changed(self) -> None:
        if self.sender() is self.format_box:
            # Storyboards read best across the page; sheets down it.
            storyboard = self.choice.layout is Layout.STORYBOARD
            self.orientation_box.blockSignals(True)
            self.orientation_box.setCurrentIndex(1 if storyboard else 0)
            self.orientation_box.blockSignals(False)
            self._suggest_path()
        self._preview_page = 0
        self._update_controls()
        self._timer.start()

    def _update_controls(self) -> None:
        choice = self.choice
        sheet_like = choice.layout is Layout.SHEET
        self._show_row(self.columns_spin, sheet_like)
        self._show_row(self.panels_box, choice.layout is Layout.STORYBOARD
                       or choice.format is ExportFormat.ZIP)
        self._show_row(self.dpi_spin, choice.format in (ExportFormat.PNG, ExportFormat.ZIP))
        self._show_row(self.all_renders_box, choice.format is ExportFormat.ZIP)
        busy = self._cancel is not None
        ready = self._export is not None and not busy and bool(self.path_edit.text().strip())
        self.export_button.setEnabled(ready)
        self.close_button.setText("Cancel" if busy else "Close")
        for widget in (self.format_box, self.page_box, self.orientation_box, self.columns_spin,
                       self.panels_box, self.dpi_spin, self.all_renders_box, self.path_edit,
                       self.choose_button):
            widget.setEnabled(not busy)
        self.prev_button.setEnabled(self._preview_page > 0)
        self.next_button.setEnabled(self._preview_page + 1 < self._preview_pages)

    def _show_row(self, field: QWidget, visible: bool) -> None:
        self._form.setRowVisible(field, visible)

    def _suggest_path(self) -> None:
        if self._path_edited and self.path_edit.text().strip():
            current = Path(self.path_edit.text().strip())
            self.path_edit.setText(str(current.with_suffix(f".{self.choice.extension}")))
            return
        base = "sheet"
        if self._export is not None:
            base = slug(sheet_name(self._export.sheet_path))
        kind = "storyboard" if self.choice.layout is Layout.STORYBOARD else (
            "bundle" if self.choice.format is ExportFormat.ZIP else "sheet")
        self.path_edit.setText(str(self._start_dir / f"{base}.{kind}.{self.choice.extension}"))

    def _on_path_edited(self, _text: str) -> None:
        self._path_edited = True
        self._update_controls()

    def _on_choose(self) -> None:
        suggested = Path(self.path_edit.text().strip() or self._start_dir)
        chosen = self._choose_path(self, suggested, self.choice.extension)
        if chosen is not None:
            self.path_edit.setText(str(chosen))
            self._path_edited = True
        self._update_controls()

    # ------------------------------------------------------------------ loading

    def _on_loaded(self, export: SheetExport) -> None:
        from studio.export.pdf import prepare_fonts

        prepare_fonts()  # the font database changes on the GUI thread only
        self._export = export
        shown = sum(1 for c in export.document.cells if c.image is not None)
        total = len(export.document.cells)
        self._set_status(f"{shown} of {total} scenes have a render to export.")
        self._suggest_path()
        self._update_controls()
        self.loaded.emit()
        self._draw_preview()

    def _on_load_failed(self, exc: BaseException) -> None:
        self._set_status(str(exc) if isinstance(exc, ExportError)
                         else f"The sheet's renders could not be read: {exc}", error=True)
        self._update_controls()
        self.loaded.emit()

    # ------------------------------------------------------------------ preview

    def _turn(self, step: int) -> None:
        self._preview_page = max(0, min(self._preview_pages - 1, self._preview_page + step))
        self._update_controls()
        self._draw_preview()

    def _draw_preview(self) -> None:
        export = self._export
        if export is None:
            return
        self._preview_generation += 1
        generation = self._preview_generation
        request = self.request()
        page_index = self._preview_page
        self._background.run(lambda: _preview_image(export, request, page_index),
                             lambda result: self._on_preview(generation, result),
                             lambda exc: self._on_preview_failed(generation, exc),
                             what="Drawing the preview")

    def _on_preview(self, generation: int, result: tuple[bytes, int, int, int, int]) -> None:
        if generation != self._preview_generation:
            return  # the options changed since; a newer preview is on its way
        pixels, width, height, index, count = result
        image = QImage(pixels, width, height, width * 3, QImage.Format.Format_RGB888).copy()
        self.preview.setPixmap(QPixmap.fromImage(image))
        self._preview_page, self._preview_pages = index, count
        self.page_label.setText(f"Page {index + 1} of {count}")
        self._update_controls()
        self.preview_ready.emit()

    def _on_preview_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._preview_generation:
            self.preview.setText(f"No preview: {exc}")
            self.preview_ready.emit()

    # ------------------------------------------------------------------ exporting

    @property
    def exporting(self) -> bool:
        return self._cancel is not None

    def start_export(self) -> None:
        """Export with the current options (the Export button)."""
        export = self._export
        if export is None or self._cancel is not None:
            return
        request = self.request()
        if not str(request.out) or request.out == Path():
            self._set_status("Choose a file to export to.", error=True)
            return
        if request.out.is_dir() or not request.out.parent.is_dir():
            self._set_status(f"Cannot write {request.out}: choose a file in an existing folder.",
                             error=True)
            return
        cancel = threading.Event()
        self._cancel = cancel
        self.progress.setValue(0)
        self._set_status(f"Exporting to {request.out}…")
        self._update_controls()
        bridge = self._bridge

        def report(p: ExportProgress) -> None:
            bridge.progress.emit(p.done, p.total, p.step)

        library = self._library
        exporter = self._exporter
        self._background.run(
            lambda: exporter(export, request, library=library, progress=report, cancel=cancel),
            self._on_exported, self._on_export_failed, what="Exporting")

    def cancel_export(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._set_status("Cancelling…")

    def _on_progress(self, done: int, total: int, step: str) -> None:
        if self._cancel is None:
            return
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(min(done, total))
        if not self._cancel.is_set():
            self._set_status(step)

    def _on_exported(self, path: Path) -> None:
        self._cancel = None
        self.progress.setValue(self.progress.maximum())
        self._set_status(f"Wrote {path}")
        self._update_controls()
        self.exported.emit(Path(path))

    def _on_export_failed(self, exc: BaseException) -> None:
        self._cancel = None
        self.progress.setValue(0)
        if isinstance(exc, ExportCancelledError):
            self._set_status("Export cancelled; no file was written.")
        elif isinstance(exc, ExportError):
            self._set_status(str(exc), error=True)
        else:
            self._set_status(f"The export failed ({exc}); nothing was left under the file's "
                             "name. Try again, or choose another folder.", error=True)
        self._update_controls()

    # ------------------------------------------------------------------ closing

    def _on_close_clicked(self) -> None:
        if self._cancel is not None:
            self.cancel_export()
        else:
            self.reject()

    def done(self, result: int) -> None:
        """Closing cancels a running export and waits for the workers to stop."""
        if self._cancel is not None:
            self._cancel.set()
        self._timer.stop()
        self._background.close()
        super().done(result)

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("QLabel { color: #b3261e; }" if error else "")


def _preview_image(export: SheetExport, request: ExportRequest,
                   page_index: int) -> tuple[bytes, int, int, int, int]:
    """The page to preview as RGB bytes scaled to the preview box (on a worker thread)."""
    from PIL import Image

    from studio.export.layout import sheet_pages, storyboard_pages
    from studio.export.png import render_page
    from studio.export.text import find_fonts, measure_for

    fonts = find_fonts()
    measure = measure_for(fonts)
    doc = export.document
    if request.layout is Layout.STORYBOARD and request.format is ExportFormat.PDF:
        pages = storyboard_pages(doc, request.storyboard, measure)
    else:
        pages = sheet_pages(doc, request.sheet, measure,
                            continuous=request.format is ExportFormat.PNG)
    index = max(0, min(page_index, len(pages) - 1))
    page = pages[index]
    scale = min(PREVIEW_WIDTH / page.width, PREVIEW_HEIGHT / page.height)
    image = render_page(page, 72 * scale * 2, fonts=fonts)  # twice the size, then smoothed
    size = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
    image = image.resize(size, Image.Resampling.LANCZOS)
    return image.tobytes(), image.width, image.height, index, len(pages)
