"""Every template end to end, as a user runs it: `studio new`, `studio lint`, an offline
render into a library in tmp, and `studio export` in the template's own layout (the default)
and as a model sheet, PNG and PDF. The PDF's text holds every label; its pages are rasterised
(and kept under $STUDIO_TEST_ARTIFACTS when set)."""

from __future__ import annotations

import os
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from studio.core.presets import load_catalog
from studio.core.sheet import load_sheet
from studio.library.metadata import read_png_metadata
from tests.export.test_command import run
from tests.export.test_pdf import ink, page_texts, rasterise

pytestmark = pytest.mark.usefixtures("qapp")  # the PDFs need a QGuiApplication

ANCHOR = "30-year-old woman, short red hair, green eyes, freckles, wearing a green parka"
LAYOUTS = {"turnaround": "turnaround", "head-turn": "turnaround", "expressions": "expression sheet",
           "poses": "character sheet", "outfits": "character sheet", "storyboard": "storyboard"}


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, STUDIO_DATA_DIR=str(tmp_path / "library"))


@pytest.mark.parametrize("template", list(LAYOUTS))
def test_every_template_from_new_to_its_layout(
        capsys: pytest.CaptureFixture[str], environ: dict[str, str], tmp_path: Path,
        template: str) -> None:
    sheet_path = tmp_path / f"mara-{template}.sheet.toml"
    code, _, err = run(capsys, environ, "new", "--template", template, "--name", "Mara",
                       "--anchor", ANCHOR, "--seed", "7", "--all", "--out", str(sheet_path))
    assert code == 0, err
    code, out, _ = run(capsys, environ, "lint", str(sheet_path))
    assert code == 0 and "no problems found" in out
    code, _, err = run(capsys, environ, "render", str(sheet_path), "--stage", "preview",
                       "--provider", "offline")
    assert code == 0, err
    sheet = load_sheet(sheet_path, load_catalog())
    names = [s.name for s in sheet.scenes]
    # a final for the first scene, so every export shows a final beside previews
    code, _, err = run(capsys, environ, "render", str(sheet_path), "--stage", "final",
                       "--provider", "offline", "--scene", names[0])
    assert code == 0, err

    png, pdf = tmp_path / f"{template}.png", tmp_path / f"{template}.pdf"
    code, out, err = run(capsys, environ, "export", str(sheet_path), "--format", "png",
                         "--dpi", "72", "--out", str(png))
    assert code == 0, err
    assert f"Wrote the {LAYOUTS[template]} PNG" in out
    meta = read_png_metadata(png)
    assert meta.studio is not None and [c["scene"] for c in meta.studio["cells"]] == names
    with Image.open(png) as image:
        assert 0.1 < ink(image) < 0.95
    code, out, err = run(capsys, environ, "export", str(sheet_path), "--format", "pdf",
                         "--out", str(pdf))
    assert code == 0, err
    assert f"Wrote the {LAYOUTS[template]} PDF" in out
    text = " ".join(page_texts(pdf))
    for name in names:
        assert name in text, name
    assert "PREVIEW" in text and "no final yet" in text
    with pdfium.PdfDocument(pdf) as document:
        width, height = document[0].get_size()
    if LAYOUTS[template] in ("turnaround", "storyboard"):
        assert width > height  # a row of figures, panels: landscape by default
    else:
        assert height > width
    for page in rasterise(pdf, scale=0.8):
        assert ink(page) > 0.05

    model = tmp_path / f"{template}-model-sheet.pdf"
    code, out, err = run(capsys, environ, "export", str(sheet_path), "--format", "pdf",
                         "--layout", "model-sheet", "--out", str(model))
    assert code == 0, err
    assert "Wrote the model sheet PDF" in out
    text = " ".join(page_texts(model))
    assert "PALETTE · from the finals" in text and "ANCHOR" in text
    for name in names:
        assert name in text, name
    rasterise(model, scale=0.8)


def test_the_layout_can_be_chosen_and_the_sheets_own_is_the_default(
        capsys: pytest.CaptureFixture[str], environ: dict[str, str], tmp_path: Path) -> None:
    sheet_path = tmp_path / "mara.sheet.toml"
    assert run(capsys, environ, "new", "--template", "turnaround", "--name", "Mara",
               "--seed", "3", "--out", str(sheet_path))[0] == 0
    assert run(capsys, environ, "render", str(sheet_path), "--stage", "preview",
               "--provider", "offline")[0] == 0
    for layout, words in (("sheet", "character sheet"), ("expressions", "expression sheet"),
                          ("storyboard", "storyboard"), ("model-sheet", "model sheet")):
        target = tmp_path / f"{layout}.png"
        code, out, err = run(capsys, environ, "export", str(sheet_path), "--format", "png",
                             "--dpi", "50", "--layout", layout, "--out", str(target))
        assert code == 0, err
        assert f"Wrote the {words} PNG" in out and target.is_file()
    code, _, err = run(capsys, environ, "export", str(sheet_path), "--format", "pdf",
                       "--portrait", "--out", str(tmp_path / "portrait.pdf"))
    assert code == 0, err
    with pdfium.PdfDocument(tmp_path / "portrait.pdf") as document:
        width, height = document[0].get_size()
    assert height > width


def test_an_outfit_scene_is_rendered_with_its_own_outfit(
        capsys: pytest.CaptureFixture[str], environ: dict[str, str], tmp_path: Path) -> None:
    from studio.library import Library, RenderFilter

    sheet_path = tmp_path / "mara.sheet.toml"
    assert run(capsys, environ, "new", "--template", "outfits", "--name", "Mara", "--anchor",
               ANCHOR, "--seed", "3", "--out", str(sheet_path))[0] == 0
    assert run(capsys, environ, "render", str(sheet_path), "--stage", "preview",
               "--provider", "offline")[0] == 0
    library = Library.open(Path(environ["STUDIO_DATA_DIR"]))
    try:
        prompts = {r.scene_name: r.prompt
                   for r in library.renders.page(RenderFilter(), limit=50).items}
    finally:
        library.close()
    assert "wearing a green parka" in prompts["Default"]
    assert "wearing a plain t-shirt, jeans and white sneakers" in prompts["Casual"]
    assert "green parka" not in prompts["Casual"]
    assert "green eyes, freckles" in prompts["Casual"]
