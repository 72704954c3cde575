"""``check``: integrity, missing and orphan files, hash mismatches, and the safe repairs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from studio.library import ImageHealth, Library

from .conftest import draft, png_bytes


def test_a_healthy_library_checks_ok(library: Library) -> None:
    project = library.projects.ensure("Emma")
    library.renders.record(draft(project.id), png_bytes(1))
    report = library.maintenance.check()
    assert report.ok and report.integrity == ("ok",)


def test_leftovers_of_a_crash_are_tidied(library: Library, data_dir: Path) -> None:
    project = library.projects.ensure("Emma")
    library.renders.record(draft(project.id), png_bytes(1))
    (data_dir / "tmp" / "abc.123.tmp").write_bytes(b"half an ima")
    orphan = data_dir / "images" / "ff" / ("ff" * 32 + ".png")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(png_bytes(2))
    report = library.maintenance.check(repair=False)
    assert report.orphan_files == (f"images/ff/{orphan.name}",) and not report.ok
    assert orphan.exists()
    report = library.maintenance.check()
    assert (report.temp_files_removed, report.orphans_moved) == (1, 1)
    # An image from an interrupted save is set aside, not deleted: it can still be imported.
    assert not orphan.exists() and (data_dir / "orphans" / orphan.name).is_file()
    assert library.maintenance.check().ok


def test_temp_files_are_removed_when_the_library_opens(data_dir: Path) -> None:
    Library.open(data_dir).close()
    (data_dir / "tmp").mkdir(exist_ok=True)
    (data_dir / "tmp" / "x.tmp").write_bytes(b"partial")
    with Library.open(data_dir):
        assert not (data_dir / "tmp" / "x.tmp").exists()


def test_missing_and_damaged_images_are_marked_and_unmarked(library: Library) -> None:
    project = library.projects.ensure("Emma")
    lost = library.renders.record(draft(project.id), png_bytes(1))
    damaged = library.renders.record(draft(project.id), png_bytes(2))
    assert lost.image_path is not None and damaged.image_path is not None
    saved = lost.image_path.read_bytes()
    lost.image_path.unlink()
    damaged.image_path.write_bytes(b"\x89PNG overwritten by something")
    report = library.maintenance.check()
    assert report.missing_files == (lost.image_hash,)
    assert report.hash_mismatches == (damaged.image_hash,)
    assert report.renders_marked == 2 and not report.ok
    assert library.renders.get(lost.id).health is ImageHealth.MISSING
    assert library.renders.get(damaged.id).health is ImageHealth.DAMAGED
    lost.image_path.write_bytes(saved)
    report = library.maintenance.check()
    assert report.renders_restored == 1
    assert library.renders.get(lost.id).health is ImageHealth.OK


def test_files_of_an_interrupted_trash_emptying_are_deleted(library: Library) -> None:
    project = library.projects.ensure("Emma")
    render = library.renders.record(draft(project.id), png_bytes(1))
    assert render.image_path is not None
    relative = f"{render.image_path.parent.name}/{render.image_path.name}"
    # What a crash between the emptying's commit and the file deletion leaves behind.
    conn = library.db._conn
    conn.execute("BEGIN")
    conn.execute("DELETE FROM renders WHERE id = ?", (render.id,))
    conn.execute("DELETE FROM images WHERE hash = ?", (render.image_hash,))
    conn.execute("INSERT INTO deleted_images (path) VALUES (?)", (relative,))
    conn.execute("COMMIT")
    report = library.maintenance.check()
    assert report.orphans_moved == 0 and not render.image_path.exists()
    assert library.maintenance.check().ok


def test_a_viewer_reports_but_does_not_repair(data_dir: Path) -> None:
    with Library.open(data_dir) as writer:
        (data_dir / "tmp" / "x.tmp").write_bytes(b"partial")
        with Library.open(data_dir) as viewer:
            report = viewer.maintenance.check()
            assert not report.repaired and report.temp_files_removed == 0
        assert (data_dir / "tmp" / "x.tmp").exists()
        assert writer.maintenance.check().temp_files_removed == 1


def test_a_damaged_database_is_reported(data_dir: Path) -> None:
    with Library.open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        for n in range(30):
            lib.renders.record(draft(project.id, prompt="x" * 500), png_bytes(n))
    db = data_dir / "library.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'renders_by_project'"
        ).fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with db.open("r+b") as f:
        f.seek((root - 1) * page_size + 8)
        f.write(b"\xff" * 64)
    with Library.open(data_dir) as lib:
        report = lib.maintenance.check()
        assert not report.integrity_ok and not report.ok
