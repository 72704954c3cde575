"""Reference images from the command line, with no key: the offline placeholder shows them,
every render records them, status reports them, changing one marks exactly the cells that send
it (status and the library agree), a missing or bad file is a sentence (exit 2), and bundles and
sheet exports carry them."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from studio.core.imagefile import content_hash
from studio.core.presets import load_catalog
from studio.core.sheet import load_sheet
from studio.export.canvas import ImageOp
from studio.export.gather import gather_sheet
from studio.export.layout import sheet_pages
from studio.export.model import SheetOptions
from studio.export.text import find_fonts, measure_for
from studio.library import Library
from studio.library.binding import bind_sheet
from tests.cli.test_status_cmd import run

SHEET = """\
format = 1
title = "References"

[character]
name = "Emma"
anchor = "Emma, 30-year-old woman, dark brown wavy hair, brown eyes"
seed = 42
references = [
    { image = "refs/face.png", role = "face" },
    { image = "refs/body.png", role = "full-body" },
    { image = "refs/coat.png", role = "outfit" },
]

[preview]
provider = "offline"
model = "placeholder"

[final]
provider = "offline"
model = "placeholder"

[[scenes]]
name = "Studio"
setting = "neutral grey studio backdrop"

[[scenes]]
name = "Street"
setting = "rainy street at night"
reference = "light"

[[scenes]]
name = "Gala"
setting = "gala ballroom"
outfit = "red evening dress"

