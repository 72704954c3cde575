"""The Export dialog: the page preview follows the options, an export runs off the GUI thread
with progress, Cancel stops it, and problems are shown as sentences."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PySide6.QtWidgets import QWidget

from studio.core.presets import load_catalog
from studio.core.request import Stage
from studio.core.sheet import load_sheet
from studio.export.gather import NoRendersError, SheetExport
from studio.export.model import (
    CancelToken,
    ExportCancelledError,
    ExportError,
    ExportProgress,
    ProgressCallback,
)
from studio.export.run import ExportRequest
from studio.library import Library
from studio.library.models import SheetRecord
from studio.ui.export_dialog import CHOICES, ExportDialog
from tests.export.sheets import document

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emma_export() -> SheetExport:
    catalog = load_catalog()
    path = ROOT / "examples" / "emma.sheet.toml"
    sheet = load_sheet(path, catalog)
    doc = document(sheet, catalog, {2: Stage.PREVIEW}, scale=0.4)
    record = SheetRecord(id=1, project_id=1, name="emma", path=str(path), character_id=1,
                         created=datetime(2025, 6, 1, tzinfo=UTC))
    return SheetExport(doc, sheet, path, record, (), {})


@pytest.fixture
def make_dialog(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    dialogs: list[ExportDialog] = []

    def make(load: Callable[[], SheetExport], **kwargs: object) -> ExportDialog:
        dialog = ExportDialog(load, start_dir=tmp_path, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(dialog)
        dialogs.append(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.done(0)


def select(dialog: ExportDialog, label_start: str) -> None:
    index = next(i for i, c in enumerate(CHOICES) if c.label.startswith(label_start))
    dialog.format_box.setCurrentIndex(index)


def test_the_preview_shows_the_page_and_follows_the_options(
        qtbot, make_dialog, emma_export: SheetExport, tmp_path: Path,  # type: ignore[no-untyped-def]
        shot: Callable[[QWidget, str], Path]) -> None:
    dialog = make_dialog(lambda: emma_export)
    dialog.show()
    with qtbot.waitSignal(dialog.preview_ready, timeout=20000):
        pass
    assert dialog.page_label.text() == "Page 1 of 1", dialog.preview.text()
    pixmap = dialog.preview.pixmap()
    assert not pixmap.isNull() and pixmap.height() <= 500
    assert dialog.path_edit.text() == str(tmp_path / "emma.sheet.pdf")
    assert dialog.status.text() == "4 of 4 scenes have a render to export."
    assert dialog.export_button.isEnabled()
    shot(dialog, "export-dialog-sheet.png")

    with qtbot.waitSignal(dialog.preview_ready, timeout=20000):
        select(dialog, "Storyboard")
        dialog.panels_box.setCurrentIndex(0)  # one panel a page
    qtbot.waitUntil(lambda: dialog.page_label.text() == "Page 1 of 4", timeout=20000)
    assert dialog.orientation_box.currentText() == "Landscape"
    assert dialog.path_edit.text() == str(tmp_path / "emma.storyboard.pdf")
    assert not dialog.prev_button.isEnabled() and dialog.next_button.isEnabled()
    with qtbot.waitSignal(dialog.preview_ready, timeout=20000):
        dialog.next_button.click()
    assert dialog.page_label.text() == "Page 2 of 4"
    shot(dialog, "export-dialog-storyboard.png")

    select(dialog, "Bundle")
    assert dialog.path_edit.text().endswith(".zip")
    assert dialog.all_renders_box.isVisibleTo(dialog)
    select(dialog, "Character sheet (PNG")
    assert not dialog.all_renders_box.isVisibleTo(dialog)
    assert dialog.dpi_spin.isVisibleTo(dialog)


@pytest.mark.usefixtures("qapp")
def test_an_export_writes_the_pdf_off_the_gui_thread_with_progress(
        qtbot, make_dialog, emma_export: SheetExport, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    threads: list[str] = []
    seen: list[int] = []

    def exporter(export: SheetExport, request: ExportRequest, *,
                 library: Library | None = None, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> Path:
        from studio.export.run import run_export

        threads.append(threading.current_thread().name)
        return run_export(export, request, library=library, progress=progress, cancel=cancel)

    dialog = make_dialog(lambda: emma_export, exporter=exporter)
    dialog.progress.valueChanged.connect(seen.append)
    with qtbot.waitSignal(dialog.loaded, timeout=20000):
        pass
    target = tmp_path / "out.pdf"
    dialog.path_edit.setText(str(target))
    with qtbot.waitSignal(dialog.exported, timeout=60000) as blocker:
        dialog.export_button.click()
        assert dialog.exporting and dialog.close_button.text() == "Cancel"
        assert not dialog.format_box.isEnabled()
    assert blocker.args == [target]
    assert threads and threads[0] != threading.main_thread().name
    assert dialog.status.text() == f"Wrote {target}"
    assert dialog.progress.value() == dialog.progress.maximum() and len(seen) > 2
    assert not dialog.exporting and dialog.close_button.text() == "Close"
    pdf = pdfium.PdfDocument(target)
    try:
        assert len(pdf) == 1
    finally:
        pdf.close()


def test_cancel_stops_the_export_and_nothing_is_written(
        qtbot, make_dialog, emma_export: SheetExport, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    started = threading.Event()

    def slow_exporter(export: SheetExport, request: ExportRequest, *,
                      library: Library | None = None,
                      progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> Path:
        assert progress is not None and isinstance(cancel, threading.Event)
        progress(ExportProgress(1, 10, "Drawing Studio headshot"))
        started.set()
        if cancel.wait(timeout=30):
            raise ExportCancelledError()
        raise AssertionError("the dialog never cancelled")

    dialog = make_dialog(lambda: emma_export, exporter=slow_exporter)
    with qtbot.waitSignal(dialog.loaded, timeout=20000):
        pass
    dialog.path_edit.setText(str(tmp_path / "never.pdf"))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.status.text() == "Drawing Studio headshot", timeout=20000)
    assert dialog.progress.value() == 1 and dialog.progress.maximum() == 10
    dialog.close_button.click()  # "Cancel" while exporting
    qtbot.waitUntil(lambda: not dialog.exporting, timeout=20000)
    assert dialog.status.text() == "Export cancelled; no file was written."
    assert not (tmp_path / "never.pdf").exists()
    assert dialog.export_button.isEnabled() and dialog.format_box.isEnabled()


def test_problems_are_shown_as_sentences(qtbot, make_dialog, emma_export: SheetExport,
                                         tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def no_renders() -> SheetExport:
        raise NoRendersError("emma.sheet.toml has no renders in the library yet; render it "
                             "first, e.g. studio render emma.sheet.toml --stage preview")

    dialog = make_dialog(no_renders)
    with qtbot.waitSignal(dialog.loaded, timeout=20000):
        pass
    assert "has no renders in the library yet" in dialog.status.text()
    assert not dialog.export_button.isEnabled()

    def full_disk(*args: object, **kwargs: object) -> Path:
        raise ExportError("Could not write out.pdf (No space left on device); check that the "
                          "folder exists, is writable and has free space.")

    dialog = make_dialog(lambda: emma_export, exporter=full_disk)
    with qtbot.waitSignal(dialog.loaded, timeout=20000):
        pass
    dialog.path_edit.setText(str(tmp_path / "missing-folder" / "out.pdf"))
    dialog.export_button.click()
    assert "choose a file in an existing folder" in dialog.status.text()
    dialog.path_edit.setText(str(tmp_path / "out.pdf"))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.exporting, timeout=20000)
    assert "No space left on device" in dialog.status.text()


def test_closing_while_exporting_cancels_and_waits(qtbot, make_dialog, emma_export: SheetExport,
                                                   tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    started, cancelled = threading.Event(), threading.Event()

    def waiting_exporter(export: SheetExport, request: ExportRequest, *,
                         library: Library | None = None,
                         progress: ProgressCallback | None = None,
                         cancel: CancelToken | None = None) -> Path:
        assert isinstance(cancel, threading.Event)
        started.set()
        if cancel.wait(timeout=30):
            cancelled.set()
            raise ExportCancelledError()
        raise AssertionError("closing did not cancel")

    dialog = make_dialog(lambda: emma_export, exporter=waiting_exporter)
    with qtbot.waitSignal(dialog.loaded, timeout=20000):
        pass
    dialog.path_edit.setText(str(tmp_path / "x.pdf"))
    dialog.export_button.click()
    qtbot.waitUntil(started.is_set)  # exporting now (an export not yet started never runs)
    dialog.reject()
    assert cancelled.is_set()  # done() waited for the worker to stop
