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
        (project,) = lib.projects.all()
        assert project.name == "Emma"
        (render,) = lib.renders.search("golden").items
        assert render.id == 1 and render.tags == ("keeper",) and render.character_name == "Emma"
        assert [r.id for r in lib.renders.search("keeper").items] == [1]
        (job,) = lib.jobs.unfinished()
        assert job.state is JobState.SUBMITTED and job.provider_request_id == "r-1"
        assert job.draft.prompt == "p"
        assert lib.characters.latest_anchor(1) is not None
        # The migrated library takes new renders like a fresh one.
        new = lib.renders.record(draft(project.id, prompt="golden hour portrait"), png_bytes(1))
        assert {r.id for r in lib.renders.search("golden").items} == {1, new.id}
        assert lib.maintenance.check().ok
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
    monkeypatch.setattr("studio.library.database.MIGRATIONS", broken)
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


def test_a_new_library_is_made_whole_or_not_at_all(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new library is made in one transaction: a failure in its last step leaves nothing.
    broken = (*MIGRATIONS[:-1], (*MIGRATIONS[-1], "THIS IS NOT SQL"))
    monkeypatch.setattr("studio.library.database.MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        Library.open(data_dir)
    with sqlite3.connect(data_dir / "library.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
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
def test_killing_a_migration_leaves_a_whole_version(data_dir: Path) -> None:
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
            # Each migration commits with its version: a kill leaves one of them, never half.
            assert conn.execute("PRAGMA user_version").fetchone()[0] in range(1, SCHEMA_VERSION + 1)
        finally:
            conn.close()
        with Library.open(data_dir) as lib:
            assert [r.id for r in lib.renders.search("golden").items] == [1]
        backup = data_dir / "library.v1.backup.sqlite3"
        if backup.exists():
            check = sqlite3.connect(backup)
            try:
                assert check.execute("PRAGMA user_version").fetchone()[0] == 1
            finally:
                check.close()


LEGACY_SHEET = """\
format = 1
[character]
name = "Emma"
anchor = "Emma, 30-year-old woman, dark brown wavy hair"
seed = 42
skin = ["pores-subsurface"]
[preview]
provider = "offline"
model = "offline-preview"
steps = 4
guidance = 0.0
[[scenes]]
name = "Beach"
setting = "sunset beach"
lighting = "golden-hour"
lens = "sigma-35"
framing = "portrait"
[[scenes]]
name = "Studio"
setting = "grey backdrop"
lighting = "soft-studio"
framing = "portrait"
"""


def _version_2_library(data_dir: Path, sheet_path: Path) -> None:
    """A library as version 2 wrote it: renders stamped with an anchor version and a scene
    text hash, no fingerprints."""
    from studio.core.presets import load_catalog
    from studio.core.prompt import compose_prompt
    from studio.core.sheet import frame_size, parse_sheet

    catalog = load_catalog(user_file=None)
    sheet = parse_sheet(LEGACY_SHEET, catalog)
    data_dir.mkdir()
    conn = sqlite3.connect(data_dir / "library.sqlite3", isolation_level=None)
    conn.execute("BEGIN")
    for statements in MIGRATIONS[:2]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    t = 1_700_000_000.0
    conn.execute("INSERT INTO projects (id, name, created) VALUES (1, 'Emma', ?)", (t,))
    conn.execute("INSERT INTO characters (id, project_id, name, created) VALUES (1, 1, 'Emma', ?)",
                 (t,))
    conn.execute("INSERT INTO anchor_versions (id, character_id, version, anchor, seed, created) "
                 "VALUES (1, 1, 1, ?, 42, ?)", (sheet.character.anchor, t))
    conn.execute("INSERT INTO sheets (id, project_id, name, path, character_id, created) "
                 "VALUES (1, 1, 'legacy', ?, 1, ?)", (str(sheet_path.resolve()), t))
    for n, scene in enumerate(sheet.scenes, start=1):
        conn.execute("INSERT INTO scenes (id, sheet_id, name, position, setting, lighting, lens, "
                     "framing, text_hash) VALUES (?, 1, ?, ?, ?, ?, ?, ?, 'old')",
                     (n, scene.name, n, scene.setting, scene.lighting, scene.lens,
                      scene.framing))
        conn.execute(
            "INSERT INTO renders (project_id, sheet_id, scene_id, character_id, "
            "anchor_version_id, stage, provider, model, prompt, width, height, steps, guidance, "
            "seed_requested, status, scene_name, character_name, scene_text_hash, created) "
            "VALUES (1, 1, ?, 1, 1, 'preview', 'offline', 'offline-preview', ?, ?, ?, 4, "
            "0.0, 42, 'ok', ?, 'Emma', 'old', ?)",
            (n, compose_prompt(sheet, scene, catalog), *frame_size(scene.framing, catalog),
             scene.name, t + n))
    conn.execute("COMMIT")
    conn.close()


def test_renders_made_before_fingerprints_learn_theirs_from_their_records(
        data_dir: Path, tmp_path: Path) -> None:
    from studio.core.presets import load_catalog
    from studio.core.sheet import parse_sheet
    from studio.library.binding import bind_sheet

    sheet_path = tmp_path / "legacy.sheet.toml"
    _version_2_library(data_dir, sheet_path)
    catalog = load_catalog(user_file=None)
    sheet = parse_sheet(LEGACY_SHEET, catalog)
    changed = parse_sheet(LEGACY_SHEET.replace('setting = "grey backdrop"',
                                               'setting = "white backdrop"'), catalog)
    with Library.open(data_dir) as lib:
        assert lib.schema_version == SCHEMA_VERSION
        # Recording the sheet as it was: the old renders match it and read current.
        binding = bind_sheet(lib, sheet, sheet_path, catalog)
        assert {c.scene.name: c.out_of_date for c in lib.renders.cells(binding.sheet.id)} == {
            "Beach": (), "Studio": ()}
        assert all(c.render.fingerprint is not None for c in lib.renders.cells(binding.sheet.id))
        # A change after the upgrade is told apart by the one rule, for old renders too.
        binding = bind_sheet(lib, changed, sheet_path, catalog)
        assert {c.scene.name: c.out_of_date for c in lib.renders.cells(binding.sheet.id)} == {
            "Beach": (), "Studio": ("setting",)}


def test_an_old_render_whose_scene_changed_before_the_upgrade_says_what_changed(
        data_dir: Path, tmp_path: Path) -> None:
    from studio.core.presets import load_catalog
    from studio.core.sheet import parse_sheet
    from studio.library.binding import bind_sheet

    sheet_path = tmp_path / "legacy.sheet.toml"
    _version_2_library(data_dir, sheet_path)
    catalog = load_catalog(user_file=None)
    # The sheet was edited while the old studio was in use: new lighting, no skin details.
    edited = parse_sheet(LEGACY_SHEET.replace('lighting = "golden-hour"', 'lighting = "rembrandt"')
                         .replace('skin = ["pores-subsurface"]\n', ''), catalog)
    with Library.open(data_dir) as lib:
        binding = bind_sheet(lib, edited, sheet_path, catalog)
        reasons = {c.scene.name: c.out_of_date for c in lib.renders.cells(binding.sheet.id)}
    assert reasons == {"Beach": ("skin", "lighting"), "Studio": ("skin",)}
