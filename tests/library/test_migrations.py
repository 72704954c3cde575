"""Schema versions: fresh libraries, the stored version-1 library, and newer ones refused."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.library import SCHEMA_VERSION, JobState, Library, LibraryVersionError
from studio.library.schema import MIGRATIONS

from .conftest import draft, png_bytes

V1 = Path(__file__).parent / "data" / "library-v1.sqlite3"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_fresh_library_has_the_current_version(library: Library) -> None:
    assert library.schema_version == SCHEMA_VERSION == len(MIGRATIONS)


def test_the_stored_version_1_library_is_migrated_with_its_records(data_dir: Path) -> None:
    data_dir.mkdir()
    shutil.copy(V1, data_dir / "library.sqlite3")
    with Library.open(data_dir) as lib:
        assert lib.schema_version == SCHEMA_VERSION
        (project,) = lib.projects()
        assert project.name == "Emma"
        (render,) = lib.search("golden").items
        assert render.id == 1 and render.tags == ("keeper",) and render.character_name == "Emma"
        assert [r.id for r in lib.search("keeper").items] == [1]
        (job,) = lib.unfinished_jobs()
        assert job.state is JobState.SUBMITTED and job.provider_request_id == "r-1"
        assert job.draft.prompt == "p"
        assert lib.latest_anchor_version(1) is not None
        # The migrated library takes new renders like a fresh one.
        new = lib.record_render(draft(project.id, prompt="golden hour portrait"), png_bytes(1))
        assert {r.id for r in lib.search("golden").items} == {1, new.id}
        assert lib.check().ok
    # The version-1 file was copied aside before the upgrade, unchanged.
    backup = data_dir / "library.v1.backup.sqlite3"
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM renders").fetchone()[0] == 1
    conn.close()


def test_a_library_from_a_newer_studio_is_refused_and_left_untouched(data_dir: Path) -> None:
    data_dir.mkdir()
    db = data_dir / "library.sqlite3"
    shutil.copy(V1, db)
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = _digest(db)
    with pytest.raises(LibraryVersionError, match="newer version of the studio"):
        Library.open(data_dir)
    assert _digest(db) == before
    assert not (data_dir / "library.sqlite3-wal").exists()
    # The refusal released the writer lock: a later (upgraded) studio could open it.
    with pytest.raises(LibraryVersionError):
        Library.open(data_dir, if_busy="fail")


def test_a_failing_migration_leaves_the_previous_version(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir.mkdir()
    db = data_dir / "library.sqlite3"
    shutil.copy(V1, db)
    broken = (*MIGRATIONS[:1], (*MIGRATIONS[1][:2], "THIS IS NOT SQL"))
    monkeypatch.setattr("studio.library.library.MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        Library.open(data_dir)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "renders_fts" not in tables
    conn.close()
    monkeypatch.undo()
    with Library.open(data_dir) as lib:
        assert lib.schema_version == SCHEMA_VERSION


def test_a_file_that_is_not_a_library_gives_a_clear_error(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "library.sqlite3").write_bytes(b"this is a text file, not a database" * 100)
    with pytest.raises(Exception, match="not a studio library or is damaged"):
        Library.open(data_dir)


MIGRATE_ONCE = """
import sys
from pathlib import Path
from studio.library import Library
print("opening", flush=True)
Library.open(Path(sys.argv[1])).close()
print("opened", flush=True)
"""


@pytest.mark.slow
def test_killing_a_migration_leaves_version_1_or_the_current_one(data_dir: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    rng = random.Random(4)
    data_dir.mkdir()
    for _ in range(10):
        shutil.copy(V1, data_dir / "library.sqlite3")
        for extra in data_dir.glob("library.*-*"):
            extra.unlink()
        proc = subprocess.Popen(
            [sys.executable, "-c", MIGRATE_ONCE, str(data_dir)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "opening"
        # A random kill point inside the open (the migration takes a few milliseconds).
        deadline = time.perf_counter() + rng.uniform(0, 0.02)
        while time.perf_counter() < deadline:
            pass
        proc.kill()
        proc.stdout.read()
        proc.wait(timeout=60)
        proc.stdout.close()
        conn = sqlite3.connect(data_dir / "library.sqlite3")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA user_version").fetchone()[0] in (1, SCHEMA_VERSION)
        finally:
            conn.close()
        with Library.open(data_dir) as lib:
            assert [r.id for r in lib.search("golden").items] == [1]
        backup = data_dir / "library.v1.backup.sqlite3"
        if backup.exists():
            check = sqlite3.connect(backup)
            try:
                assert check.execute("PRAGMA user_version").fetchone()[0] == 1
            finally:
                check.close()
