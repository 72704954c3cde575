"""Hostile and broken bundles are imported all or nothing: whatever is wrong (a damaged image
among good ones, numbers the library cannot keep, JSON nested too deep, zip bombs made of many
small entries, pictures too large to decode, a full disk, a cancel), the import ends in a
sentence and leaves nothing: no files in the target folder, no records, no image files. The
same import can then simply be run again."""

from __future__ import annotations

import copy
import errno
import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.export.bundle import BundleError, BundleLimits
from studio.export.bundle_reader import Bundle
from studio.export.bundle_writer import BundleImage, write_bundle
from studio.export.importer import import_bundle
from studio.export.model import ExportCancelledError, ExportError
from studio.library import Library, LibraryStorageError
from studio.library.storage import DurableFileWriter

ROOT = Path(__file__).resolve().parents[2]
SHEET = (ROOT / "examples" / "emma.sheet.toml").read_text(encoding="utf-8")
SCENES = ("Studio headshot", "Coffee-shop window", "Golden-hour street", "Rembrandt editorial")
DOCUMENTS = {"emma.sheet.png": b"png", "emma.sheet.pdf": b"%PDF-1.4 sheet",
             "emma.storyboard.pdf": b"%PDF-1.4 storyboard"}
#: What a good import leaves in the target folder.
UNPACKED = sorted(["emma.sheet.toml", *DOCUMENTS, "settings.json", "settings.csv",
                   "manifest.json"])


