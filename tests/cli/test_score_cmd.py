"""`studio score` end to end on real photographs (scikit-image's astronaut portrait, cat and
coffee cup, stored in the library as a sheet's renders): scores against a photograph and against
the approved renders, the threshold, each image analysed once across runs, the sentences for
bad input, and the scores in `studio status` and in bundles."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from studio.cli import main
from studio.core.presets import load_catalog
from studio.core.request import Stage
from studio.core.sheet import load_sheet
from studio.identity import DlibFaceAnalyser, FaceAnalysis
from studio.library import Library
from studio.library.binding import bind_sheet
from studio.library.models import Approval, RenderRecord
from tests.identity.conftest import SheetRenders, encode, photograph

SHEET = """\
format = 1
title = "Likeness"

[character]
name = "Ines"
anchor = "Ines, 34-year-old woman, short black hair, green eyes"
seed = 42

[preview]
provider = "offline"
model = "offline-preview"

[final]
provider = "offline"
model = "offline-final"
"""

SCENES = ("Portrait", "Close-up", "Small", "Cat", "Coffee")


def _sheet_text() -> str:
    return SHEET + "".join(f'\n[[scenes]]\nname = "{name}"\nsetting = "somewhere"\n'
                           for name in SCENES)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(list(args), dict(os.environ))
    captured = capsys.readouterr()
    if "--json" in args and code == 0:
        return code, json.loads(captured.out), captured.err
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return photograph("astronaut")


@pytest.fixture(scope="module")
def face_models() -> Any:
    analyser = DlibFaceAnalyser()
    analyser.load()
    return analyser._loaded()


@pytest.fixture(autouse=True)
def models_read_once(face_models: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command makes its own analyser, which reads dlib's models (a second or more);
    here they are read once for the module. Detection and descriptors run for real."""
    make = DlibFaceAnalyser.__init__

    def made_with_the_models(self: DlibFaceAnalyser, **options: Any) -> None:
        make(self, **options)
        self._models = face_models

    monkeypatch.setattr(DlibFaceAnalyser, "__init__", made_with_the_models)


@pytest.fixture(scope="module")
def photo_files(astronaut: Image.Image) -> dict[tuple[str, str], bytes]:
    """The renders' images, encoded once: the astronaut as 1024 px renders, her mirror image,
    a head crop and a small copy; the cat and the coffee cup."""
    big = Image.Resampling.BICUBIC
    made = {
        ("Portrait", "preview"): astronaut.resize((1024, 1024), big),
        ("Portrait", "final"): ImageOps.mirror(astronaut).resize((1024, 1024), big),
        ("Close-up", "preview"): astronaut.crop((120, 20, 330, 230)).resize((1024, 1024), big),
        ("Small", "preview"): astronaut.resize((160, 160), Image.Resampling.LANCZOS),
        ("Cat", "preview"): photograph("chelsea"),
        ("Coffee", "preview"): photograph("coffee"),
    }
    return {key: encode(image, compress_level=1) for key, image in made.items()}


@pytest.fixture
def reference(tmp_path: Path, astronaut: Image.Image) -> Path:
    path = tmp_path / "astronaut.png"
    astronaut.save(path)
    return path


@pytest.fixture
def sheet_path(tmp_path: Path) -> Path:
    path = tmp_path / "ines.sheet.toml"
    path.write_text(_sheet_text(), encoding="utf-8")
    return path


@pytest.fixture
def data_dir() -> Path:
    return Path(os.environ["STUDIO_DATA_DIR"])


@contextlib.contextmanager
def sheet_renders(data_dir: Path, sheet_path: Path) -> Iterator[SheetRenders]:
    """The library, open to record renders of the sheet; closed again before a command runs
    (a command finding it open would only view it)."""
    catalog = load_catalog(user_file=None)
    sheet = load_sheet(sheet_path, catalog)
    with Library.open(data_dir) as lib:
        yield SheetRenders(lib, bind_sheet(lib, sheet, sheet_path, catalog), sheet, catalog)


def approve(data_dir: Path, render: RenderRecord) -> None:
    with Library.open(data_dir) as lib:
        lib.renders.set_approval([render.id], Approval.APPROVED)


