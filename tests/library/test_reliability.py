"""Crashes, full disks, read-only folders and two instances never lose or corrupt renders."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.library import (
    Library,
    LibraryBusyError,
    LibraryReadOnlyError,
    LibraryStorageError,
    RenderFilter,
)
from studio.library.storage import DurableFileWriter, content_hash

from .conftest import draft, png_bytes

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("kill_writer.py")


class FailingWriter:
    """Writes part of the file, then fails like a full (or read-only) disk."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.failing = False

    def write_new(self, path: Path, data: bytes) -> None:
        if not self.failing:
            DurableFileWriter().write_new(path, data)
            return
        path.write_bytes(data[: len(data) // 2])
        raise OSError(self.code, os.strerror(self.code), str(path))


@pytest.mark.parametrize(("code", "reason"), [(errno.ENOSPC, "full"), (errno.EROFS, "read-only")])
def test_a_full_disk_is_the_environments_fault_and_loses_nothing(
    data_dir: Path, code: int, reason: str
) -> None:
    writer = FailingWriter(code)
    with Library.open(data_dir, file_writer=writer) as lib:
        project = lib.projects.ensure("Emma")
        kept = lib.renders.record(draft(project.id), png_bytes(1))
        writer.failing = True
        with pytest.raises(LibraryStorageError) as caught:
            lib.renders.record(draft(project.id), png_bytes(2))
        assert caught.value.reason == reason
        assert "Could not save the image" in str(caught.value)
        job = lib.jobs.create(draft(project.id))
        with pytest.raises(LibraryStorageError):
            lib.jobs.complete(job.id, png_bytes(3))
        assert [j.id for j in lib.jobs.unfinished()] == [job.id]
        assert [r.id for r in lib.renders.page().items] == [kept.id]
        assert not list((data_dir / "tmp").iterdir())
        writer.failing = False
        lib.jobs.complete(job.id, png_bytes(3))
        assert lib.maintenance.check().ok


def test_a_full_database_is_the_environments_fault_and_loses_nothing(data_dir: Path) -> None:
    with Library.open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        kept = lib.renders.record(draft(project.id), png_bytes(1))
        pages = lib.db._conn.execute("PRAGMA page_count").fetchone()[0]
        # SQLite's own cap on the file size: the next page it needs fails like a full disk.
        lib.db._conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(LibraryStorageError) as caught:
            for n in range(200):
                lib.renders.record(draft(project.id, prompt="x" * 3000), png_bytes(100 + n))
        assert caught.value.reason == "full"
        assert lib.renders.get(kept.id).image_path is not None
        lib.db._conn.execute("PRAGMA max_page_count = 1073741823")
    with Library.open(data_dir) as lib:
        report = lib.maintenance.check(repair=False)
        # The image of the render that could not be recorded was not left behind either.
        assert report.ok, report
        assert lib.renders.get(kept.id).prompt == kept.prompt


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="file permissions do not stop root; the injected-writer tests cover EROFS",
)
def test_a_read_only_data_folder_opens_for_viewing(data_dir: Path) -> None:
    with Library.open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        lib.renders.record(draft(project.id), png_bytes(1))
    for path in [data_dir, *data_dir.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        with Library.open(data_dir) as lib:
            assert lib.read_only and "viewing only" in lib.notice
            assert len(lib.renders.page().items) == 1
            with pytest.raises(LibraryStorageError):
                lib.projects.ensure("Other")
    finally:
        for path in [data_dir, *data_dir.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def _chattr(flag: str, path: Path) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    return subprocess.run([chattr, "-R", flag, str(path)], capture_output=True).returncode == 0


def test_an_immutable_data_folder_opens_for_viewing_even_for_root(data_dir: Path) -> None:
    """Root ignores permissions, but not the immutable attribute: a truly read-only folder."""
    with Library.open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        render = lib.renders.record(draft(project.id), png_bytes(1))
    before = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    if not _chattr("+i", data_dir):
        pytest.skip("this file system or user cannot make a folder immutable")
    try:
        with Library.open(data_dir) as lib:
            assert lib.read_only and "viewing only" in lib.notice
            assert lib.renders.get(render.id).prompt == render.prompt
            assert lib.maintenance.check().integrity_ok
            with pytest.raises(LibraryStorageError, match="viewing only"):
                lib.renders.record(draft(project.id), png_bytes(2))
    finally:
        _chattr("-i", data_dir)
    assert {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()} == before


def test_a_second_instance_opens_for_viewing_with_a_message(data_dir: Path) -> None:
    with Library.open(data_dir) as first:
        project = first.projects.ensure("Emma")
        render = first.renders.record(draft(project.id), png_bytes(1))
        with Library.open(data_dir) as second:
            assert second.read_only
            assert "in use by process" in second.notice and "viewing only" in second.notice
            assert second.renders.get(render.id) == render
            with pytest.raises(LibraryReadOnlyError, match="viewing only"):
                second.renders.record(draft(project.id), png_bytes(2))
            with pytest.raises(LibraryReadOnlyError):
                second.renders.set_star([render.id], True)
            # The first keeps writing; the viewer sees the new render.
            newer = first.renders.record(draft(project.id), png_bytes(3))
            assert second.renders.get(newer.id).id == newer.id
        with pytest.raises(LibraryBusyError, match="in use by"):
            Library.open(data_dir, if_busy="fail")
        with pytest.raises(LibraryBusyError):
            Library.open(data_dir, if_busy="wait", wait_seconds=0.1)
    with Library.open(data_dir, if_busy="fail") as again:
        assert not again.read_only


def test_a_second_process_waits_until_the_first_closes(data_dir: Path) -> None:
    Library.open(data_dir).close()
    first = Library.open(data_dir)
    script = (
        "import sys; from pathlib import Path; from studio.library import Library\n"
        "print('waiting', flush=True)\n"
        "lib = Library.open(Path(sys.argv[1]), if_busy='wait', wait_seconds=60)\n"
        "print('writable' if not lib.read_only else 'read-only', flush=True)\n"
        "lib.close()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "waiting"
    first.close()
    out, _ = proc.communicate(timeout=60)
    assert out.strip() == "writable" and proc.returncode == 0


@pytest.mark.slow
def test_killing_the_writer_at_random_points_never_loses_a_finished_render(
    data_dir: Path,
) -> None:
    rng = random.Random(20261121)
    done: set[int] = set()
    trashing: set[int] = set()
    gone: set[int] = set()
    finished = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(50):
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(data_dir), str(round_)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert proc.stdout is not None
        # Kill after a random number of finished renders (0: during start-up or migration),
        # then a random fraction of a render later: the kill point, not a wait for work.
        seen: list[str] = []
        for _ in range(rng.randrange(0, 6)):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
        deadline = time.perf_counter() + rng.uniform(0, 0.01)
        while time.perf_counter() < deadline:
            pass
        proc.send_signal(signal.SIGKILL)
        # Read through the text buffers (communicate() would skip lines readline() buffered).
        out = proc.stdout.read()
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()
        for line in [*seen, *out.splitlines()]:
            kind, _, value = line.partition(" ")
            if kind == "done":
                done.add(int(value))
                finished += 1
            elif kind == "trashing":
                trashing.add(int(value))
            elif kind == "gone":
                gone.add(int(value))
        assert "Traceback" not in err, err

    with sqlite3.connect(data_dir / "library.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with Library.open(data_dir) as lib:
        live = {r.id: r for r in lib.renders.page(limit=10_000).items}
        trashed = {r.id for r in lib.renders.page(RenderFilter(trashed=True), limit=10_000).items}
        # Every render reported done is still there, unless the writer had begun to delete it;
        # and one whose deletion was reported done is gone.
        assert done - trashing <= set(live)
        assert not gone & (set(live) | trashed)
        # No record points at a missing or partial file.
        for render in live.values():
            assert render.image_path is not None and render.image_hash is not None
            assert content_hash(render.image_path.read_bytes()) == render.image_hash
        report = lib.maintenance.check()
        assert report.integrity_ok and not report.missing_files and not report.hash_mismatches
        assert lib.maintenance.check().ok  # what the first check set aside or removed is gone
        # A job killed before its render was committed is still there to resume.
        assert all(j.render_id is None for j in lib.jobs.unfinished())
    assert finished == len(done) > 40  # ids are never reused for a different render


def test_opening_for_viewing_only_on_request(data_dir: Path) -> None:
    with pytest.raises(LibraryStorageError, match="no library"):
        Library.open(data_dir, read_only=True)
    Library.open(data_dir).close()
    with Library.open(data_dir, read_only=True) as viewer:
        assert viewer.read_only and "viewing only" in viewer.notice
        with pytest.raises(LibraryReadOnlyError, match="Could not create the project"):
            viewer.projects.ensure("Emma")
        # A viewer does not keep a writer out.
        with Library.open(data_dir, if_busy="fail") as writer:
            assert not writer.read_only
