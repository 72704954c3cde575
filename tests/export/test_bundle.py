"""ZIP bundles: what goes in, what comes back out, and what is refused."""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
from pathlib import Path

import pytest

from studio.export.bundle import BundleError, BundleLimits, check_entry_name, slug
from studio.export.bundle_reader import Bundle
from studio.export.bundle_writer import BundleImage, write_bundle
from studio.export.metadata import SETTINGS_COLUMNS, scrub
from studio.export.model import ExportCancelledError, SheetDocument
from studio.library.metadata import read_png_metadata

SHEET_TEXT = 'format = 1\n[character]\nname = "Emma"\nanchor = "Emma, 30"\nseed = 42\n'


def images(doc: SheetDocument) -> list[BundleImage]:
    out = []
    for i, cell in enumerate(doc.cells):
        assert cell.image is not None and cell.stage is not None
        out.append(BundleImage(
            file=f"{i + 1:02d}-{slug(cell.scene)}-{cell.stage.value}-{cell.render_id}.png",
            data=cell.image,
            settings={"render_id": cell.render_id, "scene": cell.scene,
                      "stage": cell.stage.value, "seed": cell.seed, "model": cell.model,
                      "provider": cell.provider, "prompt": f"{doc.anchor}, {cell.scene}",
                      "tags": ["hero", "cover"], "api_key": "sk-never", "star": True},
        ))
    return out


@pytest.fixture
def bundle_path(emma_doc: SheetDocument, out_dir: Path) -> Path:
    return write_bundle(out_dir / "emma.zip", sheet_file="emma.sheet.toml",
                        sheet_text=SHEET_TEXT, images=images(emma_doc),
                        documents={"emma.sheet.pdf": b"%PDF-1.4 fake", "emma.sheet.png": b"png"},
                        producer="Character Sheet Studio test")


def test_a_bundle_holds_the_images_untouched_the_sheet_the_settings_and_the_documents(
        bundle_path: Path, emma_doc: SheetDocument) -> None:
    with zipfile.ZipFile(bundle_path) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted([
            "emma.sheet.toml",
            "images/01-studio-headshot-final-100.png",
            "images/02-coffee-shop-window-final-101.png",
            "images/03-golden-hour-street-preview-102.png",
            "images/04-rembrandt-editorial-final-103.png",
            "emma.sheet.pdf", "emma.sheet.png", "settings.json", "settings.csv",
            "manifest.json",
        ])
        for i, cell in enumerate(emma_doc.cells):
            data = archive.read(names[i + 1])
            assert data == cell.image  # byte for byte: the metadata chunks are kept
            meta = read_png_metadata(data)
            assert meta.parameters is not None or meta.text is not None
        rows = json.loads(archive.read("settings.json"))
        assert [r["scene"] for r in rows] == [c.scene for c in emma_doc.cells]
        assert rows[0]["file"] == "images/01-studio-headshot-final-100.png"
        assert len(rows[0]["sha256"]) == 64
        assert all("api_key" not in r for r in rows)
        text = archive.read("settings.csv").decode("utf-8-sig")
        table = list(csv.DictReader(io.StringIO(text)))
        assert list(table[0]) == list(SETTINGS_COLUMNS)
        assert table[2]["stage"] == "preview" and table[2]["tags"] == "hero;cover"
        assert table[0]["star"] == "true"
        assert "sk-never" not in text
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["sheet"] == "emma.sheet.toml" and manifest["format"] == 1
        assert {f["name"] for f in manifest["files"]} == set(names) - {"manifest.json"}
        assert archive.getinfo(names[1]).compress_type == zipfile.ZIP_STORED