@pytest.fixture
def photos(data_dir: Path, sheet_path: Path,
           photo_files: dict[tuple[str, str], bytes]) -> dict[tuple[str, str], RenderRecord]:
    """The sheet's renders in the library (see ``photo_files``)."""
    with sheet_renders(data_dir, sheet_path) as renders:
        return {key: renders.add(key[0], Stage(key[1]), data)
                for key, data in photo_files.items()}


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every image dlib analyses (the real analysis still runs)."""
    calls: list[int] = []
    real = DlibFaceAnalyser.analyse

    def counted(self: DlibFaceAnalyser, data: bytes) -> FaceAnalysis:
        calls.append(len(data))
        return real(self, data)

    monkeypatch.setattr(DlibFaceAnalyser, "analyse", counted)
    return calls


def _by_cell(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["scene"], r["stage"]): r for r in data["results"]}


def test_the_astronaut_scores_the_same_person_against_her_photograph(
        photos: dict[tuple[str, str], RenderRecord], sheet_path: Path, reference: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, data, err = run(capsys, "score", str(sheet_path), "--reference", str(reference),
                          "--json")
    assert code == 0, err
    assert data["sheet"] == str(sheet_path) and data["identity_source"] == "file"
    assert data["threshold"] == 0.6
    cells = _by_cell(data)
    assert list(cells) == list(photos)  # sheet order, preview before final
    for key in (("Portrait", "preview"), ("Portrait", "final"), ("Close-up", "preview"),
                ("Small", "preview")):
        result = cells[key]
        assert result["render"] == photos[key].id and result["faces"] == 1
        assert result["verdict"] == "same person", result
        assert 0 <= result["distance"] < 0.5
    for key in (("Cat", "preview"), ("Coffee", "preview")):
        assert cells[key]["verdict"] == "not scorable" and cells[key]["distance"] is None
        assert cells[key]["faces"] == 0 and "no face" in cells[key]["explanation"]
    for result in data["results"]:
        assert {"scene", "stage", "render", "faces", "distance", "verdict"} <= set(result)
    distances = [r["distance"] for r in data["results"] if r["distance"] is not None]
    assert data["spread"] == {"scored": 4, "largest": max(distances),
                              "mean": pytest.approx(sum(distances) / 4, abs=1e-4)}

    code, text, err = run(capsys, "score", str(sheet_path), "--reference", str(reference))
    assert code == 0, err
    lines = text.splitlines()
    assert lines[0].startswith(f"{sheet_path}: identity from the reference photograph; "
                               "same person under 0.60, drifting from 0.50.")
    portrait = next(line for line in lines if "Portrait" in line and "final" in line)
    assert f"#{photos[('Portrait', 'final')].id}" in portrait and "1 face" in portrait
    assert f"{cells[('Portrait', 'final')]['distance']:.3f}" in portrait
    assert portrait.endswith("same person")
    cat = next(line for line in lines if "Cat" in line)
    assert "no face" in cat and "Not scored: no face was found" in cat
    assert lines[-1] == (f"Spread: largest distance {max(distances):.3f}, mean "
                         f"{sum(distances) / 4:.3f} over 4 scored render(s); 2 not scorable.")


def test_the_threshold_comes_from_the_settings_or_the_command(
        photos: dict[tuple[str, str], RenderRecord], sheet_path: Path, reference: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The 160 px copy is about 0.35 from the photograph.
    args = ("score", str(sheet_path), "--reference", str(reference), "--json")
    code, data, err = run(capsys, *args, "--threshold", "0.4")
    assert code == 0, err
    small = _by_cell(data)[("Small", "preview")]
    assert data["threshold"] == 0.4 and small["verdict"] == "drifting"
    assert 0.3 <= small["distance"] < 0.4
    code, data, err = run(capsys, *args, "--threshold", "0.3")
    assert code == 0 and _by_cell(data)[("Small", "preview")]["verdict"] == "different person"

    config = Path(os.environ["STUDIO_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text("schema_version = 1\nidentity_threshold = 0.4\n",
                                          encoding="utf-8")
    code, data, err = run(capsys, *args)
    assert code == 0, err
    assert data["threshold"] == 0.4
    assert _by_cell(data)[("Small", "preview")]["verdict"] == "drifting"

    (config / "settings.toml").write_text("identity_threshold = 7\n", encoding="utf-8")
    code, _out, err = run(capsys, *args)
    assert code == 2 and "settings.toml: identity_threshold" in err and "outside 0..2" in err
    code, _out, err = run(capsys, *args, "--threshold", "0.5")  # the command's own wins
    assert code == 0, err


def test_the_identity_is_the_approved_renders(
        photos: dict[tuple[str, str], RenderRecord], data_dir: Path, sheet_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, data, err = run(capsys, "score", str(sheet_path), "--json")
    assert code == 0, err
    assert data["identity_source"] == "none"
    assert {r["verdict"] for r in data["results"]} == {"not scorable"}
    assert {r["distance"] for r in data["results"]} == {None}
    code, text, _err = run(capsys, "score", str(sheet_path))
    assert "no identity yet" in text.splitlines()[0]

    approve(data_dir, photos[("Portrait", "final")])
    code, data, err = run(capsys, "score", str(sheet_path), "--json")
    assert code == 0, err
    assert data["identity_source"] == "approved" and data["identity_faces"] == 1
    cells = _by_cell(data)
    assert cells[("Portrait", "final")]["distance"] == 0.0
    assert cells[("Portrait", "preview")]["verdict"] == "same person"
    assert cells[("Portrait", "preview")]["distance"] > 0.05  # mirrored: not the same pixels
    assert cells[("Cat", "preview")]["verdict"] == "not scorable"


@pytest.mark.usefixtures("qapp")  # the bundle's PDFs need the application the tests share
def test_the_identity_is_the_anchors_reference_images(
        photos: dict[tuple[str, str], RenderRecord], data_dir: Path, sheet_path: Path,
        reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The sheet now names the astronaut photograph as the character's face: a file beside
    # the sheet, not yet in the library (nothing was rendered since).
    (sheet_path.parent / "refs").mkdir()
    reference.replace(sheet_path.parent / "refs" / "face.png")
    sheet_path.write_text(_sheet_text().replace(
        "seed = 42\n", 'seed = 42\nreferences = [{ image = "refs/face.png", role = "face" }]\n'),
        encoding="utf-8")
    approve(data_dir, photos[("Small", "preview")])  # the references outrank approvals
    code, data, err = run(capsys, "score", str(sheet_path), "--json")
    assert code == 0, err
    assert data["identity_source"] == "references" and data["identity_faces"] == 1
    cells = _by_cell(data)
    assert cells[("Portrait", "preview")]["distance"] < 0.2  # the photograph, resized
    for key in (("Portrait", "preview"), ("Portrait", "final"), ("Close-up", "preview")):
        assert cells[key]["verdict"] == "same person"
    # Against the approved render it would be 0.0: its own face.
    assert cells[("Small", "preview")]["distance"] > 0.05
    assert cells[("Cat", "preview")]["verdict"] == "not scorable"
    code, text, _err = run(capsys, "score", str(sheet_path))
    assert "identity from" in text.splitlines()[0] and "reference" in text.splitlines()[0]

    # studio status reads the same identity (the analyses score kept), never analysing.
    code, status, err = run(capsys, "status", str(sheet_path), "--json")
    assert code == 0, err
    shown = {(row["scene"], stage): row[stage]["identity"] for row in status["scenes"]
             for stage in ("preview", "final") if row[stage] is not None}
    assert shown[("Portrait", "preview")] == {
        "distance": cells[("Portrait", "preview")]["distance"], "verdict": "same person"}
    # So do bundles, in their JSON and CSV records.
    bundle = tmp_path / "ines.zip"
    code, _out, err = run(capsys, "export", str(sheet_path), "--format", "zip", "--out",
                          str(bundle))
    assert code == 0, err
    with zipfile.ZipFile(bundle) as archive:
        rows = {r["render_id"]: r for r in json.loads(archive.read("settings.json"))}
        table = {int(r["render_id"]): r for r in csv.DictReader(io.StringIO(
            archive.read("settings.csv").decode("utf-8-sig")))}
    portrait = photos[("Portrait", "preview")].id
    assert (rows[portrait]["identity_distance"], rows[portrait]["identity_verdict"]) == (
        cells[("Portrait", "preview")]["distance"], "same person")
    assert table[portrait]["identity_verdict"] == "same person"

    # Once a render stores the sheet's references, the library's copy is the character's own
    # identity wherever no sheet is at hand.
    from studio.identity import SourceKind
    from studio.render.identity import IdentityScores

    with sheet_renders(data_dir, sheet_path) as renders:
        character_id = renders.binding.character.id
        (stored,) = IdentityScores(renders.library).character_references(character_id)
        assert stored.path.parent.parent.name == "images"  # the library's copy, by hash
        source = IdentityScores(renders.library, analyse=None).source(character_id)
        assert source is not None and source.kind is SourceKind.REFERENCES


def test_each_image_is_analysed_once_across_runs(
        photos: dict[tuple[str, str], RenderRecord], sheet_path: Path, analyses: list[int],
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    approve(data_dir, photos[("Close-up", "preview")])
    code, first, err = run(capsys, "score", str(sheet_path), "--json")
    assert code == 0, err
    assert len(analyses) == len(photos)  # the approved render is scored and is the identity
    code, second, err = run(capsys, "score", str(sheet_path), "--json")
    assert code == 0, err
    assert len(analyses) == len(photos)
    assert second == first
    with Library.open(data_dir) as lib:
        for render in photos.values():
            assert render.image_hash is not None
            assert lib.faces.get(render.image_hash) is not None


def test_all_scores_every_take(photos: dict[tuple[str, str], RenderRecord], data_dir: Path,
                               sheet_path: Path, reference: Path, astronaut: Image.Image,
                               capsys: pytest.CaptureFixture[str]) -> None:
    with sheet_renders(data_dir, sheet_path) as renders:
        newer = renders.add("Portrait", Stage.PREVIEW, encode(astronaut.rotate(8)))
    args = ("score", str(sheet_path), "--reference", str(reference), "--json")
    code, latest, err = run(capsys, *args)
    assert code == 0, err
    portrait = [r["render"] for r in latest["results"] if r["scene"] == "Portrait"]
    assert portrait == [newer.id, photos[("Portrait", "final")].id]
    code, every, err = run(capsys, *args, "--all")
    assert code == 0, err
    portrait = [r["render"] for r in every["results"] if r["scene"] == "Portrait"]
    assert portrait == [photos[("Portrait", "preview")].id, newer.id,
                        photos[("Portrait", "final")].id]
    assert len(every["results"]) == len(photos) + 1


def test_placeholder_cards_are_not_scorable(sheet_path: Path, reference: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _data, err = run(capsys, "render", str(sheet_path), "--stage", "preview", "--json")
    assert code == 0, err
    code, data, err = run(capsys, "score", str(sheet_path), "--reference", str(reference),
                          "--json")
    assert code == 0, err
    assert [r["scene"] for r in data["results"]] == list(SCENES)
    assert {(r["faces"], r["distance"], r["verdict"]) for r in data["results"]} == {
        (0, None, "not scorable")}
    assert data["spread"] == {"scored": 0, "largest": None, "mean": None}


def test_without_a_library_nothing_is_scored_and_none_is_created(
        sheet_path: Path, data_dir: Path, reference: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, data, err = run(capsys, "score", str(sheet_path), "--json")
    assert code == 0, err
    assert data["results"] == [] and data["identity_source"] == "none"
    code, text, err = run(capsys, "score", str(sheet_path), "--reference", str(reference))
    assert code == 0 and "Nothing to score" in text, err
    assert not data_dir.exists()


def test_bad_input_is_one_sentence_and_exit_2(
        sheet_path: Path, reference: Path, tmp_path: Path, astronaut: Image.Image,
        photos: dict[tuple[str, str], RenderRecord], data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    text_file = tmp_path / "notes.png"
    text_file.write_text("not an image", encoding="utf-8")
    cat = tmp_path / "cat.jpg"
    photograph("chelsea").save(cat)
    upper = astronaut.crop((60, 0, 460, 400))
    pair = Image.new("RGB", (800, 400))
    pair.paste(upper, (0, 0))
    pair.paste(ImageOps.mirror(upper), (400, 0))
    two = tmp_path / "two.png"
    pair.save(two)
    cases = {
        str(tmp_path / "missing.png"): "cannot read the image",
        str(text_file): "cannot be read as an image",
        str(cat): "No face was found in the reference",
        str(two): "shows 2 faces of similar size",
    }
    for i, (image, sentence) in enumerate(cases.items()):
        extra = ("--json",) if i % 2 else ()
        code, out, err = run(capsys, "score", str(sheet_path), "--reference", image, *extra)
        assert code == 2, (image, out, err)
        assert sentence in err and out == "" and "Traceback" not in err
        assert err.count("\n") == 1, err
    with Library.open(data_dir) as lib:  # refused before anything was analysed or kept
        assert all(lib.faces.get(r.image_hash or "") is None for r in photos.values())

    bad = tmp_path / "bad.sheet.toml"
    bad.write_text("format = 1\n[character]\nname = 3\n", encoding="utf-8")
    code, _out, err = run(capsys, "score", str(bad))
    assert code == 2 and "character.name" in err
    code, _out, err = run(capsys, "score", str(tmp_path / "none.sheet.toml"))
    assert code == 2 and "does not exist" in err
    code, _out, err = run(capsys, "score", str(sheet_path), "--threshold", "5")
    assert code == 2 and "--threshold: the identity threshold 5.0 is outside 0..2" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["score", str(sheet_path), "--threshold", "nan"], dict(os.environ))
    assert exit_info.value.code == 2 and "not a finite number" in capsys.readouterr().err


def test_without_dlib_the_command_says_so_once(
        sheet_path: Path, photos: dict[tuple[str, str], RenderRecord],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # `import dlib` fails, as without the wheel
    code, out, err = run(capsys, "score", str(sheet_path), "--json")
    assert code == 2 and out == ""
    assert err.startswith("studio: identity scoring is not available on this system (dlib "
                          "cannot be loaded")
    assert err.count("\n") == 1
    code, _data, err = run(capsys, "status", str(sheet_path), "--json")
    assert code == 0, err  # everything else works


def test_status_reports_kept_scores_and_never_analyses(
        photos: dict[tuple[str, str], RenderRecord], data_dir: Path, sheet_path: Path,
        reference: Path, analyses: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    approve(data_dir, photos[("Portrait", "preview")])

    def status() -> dict[tuple[str, str], Any]:
        code, data, err = run(capsys, "status", str(sheet_path), "--json")
        assert code == 0, err
        return {(row["scene"], stage): row[stage]["identity"] for row in data["scenes"]
                for stage in ("preview", "final") if row[stage] is not None}

    assert set(status().values()) == {None}
    assert analyses == []
    code, data, err = run(capsys, "score", str(sheet_path), "--json")
    assert code == 0, err
    counted = len(analyses)
    assert status() == {(r["scene"], r["stage"]): {"distance": r["distance"],
                                                   "verdict": r["verdict"]}
                        for r in data["results"]}
    code, text, err = run(capsys, "status", str(sheet_path))
    assert code == 0, err
    assert "identity: same person (0.00)" in text and "identity: not scorable" in text
    assert len(analyses) == counted
    # Scoring against a photograph measures, but the sheet's identity is still its own.
    code, _data, err = run(capsys, "score", str(sheet_path), "--reference", str(reference))
    assert code == 0, err
    assert status()[("Portrait", "preview")] == {"distance": 0.0, "verdict": "same person"}


@pytest.mark.usefixtures("qapp")  # the bundle's PDFs need the application the tests share
def test_bundles_carry_the_kept_scores(
        photos: dict[tuple[str, str], RenderRecord], data_dir: Path, sheet_path: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    approve(data_dir, photos[("Portrait", "final")])
    bundle = tmp_path / "ines.zip"
    code, scored, err = run(capsys, "score", str(sheet_path), "--all", "--json")
    assert code == 0, err
    code, _out, err = run(capsys, "export", str(sheet_path), "--format", "zip", "--out",
                          str(bundle), "--all-renders")
    assert code == 0, err
    with zipfile.ZipFile(bundle) as archive:
        rows = json.loads(archive.read("settings.json"))
        table = list(csv.DictReader(io.StringIO(archive.read("settings.csv").decode("utf-8-sig"))))
    expected = {r["render"]: (r["distance"], r["verdict"]) for r in scored["results"]}
    assert {r["render_id"]: (r["identity_distance"], r["identity_verdict"])
            for r in rows} == expected
    assert {int(r["render_id"]): (r["identity_distance"], r["identity_verdict"])
            for r in table} == {k: ("" if d is None else str(d), v)
                                for k, (d, v) in expected.items()}


def test_while_another_studio_writes_the_scores_are_made_but_not_kept(
        photos: dict[tuple[str, str], RenderRecord], data_dir: Path, sheet_path: Path,
        reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Library.open(data_dir) as window:  # the window holds the library
        code, data, err = run(capsys, "score", str(sheet_path), "--reference", str(reference),
                              "--json")
        assert code == 0, err
        assert "open for viewing only" in err and "Face analyses made now are not kept." in err
        assert _by_cell(data)[("Portrait", "preview")]["verdict"] == "same person"
        assert all(window.faces.get(r.image_hash or "") is None for r in photos.values())
