"""Libraries the studio may not write, and libraries that do not exist yet.

Every writing command (`render`, `resume`, `import-bundle`, `library check` with its repairs)
on a library in a read-only folder says so in one sentence and exits 2, writing nothing; every
reading command (`library list`, `library search`, `library check --no-repair`, `status`,
`export`) still works there, and on a machine without a library creates none.

Tests run as root here, and root ignores file permissions: a read-only folder is made by failing
the storage the way the disk would (the lock file cannot be created, the database file cannot be
written), and for real with ``chattr +i`` where the file system allows it.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.cli import main
from studio.library.lock import WriterLock
from tests.export.test_importer_hostile import make_bundle

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_sentence(err: str) -> str:
    """The last line on stderr, checked to be the error sentence and not a traceback."""
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("studio: ") and last.endswith((".", "?")), err
    return last


@pytest.fixture
def data_dir() -> Path:
    return Path(os.environ["STUDIO_DATA_DIR"])


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    path = tmp_path / "emma.sheet.toml"
    shutil.copy(ROOT / "examples" / "emma.sheet.toml", path)
    return path


@pytest.fixture
def rendered(capsys: pytest.CaptureFixture[str], sheet: Path, data_dir: Path) -> Path:
    code, _, err = run(capsys, "render", str(sheet), "--stage", "preview", "--provider",
                       "offline")
    assert code == 0, err
    return sheet


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "emma.zip")


@pytest.fixture
def read_only_folder(rendered: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The library's folder refuses new files, as a read-only disk does: the writer lock file
    (the first file a writer makes) cannot be created."""

    def refuse(cls: type[WriterLock], path: Path, **kwargs: object) -> WriterLock:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(WriterLock, "acquire", classmethod(refuse))
    yield


def _chattr(flag: str, path: Path) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    return subprocess.run([chattr, "-R", flag, str(path)], capture_output=True).returncode == 0


@pytest.fixture
def immutable_folder(rendered: Path, data_dir: Path) -> Iterator[None]:
    """The library's folder made immutable: even root cannot write it."""
    if not _chattr("+i", data_dir):
        pytest.skip("this file system or user cannot make a folder immutable")
    try:
        yield
    finally:
        _chattr("-i", data_dir)


WRITING = {
    "render": lambda sheet, bundle, tmp: ["render", str(sheet), "--stage", "preview",
                                          "--provider", "offline"],
    "resume": lambda sheet, bundle, tmp: ["resume"],
    "import-bundle": lambda sheet, bundle, tmp: ["import-bundle", str(bundle), "--to",
                                                 str(tmp / "imported")],
    "library-check": lambda sheet, bundle, tmp: ["library", "check"],
    "library-choose": lambda sheet, bundle, tmp: ["library", "choose", "1"],
}
READING = {
    "library-list": (lambda sheet, tmp: ["library", "list"], "Emma: character sheet"),
    "library-search": (lambda sheet, tmp: ["library", "search", "coffee"], "Coffee-shop"),
    "library-check-no-repair": (lambda sheet, tmp: ["library", "check", "--no-repair"],
                                "The library is sound."),
    "status": (lambda sheet, tmp: ["status", str(sheet)], "Studio headshot"),
    "export": (lambda sheet, tmp: ["export", str(sheet), "--format", "png", "--out",
                                   str(tmp / "sheet.png")], "Wrote the character sheet PNG"),
}


@pytest.mark.usefixtures("read_only_folder")
@pytest.mark.parametrize("command", list(WRITING))
def test_a_writing_command_on_a_read_only_library_says_so_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], command: str, sheet: Path, bundle: Path,
        data_dir: Path, tmp_path: Path) -> None:
    before = snapshot(data_dir)
    code, out, err = run(capsys, *WRITING[command](sheet, bundle, tmp_path))
    assert code == 2, err
    sentence = one_sentence(err)
    assert f"The library in {data_dir} is open for viewing only: the folder cannot be " \
           "written (Read-only file system); make it writable" in sentence
    assert out == ""
    assert snapshot(data_dir) == before
    assert not (tmp_path / "imported").exists()


@pytest.mark.usefixtures("immutable_folder")
@pytest.mark.parametrize("command", list(WRITING))
def test_a_writing_command_on_an_immutable_library_says_so_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], command: str, sheet: Path, bundle: Path,
        data_dir: Path, tmp_path: Path) -> None:
    before = snapshot(data_dir)
    code, out, err = run(capsys, *WRITING[command](sheet, bundle, tmp_path))
    assert code == 2, err
    assert "is open for viewing only: the folder cannot be written" in one_sentence(err)
    assert out == ""
    assert snapshot(data_dir) == before
    assert not (tmp_path / "imported").exists()