def test_a_bundle_reads_back(bundle_path: Path, emma_doc: SheetDocument, out_dir: Path) -> None:
    with Bundle(bundle_path) as bundle:
        assert bundle.sheet_file == "emma.sheet.toml"
        assert bundle.sheet_text() == SHEET_TEXT
        assert bundle.images()[0].name == "images/01-studio-headshot-final-100.png"
        assert bundle.read(bundle.images()[0].name) == emma_doc.cells[0].image
        assert len(bundle.settings()) == 4
        written = bundle.extract(out_dir / "unpacked")
    assert len(written) == 10
    assert (out_dir / "unpacked" / "images" / "01-studio-headshot-final-100.png").read_bytes() \
        == emma_doc.cells[0].image
    with Bundle(bundle_path) as bundle, pytest.raises(BundleError, match="already exists"):
        bundle.extract(out_dir / "unpacked")


def test_a_cancelled_bundle_leaves_no_file(emma_doc: SheetDocument, out_dir: Path) -> None:
    class CancelAfter:
        def __init__(self) -> None:
            self.calls = 0

        def is_set(self) -> bool:
            self.calls += 1
            return self.calls > 3

    with pytest.raises(ExportCancelledError):
        write_bundle(out_dir / "emma.zip", sheet_file="emma.sheet.toml", sheet_text=SHEET_TEXT,
                     images=images(emma_doc), cancel=CancelAfter())
    assert list(out_dir.iterdir()) == []


def test_scrub_removes_secrets_at_any_depth() -> None:
    record = {"prompt": "p", "api_key": "x", "nested": {"Authorization": "Bearer y",
                                                         "token": "z", "keep": 1},
              "list": [{"password": "w", "seed": 3}], "keywords": "kept"}
    assert scrub(record) == {"prompt": "p", "nested": {"keep": 1}, "list": [{"seed": 3}],
                             "keywords": "kept"}


# ----------------------------------------------------------------------------- hostile bundles


def hostile(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]],
            manifest: bool = True) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        if manifest:
            archive.writestr("manifest.json", json.dumps(
                {"format": 1, "kind": "character-sheet-studio-bundle",
                 "sheet": "x.sheet.toml"}))
            archive.writestr("x.sheet.toml", SHEET_TEXT)
        for info, data in entries:
            archive.writestr(info, data)
    return path