[[scenes]]
name = "Plain"
setting = "city park"
reference = "off"
"""

#: Solid colours no placeholder card draws by itself, so their pixels show a thumbnail.
COLOURS = {"face": (255, 0, 128), "body": (0, 255, 64), "coat": (0, 128, 255)}


def picture(colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def sheet_path(tmp_path: Path) -> Path:
    (tmp_path / "refs").mkdir()
    for name, colour in COLOURS.items():
        (tmp_path / "refs" / f"{name}.png").write_bytes(picture(colour))
    path = tmp_path / "emma.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    return path


def _hash(path: Path, name: str) -> str:
    return content_hash((path.parent / "refs" / f"{name}.png").read_bytes())


def _status(capsys: pytest.CaptureFixture[str], path: Path) -> dict[tuple[str, str], Any]:
    code, data, err = run(capsys, "status", str(path), "--json")
    assert code == 0, err
    return {(row["scene"], stage): row[stage] for row in data["scenes"]
            for stage in ("preview", "final")}


def _shows(image: Path, colour: tuple[int, int, int]) -> int:
    """How many pixels of the card are exactly ``colour``."""
    with Image.open(image) as card:
        return sum(count for count, rgb in card.convert("RGB").getcolors(1 << 20) or ()
                   if rgb == colour)


@pytest.fixture
def rendered(sheet_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _data, err = run(capsys, "render", str(sheet_path), "--stage", "preview",
                           "--provider", "offline", "--json")
    assert code == 0, err
    return sheet_path


def test_offline_renders_record_and_show_what_each_scene_sends(
        rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    face, body, coat = (_hash(rendered, n) for n in ("face", "body", "coat"))
    cells = _status(capsys, rendered)
    sent = {scene: [(r["sha256"], r["role"]) for r in cells[(scene, "preview")]["references"]]
            for scene in ("Studio", "Street", "Gala", "Plain")}
    assert sent == {
        "Studio": [(face, "face"), (body, "full-body"), (coat, "outfit")],
        "Street": [(face, "face"), (body, "full-body"), (coat, "outfit")],
        "Gala": [(face, "face"), (body, "full-body")],  # its own outfit wins
        "Plain": [],  # reference = "off" sends none
    }
    assert all(cell["reasons"] == [] for cell in cells.values() if cell is not None)
    # the placeholder shows the thumbnails it was sent, and none when it was sent none
    studio = Path(cells[("Studio", "preview")]["image"])
    gala = Path(cells[("Gala", "preview")]["image"])
    plain = Path(cells[("Plain", "preview")]["image"])
    assert all(_shows(studio, c) > 500 for c in COLOURS.values())
    assert _shows(gala, COLOURS["coat"]) == 0 and _shows(gala, COLOURS["face"]) > 500
    assert all(_shows(plain, c) == 0 for c in COLOURS.values())
    # the library keeps the same, and so does the image's own chunk
    with Library.open(Path(os.environ["STUDIO_DATA_DIR"]), read_only=True) as library:
        record = library.renders.get(cells[("Studio", "preview")]["render"])
        assert [(r.sha256, r.role.value) for r in record.references] == sent["Studio"]
        assert record.prompt.startswith("the woman from image 2, with the face from image 1, "
                                         "wearing the outfit from image 3, Emma,")
        assert library.renders.get(cells[("Plain", "preview")]["render"]).references == ()
    # finals keep their preview's references
    code, _data, err = run(capsys, "render", str(rendered), "--stage", "final", "--json")
    assert code == 0, err
    after = _status(capsys, rendered)
    for scene in ("Studio", "Street", "Gala", "Plain"):
        assert after[(scene, "final")]["references"] == after[(scene, "preview")]["references"]
        assert after[(scene, "final")]["reasons"] == []


# (which picture changes, the cells then out of date for "reference")
CHANGES = {
    "coat": {"Studio", "Street"},
    "face": {"Studio", "Street", "Gala"},
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_changing_a_reference_marks_exactly_the_cells_that_send_it(
        name: str, rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (rendered.parent / "refs" / f"{name}.png").write_bytes(picture((9, 9, 9)))
    expected = {(scene, "preview"): ("reference",) if scene in CHANGES[name] else ()
                for scene in ("Studio", "Street", "Gala", "Plain")}
    cells = _status(capsys, rendered)
    assert {k: tuple(v["reasons"]) for k, v in cells.items() if v is not None} == expected
    catalog = load_catalog(user_file=Path(os.environ["STUDIO_CONFIG_DIR"]) / "presets.toml")
    data_dir = Path(os.environ["STUDIO_DATA_DIR"])
    with Library.open(data_dir) as library:
        binding = bind_sheet(library, load_sheet(rendered, catalog), rendered, catalog)
        own = {(c.scene.name, c.stage.value): c.out_of_date
               for c in library.renders.cells(binding.sheet.id)}
        assert own == expected
        # the anchor's new version holds the new set
        assert binding.anchor.version == 2
        assert _hash(rendered, name) in {r.sha256 for r in binding.anchor.references}
    # rendering the affected scenes again makes everything current
    args = [a for scene in sorted(CHANGES[name]) for a in ("--scene", scene)]
    code, _data, err = run(capsys, "render", str(rendered), "--stage", "preview", *args)
    assert code == 0, err
    assert {tuple(v["reasons"]) for v in _status(capsys, rendered).values()
            if v is not None} == {()}


def test_a_missing_reference_is_exit_2_naming_it_everywhere(
        sheet_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (sheet_path.parent / "refs" / "coat.png").unlink()
    sentence = ("'character.references[3].image' names the image refs/coat.png, which does not "
                "exist; check the path (it is relative to the sheet file)")
    for command in (["lint"], ["status"], ["render", "--stage", "preview"]):
        code, _out, err = run(capsys, *command[:1], str(sheet_path), *command[1:])
        assert code == 2, command
        assert sentence in err and "Traceback" not in err, err
    # nothing was sent or written: no library was made
    assert not Path(os.environ["STUDIO_DATA_DIR"]).exists()


def test_a_damaged_or_wrong_reference_is_exit_2_before_anything_is_sent(
        sheet_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    coat = sheet_path.parent / "refs" / "coat.png"
    coat.write_bytes(picture(COLOURS["coat"])[:80])  # a truncated PNG
    for command in (["lint"], ["render", "--stage", "preview"]):
        code, _out, err = run(capsys, *command[:1], str(sheet_path), *command[1:])
        assert code == 2, command
        assert (f"{sheet_path}: reference image 3 (refs/coat.png) is truncated or damaged "
                "(image file is truncated); it cannot be used as a reference image.") in err, err
    # every file is checked before any is stored: not even the good ones were kept
    assert not list(Path(os.environ["STUDIO_DATA_DIR"]).glob("images/*/*"))
    with Library.open(Path(os.environ["STUDIO_DATA_DIR"]), read_only=True) as library:
        assert library.projects.all() == []  # nothing recorded, nothing rendered
    coat.write_text("not a picture at all", encoding="utf-8")
    code, _out, err = run(capsys, "lint", str(sheet_path))
    assert code == 2 and ("names the image refs/coat.png, which is not an image the studio "
                          "reads; save it as PNG, JPEG, WebP") in err
    coat.write_bytes(picture(COLOURS["coat"], "JPEG"))
    code, out, err = run(capsys, "lint", str(sheet_path))
    assert code == 0 and "no problems found" in out, err


@pytest.mark.usefixtures("qapp")  # the bundle's PDFs need Qt; the session's application
def test_bundles_carry_the_references_and_import_restores_them(
        rendered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "out" / "emma.zip"
    bundle.parent.mkdir()
    code, _out, err = run(capsys, "export", str(rendered), "--format", "zip", "--out",
                          str(bundle))
    assert code == 0, err
    hashes = {name: _hash(rendered, name) for name in COLOURS}
    with zipfile.ZipFile(bundle) as archive:
        names = [n for n in archive.namelist() if n.startswith("references/")]
        assert len(names) == 3
        assert {content_hash(archive.read(n)) for n in names} == set(hashes.values())
        manifest = json.loads(archive.read("manifest.json"))
        kinds = {f["name"]: (f["kind"], f.get("role")) for f in manifest["files"]}
        assert sorted(kinds[n] for n in names) == [("reference", "face"),
                                                   ("reference", "full-body"),
                                                   ("reference", "outfit")]
        settings = json.loads(archive.read("settings.json"))
        by_scene = {row["scene"]: row for row in settings}
        assert [r["role"] for r in by_scene["Studio"]["references"]] == ["face", "full-body",
                                                                         "outfit"]
        assert by_scene["Plain"]["references"] == []
    # into another library, as someone else would
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "other-library"))
    target = tmp_path / "imported"
    code, _out, err = run(capsys, "import-bundle", str(bundle), "--to", str(target))
    assert code == 0, err
    imported = target / "emma.sheet.toml"
    catalog = load_catalog()
    sheet = load_sheet(imported, catalog)
    assert [r.sha256 for r in sheet.character.references] == [
        hashes["face"], hashes["body"], hashes["coat"]]
    cells = _status(capsys, imported)
    assert cells[("Studio", "preview")]["reasons"] == []
    assert [r["sha256"] for r in cells[("Studio", "preview")]["references"]] == [
        hashes["face"], hashes["body"], hashes["coat"]]
    assert cells[("Plain", "preview")]["references"] == []
    with Library.open(tmp_path / "other-library", read_only=True) as library:
        for digest in hashes.values():
            assert content_hash(library.references.reference_bytes(digest)) == digest
        project = library.projects.by_name("References")
        assert project is not None
        (character,) = library.characters.of_project(project.id)
        latest = library.characters.latest_anchor(character.id)
        assert latest is not None
        assert [r.sha256 for r in latest.references] == [hashes["face"], hashes["body"],
                                                         hashes["coat"]]


def test_the_sheet_export_shows_the_references_beside_the_anchor(
        rendered: Path) -> None:
    catalog = load_catalog()
    sheet = load_sheet(rendered, catalog)
    with Library.open(Path(os.environ["STUDIO_DATA_DIR"]), read_only=True) as library:
        export = gather_sheet(library, sheet, rendered, catalog)
        # the files moved away: the library still has them
        for name in COLOURS:
            (rendered.parent / "refs" / f"{name}.png").rename(rendered.parent / f"{name}.bak")
        again = gather_sheet(library, sheet, rendered, catalog)
    refs = export.document.references
    assert [r.role for r in refs] == ["face", "full-body", "outfit"]
    assert [content_hash(r.image) for r in refs] == [
        content_hash((rendered.parent / f"{n}.bak").read_bytes()) for n in COLOURS]
    assert again.document.references == refs
    (page,) = sheet_pages(export.document, SheetOptions(), measure_for(find_fonts()))[:1]
    shown = [op for op in page.ops if isinstance(op, ImageOp) and op.label in
             ("face", "full-body", "outfit")]
    assert [op.label for op in shown] == ["face", "full-body", "outfit"]
    cells = [op for op in page.ops if isinstance(op, ImageOp) and op not in shown]
    assert all(ref.rect.bottom <= min(c.rect.y for c in cells) for ref in shown)


@pytest.mark.usefixtures("qapp")
def test_a_bundle_whose_references_are_missing_or_damaged_is_refused_whole(
        rendered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "emma.zip"
    code, _out, err = run(capsys, "export", str(rendered), "--format", "zip", "--out",
                          str(bundle))
    assert code == 0, err
    with zipfile.ZipFile(bundle) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    face = next(n for n in entries if n.startswith("references/01-face"))
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "other-library"))
    for name, change, sentence in (
            ("without.zip", lambda e: e.pop(face),
             f"its sheet file names the reference image \"{face}\", which it does not hold"),
            ("damaged.zip", lambda e: e.update({face: e[face][:60]}),
             f"{face} is truncated or damaged")):
        altered = dict(entries)
        change(altered)
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            for entry, data in altered.items():
                archive.writestr(entry, data)
        target = tmp_path / f"imported-{name}"
        code, _out, err = run(capsys, "import-bundle", str(path), "--to", str(target))
        assert code == 2 and sentence in err and "Traceback" not in err, err
        assert not target.exists()  # nothing unpacked
    assert not (tmp_path / "other-library").exists() or not list(
        (tmp_path / "other-library").glob("images/*/*"))
