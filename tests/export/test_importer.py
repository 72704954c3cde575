"""Importing bundles that were altered after export: odd settings are tolerated, a broken sheet
or image is refused with a sentence, and existing files are never overwritten."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.export.bundle import BundleError
from studio.export.bundle_writer import BundleImage, write_bundle
from studio.export.importer import import_bundle
from studio.export.model import SheetDocument
from studio.library import Library, RenderFilter

ROOT = Path(__file__).resolve().parents[2]
SHEET = (ROOT / "examples" / "emma.sheet.toml").read_text(encoding="utf-8")


def bundle_of(path: Path, doc: SheetDocument, settings: list[dict[str, object]],
              sheet_text: str = SHEET) -> Path:
    rows = [*settings, *([{}] * (len(doc.cells) - len(settings)))]
    images = [BundleImage(f"{i + 1:02d}-x.png", cell.image or b"", row)
              for i, (cell, row) in enumerate(zip(doc.cells, rows, strict=True))]
    return write_bundle(path, sheet_file="emma.sheet.toml", sheet_text=sheet_text,
                        images=images)


@pytest.fixture
def library(tmp_path: Path):  # type: ignore[no-untyped-def]
    lib = Library.open(tmp_path / "library")
    yield lib
    lib.close()


def test_settings_of_the_wrong_types_are_tolerated(
        emma_doc: SheetDocument, catalog: PresetCatalog, library: Library,
        out_dir: Path) -> None:
    rows: list[dict[str, object]] = [
        {"scene": "Studio headshot", "stage": "final", "seed_requested": "forty-two",
         "width": "wide", "steps": None, "guidance": True, "tags": "not a list",
         "timings": ["x"], "approval": "adored", "parent_id": 999, "render_id": "x"},
        {"scene": "A scene the sheet no longer has", "stage": "sideways", "prompt": 7},
        {"scene": "Golden-hour street", "stage": "preview", "approval": "approved",
         "star": True, "tags": ["hero", 3], "seed_requested": 42, "guidance": 0},
    ]
    bundle = bundle_of(out_dir / "odd.zip", emma_doc, rows)
    result = import_bundle(library, bundle, out_dir / "target", catalog)
    assert len(result.renders) == 4
    by_scene = {r.scene_name: r for r in result.renders}
    first = by_scene["Studio headshot"]
    assert first.stage is Stage.FINAL and first.seed_requested is None and first.tags == ()
    assert first.scene_id is not None and first.parent_id is None
    stray = by_scene["A scene the sheet no longer has"]
    assert stray.scene_id is None and stray.stage is Stage.FINAL and stray.prompt == ""
    golden = by_scene["Golden-hour street"]
    assert golden.approval.value == "approved" and golden.star and golden.tags == ("hero",)
    assert library.renders.page(RenderFilter(), limit=10).items  # all stored


def test_an_image_without_settings_is_imported_as_another_tool_s_image(
        emma_doc: SheetDocument, catalog: PresetCatalog, library: Library,
        out_dir: Path) -> None:
    bundle = bundle_of(out_dir / "with-settings.zip", emma_doc, [])
    with zipfile.ZipFile(bundle) as source, \
            zipfile.ZipFile(out_dir / "bare.zip", "w") as target:
        for info in source.infolist():
            data = b"[]" if info.filename == "settings.json" else source.read(info)
            target.writestr(info, data)
    bundle = out_dir / "bare.zip"
    result = import_bundle(library, bundle, out_dir / "target", catalog)
    assert len(result.renders) == 4 and all(r.source == "import" for r in result.renders)


def test_a_bundle_with_a_broken_sheet_is_refused(
        emma_doc: SheetDocument, catalog: PresetCatalog, library: Library,
        out_dir: Path) -> None:
    bundle = bundle_of(out_dir / "broken.zip", emma_doc, [],
                       sheet_text="format = 1\n[character]\nname = 3\n")
    with pytest.raises(BundleError, match="sheet file cannot be used"):
        import_bundle(library, bundle, out_dir / "target", catalog)
    assert not (out_dir / "target").exists()
    assert library.projects.all() == []


def test_a_damaged_settings_file_is_refused_before_anything_is_written(
        emma_doc: SheetDocument, catalog: PresetCatalog, library: Library,
        out_dir: Path) -> None:
    bundle = out_dir / "damaged.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("manifest.json", json.dumps(
            {"format": 1, "kind": "character-sheet-studio-bundle", "sheet": "e.sheet.toml"}))
        archive.writestr("e.sheet.toml", SHEET)
        archive.writestr("settings.json", "{not json")
    with pytest.raises(BundleError, match=r"settings\.json: is not valid JSON"):
        import_bundle(library, bundle, out_dir / "target", catalog)
    assert not (out_dir / "target").exists()


def test_existing_files_in_the_target_are_never_overwritten(
        emma_doc: SheetDocument, catalog: PresetCatalog, library: Library,
        out_dir: Path) -> None:
    bundle = bundle_of(out_dir / "b.zip", emma_doc, [{"scene": "Studio headshot"}])
    target = out_dir / "target"
    target.mkdir()
    (target / "emma.sheet.toml").write_text("mine", encoding="utf-8")
    with pytest.raises(BundleError, match="already exists"):
        import_bundle(library, bundle, target, catalog)
    assert (target / "emma.sheet.toml").read_text(encoding="utf-8") == "mine"
    assert library.projects.all() == []
