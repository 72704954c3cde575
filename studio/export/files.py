"""Writing export files so that nothing half-written is ever left under the final name.

Every export is written to a hidden temporary name in the target folder, flushed to disk, and
renamed over the final name only when complete; on an error or a cancel the temporary file is
removed and any earlier file of that name is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from studio.export.model import ExportError

TEMP_MARK = ".part-"


def temp_name_for(final: Path) -> Path:
    """A hidden, unique name next to ``final`` (same folder, so the rename is atomic)."""
    return final.with_name(f".{final.name}{TEMP_MARK}{secrets.token_hex(4)}")


def _fsync(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder for fsync
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _explain(exc: OSError, final: Path) -> ExportError:
    reason = exc.strerror or str(exc)
    return ExportError(
        f"Could not write {final} ({reason}); check that the folder exists, is writable and "
        "has free space."
    )


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``final`` in one rename.

    On any exception (including a cancel) the temporary file is removed and ``final`` is left
    untouched. OS errors come out as ``ExportError`` with a sentence for the user.
    """
    final = Path(final)
    if final.is_dir():
        raise ExportError(f"{final} is a folder; choose a file name to export to.")
    if not final.parent.is_dir():
        raise ExportError(f"The folder {final.parent} does not exist; create it or choose "
                          "another place to export to.")
    temp = temp_name_for(final)
    try:
        yield temp
        if not temp.is_file():
            raise ExportError(f"Nothing was written for {final}.")
        _fsync(temp)
        temp.replace(final)
        _fsync_dir(final.parent)
    except OSError as exc:
        raise _explain(exc, final) from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def write_atomic(final: Path, data: bytes) -> None:
    """Write ``data`` to ``final`` through a temporary name."""
    with atomic_path(final) as temp:
        try:
            temp.write_bytes(data)
        except OSError as exc:
            raise _explain(exc, final) from exc
