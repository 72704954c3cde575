"""The one way a file is replaced: all of it or none of it, never readable when private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from studio.core.files import TEMP_MARK, NothingWritten, atomic_path, write_atomic
from studio.providers.keys import key_file, remove_key_from_file, store_key_in_file


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if TEMP_MARK in p.name]


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "sheet.toml"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert _leftovers(tmp_path) == []


def test_a_failure_midway_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "settings.toml"
    target.write_text("kept", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("half", encoding="utf-8")
        raise RuntimeError("the disk filled up")
    assert target.read_text(encoding="utf-8") == "kept"
    assert _leftovers(tmp_path) == []


def test_a_block_that_writes_nothing_replaces_nothing(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"old")
    with pytest.raises(NothingWritten), atomic_path(target):
        pass
    assert target.read_bytes() == b"old"


def test_a_private_file_is_never_readable_by_others(tmp_path: Path) -> None:
    target = tmp_path / "keys"
    target.write_text("x", encoding="utf-8")
    target.chmod(0o644)
    write_atomic(target, "secret", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_removing_a_key_keeps_the_others_and_the_file_private(tmp_path: Path) -> None:
    store_key_in_file(tmp_path, "fal", "fal-key-0123456789")
    store_key_in_file(tmp_path, "replicate", "r8-key-0123456789")
    remove_key_from_file(tmp_path, "fal")
    path = key_file(tmp_path)
    assert path.read_text(encoding="utf-8") == "replicate=r8-key-0123456789\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == []
