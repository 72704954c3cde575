"""The packaged app: built with PyInstaller from packaging/studio.spec, then run as a user would,
far from the checkout: --version, the presets, lint, a headless render of the example sheet with
the offline provider, identity scoring against a real photograph (dlib and its models inside the
frozen app), and a PDF export of it (Qt inside the frozen app)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from studio import __version__

ROOT = Path(__file__).resolve().parents[2]
APP_NAME = "character-sheet-studio"
APP_ID = "org.charactersheetstudio.Studio"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("PyInstaller", reason="add pyinstaller to the test extra to build the app")
    out = tmp_path_factory.mktemp("pyinstaller")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build.py"), "--dist", str(out / "dist"),
         "--work", str(out / "work")],
        capture_output=True, text=True, timeout=1500, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"PyInstaller build: {report}")
    folder = Path(report["app"])
    assert folder == out / "dist" / APP_NAME
    return folder


def executable(folder: Path, name: str) -> Path:
    return folder / (f"{name}.exe" if os.name == "nt" else name)


@pytest.mark.slow
def test_the_packaged_app_runs_headless(app: Path, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    sheet = work / "emma.sheet.toml"
    shutil.copy(ROOT / "examples" / "emma.sheet.toml", sheet)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "QT_QPA_PLATFORM", "VIRTUAL_ENV")}
    env["STUDIO_DATA_DIR"] = str(tmp_path / "library")

    def studio(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(executable(app, "studio")), *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    version = studio("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"studio {__version__}"

    presets = studio("presets", "--kind", "lens")
    assert presets.returncode == 0 and "canon-ef-85" in presets.stdout, presets.stderr
    lint = studio("lint", str(sheet))
    assert lint.returncode == 0, lint.stdout + lint.stderr

    render = studio("render", str(sheet), "--stage", "preview", "--provider", "offline",
                    "--json")
    assert render.returncode == 0, render.stderr
    summary = json.loads(render.stdout)
    assert [r["status"] for r in summary["results"]] == ["ok"] * 4
    assert all(Path(r["image"]).read_bytes()[:4] == b"\x89PNG" for r in summary["results"])

    # Identity scoring inside the frozen app: dlib and its model files load and measure real
    # photographs. The placeholder cards show no face, so the astronaut's portrait is stored as
    # the final of one scene, as a provider's render would be.
    from PIL import Image
    from skimage.data import astronaut

    from studio.core.presets import load_catalog
    from studio.core.request import Stage
    from studio.core.sheet import load_sheet
    from studio.library import Library
    from studio.library.binding import bind_sheet
    from tests.identity.conftest import SheetRenders, encode

    portrait = Image.fromarray(astronaut())
    portrait.save(work / "astronaut.png")
    catalog = load_catalog(user_file=None)
    loaded = load_sheet(sheet, catalog)
    with Library.open(tmp_path / "library") as library:
        final = SheetRenders(library, bind_sheet(library, loaded, sheet, catalog), loaded,
                             catalog).add("Studio headshot", Stage.FINAL,
                                          encode(portrait.resize((1024, 1024))))
    score = studio("score", str(sheet), "--reference", str(work / "astronaut.png"), "--json")
    assert score.returncode == 0, score.stderr
    scored = json.loads(score.stdout)
    assert scored["identity_source"] == "file" and len(scored["results"]) == 5
    results = {r["render"]: r for r in scored["results"]}
    assert results.pop(final.id)["verdict"] == "same person"
    assert {r["verdict"] for r in results.values()} == {"not scorable"}
    bad = studio("score", str(sheet), "--reference", str(sheet))
    assert bad.returncode == 2 and "cannot be read as an image" in bad.stderr, bad.stderr

    export = studio("export", str(sheet), "--format", "pdf", "--out", str(work / "emma.pdf"))
    assert export.returncode == 0, export.stderr
    pdf = pdfium.PdfDocument(work / "emma.pdf")
    try:
        assert len(pdf) == 1
        assert "Golden-hour street" in pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()


@pytest.mark.slow
def test_the_packaged_folder_carries_resources_and_desktop_files(app: Path) -> None:
    assert executable(app, APP_NAME).is_file()
    presets = list(app.rglob("presets.toml"))
    assert len(presets) == 1 and presets[0].parent.name == "resources"
    if sys.platform.startswith("linux"):
        share = app / "share"
        assert (share / "applications" / f"{APP_ID}.desktop").is_file()
        assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
        assert (share / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png").is_file()
        assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()


def _frozen_modules(app: Path) -> set[str]:
    """The Python modules frozen into the app's archive."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(executable(app, "studio")))
    return set(archive.open_embedded_archive("PYZ.pyz").toc)


@pytest.mark.slow
def test_the_packaged_folder_carries_identity_scoring(app: Path) -> None:
    """dlib, its native module and exactly the two model files identity scoring reads travel
    with the app, and that native module reads those files."""
    from studio.identity.faces import DESCRIPTOR_MODEL, LANDMARKS_MODEL, MODELS_PACKAGE

    frozen = _frozen_modules(app)
    for module in ("dlib", MODELS_PACKAGE, "numpy", "pyspng", "studio.identity.faces",
                   "studio.identity.images", "studio.identity.worker"):
        assert module in frozen, module
    natives = list(app.rglob("_dlib_pybind11*"))
    assert len(natives) == 1, natives
    models = {p.name: p for p in app.rglob("*.dat")}
    assert set(models) == {LANDMARKS_MODEL, DESCRIPTOR_MODEL}
    assert all(p.parent.parent.name == MODELS_PACKAGE for p in models.values())

    # The packaged native module (not this environment's) loads the packaged models.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import _dlib_pybind11 as dlib; "
        "assert dlib.__file__.startswith(sys.argv[1]), dlib.__file__; "
        "dlib.get_frontal_face_detector(); dlib.shape_predictor(sys.argv[2]); "
        "dlib.face_recognition_model_v1(sys.argv[3]); print('loaded')")
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, str(natives[0].parent),
         str(models[LANDMARKS_MODEL]), str(models[DESCRIPTOR_MODEL])],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "loaded", proc.stdout + proc.stderr
