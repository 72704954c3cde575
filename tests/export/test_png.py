"""The character sheet PNG: drawn, with its metadata chunks, written atomically."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image

from studio.core.parameters import parse_parameters
from studio.export.model import ExportCancelledError, ExportProgress, SheetDocument, SheetOptions
from studio.export.png import sheet_png_bytes, write_sheet_png
from studio.library.metadata import read_png_metadata


def test_the_sheet_png_carries_the_anchor_seed_and_every_cell(
        emma_doc: SheetDocument, out_dir: Path) -> None:
    out = write_sheet_png(emma_doc, out_dir / "emma.png", SheetOptions(dpi=100))
    meta = read_png_metadata(out)
    assert meta.parameters is not None
    params = parse_parameters(meta.parameters)
    assert params.prompt == emma_doc.anchor
    assert params.seed == 42
    with Image.open(out) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert (params.width, params.height) == image.size
        assert image.info["dpi"] == pytest.approx((100, 100), abs=0.01)
    assert params.model == "flux-schnell, fluxgram-v1" and params.provider == "offline"
    assert meta.studio is not None
    assert meta.studio["kind"] == "character-sheet"
    assert [c["scene"] for c in meta.studio["cells"]] == [c.scene for c in emma_doc.cells]
    assert [c["stage"] for c in meta.studio["cells"]] == ["final", "final", "preview", "final"]


def test_the_png_is_as_wide_as_the_page_at_its_dpi(emma_doc: SheetDocument) -> None:
    for dpi, width in ((72, 595), (144, 1191)):
        data = sheet_png_bytes(emma_doc, SheetOptions(dpi=dpi))
        with Image.open(io.BytesIO(data)) as image:
            assert abs(image.width - width) <= 1
            assert image.height > image.width  # portrait grid of 2 rows


def test_the_png_shows_the_images(emma_doc: SheetDocument) -> None:
    """The drawn page is not blank: the placeholder cards' black banners are on it."""
    data = sheet_png_bytes(emma_doc, SheetOptions(dpi=72))
    with Image.open(io.BytesIO(data)) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
    dark = sum(histogram[:40]) / (grey.width * grey.height)
    white = sum(histogram[250:]) / (grey.width * grey.height)
    assert dark > 0.02 and white > 0.2


def test_progress_counts_up_to_the_total(emma_doc: SheetDocument) -> None:
    seen: list[ExportProgress] = []
    sheet_png_bytes(emma_doc, SheetOptions(dpi=72), progress=seen.append)
    assert seen[-1].done == seen[-1].total
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert any(p.step.startswith("Drawing Studio headshot") for p in seen)


def test_a_cancelled_export_leaves_no_file(emma_doc: SheetDocument, out_dir: Path) -> None:
    cancel = threading.Event()
    target = out_dir / "sheet.png"
    target.write_bytes(b"the previous export")

    def on_progress(p: ExportProgress) -> None:
        if p.step.startswith("Drawing"):
            cancel.set()

    with pytest.raises(ExportCancelledError):
        write_sheet_png(emma_doc, target, SheetOptions(dpi=72), progress=on_progress,
                        cancel=cancel)
    assert target.read_bytes() == b"the previous export"
    assert sorted(p.name for p in out_dir.iterdir()) == ["sheet.png"]