def link(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(("name", "reason"), [
    ("../evil.png", r"climbs out of the bundle"),
    ("images/../../evil.png", r"climbs out"),
    ("/etc/cron.d/evil", r"absolute path"),
    ("C:/Windows/evil.png", r"absolute path"),
    ("images\\..\\..\\evil.png", r"backslashes"),
    ("images//evil.png", r"empty"),
    ("images/./evil.png", r"empty or \".\""),
    ("images/.hidden.png", r"not safe"),
    ("images/CON.png", r"reserved device"),
    ("images/evil\x01.png", r"not safe"),
])
def test_dangerous_names_are_refused_with_the_entry_named(
        out_dir: Path, name: str, reason: str) -> None:
    path = hostile(out_dir / "bad.zip", [(name, b"x")])
    with pytest.raises(BundleError, match=reason) as caught:
        Bundle(path)
    assert "refused" in str(caught.value)
    assert sorted(p.name for p in out_dir.iterdir()) == ["bad.zip"]
    assert not (out_dir.parent / "evil.png").exists()


def test_links_duplicates_and_encrypted_entries_are_refused(out_dir: Path) -> None:
    path = hostile(out_dir / "link.zip", [(link("images/a.png", "/etc/passwd"), b"/etc/passwd")])
    with pytest.raises(BundleError, match="symbolic link"):
        Bundle(path)
    path = hostile(out_dir / "dup.zip", [("images/a.png", b"1"), ("images/A.PNG", b"2")])
    with pytest.raises(BundleError, match="appears twice"):
        Bundle(path)
    path = hostile(out_dir / "enc.zip", [("images/a.png", b"secret")])
    patch_central_directory(path, "images/a.png", 8, b"\x01\x00")
    with pytest.raises(BundleError, match="encrypted"):
        Bundle(path)


def test_zip_bombs_and_oversized_bundles_are_refused(out_dir: Path) -> None:
    bomb = zipfile.ZipInfo("images/bomb.png")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    path = hostile(out_dir / "bomb.zip", [(bomb, b"\0" * (8 * 1024 * 1024))])
    with pytest.raises(BundleError, match="zip bomb"):
        Bundle(path)
    small = BundleLimits(max_file_bytes=1000)
    path = hostile(out_dir / "big.zip", [("images/big.png", b"x" * 2000)])
    with pytest.raises(BundleError, match="over the 1000 limit"):
        Bundle(path, small)
    path = hostile(out_dir / "many.zip", [(f"images/{i}.png", b"x") for i in range(20)])
    with pytest.raises(BundleError, match="more than the 10"):
        Bundle(path, BundleLimits(max_entries=10))
    with pytest.raises(BundleError, match="more than 100 bytes"):
        Bundle(path, BundleLimits(max_total_bytes=100))


def patch_central_directory(path: Path, name: str, offset: int, value: bytes) -> None:
    """Overwrite bytes of ``name``'s central directory record (where readers look)."""
    raw = bytearray(path.read_bytes())
    start = raw.rfind(name.encode()) - 46
    assert raw[start:start + 4] == b"PK\x01\x02"
    raw[start + offset:start + offset + len(value)] = value
    path.write_bytes(bytes(raw))


def test_an_entry_lying_about_its_size_is_caught_while_reading(out_dir: Path) -> None:
    path = hostile(out_dir / "liar.zip", [("images/a.png", b"y" * 5000)])
    patch_central_directory(path, "images/a.png", 24, (10).to_bytes(4, "little"))
    with Bundle(path) as bundle, pytest.raises(BundleError):
        bundle.read("images/a.png")


def test_things_that_are_not_bundles_are_explained(out_dir: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        Bundle(out_dir / "missing.zip")
    (out_dir / "text.zip").write_text("hello")
    with pytest.raises(BundleError, match="not a bundle the studio can read"):
        Bundle(out_dir / "text.zip")
    path = hostile(out_dir / "plain.zip", [("notes.txt", b"hi")], manifest=False)
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        Bundle(path)
    with zipfile.ZipFile(out_dir / "future.zip", "w") as archive:
        archive.writestr("manifest.json", json.dumps(
            {"format": 99, "kind": "character-sheet-studio-bundle"}))
    with pytest.raises(BundleError, match="newer than this studio reads"):
        Bundle(out_dir / "future.zip")


def test_unknown_entries_are_neither_read_nor_written(out_dir: Path) -> None:
    path = hostile(out_dir / "extra.zip", [("run-me.sh", b"rm -rf ~"), ("images/a.png", b"p")])
    with Bundle(path) as bundle:
        written = bundle.extract(out_dir / "target")
    assert sorted(p.name for p in written) == ["a.png", "manifest.json", "x.sheet.toml"]
    assert not (out_dir / "target" / "run-me.sh").exists()


def test_extraction_never_follows_a_planted_link(out_dir: Path) -> None:
    path = hostile(out_dir / "ok.zip", [("images/a.png", b"p")])
    outside = out_dir / "outside"
    outside.mkdir()
    target = out_dir / "target"
    target.mkdir()
    (target / "images").symlink_to(outside, target_is_directory=True)
    with Bundle(path) as bundle, pytest.raises(BundleError, match="outside"):
        bundle.extract(target)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("name", ["emma.sheet.toml", "images/01-a-final-3.png", "x.pdf"])
def test_names_the_studio_writes_pass(name: str) -> None:
    assert str(check_entry_name(name)) == name


def test_slugs_are_safe_file_names() -> None:
    assert slug("Golden-hour street!") == "golden-hour-street"
    assert slug("Zoë à la plage") == "zo-la-plage"
    assert slug("../../") == "untitled"
