"""The library's database core: one SQLite connection (WAL) behind a lock, its schema
migrations, the writer lock file, and the transactions every aggregate writes through.

One process may write at a time (``library.lock``); a second one opens for viewing only, or
waits, and says so in ``notice``. Every method is thread-safe and blocking: the GUI calls the
library from a worker thread. A write transaction collects what it changed and announces it
(:mod:`studio.library.changes`) once it has committed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from . import paths
from .changes import Announcer, ChangeCollector
from .errors import (
    LibraryBusyError,
    LibraryError,
    LibraryReadOnlyError,
    LibraryStorageError,
    LibraryVersionError,
    RecordNotFoundError,
    storage_error_from_os,
    storage_error_from_sqlite,
)
from .lock import LockHeld, WriterLock
from .schema import MIGRATIONS, SCHEMA_VERSION
from .storage import fsync_dir

BusyPolicy = Literal["read-only", "wait", "fail"]


def dt(value: float) -> datetime:
    """A stored time (seconds since the epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(value, tz=UTC)


def dt_opt(value: float | None) -> datetime | None:
    return None if value is None else dt(value)


class _OpenTransaction:
    """The write transaction a ``Database`` has open: what it changed so far, and what to undo
    outside the database (files written for its records) if it rolls back."""

    def __init__(self) -> None:
        self.collector = ChangeCollector()
        self.undo: list[Callable[[], None]] = []
        self.depth = 0

    def undo_from(self, mark: int) -> None:
        """Undo, newest first, what was registered since ``mark``; an undo that fails leaves
        a file ``check`` will find, never a second error over the first."""
        for undo in reversed(self.undo[mark:]):
            with contextlib.suppress(Exception):
                undo()
        del self.undo[mark:]


class Database:
    """The open library database. Aggregates share one instance."""

    def __init__(self, data_dir: Path, conn: sqlite3.Connection, lock: WriterLock | None, *,
                 notice: str, clock: Callable[[], float]) -> None:
        self.data_dir = data_dir
        self._conn = conn
        self._writer_lock = lock
        #: Why this instance is read-only (empty when it may write). Show it to the user.
        self.notice = notice
        self._clock = clock
        self.lock = threading.RLock()
        self.changes = Announcer()
        self._closed = False
        self._open: _OpenTransaction | None = None

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        read_only: bool = False,
        if_busy: BusyPolicy = "read-only",
        wait_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> Database:
        """Open (creating and migrating as needed) the library database in ``data_dir``.

        When another instance is writing: ``if_busy="read-only"`` opens for viewing with a
        ``notice``; ``"wait"`` waits up to ``wait_seconds`` then raises ``LibraryBusyError``;
        ``"fail"`` raises at once. A read-only data folder also opens for viewing.
        Raises ``LibraryVersionError`` for a database from a newer studio (left untouched) and
        ``LibraryStorageError`` when the folder or file cannot be used.
        """
        data_dir = Path(data_dir)
        db_path = data_dir / paths.DATABASE_NAME
        notice = ""
        lock: WriterLock | None = None
        folder_writable = True
        if read_only:
            notice = f"The library in {data_dir} is open for viewing only."
            # A folder nobody may write (read-only disk, immutable) cannot hold the WAL index.
            folder_writable = os.access(data_dir, os.W_OK)
        else:
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
                lock = WriterLock.acquire(
                    data_dir / paths.LOCK_NAME,
                    wait_seconds=wait_seconds if if_busy == "wait" else 0.0,
                )
            except LockHeld as held:
                message = (
                    f"The library in {data_dir} is in use by {held.holder} (another studio "
                    "window or command)"
                )
                if if_busy != "read-only":
                    raise LibraryBusyError(f"{message}; close it or try again later.") from None
                notice = f"{message}; it is open for viewing only until that one closes."
            except OSError as exc:
                error = storage_error_from_os(exc, f"open the library in {data_dir}")
                if error is None:
                    raise
                if not db_path.is_file():
                    raise error from exc
                folder_writable = False
                notice = (
                    f"The library in {data_dir} is open for viewing only: the folder cannot be "
                    f"written ({exc.strerror or exc}); make it writable to save renders there."
                )
        if lock is not None and db_path.is_file() and not os.access(db_path, os.W_OK):
            # The folder may be written but the database file may not (read-only or immutable
            # file): SQLite would open it and fail at the first write, so view it instead.
            lock.release()
            lock = None
            notice = (f"The library in {data_dir} is open for viewing only: its database file "
                      f"cannot be written; make {db_path.name} writable to save renders there.")
        if lock is None and not db_path.is_file():
            raise LibraryStorageError(
                f"There is no library in {data_dir} yet and it cannot be created now.",
                "unavailable",
            )
        try:
            if lock is not None and db_path.is_file():
                # Read the version without write access, so a library from a newer studio is
                # refused before anything could touch it.
                probe = cls._connect(db_path, writable=False, folder_writable=True)
                try:
                    cls._prepare(probe, db_path, writable=False, probe=True)
                finally:
                    probe.close()
            conn = cls._connect(db_path, writable=lock is not None, folder_writable=folder_writable)
            cls._prepare(conn, db_path, writable=lock is not None)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(data_dir, conn, lock, notice=notice, clock=clock)

    @staticmethod
    def _connect(db_path: Path, *, writable: bool, folder_writable: bool) -> sqlite3.Connection:
        if writable:
            target, uri = str(db_path), False
        else:
            # In a folder nobody may write, SQLite cannot make the WAL index it needs to read,
            # so it is told the file cannot change (true while the folder stays read-only).
            query = "mode=ro" if folder_writable else "mode=ro&immutable=1"
            target, uri = f"{db_path.resolve().as_uri()}?{query}", True
        try:
            conn = sqlite3.connect(
                target, uri=uri, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except sqlite3.Error as exc:
            error = storage_error_from_sqlite(exc, f"open {db_path}")
            raise (error or LibraryStorageError(f"Could not open {db_path}: {exc}")) from exc
        conn.row_factory = sqlite3.Row
        return conn

    @staticmethod
    def _prepare(
        conn: sqlite3.Connection, db_path: Path, *, writable: bool, probe: bool = False
    ) -> None:
        """Check the version before changing anything, then set up and migrate."""
        try:
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            except sqlite3.DatabaseError as exc:
                error = storage_error_from_sqlite(exc, f"open the library {db_path}")
                if error is not None and error.reason != "damaged":
                    raise error from exc
                raise LibraryStorageError(
                    f"{db_path} is not a studio library or is damaged ({exc}); move it aside "
                    "to start a new library, or restore it from a backup.",
                    "damaged",
                ) from exc
            if version > SCHEMA_VERSION:
                raise LibraryVersionError(
                    f"The library in {db_path.parent} was written by a newer version of the "
                    f"studio (library format {version}; this version reads up to "
                    f"{SCHEMA_VERSION}). Update the studio; the library has not been changed."
                )
            if probe:
                return
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 10000")
            if not writable:
                if version < SCHEMA_VERSION:
                    raise LibraryStorageError(
                        f"The library in {db_path.parent} was made by an older studio and "
                        "needs upgrading, which cannot happen while it is open for viewing "
                        "only; close any other studio window, then open the studio or run "
                        "`studio library check` once to upgrade it.",
                        "busy",
                    )
                return
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            if version and version < SCHEMA_VERSION:
                backup = db_path.with_name(f"{db_path.stem}.v{version}.backup{db_path.suffix}")
                if not backup.exists():
                    # Written aside and renamed, so a crash never leaves half a backup.
                    partial = backup.with_name(backup.name + ".partial")
                    partial.unlink(missing_ok=True)
                    with contextlib.closing(sqlite3.connect(partial)) as target:
                        conn.backup(target)
                    partial.replace(backup)
                    fsync_dir(backup.parent)
            # An existing library is upgraded one version per transaction (a kill leaves a
            # whole version); a new one is made in a single transaction (one disk write).
            steps = [(number, statements) for number, statements
                     in enumerate(MIGRATIONS, start=1) if number > version]
            if version == 0 and steps:
                steps = [(len(MIGRATIONS), [s for _, group in steps for s in group])]
            for number, statements in steps:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number}")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            error = storage_error_from_sqlite(exc, f"open the library {db_path}")
            if error is None:
                raise
            raise error from exc
        except BaseException:
            conn.close()
            raise

    @property
    def read_only(self) -> bool:
        return self._writer_lock is None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def schema_version(self) -> int:
        with self.read("read the library version") as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def now(self) -> float:
        return self._clock()

    def close(self) -> None:
        """Close the database and let the next writer in."""
        if self._closed:
            return
        with self.lock:
            self._closed = True
            if self._writer_lock is not None:
                # Keeps the query planner's statistics current as the library grows. They are
                # not the user's data, so their commit does not wait for the disk: every
                # write before it was synced when it committed, and the checkpoint closing
                # the connection syncs the log and the database as always.
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA synchronous = NORMAL")
                    self._conn.execute("PRAGMA optimize")
            self._conn.close()
        if self._writer_lock is not None:
            self._writer_lock.release()

    def require_writable(self, doing: str) -> None:
        if self._writer_lock is None:
            raise LibraryReadOnlyError(f"Could not {doing}: {self.notice}")

    @contextlib.contextmanager
    def read(self, doing: str) -> Iterator[sqlite3.Connection]:
        """The connection for reading; storage failures become ``LibraryStorageError``."""
        with self.lock:
            if self._closed:
                raise LibraryError("The library is closed.")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                error = storage_error_from_sqlite(exc, doing)
                if error is None:
                    raise
                raise error from exc

    @contextlib.contextmanager
    def transaction(self, doing: str) -> Iterator[tuple[sqlite3.Connection, ChangeCollector]]:
        """One write transaction and the collector of what it changes; the change is announced
        after the commit (never for a rolled-back write).

        Called while this thread already has one open, it joins it (a savepoint): everything
        commits or rolls back together, and the change is announced once, by the outermost.
        That is how an import writes many records in one transaction through the aggregates.
        """
        self.require_writable(doing)
        with self.lock:
            if self._closed:
                raise LibraryError("The library is closed.")
            if self._open is not None:
                with self._savepoint(self._open, doing) as opened:
                    yield opened
                return
            state = _OpenTransaction()
            conn = self._conn
            self._open = state
            committed = False
            try:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn, state.collector
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                    committed = True
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    error = storage_error_from_sqlite(exc, doing)
                    if error is None:
                        raise
                    raise error from exc
            finally:
                self._open = None
                if not committed:
                    state.undo_from(0)
        self.changes.announce(state.collector.change)

    @contextlib.contextmanager
    def _savepoint(self, outer: _OpenTransaction,
                   doing: str) -> Iterator[tuple[sqlite3.Connection, ChangeCollector]]:
        conn = self._conn
        outer.depth += 1
        name = f"nested_{outer.depth}"
        mark = len(outer.undo)
        collector = ChangeCollector()
        try:
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield conn, collector
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                outer.undo_from(mark)
                raise
            conn.execute(f"RELEASE {name}")
        except sqlite3.Error as exc:
            error = storage_error_from_sqlite(exc, doing)
            if error is None:
                raise
            raise error from exc
        finally:
            outer.depth -= 1
        outer.collector.change = outer.collector.change | collector.change

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Call ``undo`` if the transaction open now rolls back (e.g. remove an image file
        written for a record that will never be committed). Only inside ``transaction``."""
        if self._open is None:
            raise RuntimeError("on_rollback needs an open transaction")
        self._open.undo.append(undo)

    @staticmethod
    def one(conn: sqlite3.Connection, sql: str, args: Sequence[Any], what: str) -> sqlite3.Row:
        """The single row ``sql`` selects; ``RecordNotFoundError`` naming ``what`` if none."""
        row: sqlite3.Row | None = conn.execute(sql, args).fetchone()
        if row is None:
            raise RecordNotFoundError(f"The library has no {what}.")
        return row
