"""Export files are written in one step (core.files), with the export's own sentences.

Every export goes to a hidden temporary name in the target folder, flushed to disk, and renamed
over the final name only when complete; on an error or a cancel the temporary file is removed
and any earlier file of that name is left as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from studio.core import files
from studio.export.model import ExportError

TEMP_MARK = files.TEMP_MARK


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
    try:
        with files.atomic_path(final) as temp:
            yield temp
    except files.NothingWritten as exc:
        raise ExportError(f"Nothing was written for {final}.") from exc
    except OSError as exc:
        raise _explain(exc, final) from exc


def write_atomic(final: Path, data: bytes) -> None:
    """Write ``data`` to ``final`` through a temporary name."""
    with atomic_path(final) as temp:
        temp.write_bytes(data)
