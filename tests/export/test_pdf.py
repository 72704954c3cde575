"""Character sheet and storyboard PDFs: pages counted, text read back, images checked at full
size, every page rendered to a PNG (kept under $STUDIO_TEST_ARTIFACTS when set, to look at)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from studio.export.images import image_size
from studio.export.model import (
    ExportCancelledError,
    ExportProgress,
    PageSize,
    SheetDocument,
    SheetOptions,
    StoryboardOptions,
)
from studio.export.pdf import prepare_fonts, write_sheet_pdf, write_storyboard_pdf

pytestmark = pytest.mark.usefixtures("qapp")  # QPdfWriter needs a QGuiApplication


def page_texts(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(path)
    try:
        # One space for every run of whitespace, so wrapped lines read as the text they hold.
        return [" ".join(pdf[i].get_textpage().get_text_range().split())
                for i in range(len(pdf))]
    finally:
        pdf.close()


def image_sizes(path: Path) -> list[tuple[int, int]]:
    pdf = pdfium.PdfDocument(path)
    try:
        sizes = []
        for i in range(len(pdf)):
            for obj in pdf[i].get_objects():
                if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE:
                    sizes.append(tuple(obj.get_px_size()))
        return sizes
    finally:
        pdf.close()


def rasterise(path: Path, scale: float = 1.0) -> list[Image.Image]:
    """Every page as an image; also saved next to the PDF and to $STUDIO_TEST_ARTIFACTS."""
    pdf = pdfium.PdfDocument(path)
    images = []
    try:
        for i in range(len(pdf)):
            image = pdf[i].render(scale=scale).to_pil().convert("RGB")
            png = path.with_name(f"{path.stem}-page{i + 1}.png")
            image.save(png)
            artifacts = os.environ.get("STUDIO_TEST_ARTIFACTS")
            if artifacts:
                Path(artifacts).mkdir(parents=True, exist_ok=True)
                shutil.copy(png, Path(artifacts) / png.name)
            images.append(image)
    finally:
        pdf.close()
    return images


def ink(image: Image.Image) -> float:
    """The share of the page that is not white."""
    histogram = image.convert("L").histogram()
    return 1 - sum(histogram[245:]) / (image.width * image.height)


def test_the_example_sheet_pdf_is_one_a4_page_with_captions_and_full_size_images(
        emma_doc: SheetDocument, out_dir: Path) -> None:
    path = write_sheet_pdf(emma_doc, out_dir / "emma.sheet.pdf")
    (text,) = page_texts(path)
    for cell in emma_doc.cells:
        assert cell.scene in text
    assert "Emma: character sheet" in text
    assert "Anchor version 1" in text and "Seed 42" in text
    assert "Lighting: Golden hour backlight" in text
    assert "Lens: Medium format film, Hasselblad" in text
    assert "PREVIEW no final yet" in text
    assert "Seed 42 · flux-schnell · offline" in text
    sources = [image_size(c.image) for c in emma_doc.cells if c.image is not None]
    assert sorted(image_sizes(path)) == sorted(sources)  # the images at their own size
    pdf = pdfium.PdfDocument(path)
    try:
        assert pdf[0].get_size() == pytest.approx((595, 842), abs=1)
        assert pdf.get_metadata_dict()["Title"] == "Emma: character sheet"
        if pdf.count_attachments():
            record = json.loads(bytes(pdf.get_attachment(0).get_data()))
            assert [c["scene"] for c in record["cells"]] == [c.scene for c in emma_doc.cells]
    finally:
        pdf.close()
    (page,) = rasterise(path)
    assert 0.15 < ink(page) < 0.9


def test_sheet_pdf_page_size_orientation_and_columns(
        emma_doc_mixed: SheetDocument, out_dir: Path) -> None:
    path = write_sheet_pdf(emma_doc_mixed, out_dir / "wide.pdf",
                           SheetOptions(page=PageSize.LETTER, landscape=True, columns=4))
    pdf = pdfium.PdfDocument(path)
    try:
        assert len(pdf) == 1
        assert pdf[0].get_size() == pytest.approx((792, 612), abs=1)
    finally:
        pdf.close()
    (text,) = page_texts(path)
    assert "Not rendered yet" in text and "OUT OF DATE anchor changed" in text
    assert len(image_sizes(path)) == 3
    rasterise(path)
    tall = write_sheet_pdf(emma_doc_mixed, out_dir / "tall.pdf", SheetOptions(columns=1))
    texts = page_texts(tall)
    assert len(texts) >= 2 and "(continued)" in texts[1]
    assert f"Page {len(texts)} of {len(texts)}" in texts[-1]


@pytest.mark.parametrize(("panels", "landscape", "pages"),
                         [(1, True, 4), (2, True, 2), (4, False, 1), (3, False, 2)])
def test_storyboard_pages_hold_panels_in_sheet_order_with_notes(
        emma_doc: SheetDocument, out_dir: Path, panels: int, landscape: bool,
        pages: int) -> None:
    path = write_storyboard_pdf(
        emma_doc, out_dir / f"story-{panels}.pdf",
        StoryboardOptions(panels_per_page=panels, landscape=landscape))
    texts = page_texts(path)
    assert len(texts) == pages
    joined = "\n".join(texts)
    positions = [joined.index(f"SHOT {i + 1} {c.scene}") for i, c in enumerate(emma_doc.cells)]
    assert positions == sorted(positions)
    assert "Reference headshot: the face every other panel is judged against." in joined
    assert "Dramatic cover shot" in joined
    assert len(image_sizes(path)) == 4
    for page in rasterise(path, scale=0.75):
        assert ink(page) > 0.1


def test_a_pdf_can_be_written_from_a_worker_thread(
        emma_doc: SheetDocument, out_dir: Path) -> None:
    """The window exports off the GUI thread (having registered the font on it)."""
    prepare_fonts()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            write_storyboard_pdf(emma_doc, out_dir / "thread.pdf")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []
    assert len(page_texts(out_dir / "thread.pdf")) == 2


def test_a_cancelled_pdf_leaves_nothing_under_the_final_name(
        emma_doc: SheetDocument, out_dir: Path) -> None:
    cancel = threading.Event()
    steps: list[ExportProgress] = []

    def on_progress(p: ExportProgress) -> None:
        steps.append(p)
        if p.step.startswith("Placing Coffee-shop"):
            cancel.set()

    with pytest.raises(ExportCancelledError):
        write_sheet_pdf(emma_doc, out_dir / "emma.pdf", progress=on_progress, cancel=cancel)
    assert list(out_dir.iterdir()) == []
    assert steps[0].total >= 5


def test_headless_pdf_export_outside_the_window(emma_doc: SheetDocument, out_dir: Path) -> None:
    """Without an application the writer says what is missing (Qt would crash); with the
    offscreen one ``gui_application()`` makes, it writes."""
    code = (
        "import pickle, sys\n"
        "from pathlib import Path\n"
        "from studio.export.model import ExportError\n"
        "from studio.export.pdf import gui_application, write_sheet_pdf\n"
        "doc = pickle.loads(sys.stdin.buffer.read())\n"
        "out = Path(sys.argv[1])\n"
        "try:\n"
        "    write_sheet_pdf(doc, out)\n"
        "except ExportError as exc:\n"
        "    print('refused:', exc)\n"
        "app = gui_application()\n"
        "write_sheet_pdf(doc, out)\n"
        "print('written')\n"
    )
    import pickle

    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    proc = subprocess.run([sys.executable, "-c", code, str(out_dir / "headless.pdf")],
                          input=pickle.dumps(emma_doc), capture_output=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith("refused: PDF export needs")
    assert lines[-1] == "written"
    assert len(page_texts(out_dir / "headless.pdf")) == 1


def test_jpeg_and_transparent_images_are_placed(emma_doc: SheetDocument, out_dir: Path) -> None:
    import dataclasses

    def encoded(image: Image.Image, fmt: str) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        return buffer.getvalue()

    rgba = Image.new("RGBA", (300, 400), (200, 30, 30, 128))
    jpeg = Image.new("RGB", (640, 480), (30, 60, 200))
    cells = (dataclasses.replace(emma_doc.cells[0], image=encoded(rgba, "PNG")),
             dataclasses.replace(emma_doc.cells[1], image=encoded(jpeg, "JPEG")),
             dataclasses.replace(emma_doc.cells[2], image=encoded(jpeg, "WEBP")))
    doc = dataclasses.replace(emma_doc, cells=cells)
    path = write_sheet_pdf(doc, out_dir / "formats.pdf")
    assert sorted(image_sizes(path)) == [(300, 400), (640, 480), (640, 480)]

