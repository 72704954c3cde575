"""Errors the library raises, split the way the user needs them.

``LibraryStorageError`` is the environment's fault (disk full, read-only folder, another
instance, damaged file): the message tells the user what to do and nothing already stored is
lost. Anything else escaping the library is our bug.
"""

from __future__ import annotations

import errno
import sqlite3


class LibraryError(Exception):
    """Base of every error the library raises on purpose."""


class LibraryStorageError(LibraryError):
    """The disk, the folder or the database file refused; not a bug in the studio.

    ``reason`` is a short machine-readable word: ``full``, ``read-only``, ``busy``, ``io``,
    ``damaged``, ``permission`` or ``unavailable``.
    """

    def __init__(self, message: str, reason: str = "io") -> None:
        super().__init__(message)
        self.reason = reason


class LibraryBusyError(LibraryStorageError):
    """Another studio window or command has the library open for writing."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "busy")


class LibraryReadOnlyError(LibraryStorageError):
    """This instance opened the library for viewing only and was asked to change it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "read-only")


class LibraryVersionError(LibraryError):
    """The database was written by a newer studio; it is left untouched."""


class RecordNotFoundError(LibraryError, LookupError):
    """A project, character, sheet, scene, render or job id that the library does not hold."""


class ImageImportError(LibraryError):
    """A file given to import is not a readable image (truncated, not an image, unreadable)."""


_ERRNO_REASONS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EROFS: "read-only",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
    errno.EIO: "io",
    errno.ENOLCK: "unavailable",
}

_REASON_ADVICE = {
    "full": "the disk is full; free some space and try again",
    "read-only": "the data folder is read-only; make it writable or choose another data folder",
    "permission": "the studio may not write there; check the folder's permissions",
    "io": "the disk reported an error; check the drive",
    "busy": "another studio window is writing; close it or wait and try again",
    "damaged": "the library file is damaged; run `studio library check`",
    "unavailable": "the library file cannot be opened; check the data folder",
}

# sqlite3 primary result codes (the low byte of the extended code).
_SQLITE_REASONS = {
    3: "permission",  # SQLITE_PERM
    5: "busy",  # SQLITE_BUSY
    6: "busy",  # SQLITE_LOCKED
    8: "read-only",  # SQLITE_READONLY
    10: "io",  # SQLITE_IOERR
    11: "damaged",  # SQLITE_CORRUPT
    13: "full",  # SQLITE_FULL
    14: "unavailable",  # SQLITE_CANTOPEN
    26: "damaged",  # SQLITE_NOTADB
}


def storage_error_from_os(exc: OSError, doing: str) -> LibraryStorageError | None:
    """The user-facing error for an ``OSError`` caused by the environment, or None for a bug."""
    reason = _ERRNO_REASONS.get(exc.errno or 0)
    if reason is None:
        return None
    return LibraryStorageError(f"Could not {doing}: {_REASON_ADVICE[reason]}.", reason)


def storage_error_from_sqlite(exc: sqlite3.Error, doing: str) -> LibraryStorageError | None:
    """The user-facing error for an SQLite failure caused by the environment, or None."""
    code = getattr(exc, "sqlite_errorcode", None)
    reason = _SQLITE_REASONS.get(code & 0xFF) if isinstance(code, int) else None
    if reason is None:
        return None
    return LibraryStorageError(f"Could not {doing}: {_REASON_ADVICE[reason]}.", reason)
