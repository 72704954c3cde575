"""Writing a file so that a crash never leaves half of it under its name.

The one way the studio replaces a file (sheets, settings, the key file, exports, bundles'
unpacked files): written under a hidden temporary name in the same folder, flushed to disk,
renamed over the final name in one step, and the folder flushed so the rename survives a power
cut. On an error or a cancel the temporary file is removed and the old file is left as it was.
Callers turn the ``OSError`` into their own sentence (they know what the file is to the user).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

#: Part of every temporary name, so a folder's leftovers from a crash can be recognised.
TEMP_MARK = ".part-"


class NothingWritten(OSError):
    """The block of :func:`atomic_path` ended without writing its temporary file."""


def temp_name_for(final: Path) -> Path:
    """A hidden, unique name next to ``final`` (the same folder, so the rename is atomic)."""
    import secrets  # read at the first write: a window shows itself without it

    return final.with_name(f".{final.name}{TEMP_MARK}{secrets.token_hex(4)}")


def fsync_dir(path: Path) -> None:
    """Make a rename in the folder ``path`` durable (a no-op where folders cannot be opened,
    as on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_path(final: Path, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; when the block ends without an error the file replaces
    ``final`` in one rename (with permission bits ``mode`` when given, set before the rename
    so a secret is never readable by others, not even for a moment). The temporary file is
    removed whatever happens. Raises :class:`NothingWritten` when nothing was written."""
    final = Path(final)
    temp = temp_name_for(final)
    try:
        yield temp
        if not temp.is_file():
            raise NothingWritten(f"nothing was written for {final}")
        if mode is not None:
            temp.chmod(mode)
        _fsync_file(temp)
        temp.replace(final)
        fsync_dir(final.parent)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def write_atomic(final: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Replace ``final`` with ``data`` (text is written as UTF-8) in one step."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(final, mode=mode) as temp:
        if mode is None:
            temp.write_bytes(payload)
        else:  # created private: the secret is never in a file others can read
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
