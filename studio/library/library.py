"""The local project library: one SQLite database plus content-addressed image files.

``Library`` opens the database core (:mod:`~studio.library.database`) and hands it to one object
per aggregate: ``projects``, ``characters`` (with their anchor versions), ``sheets`` (with their
scenes), ``renders`` (reading, search, verdicts, trash), ``jobs`` (the journal), ``files``
(images and thumbnails), ``references`` (the characters' reference images), ``faces`` (the
identity measure's cache) and ``maintenance`` (import and check). ``changes`` announces what
each committed write changed.

Opened on a data dir the caller resolves (``studio.runtime``). One ``Library`` may write at a
time (``library.lock``); a second one opens for viewing only, or waits, and says so in
``notice``. Every method is thread-safe and blocking: the GUI calls it from a worker thread.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .changes import Announcer
from .database import BusyPolicy, Database
from .files import Files
from .jobs import Jobs
from .projects import Characters, Projects
from .recording import Recorder
from .renders import Renders
from .sheets import Sheets
from .storage import FileWriter

if TYPE_CHECKING:
    from .faces import FaceAnalyses
    from .maintenance import Maintenance
    from .references import References

__all__ = ["BusyPolicy", "Library"]


class Library:
    """The user's archive of projects, characters, sheets, renders and jobs."""

    def __init__(self, db: Database, *, file_writer: FileWriter | None = None,
                 thumbnail_workers: int = 2) -> None:
        self.db = db
        self.files = Files(db.data_dir, file_writer=file_writer,
                           thumbnail_workers=thumbnail_workers)
        self._recorder = recorder = Recorder(db, self.files)
        self.projects = Projects(db)
        self.characters = Characters(db)
        self.sheets = Sheets(db)
        self.renders = Renders(db, self.files, recorder)
        self.jobs = Jobs(db, self.renders, recorder)
        if not db.read_only:
            self.files.prepare()

    # Made (and their modules imported) on first use: a render never needs them, and each
    # import is start-up time before its first request.

    @functools.cached_property
    def maintenance(self) -> Maintenance:
        from .maintenance import Maintenance

        return Maintenance(self.db, self.files, self.renders, self._recorder)

    @functools.cached_property
    def faces(self) -> FaceAnalyses:
        from .faces import FaceAnalyses

        return FaceAnalyses(self.db)

    @functools.cached_property
    def references(self) -> References:
        from .references import References

        return References(self.db, self.files)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        read_only: bool = False,
        if_busy: BusyPolicy = "read-only",
        wait_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
        file_writer: FileWriter | None = None,
        thumbnail_workers: int = 2,
    ) -> Library:
        """Open (creating and migrating as needed) the library in ``data_dir``.

        When another instance is writing: ``if_busy="read-only"`` opens for viewing with a
        ``notice``; ``"wait"`` waits up to ``wait_seconds`` then raises ``LibraryBusyError``;
        ``"fail"`` raises at once. A read-only data folder also opens for viewing.
        Raises ``LibraryVersionError`` for a database from a newer studio (left untouched) and
        ``LibraryStorageError`` when the folder or file cannot be used.
        """
        db = Database.open(Path(data_dir), read_only=read_only, if_busy=if_busy,
                           wait_seconds=wait_seconds, clock=clock)
        return cls(db, file_writer=file_writer, thumbnail_workers=thumbnail_workers)

    @property
    def data_dir(self) -> Path:
        return self.db.data_dir

    @property
    def notice(self) -> str:
        """Why this instance is read-only (empty when it may write). Show it to the user."""
        return self.db.notice

    @property
    def read_only(self) -> bool:
        return self.db.read_only

    @property
    def schema_version(self) -> int:
        return self.db.schema_version

    @property
    def changes(self) -> Announcer:
        """Subscribe here to hear of every committed write."""
        return self.db.changes

    def close(self) -> None:
        """Finish thumbnails in progress, close the database and let the next writer in."""
        if self.db.closed:
            return
        self.files.close()
        self.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