@pytest.mark.parametrize("folder", ["read_only_folder", "immutable_folder"])
@pytest.mark.parametrize("command", list(READING))
def test_reading_commands_work_on_a_read_only_library_and_change_nothing(
        capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest, folder: str,
        command: str, sheet: Path, data_dir: Path, tmp_path: Path) -> None:
    request.getfixturevalue(folder)
    before = snapshot(data_dir)
    args, shown = READING[command]
    code, out, err = run(capsys, *args(sheet, tmp_path))
    assert code == 0, err
    assert shown in out and "Traceback" not in err
    # The database itself is never changed (SQLite may keep its shared-memory index beside it).
    after = snapshot(data_dir)
    assert {k: v for k, v in after.items() if not k.endswith(("-shm", "-wal"))} == \
        {k: v for k, v in before.items() if not k.endswith(("-shm", "-wal"))}


def test_a_database_file_that_cannot_be_written_is_viewed_not_written(
        capsys: pytest.CaptureFixture[str], rendered: Path, data_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    database = data_dir / "library.sqlite3"
    access = os.access

    def no_write(path: object, mode: int, **kwargs: object) -> bool:
        if Path(str(path)) == database and mode & os.W_OK:
            return False
        return access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", no_write)
    before = snapshot(data_dir)[database.name]
    code, _, err = run(capsys, "render", str(rendered), "--stage", "preview", "--provider",
                       "offline")
    assert code == 2
    assert one_sentence(err).endswith("its database file cannot be written; make "
                                      "library.sqlite3 writable to save renders there. "
                                      "Nothing was sent.")
    assert snapshot(data_dir)[database.name] == before
    code, out, _ = run(capsys, "library", "list")
    assert code == 0 and "Emma: character sheet" in out


def test_an_immutable_database_file_is_viewed_not_written(
        capsys: pytest.CaptureFixture[str], rendered: Path, data_dir: Path) -> None:
    database = data_dir / "library.sqlite3"
    if not _chattr("+i", database):
        pytest.skip("this file system or user cannot make a file immutable")
    try:
        code, _, err = run(capsys, "render", str(rendered), "--stage", "preview",
                           "--provider", "offline")
    finally:
        _chattr("-i", database)
    assert code == 2
    assert "its database file cannot be written" in one_sentence(err)


# ----------------------------------------------------------------------------- a new machine


@pytest.mark.parametrize(("args", "code", "shown"), [
    (["library", "list"], 0, "There is no library in {data} yet"),
    (["library", "list", "--json"], 0, '{"projects": []}'),
    (["library", "search", "coffee"], 0, "There is no library in {data} yet"),
    (["library", "check", "--no-repair"], 0, "There is no library in {data} yet"),
    (["library", "check"], 0, "There is no library in {data} yet"),
    (["status", "{sheet}"], 0, "Studio headshot"),
    (["export", "{sheet}", "--format", "png", "--out", "{tmp}/x.png"], 2,
     "has no renders in the library yet"),
    (["resume"], 0, "studio: nothing to resume: there is no library in {data} yet."),
    (["resume", "--json"], 0, '"results": []'),
    (["library", "choose", "1"], 2, "studio: There is no library in {data} yet, so there is "
     "no render 1 to pick"),
], ids=["list", "list-json", "search", "check-no-repair", "check", "status", "export",
        "resume", "resume-json", "choose"])
def test_reading_commands_on_a_new_machine_create_no_library(
        capsys: pytest.CaptureFixture[str], sheet: Path, data_dir: Path, tmp_path: Path,
        args: list[str], code: int, shown: str) -> None:
    filled = [a.replace("{sheet}", str(sheet)).replace("{tmp}", str(tmp_path)) for a in args]
    got, out, err = run(capsys, *filled)
    assert got == code, err
    assert shown.replace("{data}", str(data_dir)) in out + err
    assert "Traceback" not in err
    assert not data_dir.exists()


def test_a_refused_bundle_on_a_new_machine_creates_no_library(
        capsys: pytest.CaptureFixture[str], bundle: Path, data_dir: Path,
        tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    data = bundle.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    code, _, err = run(capsys, "import-bundle", str(broken), "--to", str(tmp_path / "to"))
    assert code == 2
    assert "Nothing was imported." in one_sentence(err)
    assert not data_dir.exists() and not (tmp_path / "to").exists()