def png(seed: int, size: tuple[int, int] = (48, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (seed * 40 % 256, 90, 200 - seed * 10)).save(buffer, "PNG")
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` pixels over a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def good_images() -> list[BundleImage]:
    """A preview and a final of each of the four scenes, as the studio exports them."""
    images = []
    for i, scene in enumerate(SCENES):
        for stage, render_id in ((Stage.PREVIEW, 10 + i), (Stage.FINAL, 20 + i)):
            row: dict[str, Any] = {
                "render_id": render_id, "scene": scene, "stage": stage.value, "seed": 42,
                "seed_requested": 42, "seed_returned": 42, "width": 48, "height": 64,
                "steps": 4 if stage is Stage.PREVIEW else 30, "guidance": 3.5,
                "model": "flux", "provider": "offline", "prompt": f"Emma, {scene}",
                "cost": 0.01, "timings": {"queue": 0.1, "processing": 1.5},
                "tags": ["hero"], "approval": "approved" if i == 0 else "none",
                "star": stage is Stage.FINAL,
                "parent_id": 10 + i if stage is Stage.FINAL else None,
            }
            number = len(images) + 1
            images.append(BundleImage(f"{number:02d}-scene-{stage.value}-{render_id}.png",
                                      png(number), row))
    return images


def make_bundle(path: Path, images: list[BundleImage] | None = None,
                sheet_text: str = SHEET) -> Path:
    return write_bundle(path, sheet_file="emma.sheet.toml", sheet_text=sheet_text,
                        images=good_images() if images is None else images,
                        documents=DOCUMENTS)


def rewrite(source: Path, target: Path,
            change: Callable[[str, bytes], bytes | None],
            extra: dict[str, tuple[bytes, int]] | None = None) -> Path:
    """A copy of the bundle ``source`` with each entry's bytes passed through ``change``
    (None drops the entry), plus ``extra`` entries (name: (bytes, compression))."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info))
            if data is not None:
                new.writestr(copy.copy(info), data)
        for name, (data, compression) in (extra or {}).items():
            new.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return target


def with_settings(source: Path, target: Path, text: str | bytes) -> Path:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return rewrite(source, target, lambda n, d: data if n == "settings.json" else d)


def with_row(source: Path, target: Path, **changes: Any) -> Path:
    """The bundle with the first settings row changed (``allow_nan`` JSON: NaN, Infinity)."""
    with zipfile.ZipFile(source) as archive:
        rows = json.loads(archive.read("settings.json"))
    rows[0].update(changes)
    return with_settings(source, target, json.dumps(rows))


def library_files(data_dir: Path) -> set[Path]:
    return {p for p in data_dir.rglob("*") if p.is_file() and "images" in p.parts}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "library"


@pytest.fixture
def library(data_dir: Path) -> Iterator[Library]:
    lib = Library.open(data_dir)
    yield lib
    lib.close()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "good.zip")


def assert_nothing_left(library: Library, target: Path) -> None:
    """No target folder, nothing unpacked beside it, no records, no image files."""
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir() if ".importing-" in p.name] == []
    assert library.projects.all() == []
    assert library.renders.page().items == ()
    assert library_files(library.data_dir) == set()
    assert library.maintenance.check(repair=False).ok


def assert_imported(library: Library, target: Path, count: int = 8) -> None:
    assert sorted(p.name for p in target.iterdir()) == UNPACKED
    renders = library.renders.page(limit=50).items
    assert len(renders) == count
    assert len(library_files(library.data_dir)) == count
    assert library.maintenance.check(repair=False).ok


# ----------------------------------------------------------------------------- the good case


def test_a_good_bundle_imports_whole(good: Path, library: Library, catalog: PresetCatalog,
                                     tmp_path: Path) -> None:
    target = tmp_path / "made" / "here"  # missing parents are made
    result = import_bundle(library, good, target, catalog)
    assert_imported(library, target)
    assert [p.name for p in result.unpacked] == [p.name for p in result.unpacked
                                                 if p.parent == target]
    by_id = {r.id: r for r in result.renders}
    finals = [r for r in result.renders if r.stage is Stage.FINAL]
    assert len(finals) == 4 and all(r.star for r in finals)
    assert all(by_id[f.parent_id].stage is Stage.PREVIEW for f in finals if f.parent_id)
    assert sum(r.approval.value == "approved" for r in result.renders) == 2
    assert [p.name for p in tmp_path.iterdir() if ".importing-" in p.name] == []


# ----------------------------------------------------------------------------- bad images


def test_a_bad_image_among_good_ones_leaves_nothing_and_the_import_can_be_retried(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path) -> None:
    bad_name = "images/06-scene-final-22.png"
    bad = rewrite(good, tmp_path / "bad.zip",
                  lambda n, d: d[: len(d) // 2] if n == bad_name else d)
    target = tmp_path / "target"
    for _ in range(2):  # the same sentence again, not "already exists"
        with pytest.raises(BundleError) as caught:
            import_bundle(library, bad, target, catalog)
        assert str(caught.value).startswith(
            f"The bundle is refused: {bad_name} is truncated or damaged (")
        assert_nothing_left(library, target)
    import_bundle(library, good, target, catalog)
    assert_imported(library, target)


@pytest.mark.parametrize(("data", "message"), [
    (png_claiming(30_000, 30_000), "claims more pixels than the studio opens"),
    (png_claiming(13_000, 13_000), r"claims more pixels \(13,000x13,000, 169 megapixels\)"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\nshowpage\n",
     "is not an image the studio can read"),
    (b"BM" + b"\0" * 60, "is not an image the studio can read"),
], ids=["30000x30000", "169-megapixels", "eps-named-png", "bmp-named-png"])
def test_images_the_studio_cannot_open_refuse_the_bundle(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path, data: bytes,
        message: str) -> None:
    hostile = rewrite(good, tmp_path / "hostile.zip",
                      lambda n, d: data if n == "images/03-scene-preview-11.png" else d)
    target = tmp_path / "target"
    with pytest.raises(BundleError, match=message):
        import_bundle(library, hostile, target, catalog)
    assert_nothing_left(library, target)


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the bundle entries read from here on."""
    names: list[str] = []
    original = Bundle.read

    def spy(self: Bundle, name: str) -> bytes:
        names.append(name)
        return original(self, name)

    monkeypatch.setattr(Bundle, "read", spy)
    return names


def test_an_image_entry_over_the_size_limit_is_refused_before_it_is_read(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path,
        read: list[str]) -> None:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (100, 100), os.urandom(100 * 100 * 3)).save(buffer, "PNG")
    big = buffer.getvalue()  # noise: about 30 KB
    hostile = rewrite(good, tmp_path / "big.zip",
                      lambda n, d: big if n == "images/01-scene-preview-10.png" else d)
    target = tmp_path / "target"
    with pytest.raises(BundleError, match=r"images/01-scene-preview-10\.png is .*, over the "
                       r"limit of 10 KB for one image"):
        import_bundle(library, hostile, target, catalog,
                      limits=BundleLimits(max_image_bytes=10 * 1024))
    assert "images/01-scene-preview-10.png" not in read
    assert_nothing_left(library, target)


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 100_000 + "]" * 100_000, "nest more than 32 levels deep"),
    ('[{"file": "images/01-scene-preview-10.png", "seed": 1' + "0" * 30 + "}]",
     "beyond the 64-bit range"),
    ('[{"file": "images/01-scene-preview-10.png", "guidance": NaN}]', "holds NaN"),
    ('[{"file": "images/01-scene-preview-10.png", "cost": -Infinity}]', "holds -Infinity"),
    ('{"file": "x"}', "is not a list of records"),
    ("[1, 2]", "is not a list of records"),
    ('[{"a": 1', "is not valid JSON"),
    (b'\xff\xfe[]', "is not UTF-8 text"),
], ids=["deep", "beyond-64-bits", "nan", "infinity", "object", "not-records", "broken",
        "not-utf8"])
def test_settings_the_studio_cannot_read_refuse_the_bundle(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path,
        text: str | bytes, message: str) -> None:
    hostile = with_settings(good, tmp_path / "hostile.zip", text)
    target = tmp_path / "target"
    with pytest.raises(BundleError, match=message) as caught:
        import_bundle(library, hostile, target, catalog)
    assert "settings.json" in str(caught.value)
    assert str(caught.value).endswith((".", "?"))
    assert_nothing_left(library, target)


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("seed_returned", -(2**62), "-4611686018427387904, outside 0..9,223,372,036,854,775,807"),
    ("seed", -1, "-1, outside 0..9,223,372,036,854,775,807"),
    ("width", 2**40, "1099511627776, outside 0..65,535"),
    ("steps", 10**12, "1000000000000, outside 0..10,000"),
    ("guidance", 1e300, "1e+300, outside 0..100"),
    ("guidance", float("inf"), "inf, outside 0..100"),  # 1e400 in JSON reads as infinity
    ("cost", -0.5, "-0.5, outside 0..1,000,000"),
    ("parent_id", -3, "-3, outside 0..9,223,372,036,854,775,807"),
], ids=["seed-returned", "negative-seed", "width", "steps", "guidance", "guidance-inf", "cost",
        "parent"])
def test_numbers_out_of_range_refuse_the_bundle_with_the_image_and_field_named(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path, field: str,
        value: float, shown: str) -> None:
    with zipfile.ZipFile(good) as archive:
        rows = json.loads(archive.read("settings.json"))
    rows[0][field] = value
    text = json.dumps(rows).replace("Infinity", "1e400")
    hostile = with_settings(good, tmp_path / "hostile.zip", text)
    target = tmp_path / "target"
    with pytest.raises(BundleError) as caught:
        import_bundle(library, hostile, target, catalog)
    assert str(caught.value) == (
        f"The bundle is refused: its settings.json gives {rows[0]['file']} the {field} "
        f"{shown}; it was not made by the studio or was altered.")
    assert_nothing_left(library, target)


def test_an_infinity_deep_in_a_row_refuses_the_bundle(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path) -> None:
    with zipfile.ZipFile(good) as archive:
        rows = json.loads(archive.read("settings.json"))
    rows[2]["timings"] = {"queue": 1e999}
    hostile = with_settings(good, tmp_path / "hostile.zip",
                            json.dumps(rows).replace("Infinity", "1e999"))
    with pytest.raises(BundleError, match=r"gives images/.* an infinite number in \"timings\""):
        import_bundle(library, hostile, tmp_path / "target", catalog)
    assert_nothing_left(library, tmp_path / "target")


def test_a_settings_file_larger_than_its_images_need_is_refused_unread(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path,
        read: list[str]) -> None:
    """The 100 MB settings.json case, scaled down: the size allowed follows the number of
    images (here 8 images and 4 KB each), and it is checked from the ZIP's header."""
    with zipfile.ZipFile(good) as archive:
        rows = json.loads(archive.read("settings.json"))
    for row in rows:
        row["notes"] = os.urandom(2048).hex()  # 4 KB of text a row: 36 KB in all
    hostile = with_settings(good, tmp_path / "big.zip", json.dumps(rows))
    target = tmp_path / "target"
    with pytest.raises(BundleError, match=r"settings\.json is 3\d KB, over the limit of 36 KB "
                       "for that file"):
        import_bundle(library, hostile, target, catalog,
                      limits=BundleLimits(settings_per_image=4 * 1024))
    assert "settings.json" not in read
    assert_nothing_left(library, target)
    # The same settings within the default limits import.
    import_bundle(library, hostile, target, catalog)
    assert_imported(library, target)


def test_the_default_settings_limit_follows_the_images(good: Path, tmp_path: Path) -> None:
    padding = " " * (9 * 256 * 1024)  # over 256 KB for each of 8 images and one more
    with zipfile.ZipFile(good) as archive:
        text = archive.read("settings.json").decode("utf-8")
    hostile = rewrite(good, tmp_path / "padded.zip", lambda n, d: d if n != "settings.json"
                      else None, extra={"settings.json": ((text + padding).encode(),
                                                          zipfile.ZIP_STORED)})
    with Bundle(hostile) as bundle, pytest.raises(BundleError, match=r"over the limit of "
                                                  r"2\.2 MB for that file"):
        bundle.settings()


# ----------------------------------------------------------------------------- the manifest


@pytest.mark.parametrize(("manifest", "message"), [
    ("[" * 50_000 + "]" * 50_000, "nest more than 32 levels deep"),
    ('{"kind": "character-sheet-studio-bundle", "format": 1' + "0" * 25 + "}",
     "beyond the 64-bit range"),
    ('{"kind": "character-sheet-studio-bundle", "format": NaN}', "holds NaN"),
    ('{"kind": "character-sheet-studio-bundle", "format": true}', "no format number"),
    ('{"kind": "character-sheet-studio-bundle", "format": 0}', "no format number"),
    ('{"kind": "character-sheet-studio-bundle", "format": 2}', "newer than this studio"),
    ('{"kind": "something else", "format": 1}', "is not a Character Sheet Studio bundle"),
], ids=["deep", "beyond-64-bits", "nan", "bool", "zero", "newer", "kind"])
def test_manifests_the_studio_cannot_use_refuse_the_bundle(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path, manifest: str,
        message: str) -> None:
    hostile = rewrite(good, tmp_path / "hostile.zip",
                      lambda n, d: manifest.encode() if n == "manifest.json" else d)
    with pytest.raises(BundleError, match=message):
        import_bundle(library, hostile, tmp_path / "target", catalog)
    assert_nothing_left(library, tmp_path / "target")


# ----------------------------------------------------------------------------- zip bombs


def test_many_entries_each_just_under_the_ratio_floor_are_refused_together(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path) -> None:
    """The 1,200-entry bundle that wrote 1.25 GB, at 20 entries with the default limits: each
    entry unpacks to just under 1 MB (so no entry is checked alone) from about 1 KB."""
    blob = b"\0" * (1024 * 1024 - 1)
    extra = {f"d{i:04d}.pdf": (blob, zipfile.ZIP_DEFLATED) for i in range(20)}
    bomb = rewrite(good, tmp_path / "bomb.zip", lambda n, d: d, extra)
    assert bomb.stat().st_size < 1024 * 1024
    target = tmp_path / "target"
    with pytest.raises(BundleError) as caught:
        import_bundle(library, bomb, target, catalog)
    assert str(caught.value).startswith("The bundle is refused: its 35 entries would unpack "
                                        "to 20.")
    assert "more than 100 times their packed size (a zip bomb?)" in str(caught.value)
    assert_nothing_left(library, target)


def test_the_total_ratio_rule_scales_with_its_floor(good: Path, tmp_path: Path) -> None:
    blob = b"\0" * (16 * 1024 - 1)
    extra = {f"d{i:04d}.pdf": (blob, zipfile.ZIP_DEFLATED) for i in range(1200)}
    bomb = rewrite(good, tmp_path / "bomb.zip", lambda n, d: d, extra)
    with pytest.raises(BundleError, match="1215 entries would unpack to"):
        Bundle(bomb, BundleLimits(ratio_floor=16 * 1024, max_ratio=20)).close()
    # A real bundle (stored images, deflated text) is far from the rule.
    Bundle(good, BundleLimits(ratio_floor=1024, max_ratio=20)).close()


# ----------------------------------------------------------------------------- writing fails


class FailingWriter:
    """Writes image files until ``fail_at`` of them are written, then fails like a full disk."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.written = 0

    def write_new(self, path: Path, data: bytes) -> None:
        if self.written + 1 >= self.fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        self.written += 1
        DurableFileWriter().write_new(path, data)


def test_a_full_disk_halfway_leaves_nothing_and_the_import_can_be_retried(
        good: Path, catalog: PresetCatalog, tmp_path: Path) -> None:
    writer = FailingWriter(fail_at=5)
    target = tmp_path / "target"
    with Library.open(tmp_path / "library", file_writer=writer) as library:
        with pytest.raises(LibraryStorageError, match="the disk is full") as caught:
            import_bundle(library, good, target, catalog)
        assert caught.value.reason == "full"
        assert writer.written == 4
        assert_nothing_left(library, target)
        writer.fail_at = 10**6
        import_bundle(library, good, target, catalog)
        assert_imported(library, target)


def test_a_cancel_halfway_leaves_nothing(good: Path, library: Library, catalog: PresetCatalog,
                                         tmp_path: Path) -> None:
    class CancelAfter:
        def __init__(self, steps: int) -> None:
            self.steps = steps

        def is_set(self) -> bool:
            self.steps -= 1
            return self.steps < 0

    target = tmp_path / "target"
    for steps in (3, 12, 16):  # while checking, after unpacking, while recording
        with pytest.raises(ExportCancelledError):
            import_bundle(library, good, target, catalog, cancel=CancelAfter(steps))
        assert_nothing_left(library, target)


def test_files_moved_into_an_existing_folder_are_taken_back_if_a_move_fails(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "mine.txt").write_text("mine", encoding="utf-8")
    renames: list[Path] = []
    original = Path.rename

    def rename(self: Path, to: Path) -> Path:
        if ".importing-" in str(self):
            renames.append(Path(to))
            if len(renames) == 3:
                raise OSError(errno.EIO, os.strerror(errno.EIO), str(to))
        return original(self, to)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(ExportError, match=r"Could not write the bundle's files into .*Nothing "
                       r"was imported"):
        import_bundle(library, good, target, catalog)
    assert sorted(p.name for p in target.iterdir()) == ["mine.txt"]
    assert library.projects.all() == [] and library_files(library.data_dir) == set()
    monkeypatch.setattr(Path, "rename", original)
    import_bundle(library, good, target, catalog)
    assert sorted(p.name for p in target.iterdir()) == sorted([*UNPACKED, "mine.txt"])


def test_existing_files_are_refused_before_anything_is_written(
        good: Path, library: Library, catalog: PresetCatalog, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "settings.csv").write_text("mine", encoding="utf-8")
    with pytest.raises(BundleError, match=r"settings\.csv already exists"):
        import_bundle(library, good, target, catalog)
    assert sorted(p.name for p in target.iterdir()) == ["settings.csv"]
    assert library.projects.all() == []


# ----------------------------------------------------------------------------- the command


def test_the_command_refuses_a_bad_bundle_in_one_sentence_then_imports_the_good_one(
        good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli import main

    data = Path(os.environ["STUDIO_DATA_DIR"])
    bad = rewrite(good, tmp_path / "bad.zip", lambda n, d: d[:100] if n.startswith("images/05")
                  else d)
    target = tmp_path / "target"
    for _ in range(2):
        assert main(["import-bundle", str(bad), "--to", str(target)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and "Traceback" not in captured.err
        last = captured.err.strip().splitlines()[-1]
        assert last.startswith("studio: The bundle is refused: images/05-scene-preview-12.png "
                               "is truncated or damaged (")
        assert last.endswith("); nothing was imported.")
        assert not target.exists() and not data.exists()
    assert main(["import-bundle", str(good), "--to", str(target)]) == 0
    assert capsys.readouterr().out.startswith("Imported 8 images into the project "
                                              "\"Emma: character sheet\"")
    assert sorted(p.name for p in target.iterdir()) == UNPACKED
