"""Writing through a temporary name: the final name holds a whole file or nothing new."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.export.files import TEMP_MARK, atomic_path, write_atomic
from studio.export.model import ExportError


def test_a_finished_write_replaces_the_file(out_dir: Path) -> None:
    target = out_dir / "out.pdf"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in out_dir.iterdir()] == ["out.pdf"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(out_dir: Path) -> None:
    target = out_dir / "out.pdf"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        assert temp.parent == out_dir and TEMP_MARK in temp.name and temp.name.startswith(".")
        temp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert [p.name for p in out_dir.iterdir()] == ["out.pdf"]


def test_missing_folders_and_folder_targets_are_explained(out_dir: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        write_atomic(out_dir / "nope" / "out.png", b"x")
    with pytest.raises(ExportError, match="is a folder"):
        write_atomic(out_dir, b"x")


def test_writing_nothing_is_an_error(out_dir: Path) -> None:
    with pytest.raises(ExportError, match="Nothing was written"), atomic_path(out_dir / "x"):
        pass
    assert list(out_dir.iterdir()) == []
