"""Many writes in one transaction, as a bundle import makes them: the aggregates' own writes
join the open transaction, everything commits or rolls back together, the image files written
for a rolled-back transaction are removed, and the change is announced once."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from studio.library import Library, LibraryChange
from studio.library.recording import Recorder

from .conftest import draft, png_bytes


def _image_files(data_dir: Path) -> set[Path]:
    return {p for p in (data_dir / "images").rglob("*") if p.is_file()}


def test_writes_inside_a_transaction_commit_together_and_are_announced_once(
        library: Library, data_dir: Path) -> None:
    heard: list[LibraryChange] = []
    library.changes.subscribe(heard.append)
    with library.db.transaction("import") as (_conn, _changes):
        project = library.projects.ensure("Emma")
        first = library.renders.record(draft(project.id), png_bytes(1))
        second = library.renders.record(draft(project.id, parent_id=first.id), png_bytes(2))
        library.renders.set_star([second.id], True)
        assert heard == []  # nothing is announced before the commit
    assert len(heard) == 1
    assert heard[0].projects == {project.id}
    assert heard[0].renders == {first.id, second.id}
    assert library.renders.get(second.id).star
    assert len(_image_files(data_dir)) == 2


def test_a_failure_rolls_back_every_record_and_removes_the_new_image_files(
        library: Library, data_dir: Path) -> None:
    project = library.projects.ensure("Emma")
    kept = library.renders.record(draft(project.id), png_bytes(1))
    before = _image_files(data_dir)
    heard: list[LibraryChange] = []
    library.changes.subscribe(heard.append)
    with pytest.raises(RuntimeError, match="stop"), \
            library.db.transaction("import") as (_conn, _changes):
        other = library.projects.ensure("Other")
        library.renders.record(draft(other.id), png_bytes(2))
        # The same bytes as a render already kept: its file is not this import's to remove.
        library.renders.record(draft(other.id), png_bytes(1))
        library.renders.record(draft(other.id), png_bytes(3))
        raise RuntimeError("stop")
    assert heard == []
    assert [p.name for p in library.projects.all()] == ["Emma"]
    assert [r.id for r in library.renders.page().items] == [kept.id]
    assert _image_files(data_dir) == before
    assert library.maintenance.check(repair=False).ok


def test_a_failing_inner_write_is_undone_alone_when_the_caller_goes_on(
        library: Library, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    insert = Recorder.insert

    def failing_insert(self: Recorder, conn: sqlite3.Connection, *args: Any,
                       **kwargs: Any) -> int:
        insert(self, conn, *args, **kwargs)  # written, then the statement after it fails
        raise sqlite3.IntegrityError("constraint failed")

    with library.db.transaction("import") as (_conn, _changes):
        project = library.projects.ensure("Emma")
        library.renders.record(draft(project.id), png_bytes(1))
        monkeypatch.setattr(Recorder, "insert", failing_insert)
        with pytest.raises(sqlite3.IntegrityError):
            library.renders.record(draft(project.id), png_bytes(2))
        monkeypatch.setattr(Recorder, "insert", insert)
        library.renders.record(draft(project.id), png_bytes(3))
    assert len(library.renders.page().items) == 2
    assert len(_image_files(data_dir)) == 2
    assert library.maintenance.check(repair=False).ok
