"""`studio export` and `studio import-bundle` on the example sheet rendered by the offline
provider: files written, pages counted, metadata read back, bundles round-tripped into another
library, and a hostile bundle refused."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from studio.cli import main
from studio.core.parameters import parse_parameters
from studio.core.presets import load_catalog
from studio.core.request import Stage
from studio.core.sheet import load_sheet
from studio.export.gather import gather_sheet
from studio.library import Library, RenderFilter
from studio.library.metadata import read_png_metadata
from tests.export.test_importer_hostile import png_claiming

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], environ: dict[str, str],
        *args: str) -> tuple[int, str, str]:
    code = main(list(args), environ)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["STUDIO_DATA_DIR"] = str(tmp_path / "library")
    return env


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    path = tmp_path / "emma.sheet.toml"
    shutil.copy(ROOT / "examples" / "emma.sheet.toml", path)
    return path


@pytest.fixture
def rendered(capsys: pytest.CaptureFixture[str], environ: dict[str, str],
             sheet: Path) -> Path:
    """Previews of every scene, finals of the first two (offline placeholders)."""
    code, _, err = run(capsys, environ, "render", str(sheet), "--stage", "preview",
                       "--provider", "offline")
    assert code == 0, err
    code, _, err = run(capsys, environ, "render", str(sheet), "--stage", "final",
                       "--provider", "offline", "--scene", "Studio headshot",
                       "--scene", "Coffee-shop window")
    assert code == 0, err
    return sheet


def test_a_sheet_without_renders_exits_2_and_says_to_render_first(
        capsys: pytest.CaptureFixture[str], environ: dict[str, str], sheet: Path,
        out_dir: Path) -> None:
    code, out, err = run(capsys, environ, "export", str(sheet), "--format", "pdf",
                         "--out", str(out_dir / "x.pdf"))
    assert code == 2 and out == ""
    assert "has no renders in the library yet" in err and f"studio render {sheet}" in err
    Library.open(Path(environ["STUDIO_DATA_DIR"])).close()  # a library, but nothing in it
    code, _, err = run(capsys, environ, "export", str(sheet), "--format", "png",
                       "--out", str(out_dir / "x.png"))
    assert code == 2 and "studio render" in err
    assert list(out_dir.iterdir()) == []


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], environ: dict[str, str],
                              rendered: Path, out_dir: Path) -> None:
    code, _, err = run(capsys, environ, "export", str(rendered), "--format", "png",
                       "--out", str(out_dir / "missing" / "x.png"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, environ, "export", str(rendered.parent / "nope.sheet.toml"),
                       "--format", "png", "--out", str(out_dir / "x.png"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, environ, "export", str(rendered), "--format", "png",
                       "--dpi", "5", "--out", str(out_dir / "x.png"))
    assert code == 2 and "dpi" in err


def test_png_export_of_the_example_sheet(capsys: pytest.CaptureFixture[str],
                                         environ: dict[str, str], rendered: Path,
                                         out_dir: Path) -> None:
    target = out_dir / "emma.png"
    code, out, err = run(capsys, environ, "export", str(rendered), "--format", "png",
                         "--out", str(target), "--dpi", "100", "--columns", "4")
    assert code == 0, err
    assert str(target) in out and "4 of 4 scenes rendered" in out
    assert "Drawing Studio headshot" in err
    with Image.open(target) as image:
        assert image.width == round(595.2756 * 100 / 72)
    meta = read_png_metadata(target)
    assert meta.studio is not None
    stages = [c["stage"] for c in meta.studio["cells"]]
    assert stages == ["final", "final", "preview", "preview"]
    assert parse_parameters(meta.parameters or "").seed == 42


@pytest.mark.usefixtures("qapp")
def test_pdf_exports_of_the_example_sheet(capsys: pytest.CaptureFixture[str],
                                          environ: dict[str, str], rendered: Path,
                                          out_dir: Path) -> None:
    code, _, err = run(capsys, environ, "export", str(rendered), "--format", "pdf",
                       "--out", str(out_dir / "sheet.pdf"))
    assert code == 0, err
    code, _, err = run(capsys, environ, "export", str(rendered), "--format", "pdf",
                       "--layout", "storyboard", "--panels", "1", "--out",
                       str(out_dir / "story.pdf"))
    assert code == 0, err
    sheet_pdf = pdfium.PdfDocument(out_dir / "sheet.pdf")
    story_pdf = pdfium.PdfDocument(out_dir / "story.pdf")
    try:
        assert len(sheet_pdf) == 1 and len(story_pdf) == 4
        text = " ".join(sheet_pdf[0].get_textpage().get_text_range().split())
        assert "PREVIEW no final yet" in text and "Studio headshot" in text
        assert "Anchor version 1" in text
        images = [o for o in sheet_pdf[0].get_objects()
                  if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
        assert len(images) == 4
        assert all(max(o.get_px_size()) >= 512 for o in images)  # the renders, full size
        story = " ".join(story_pdf[3].get_textpage().get_text_range().split())
        assert "SHOT 4 Rembrandt editorial" in story and "Dramatic cover shot" in story
    finally:
        sheet_pdf.close()
        story_pdf.close()


def library_renders(data_dir: str) -> dict[tuple[str, Stage], object]:
    library = Library.open(Path(data_dir))
    try:
        items = library.renders.page(RenderFilter(), limit=100).items
        return {(r.scene_name, r.stage): r for r in items}
    finally:
        library.close()


@pytest.mark.usefixtures("qapp")
def test_a_bundle_round_trips_into_another_library(
        capsys: pytest.CaptureFixture[str], environ: dict[str, str], rendered: Path,
        out_dir: Path, tmp_path: Path) -> None:
    bundle = out_dir / "emma.zip"
    code, _, err = run(capsys, environ, "export", str(rendered), "--format", "zip",
                       "--out", str(bundle))
    assert code == 0, err
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        assert {"manifest.json", "emma.sheet.toml", "settings.json", "settings.csv",
                "emma.sheet.png", "emma.sheet.pdf", "emma.storyboard.pdf"} <= names
        images = sorted(n for n in names if n.startswith("images/"))
        assert len(images) == 6  # four previews, two finals
        rows = json.loads(archive.read("settings.json"))
        assert {r["file"] for r in rows} == set(images)
        for row in rows:
            assert row["anchor_version"] == 1 and row["seed"] == 42
            assert "image" not in row and "image_path" not in row
            data = archive.read(row["file"])
            meta = read_png_metadata(data)  # the library's chunks, kept
            assert meta.studio is not None, row
            assert meta.studio["request"]["prompt"] == row["prompt"], (meta.studio, row)
            assert parse_parameters(meta.parameters or "").seed == row["seed"]
        assert archive.read("emma.sheet.toml") == rendered.read_bytes()
        with pdfium.PdfDocument(archive.read("emma.storyboard.pdf")) as story:
            assert len(story) == 2
    before = library_renders(environ["STUDIO_DATA_DIR"])

    other = dict(environ, STUDIO_DATA_DIR=str(tmp_path / "other-library"))
    target = tmp_path / "imported"
    code, out, err = run(capsys, other, "import-bundle", str(bundle), "--to", str(target))
    assert code == 0, err
    assert "Imported 6 images" in out
    assert sorted(p.name for p in target.iterdir()) == sorted([
        "emma.sheet.toml", "emma.sheet.png", "emma.sheet.pdf", "emma.storyboard.pdf",
        "manifest.json", "settings.json", "settings.csv"])
    after = library_renders(other["STUDIO_DATA_DIR"])
    assert set(after) == set(before)
    for key, old in before.items():
        new = after[key]
        for field in ("prompt", "negative", "seed", "model", "provider", "steps", "guidance",
                      "width", "height"):
            assert getattr(new, field) == getattr(old, field), (key, field)
    final = after[("Studio headshot", Stage.FINAL)]
    assert final.parent_id == after[("Studio headshot", Stage.PREVIEW)].id  # type: ignore[attr-defined]

    catalog = load_catalog()
    imported_sheet = target / "emma.sheet.toml"
    library = Library.open(Path(other["STUDIO_DATA_DIR"]))
    try:
        export = gather_sheet(library, load_sheet(imported_sheet, catalog), imported_sheet,
                              catalog)
    finally:
        library.close()
    assert [c.stage for c in export.document.cells] == [Stage.FINAL, Stage.FINAL,
                                                        Stage.PREVIEW, Stage.PREVIEW]
    assert all(not c.out_of_date for c in export.document.cells)


def test_an_edited_anchor_marks_every_cell_out_of_date(
        environ: dict[str, str], rendered: Path) -> None:
    text = rendered.read_text(encoding="utf-8").replace("brown eyes", "green eyes")
    rendered.write_text(text, encoding="utf-8")
    catalog = load_catalog()
    library = Library.open(Path(environ["STUDIO_DATA_DIR"]))
    try:
        export = gather_sheet(library, load_sheet(rendered, catalog), rendered, catalog)
    finally:
        library.close()
    assert export.document.anchor_version is None
    assert all(c.out_of_date == ("anchor",) for c in export.document.cells)


def test_a_hostile_bundle_is_refused_and_nothing_is_written(
        capsys: pytest.CaptureFixture[str], environ: dict[str, str], tmp_path: Path) -> None:
    bundle = tmp_path / "hostile.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("manifest.json", json.dumps(
            {"format": 1, "kind": "character-sheet-studio-bundle", "sheet": "a.sheet.toml"}))
        archive.writestr("a.sheet.toml", (ROOT / "examples" / "emma.sheet.toml").read_text())
        archive.writestr("../../escaped.sheet.toml", "format = 1")
    target = tmp_path / "target"
    code, out, err = run(capsys, environ, "import-bundle", str(bundle), "--to", str(target))
    assert code == 2 and out == ""
    assert "refused" in err and "../../escaped.sheet.toml" in err
    assert "Nothing was imported" in err
    assert not target.exists()
    assert not (tmp_path.parent / "escaped.sheet.toml").exists()
    assert not Path(environ["STUDIO_DATA_DIR"]).exists()  # the library was not even opened


def test_an_old_stored_image_over_the_pixel_limit_is_one_sentence_in_every_format(
        capsys: pytest.CaptureFixture[str], environ: dict[str, str], rendered: Path,
        out_dir: Path, tmp_path: Path) -> None:
    # Stored before the limits existed: a 30000x30000 picture (Pillow's own bomb check would
    # raise) stands where the library keeps a preview's image.
    with Library.open(Path(environ["STUDIO_DATA_DIR"])) as library:
        page = library.renders.page(RenderFilter(stage=Stage.PREVIEW, usable=True))
        victim = next(r for r in page.items if r.scene_name == "Golden-hour street")
    assert victim.image_path is not None
    victim.image_path.write_bytes(png_claiming(30_000, 30_000))
    for fmt in ("png", "pdf", "zip"):
        target = out_dir / f"emma.{fmt}"
        code, out, err = run(capsys, environ, "export", str(rendered), "--format", fmt,
                             "--out", str(target))
        assert code == 0, err
        assert "Traceback" not in err and "DecompressionBomb" not in err
        (sentence,) = [line for line in err.splitlines() if "claims more pixels" in line]
        assert sentence.startswith(f"studio: The image of render {victim.id} "
                                   "(“Golden-hour street”) claims more pixels than the studio "
                                   "opens")
        assert "drawn as “Image could not be read”" in sentence
        assert ("left out of the bundle" in sentence) is (fmt == "zip")
        assert out.startswith("Wrote the") and target.stat().st_size > 0
    with zipfile.ZipFile(out_dir / "emma.zip") as archive:
        rows = json.loads(archive.read("settings.json"))
    assert len(rows) == 5 and victim.id not in {r["render_id"] for r in rows}
    # Without it the bundle stays importable.
    other = dict(environ, STUDIO_DATA_DIR=str(tmp_path / "other-library"))
    code, out, err = run(capsys, other, "import-bundle", str(out_dir / "emma.zip"), "--to",
                         str(tmp_path / "imported"))
    assert code == 0 and "Imported 5 images" in out, err
    with Image.open(out_dir / "emma.png") as sheet_png:
        assert sheet_png.width > 0  # the sheet itself was drawn
