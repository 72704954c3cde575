"""The local project library: one SQLite database plus content-addressed image files.

Opened on a data dir the caller resolves (``paths.default_data_dir``). One ``Library`` may write
at a time (``library.lock``); a second one opens for viewing only, or waits, and says so in
``notice``. Every method is thread-safe (one connection behind a lock) and blocking: the GUI
calls it from a worker thread.

Durability order for a new render: the image file is written and fsynced under its content
hash, *then* the record is committed (WAL, ``synchronous=FULL``). A crash in between leaves an
unrecorded file that ``check`` sets aside, never a record pointing at a missing file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from studio.core.request import Stage

from . import paths
from .errors import (
    ImageImportError,
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
from .metadata import (
    ImageParameters,
    MetadataError,
    embed_png_metadata,
    format_parameters,
    parse_parameters,
    read_exif_parameters,
    read_png_metadata,
)
from .models import (
    AnchorSpec,
    AnchorVersion,
    Approval,
    CharacterRecord,
    CheckReport,
    EmptiedTrash,
    ImportResult,
    JobRecord,
    JobState,
    ProjectRecord,
    RenderDraft,
    RenderFilter,
    RenderPage,
    RenderRecord,
    RenderResult,
    RenderStatus,
    SceneRecord,
    SceneSpec,
    SceneSuggestion,
    SheetCell,
    SheetRecord,
)
from .schema import MIGRATIONS, SCHEMA_VERSION
from .storage import FileWriter, ImageStore, content_hash, fsync_dir, sniff_format
from .thumbnails import ThumbnailCache

BusyPolicy = Literal["read-only", "wait", "fail"]

_UNFINISHED = (JobState.QUEUED, JobState.SUBMITTED, JobState.PROCESSING)
_RENDER_SELECT = (
    "SELECT r.*, i.path AS image_rel FROM renders r LEFT JOIN images i ON i.hash = r.image_hash"
)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _dt_opt(value: float | None) -> datetime | None:
    return None if value is None else _dt(value)


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for tag in tags:
        clean = " ".join(tag.split())
        if clean:
            seen.setdefault(clean, None)
    return tuple(seen)


def fts_query(text: str) -> str | None:
    """User text as a safe FTS5 query: every word must match, the last one as a prefix."""
    words = _WORD_RE.findall(text)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _draft_to_json(draft: RenderDraft) -> str:
    data = dataclasses.asdict(draft)
    data["stage"] = draft.stage.value
    data["tags"] = list(draft.tags)
    return json.dumps(data, sort_keys=True)


def _draft_from_json(text: str) -> RenderDraft:
    data = json.loads(text)
    names = {f.name for f in dataclasses.fields(RenderDraft)}
    data = {k: v for k, v in data.items() if k in names}
    data["stage"] = Stage(data["stage"])
    data["tags"] = tuple(data.get("tags", ()))
    return RenderDraft(**data)


class Library:
    """The user's archive of projects, characters, sheets, renders and jobs."""

    def __init__(
        self,
        data_dir: Path,
        conn: sqlite3.Connection,
        lock: WriterLock | None,
        *,
        notice: str,
        clock: Callable[[], float],
        file_writer: FileWriter | None,
        thumbnail_workers: int,
    ) -> None:
        self.data_dir = data_dir
        self._conn = conn
        self._writer_lock = lock
        #: Why this instance is read-only (empty when it may write). Show it to the user.
        self.notice = notice
        self._clock = clock
        self._lock = threading.RLock()
        self._images = ImageStore(
            data_dir / paths.IMAGES_DIR, data_dir / paths.TMP_DIR, file_writer
        )
        self.thumbnails = ThumbnailCache(
            data_dir / paths.THUMBS_DIR, data_dir / paths.TMP_DIR, workers=thumbnail_workers
        )
        self._closed = False

    # ------------------------------------------------------------------ opening and closing

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
        data_dir = Path(data_dir)
        db_path = data_dir / paths.DATABASE_NAME
        notice = ""
        lock: WriterLock | None = None
        folder_writable = True
        if read_only:
            notice = f"The library in {data_dir} is open for viewing only."
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
        library = cls(
            data_dir,
            conn,
            lock,
            notice=notice,
            clock=clock,
            file_writer=file_writer,
            thumbnail_workers=thumbnail_workers,
        )
        if lock is not None:
            for folder in (paths.IMAGES_DIR, paths.THUMBS_DIR, paths.TMP_DIR):
                with contextlib.suppress(OSError):  # a full disk shows up on the first save
                    (data_dir / folder).mkdir(exist_ok=True)
            library._remove_temp_files()
        return library

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
                        f"The library in {db_path.parent} needs upgrading, which cannot happen "
                        "while it is open for viewing only; close the other studio window.",
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
            for number, statements in enumerate(MIGRATIONS, start=1):
                if number <= version:
                    continue
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
    def schema_version(self) -> int:
        with self._read("read the library version") as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Finish thumbnails in progress, close the database and let the next writer in."""
        if self._closed:
            return
        self._closed = True
        self.thumbnails.close()
        with self._lock:
            if self._writer_lock is not None:
                # Keeps the query planner's statistics current as the library grows; cheap.
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA optimize")
            self._conn.close()
        if self._writer_lock is not None:
            self._writer_lock.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _read(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
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
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; storage failures become ``LibraryStorageError``."""
        if self._writer_lock is None:
            raise LibraryReadOnlyError(f"Could not {doing}: {self.notice}")
        with self._lock:
            if self._closed:
                raise LibraryError("The library is closed.")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                error = storage_error_from_sqlite(exc, doing)
                if error is None:
                    raise
                raise error from exc

    def _now(self) -> float:
        return self._clock()

    def _remove_temp_files(self) -> int:
        removed = 0
        for path in self._images.temp_files():
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed

    @staticmethod
    def _one(conn: sqlite3.Connection, sql: str, args: Sequence[Any], what: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(sql, args).fetchone()
        if row is None:
            raise RecordNotFoundError(f"The library has no {what}.")
        return row

    # ------------------------------------------------------------------ projects

    @staticmethod
    def _project(row: sqlite3.Row) -> ProjectRecord:
        count = row["render_count"] if "render_count" in row.keys() else 0  # noqa: SIM118
        return ProjectRecord(
            id=row["id"],
            name=row["name"],
            created=_dt(row["created"]),
            notes=row["notes"],
            render_count=count,
        )

    def ensure_project(self, name: str) -> ProjectRecord:
        """The project called ``name``, created if new."""
        name = name.strip()
        if not name:
            raise ValueError("a project needs a name")
        with self._transaction(f"create the project {name!r}") as conn:
            conn.execute(
                "INSERT INTO projects (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, self._now()),
            )
            row = self._one(conn, "SELECT * FROM projects WHERE name = ?", (name,), "project")
        return self._project(row)

    def project(self, project_id: int) -> ProjectRecord:
        with self._read("read a project") as conn:
            row = self._one(
                conn, "SELECT * FROM projects WHERE id = ?", (project_id,), f"project {project_id}"
            )
        return self._project(row)

    def project_by_name(self, name: str) -> ProjectRecord | None:
        with self._read("read a project") as conn:
            row = conn.execute("SELECT * FROM projects WHERE name = ?", (name,)).fetchone()
        return None if row is None else self._project(row)

    def projects(self) -> list[ProjectRecord]:
        """Every project with its number of live renders, by name."""
        with self._read("list projects") as conn:
            rows = conn.execute(
                "SELECT p.*, (SELECT COUNT(*) FROM renders r WHERE r.project_id = p.id "
                "AND r.trashed IS NULL) AS render_count FROM projects p ORDER BY p.name"
            ).fetchall()
        return [self._project(row) for row in rows]

    # ------------------------------------------------------------------ characters and anchors

    @staticmethod
    def _character(row: sqlite3.Row) -> CharacterRecord:
        return CharacterRecord(
            id=row["id"],
            project_id=row["project_id"],
            name=row["name"],
            created=_dt(row["created"]),
        )

    @staticmethod
    def _anchor(row: sqlite3.Row) -> AnchorVersion:
        return AnchorVersion(
            id=row["id"],
            character_id=row["character_id"],
            version=row["version"],
            anchor=row["anchor"],
            fields=json.loads(row["fields"]),
            seed=row["seed"],
            negative=row["negative"],
            created=_dt(row["created"]),
        )

    def ensure_character(self, project_id: int, name: str) -> CharacterRecord:
        name = name.strip()
        if not name:
            raise ValueError("a character needs a name")
        with self._transaction(f"create the character {name!r}") as conn:
            self._one(conn, "SELECT id FROM projects WHERE id = ?", (project_id,), "such project")
            conn.execute(
                "INSERT INTO characters (project_id, name, created) VALUES (?, ?, ?) "
                "ON CONFLICT (project_id, name) DO NOTHING",
                (project_id, name, self._now()),
            )
            row = self._one(
                conn,
                "SELECT * FROM characters WHERE project_id = ? AND name = ?",
                (project_id, name),
                "character",
            )
        return self._character(row)

    def characters(self, project_id: int) -> list[CharacterRecord]:
        with self._read("list characters") as conn:
            rows = conn.execute(
                "SELECT * FROM characters WHERE project_id = ? ORDER BY name", (project_id,)
            ).fetchall()
        return [self._character(row) for row in rows]

    def save_anchor(self, character_id: int, spec: AnchorSpec) -> AnchorVersion:
        """Record the character's anchor: a new version if it differs from the latest one,
        else the latest version unchanged."""
        fields = json.dumps(dict(spec.fields), sort_keys=True)
        with self._transaction("save the character's anchor") as conn:
            self._one(
                conn, "SELECT id FROM characters WHERE id = ?", (character_id,), "such character"
            )
            latest = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (character_id,),
            ).fetchone()
            if latest is not None and (
                latest["anchor"],
                latest["fields"],
                latest["seed"],
                latest["negative"],
            ) == (spec.anchor, fields, spec.seed, spec.negative):
                return self._anchor(latest)
            version = 1 if latest is None else latest["version"] + 1
            cursor = conn.execute(
                "INSERT INTO anchor_versions (character_id, version, anchor, fields, seed, "
                "negative, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (character_id, version, spec.anchor, fields, spec.seed, spec.negative, self._now()),
            )
            row = self._one(
                conn, "SELECT * FROM anchor_versions WHERE id = ?", (cursor.lastrowid,), "anchor"
            )
        return self._anchor(row)

    def latest_anchor_version(self, character_id: int) -> AnchorVersion | None:
        with self._read("read the anchor") as conn:
            row = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (character_id,),
            ).fetchone()
        return None if row is None else self._anchor(row)

    def anchor_versions(self, character_id: int) -> list[AnchorVersion]:
        """Every version of the character's anchor, oldest first."""
        with self._read("read the anchor history") as conn:
            rows = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? ORDER BY version",
                (character_id,),
            ).fetchall()
        return [self._anchor(row) for row in rows]

    def anchor_version(self, anchor_version_id: int) -> AnchorVersion:
        with self._read("read the anchor") as conn:
            row = self._one(
                conn,
                "SELECT * FROM anchor_versions WHERE id = ?",
                (anchor_version_id,),
                f"anchor version {anchor_version_id}",
            )
        return self._anchor(row)

    # ------------------------------------------------------------------ sheets and scenes

    @staticmethod
    def _sheet(row: sqlite3.Row) -> SheetRecord:
        return SheetRecord(
            id=row["id"],
            project_id=row["project_id"],
            name=row["name"],
            path=row["path"],
            character_id=row["character_id"],
            created=_dt(row["created"]),
        )

    @staticmethod
    def _scene(row: sqlite3.Row) -> SceneRecord:
        return SceneRecord(
            id=row["id"],
            sheet_id=row["sheet_id"],
            name=row["name"],
            position=row["position"],
            setting=row["setting"],
            lighting=row["lighting"],
            lens=row["lens"],
            framing=row["framing"],
            notes=row["notes"],
            text_hash=row["text_hash"],
        )

    def save_sheet(
        self, project_id: int, name: str, path: str = "", character_id: int | None = None
    ) -> SheetRecord:
        """The sheet called ``name`` in the project, created or updated (path, character)."""
        with self._transaction(f"save the sheet {name!r}") as conn:
            self._one(conn, "SELECT id FROM projects WHERE id = ?", (project_id,), "such project")
            conn.execute(
                "INSERT INTO sheets (project_id, name, path, character_id, created) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, name) DO UPDATE SET "
                "path = excluded.path, character_id = excluded.character_id",
                (project_id, name, path, character_id, self._now()),
            )
            row = self._one(
                conn,
                "SELECT * FROM sheets WHERE project_id = ? AND name = ?",
                (project_id, name),
                "sheet",
            )
        return self._sheet(row)

    def move_sheet(self, sheet_id: int, name: str, path: str) -> SheetRecord:
        """Give a sheet a new name and file ("Save as"): its scenes and renders go with it.

        When the project already has a sheet of that name (an older file saved there before),
        that record gives way: its name is freed by suffixing its id, its renders are kept.
        """
        with self._transaction(f"move the sheet to {name!r}") as conn:
            row = self._one(conn, "SELECT * FROM sheets WHERE id = ?", (sheet_id,),
                            f"sheet {sheet_id}")
            clash = conn.execute(
                "SELECT id FROM sheets WHERE project_id = ? AND name = ? AND id != ?",
                (row["project_id"], name, sheet_id),
            ).fetchone()
            if clash is not None:
                conn.execute("UPDATE sheets SET name = name || ' (' || id || ')', path = '' "
                             "WHERE id = ?", (clash["id"],))
            conn.execute("UPDATE sheets SET name = ?, path = ? WHERE id = ?",
                         (name, path, sheet_id))
            row = self._one(conn, "SELECT * FROM sheets WHERE id = ?", (sheet_id,),
                            f"sheet {sheet_id}")
        return self._sheet(row)

    def sheet_for_file(self, path: str) -> SheetRecord | None:
        """The sheet saved with this file path (the most recent if several projects have it).

        Store and look up the same form of the path (``str(Path(...).resolve())``).
        """
        with self._read("find the sheet") as conn:
            row = conn.execute(
                "SELECT * FROM sheets WHERE path = ? ORDER BY id DESC LIMIT 1", (path,)
            ).fetchone()
        return None if row is None else self._sheet(row)

    def sheet(self, sheet_id: int) -> SheetRecord:
        with self._read("read a sheet") as conn:
            row = self._one(
                conn, "SELECT * FROM sheets WHERE id = ?", (sheet_id,), f"sheet {sheet_id}"
            )
        return self._sheet(row)

    def sheets(self, project_id: int) -> list[SheetRecord]:
        with self._read("list sheets") as conn:
            rows = conn.execute(
                "SELECT * FROM sheets WHERE project_id = ? ORDER BY name", (project_id,)
            ).fetchall()
        return [self._sheet(row) for row in rows]

    def sync_scenes(self, sheet_id: int, scenes: Sequence[SceneSpec]) -> list[SceneRecord]:
        """Make the sheet's scenes these, in this order, matched by name: a kept scene keeps its
        id (and its renders); a scene no longer listed is removed (its renders stay, unlinked)."""
        names = [s.name for s in scenes]
        if len(set(names)) != len(names):
            raise ValueError("two scenes of one sheet have the same name")
        with self._transaction("save the sheet's scenes") as conn:
            self._one(conn, "SELECT id FROM sheets WHERE id = ?", (sheet_id,), "such sheet")
            existing = {
                row["name"]: row["id"]
                for row in conn.execute(
                    "SELECT id, name FROM scenes WHERE sheet_id = ?", (sheet_id,)
                )
            }
            for name, scene_id in existing.items():
                if name not in names:
                    conn.execute("DELETE FROM scenes WHERE id = ?", (scene_id,))
            for position, spec in enumerate(scenes):
                values = (
                    position,
                    spec.setting,
                    spec.lighting,
                    spec.lens,
                    spec.framing,
                    spec.notes,
                    spec.text_hash,
                )
                if spec.name in existing:
                    conn.execute(
                        "UPDATE scenes SET position = ?, setting = ?, lighting = ?, lens = ?, "
                        "framing = ?, notes = ?, text_hash = ? WHERE id = ?",
                        (*values, existing[spec.name]),
                    )
                else:
                    conn.execute(
                        "INSERT INTO scenes (sheet_id, name, position, setting, lighting, lens, "
                        "framing, notes, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (sheet_id, spec.name, *values),
                    )
            rows = conn.execute(
                "SELECT * FROM scenes WHERE sheet_id = ? ORDER BY position", (sheet_id,)
            ).fetchall()
        return [self._scene(row) for row in rows]

    def scenes(self, sheet_id: int) -> list[SceneRecord]:
        with self._read("list scenes") as conn:
            rows = conn.execute(
                "SELECT * FROM scenes WHERE sheet_id = ? ORDER BY position", (sheet_id,)
            ).fetchall()
        return [self._scene(row) for row in rows]

    def scene(self, scene_id: int) -> SceneRecord:
        with self._read("read a scene") as conn:
            row = self._one(
                conn, "SELECT * FROM scenes WHERE id = ?", (scene_id,), f"scene {scene_id}"
            )
        return self._scene(row)

    # ------------------------------------------------------------------ renders: reading

    def _render(self, row: sqlite3.Row) -> RenderRecord:
        rel = row["image_rel"]
        image_hash = row["image_hash"]
        return RenderRecord(
            id=row["id"],
            project_id=row["project_id"],
            stage=Stage(row["stage"]),
            provider=row["provider"],
            model=row["model"],
            request_id=row["request_id"],
            prompt=row["prompt"],
            negative=row["negative"],
            width=row["width"],
            height=row["height"],
            steps=row["steps"],
            guidance=row["guidance"],
            seed_requested=row["seed_requested"],
            seed_returned=row["seed_returned"],
            timings=json.loads(row["timings"]),
            cost=row["cost"],
            status=RenderStatus(row["status"]),
            error=row["error"],
            parent_id=row["parent_id"],
            approval=Approval(row["approval"]),
            star=bool(row["star"]),
            tags=tuple(json.loads(row["tags"])),
            sheet_id=row["sheet_id"],
            scene_id=row["scene_id"],
            character_id=row["character_id"],
            anchor_version_id=row["anchor_version_id"],
            scene_name=row["scene_name"],
            character_name=row["character_name"],
            scene_text_hash=row["scene_text_hash"],
            notes=row["notes"],
            image_hash=image_hash,
            image_path=None if rel is None else self._images.path(rel),
            thumbnail_path=None if image_hash is None else self.thumbnails.path_for(image_hash),
            created=_dt(row["created"]),
            trashed=_dt_opt(row["trashed"]),
            source=row["source"],
        )

    def render(self, render_id: int) -> RenderRecord:
        with self._read("read a render") as conn:
            row = self._one(
                conn, f"{_RENDER_SELECT} WHERE r.id = ?", (render_id,), f"render {render_id}"
            )
        return self._render(row)

    def list_renders(
        self, where: RenderFilter | None = None, *, limit: int = 200, offset: int = 0
    ) -> RenderPage:
        """Renders matching ``where``, newest first, one page at a time."""
        where = where or RenderFilter()
        clauses = ["r.trashed IS NOT NULL" if where.trashed else "r.trashed IS NULL"]
        args: list[Any] = []
        equal: list[tuple[str, Any]] = [
            ("r.project_id", where.project_id),
            ("r.character_id", where.character_id),
            ("r.sheet_id", where.sheet_id),
            ("r.scene_id", where.scene_id),
            ("r.stage", None if where.stage is None else where.stage.value),
            ("r.provider", where.provider),
            ("r.approval", None if where.approval is None else where.approval.value),
            ("r.status", None if where.status is None else where.status.value),
            ("r.star", None if where.starred is None else int(where.starred)),
        ]
        for column, value in equal:
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if where.since is not None:
            clauses.append("r.created >= ?")
            args.append(where.since.timestamp())
        if where.until is not None:
            clauses.append("r.created < ?")
            args.append(where.until.timestamp())
        if where.tag is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(r.tags) WHERE value = ?)")
            args.append(where.tag)
        query = fts_query(where.text) if where.text else None
        if query is not None:
            clauses.append("r.id IN (SELECT rowid FROM renders_fts WHERE renders_fts MATCH ?)")
            args.append(query)
        sql = (
            f"{_RENDER_SELECT} WHERE {' AND '.join(clauses)} "
            "ORDER BY r.created DESC, r.id DESC LIMIT ? OFFSET ?"
        )
        with self._read("list renders") as conn:
            rows = conn.execute(sql, (*args, limit + 1, offset)).fetchall()
        items = tuple(self._render(row) for row in rows[:limit])
        return RenderPage(items, offset + limit if len(rows) > limit else None)

    def search(
        self, text: str, where: RenderFilter | None = None, *, limit: int = 200, offset: int = 0
    ) -> RenderPage:
        """Full-text search over prompts, scene and character names, notes and tags."""
        base = where or RenderFilter()
        return self.list_renders(dataclasses.replace(base, text=text), limit=limit, offset=offset)

    def sheet_cells(self, sheet_id: int) -> list[SheetCell]:
        """For each scene of the sheet and each stage, its latest successful live render and
        whether it is out of date (older anchor version, or scene text changed since)."""
        with self._read("read the sheet's renders") as conn:
            scenes = {
                row["id"]: self._scene(row)
                for row in conn.execute("SELECT * FROM scenes WHERE sheet_id = ?", (sheet_id,))
            }
            rows = conn.execute(
                "SELECT * FROM (SELECT r.*, i.path AS image_rel, ROW_NUMBER() OVER ("
                "PARTITION BY r.scene_id, r.stage ORDER BY r.created DESC, r.id DESC) AS rn "
                "FROM renders r LEFT JOIN images i ON i.hash = r.image_hash "
                "WHERE r.sheet_id = ? AND r.scene_id IS NOT NULL AND r.trashed IS NULL "
                "AND r.status = 'ok') WHERE rn = 1",
                (sheet_id,),
            ).fetchall()
            latest = self._latest_anchor_ids(conn)
        cells = [
            SheetCell(
                scene=scenes[row["scene_id"]],
                stage=Stage(row["stage"]),
                render=(render := self._render(row)),
                out_of_date=self._staleness(render, scenes[row["scene_id"]], latest),
            )
            for row in rows
            if row["scene_id"] in scenes
        ]
        order = {Stage.PREVIEW: 0, Stage.FINAL: 1}
        cells.sort(key=lambda c: (c.scene.position, order[c.stage]))
        return cells

    @staticmethod
    def _latest_anchor_ids(conn: sqlite3.Connection) -> dict[int, int]:
        return {
            row[0]: row[1]
            for row in conn.execute(
                "SELECT character_id, id FROM anchor_versions a WHERE version = "
                "(SELECT MAX(version) FROM anchor_versions b WHERE b.character_id = a.character_id)"
            )
        }

    @staticmethod
    def _staleness(
        render: RenderRecord, scene: SceneRecord | None, latest: Mapping[int, int]
    ) -> tuple[str, ...]:
        reasons: list[str] = []
        if (
            render.anchor_version_id is not None
            and render.character_id is not None
            and latest.get(render.character_id, render.anchor_version_id)
            != render.anchor_version_id
        ):
            reasons.append("anchor")
        if (
            scene is not None
            and render.scene_text_hash is not None
            and render.scene_text_hash != scene.text_hash
        ):
            reasons.append("scene")
        return tuple(reasons)

    def out_of_date(self, render: RenderRecord) -> tuple[str, ...]:
        """Why ``render`` no longer matches its character and scene: "anchor", "scene", or ()."""
        with self._read("check whether a render is out of date") as conn:
            latest = self._latest_anchor_ids(conn)
            row = (
                None
                if render.scene_id is None
                else conn.execute(
                    "SELECT * FROM scenes WHERE id = ?", (render.scene_id,)
                ).fetchone()
            )
        return self._staleness(render, None if row is None else self._scene(row), latest)

    # ------------------------------------------------------------------ renders: writing

    def _context(self, conn: sqlite3.Connection, draft: RenderDraft) -> dict[str, Any]:
        """Ids and names the record and the image's JSON chunk need, checked to exist."""
        ctx: dict[str, Any] = {"character_id": None, "character_name": draft.character_name}
        project = self._one(
            conn, "SELECT name FROM projects WHERE id = ?", (draft.project_id,), "such project"
        )
        ctx["project"] = project["name"]
        ctx["sheet"] = None
        if draft.sheet_id is not None:
            sheet = self._one(
                conn, "SELECT name FROM sheets WHERE id = ?", (draft.sheet_id,), "such sheet"
            )
            ctx["sheet"] = sheet["name"]
        ctx["scene_name"] = draft.scene_name
        ctx["scene_text_hash"] = draft.scene_text_hash
        if draft.scene_id is not None:
            scene = self._one(
                conn, "SELECT * FROM scenes WHERE id = ?", (draft.scene_id,), "such scene"
            )
            ctx["scene_name"] = draft.scene_name or scene["name"]
            if draft.scene_text_hash is None:
                ctx["scene_text_hash"] = scene["text_hash"]
        ctx["anchor"] = None
        if draft.anchor_version_id is not None:
            anchor = self._one(
                conn,
                "SELECT a.*, c.name AS character_name FROM anchor_versions a "
                "JOIN characters c ON c.id = a.character_id WHERE a.id = ?",
                (draft.anchor_version_id,),
                "such anchor version",
            )
            ctx["character_id"] = anchor["character_id"]
            ctx["character_name"] = draft.character_name or anchor["character_name"]
            ctx["anchor"] = {
                "id": anchor["id"],
                "version": anchor["version"],
                "anchor": anchor["anchor"],
            }
        if draft.parent_id is not None:
            self._one(
                conn, "SELECT id FROM renders WHERE id = ?", (draft.parent_id,), "such preview"
            )
        return ctx

    @staticmethod
    def _studio_record(
        draft: RenderDraft, result: RenderResult, ctx: Mapping[str, Any], source: str
    ) -> dict[str, Any]:
        """The ``studio`` chunk: settings and context only, never a key or a URL."""
        return {
            "stage": draft.stage.value,
            "provider": draft.provider,
            "model": draft.model,
            "request_id": result.request_id,
            "prompt": draft.prompt,
            "negative": draft.negative,
            "width": draft.width,
            "height": draft.height,
            "steps": draft.steps,
            "guidance": draft.guidance,
            "seed_requested": draft.seed_requested,
            "seed_returned": result.seed_returned,
            "project": ctx["project"],
            "sheet": ctx["sheet"],
            "scene": {
                "id": draft.scene_id,
                "name": ctx["scene_name"],
                "text_hash": ctx["scene_text_hash"],
            },
            "character": ctx["character_name"],
            "anchor_version": ctx["anchor"],
            "parent_render_id": draft.parent_id,
            "source": source,
        }

    def _prepare_image(
        self,
        image: bytes,
        draft: RenderDraft,
        result: RenderResult,
        ctx: Mapping[str, Any],
        source: str,
        parameters: str | None = None,
    ) -> tuple[bytes, str]:
        fmt = sniff_format(image)
        if not fmt:
            raise ImageImportError(
                "The image is not a PNG, JPEG, WebP or GIF file; it was not stored."
            )
        if fmt == "PNG":
            if parameters is None:
                seed = result.seed_returned
                seed = seed if seed is not None else draft.seed_requested
                known = source != "import"  # an import without settings has no steps or CFG
                parameters = format_parameters(
                    ImageParameters(
                        prompt=draft.prompt,
                        negative=draft.negative,
                        steps=draft.steps if known or draft.steps else None,
                        guidance=draft.guidance if known or draft.guidance else None,
                        seed=seed,
                        width=draft.width,
                        height=draft.height,
                        model=draft.model,
                        provider=draft.provider,
                    )
                )
            try:
                image = embed_png_metadata(
                    image, parameters, self._studio_record(draft, result, ctx, source)
                )
            except MetadataError as exc:
                raise ImageImportError(
                    f"The PNG image is damaged ({exc}); it was not stored."
                ) from exc
        return image, fmt

    def _insert_render(
        self,
        conn: sqlite3.Connection,
        draft: RenderDraft,
        result: RenderResult,
        ctx: Mapping[str, Any],
        *,
        status: RenderStatus,
        error: str,
        image: tuple[str, str, str, int] | None,
        source: str,
    ) -> int:
        now = self._now()
        image_hash = None
        if image is not None:
            image_hash, relative, fmt, size = image
            conn.execute(
                "INSERT INTO images (hash, path, format, bytes, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (hash) DO NOTHING",
                (image_hash, relative, fmt, size, now),
            )
            conn.execute("DELETE FROM deleted_images WHERE path = ?", (relative,))
        cursor = conn.execute(
            "INSERT INTO renders (project_id, sheet_id, scene_id, character_id, "
            "anchor_version_id, parent_id, stage, provider, model, request_id, prompt, negative, "
            "width, height, steps, guidance, seed_requested, seed_returned, timings, cost, "
            "status, error, tags, scene_name, character_name, scene_text_hash, notes, "
            "image_hash, source, created) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?)",
            (
                draft.project_id,
                draft.sheet_id,
                draft.scene_id,
                ctx["character_id"],
                draft.anchor_version_id,
                draft.parent_id,
                draft.stage.value,
                draft.provider,
                draft.model,
                result.request_id,
                draft.prompt,
                draft.negative,
                draft.width,
                draft.height,
                draft.steps,
                draft.guidance,
                draft.seed_requested,
                result.seed_returned,
                json.dumps(dict(result.timings), sort_keys=True),
                result.cost,
                status.value,
                error,
                json.dumps(list(_tags(draft.tags))),
                ctx["scene_name"],
                ctx["character_name"],
                ctx["scene_text_hash"],
                draft.notes,
                image_hash,
                source,
                now,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _store_and_record(
        self,
        draft: RenderDraft,
        image: bytes,
        result: RenderResult,
        *,
        source: str = "studio",
        job_id: int | None = None,
        parameters: str | None = None,
    ) -> RenderRecord:
        if self._writer_lock is None:
            raise LibraryReadOnlyError(f"Could not save the render: {self.notice}")
        with self._lock:
            with self._read("save the render") as conn:
                ctx = self._context(conn, draft)
            data, fmt = self._prepare_image(image, draft, result, ctx, source, parameters)
            # The file is durable before any record points at it.
            digest, relative, created = self._images.store(data, fmt)
            try:
                with self._transaction("save the render") as conn:
                    render_id = self._insert_render(
                        conn,
                        draft,
                        result,
                        ctx,
                        status=RenderStatus.OK,
                        error="",
                        image=(digest, relative, fmt, len(data)),
                        source=source,
                    )
                    if job_id is not None:
                        conn.execute(
                            "UPDATE jobs SET state = 'done', render_id = ?, error = '', "
                            "updated = ? WHERE id = ?",
                            (render_id, self._now(), job_id),
                        )
            except BaseException:
                # Not recorded, and the caller is told so: don't leave the file on a full disk.
                if created:
                    self._images.remove(relative)
                raise
            return self.render(render_id)

    def record_render(
        self, draft: RenderDraft, image: bytes, result: RenderResult | None = None
    ) -> RenderRecord:
        """Store a finished render: the image (PNG as-is or with its metadata chunks added;
        JPEG/WebP/GIF as returned) and its record, in that order. Returns the record once it is
        committed."""
        return self._store_and_record(draft, image, result or RenderResult())

    def record_failure(
        self, draft: RenderDraft, error: str, result: RenderResult | None = None
    ) -> RenderRecord:
        """Keep a failed render's settings and reason (no image)."""
        with self._lock:
            with self._read("save the failed render") as conn:
                ctx = self._context(conn, draft)
            with self._transaction("save the failed render") as conn:
                render_id = self._insert_render(
                    conn,
                    draft,
                    result or RenderResult(),
                    ctx,
                    status=RenderStatus.FAILED,
                    error=error,
                    image=None,
                    source="studio",
                )
            return self.render(render_id)

    def set_approval(self, render_ids: Iterable[int], approval: Approval) -> None:
        self._update_renders(render_ids, "approval = ?", (approval.value,), "set the approval")

    def set_star(self, render_ids: Iterable[int], star: bool) -> None:
        self._update_renders(render_ids, "star = ?", (int(star),), "star the render")

    def set_tags(self, render_id: int, tags: Iterable[str]) -> None:
        self._update_renders(
            (render_id,), "tags = ?", (json.dumps(list(_tags(tags))),), "tag the render"
        )

    def set_notes(self, render_id: int, notes: str) -> None:
        self._update_renders((render_id,), "notes = ?", (notes,), "save the notes")

    def _update_renders(
        self, render_ids: Iterable[int], assignment: str, values: Sequence[Any], doing: str
    ) -> int:
        ids = list(render_ids)
        with self._transaction(doing) as conn:
            changed = 0
            for render_id in ids:
                cursor = conn.execute(
                    f"UPDATE renders SET {assignment} WHERE id = ?", (*values, render_id)
                )
                if cursor.rowcount == 0:
                    raise RecordNotFoundError(f"The library has no render {render_id}.")
                changed += cursor.rowcount
        return changed

    # ------------------------------------------------------------------ trash

    def trash(self, render_ids: Iterable[int]) -> None:
        """Move renders to the trash (kept, with their images, until the trash is emptied)."""
        self._update_renders(
            render_ids, "trashed = COALESCE(trashed, ?)", (self._now(),), "move to the trash"
        )

    def restore(self, render_ids: Iterable[int]) -> None:
        self._update_renders(render_ids, "trashed = NULL", (), "restore from the trash")

    def empty_trash(self) -> EmptiedTrash:
        """Delete trashed renders for good, and the image files no remaining record uses.

        The records go first (with a tombstone per file), then the files: a crash in between
        leaves files that ``check`` knows it may delete.
        """
        with self._lock:
            with self._transaction("empty the trash") as conn:
                cursor = conn.execute("DELETE FROM renders WHERE trashed IS NOT NULL")
                removed = cursor.rowcount
                unused = conn.execute(
                    "SELECT hash, path FROM images i WHERE NOT EXISTS "
                    "(SELECT 1 FROM renders r WHERE r.image_hash = i.hash)"
                ).fetchall()
                for row in unused:
                    conn.execute(
                        "INSERT OR IGNORE INTO deleted_images (path) VALUES (?)", (row["path"],)
                    )
                    conn.execute("DELETE FROM images WHERE hash = ?", (row["hash"],))
            for row in unused:
                self._images.remove(row["path"])
                self.thumbnails.remove(row["hash"])
            if unused:
                with self._transaction("empty the trash") as conn:
                    conn.executemany(
                        "DELETE FROM deleted_images WHERE path = ?",
                        [(row["path"],) for row in unused],
                    )
        return EmptiedTrash(renders_removed=removed, files_removed=len(unused))

    # ------------------------------------------------------------------ thumbnails

    def thumbnail(self, render: RenderRecord) -> Future[Path]:
        """The render's 256 px thumbnail, made on a worker thread if not cached yet."""
        if render.image_hash is None or render.image_path is None:
            failed: Future[Path] = Future()
            failed.set_exception(LibraryError(f"Render {render.id} has no image."))
            return failed
        return self.thumbnails.ensure(render.image_hash, render.image_path)

    # ------------------------------------------------------------------ jobs

    @staticmethod
    def _job(row: sqlite3.Row) -> JobRecord:
        return JobRecord(
            id=row["id"],
            draft=_draft_from_json(row["draft"]),
            request=json.loads(row["request"]),
            state=JobState(row["state"]),
            provider_request_id=row["provider_request_id"],
            poll_url=row["poll_url"],
            submission=json.loads(row["submission"]),
            attempts=row["attempts"],
            error=row["error"],
            render_id=row["render_id"],
            created=_dt(row["created"]),
            updated=_dt(row["updated"]),
        )

    def create_job(self, draft: RenderDraft, request: Mapping[str, Any]) -> JobRecord:
        """Record a job before anything is sent, so a crash after sending can resume it."""
        with self._lock:
            with self._read("queue the job") as conn:
                self._context(conn, draft)
            now = self._now()
            with self._transaction("queue the job") as conn:
                cursor = conn.execute(
                    "INSERT INTO jobs (draft, request, provider, model, state, created, updated) "
                    "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                    (
                        _draft_to_json(draft),
                        json.dumps(dict(request), sort_keys=True),
                        draft.provider,
                        draft.model,
                        now,
                        now,
                    ),
                )
                job_id = cursor.lastrowid
            assert job_id is not None
            return self.job(job_id)

    def job(self, job_id: int) -> JobRecord:
        with self._read("read a job") as conn:
            row = self._one(conn, "SELECT * FROM jobs WHERE id = ?", (job_id,), f"job {job_id}")
        return self._job(row)

    def unfinished_jobs(self) -> list[JobRecord]:
        """Jobs queued or sent but not done, failed or cancelled, oldest first: resume these."""
        with self._read("list unfinished jobs") as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE state IN ('queued', 'submitted', 'processing') "
                "ORDER BY id"
            ).fetchall()
        return [self._job(row) for row in rows]

    def _update_job(self, job_id: int, doing: str, assignment: str, values: Sequence[Any]) -> None:
        with self._transaction(doing) as conn:
            row = self._one(conn, "SELECT state FROM jobs WHERE id = ?", (job_id,), f"job {job_id}")
            if JobState(row["state"]).finished:
                raise LibraryError(f"Job {job_id} is already {row['state']}.")
            conn.execute(
                f"UPDATE jobs SET {assignment}, updated = ? WHERE id = ?",
                (*values, self._now(), job_id),
            )

    def mark_submitted(
        self,
        job_id: int,
        *,
        provider_request_id: str,
        poll_url: str = "",
        submission: Mapping[str, Any] | None = None,
    ) -> JobRecord:
        """The provider accepted the job: keep what is needed to poll it after a crash."""
        self._update_job(
            job_id,
            "record the submitted job",
            "state = 'submitted', provider_request_id = ?, poll_url = ?, submission = ?, "
            "attempts = attempts + 1",
            (provider_request_id, poll_url, json.dumps(dict(submission or {}), sort_keys=True)),
        )
        return self.job(job_id)

    def update_job_state(self, job_id: int, state: JobState, *, error: str = "") -> JobRecord:
        """Move an unfinished job to queued/submitted/processing (use complete/fail/cancel to
        finish it)."""
        if state.finished:
            raise ValueError("finish a job with complete_job, fail_job or cancel_job")
        self._update_job(job_id, "update the job", "state = ?, error = ?", (state.value, error))
        return self.job(job_id)

    def complete_job(
        self, job_id: int, image: bytes, result: RenderResult | None = None
    ) -> RenderRecord:
        """Store the job's image and render record and mark the job done, in one transaction
        after the file is durable. Completing a job already done returns its render."""
        with self._lock:
            job = self.job(job_id)
            if job.state is JobState.DONE and job.render_id is not None:
                return self.render(job.render_id)
            if job.state.finished:
                raise LibraryError(f"Job {job_id} is already {job.state.value}.")
            result = result or RenderResult()
            if not result.request_id:
                result = dataclasses.replace(result, request_id=job.provider_request_id)
            return self._store_and_record(job.draft, image, result, job_id=job_id)

    def fail_job(self, job_id: int, error: str, result: RenderResult | None = None) -> RenderRecord:
        """Mark the job failed and keep a failed render with its settings and the reason."""
        with self._lock:
            job = self.job(job_id)
            if job.state.finished:
                raise LibraryError(f"Job {job_id} is already {job.state.value}.")
            with self._read("save the failed render") as conn:
                ctx = self._context(conn, job.draft)
            with self._transaction("save the failed render") as conn:
                render_id = self._insert_render(
                    conn,
                    job.draft,
                    result or RenderResult(request_id=job.provider_request_id),
                    ctx,
                    status=RenderStatus.FAILED,
                    error=error,
                    image=None,
                    source="studio",
                )
                conn.execute(
                    "UPDATE jobs SET state = 'failed', error = ?, render_id = ?, updated = ? "
                    "WHERE id = ?",
                    (error, render_id, self._now(), job_id),
                )
            return self.render(render_id)

    def cancel_job(self, job_id: int) -> JobRecord:
        self._update_job(job_id, "cancel the job", "state = 'cancelled'", ())
        return self.job(job_id)

    # ------------------------------------------------------------------ import

    def import_image(
        self,
        source: Path | bytes,
        project_id: int,
        *,
        stage: Stage = Stage.FINAL,
        name: str = "",
    ) -> ImportResult:
        """Import an image made by another tool (or an exported studio PNG).

        Settings are read from the studio's own chunk, else from an A1111 ``parameters`` text;
        an image without either is still imported. Raises ``ImageImportError`` for a file that
        is not a readable image.
        """
        from PIL import Image, UnidentifiedImageError

        label = name or (source.name if isinstance(source, Path) else "the image")
        if isinstance(source, Path):
            try:
                data = source.read_bytes()
            except OSError as exc:
                raise ImageImportError(
                    f"Could not read {source}: {exc.strerror or exc}; check the file."
                ) from exc
            name = name or source.stem
        else:
            data = source
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.load()
                width, height = probe.size
                fmt = probe.format or ""
        except UnidentifiedImageError as exc:
            raise ImageImportError(
                f"{label} is not an image the studio can read; choose a PNG, JPEG or WebP file."
            ) from exc
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ImageImportError(
                f"{label} is truncated or damaged ({exc}); nothing was imported."
            ) from exc
        if fmt not in ("PNG", "JPEG", "WEBP", "GIF") or sniff_format(data) != fmt:
            with Image.open(io.BytesIO(data)) as original:
                buffer = io.BytesIO()
                original.save(buffer, "PNG")
            data = buffer.getvalue()
            fmt = "PNG"
        suggestion = SceneSuggestion(width=width, height=height)
        original_parameters: str | None = None
        if fmt == "PNG":
            meta = read_png_metadata(data)
            suggestion = _suggestion(meta.studio, meta.parameters, width, height)
            # Another tool's settings text is kept verbatim (sampler, hashes and all).
            original_parameters = meta.parameters
        elif fmt in ("JPEG", "WEBP"):
            # Kept as they are (EXIF included); only the suggestion is read from them.
            suggestion = _suggestion(None, read_exif_parameters(data), width, height)
        draft = RenderDraft(
            project_id=project_id,
            stage=stage,
            provider=suggestion.provider or "import",
            model=suggestion.model,
            prompt=suggestion.prompt,
            negative=suggestion.negative,
            width=width,
            height=height,
            steps=suggestion.steps or 0,
            guidance=suggestion.guidance or 0.0,
            seed_requested=suggestion.seed,
            scene_name=name,
        )
        render = self._store_and_record(
            draft,
            data,
            RenderResult(seed_returned=suggestion.seed),
            source="import",
            parameters=original_parameters,
        )
        return ImportResult(render=render, suggestion=suggestion)

    # ------------------------------------------------------------------ check

    def check(self, *, repair: bool = True, verify_hashes: bool = True) -> CheckReport:
        """Integrity check of the database and the files; with ``repair`` (and write access),
        fix what is safe: remove temp files, set aside unrecorded images in ``orphans/``, delete
        files of emptied records, mark renders whose image is missing or damaged (and unmark
        them when the file is back)."""
        repair = repair and not self.read_only
        with self._lock:
            if self._closed:
                raise LibraryError("The library is closed.")
            conn = self._conn
            integrity: tuple[str, ...] = ()
            try:
                integrity = tuple(
                    str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()
                )
                fk = conn.execute("PRAGMA foreign_key_check").fetchall()
                if fk:
                    integrity = (
                        *[i for i in integrity if i != "ok"],
                        f"{len(fk)} broken references between records",
                    )
                images = conn.execute("SELECT hash, path FROM images").fetchall()
                tombstones = {
                    row[0] for row in conn.execute("SELECT path FROM deleted_images").fetchall()
                }
            except sqlite3.DatabaseError as exc:
                # A damaged file: report it; repairing files against damaged records is unsafe.
                problems = tuple(i for i in integrity if i != "ok")
                return CheckReport(
                    integrity=problems or (f"the database cannot be read: {exc}",),
                    missing_files=(),
                    hash_mismatches=(),
                    orphan_files=(),
                )
            if integrity != ("ok",):
                return CheckReport(
                    integrity=integrity, missing_files=(), hash_mismatches=(), orphan_files=()
                )
            missing: list[str] = []
            mismatched: list[str] = []
            known: set[str] = set()
            for row in images:
                known.add(row["path"])
                path = self._images.path(row["path"])
                try:
                    if verify_hashes:
                        if content_hash(path.read_bytes()) != row["hash"]:
                            mismatched.append(row["hash"])
                    elif not path.is_file():
                        missing.append(row["hash"])
                except FileNotFoundError:
                    missing.append(row["hash"])
            orphans: list[str] = []
            images_dir = self._images.images_dir
            if images_dir.is_dir():
                for shard in sorted(images_dir.iterdir()):
                    if not shard.is_dir():
                        continue
                    for file in sorted(shard.iterdir()):
                        relative = f"{shard.name}/{file.name}"
                        if relative not in known:
                            orphans.append(relative)
            removed_temp = moved = marked = restored = 0
            if repair:
                removed_temp = self._remove_temp_files()
                moved = self._set_aside(orphans, tombstones)
                marked, restored = self._mark_renders(missing, mismatched, images)
        return CheckReport(
            integrity=integrity,
            missing_files=tuple(missing),
            hash_mismatches=tuple(mismatched),
            orphan_files=tuple(f"{paths.IMAGES_DIR}/{o}" for o in orphans),
            temp_files_removed=removed_temp,
            orphans_moved=moved,
            renders_marked=marked,
            renders_restored=restored,
            repaired=repair,
        )

    def _set_aside(self, orphans: Sequence[str], tombstones: set[str]) -> int:
        moved = 0
        target_dir = self.data_dir / paths.ORPHANS_DIR
        for relative in orphans:
            path = self._images.path(relative)
            try:
                if relative in tombstones:
                    path.unlink()
                    continue
                target_dir.mkdir(exist_ok=True)
                path.replace(target_dir / path.name)
                moved += 1
            except OSError as exc:
                error = storage_error_from_os(exc, "tidy the library's files")
                if error is None:
                    raise
                raise error from exc
        if tombstones:
            with self._transaction("tidy the library's files") as conn:
                conn.execute("DELETE FROM deleted_images")
        return moved

    def _mark_renders(
        self, missing: Sequence[str], mismatched: Sequence[str], images: Sequence[sqlite3.Row]
    ) -> tuple[int, int]:
        bad = {h: RenderStatus.MISSING for h in missing} | {
            h: RenderStatus.DAMAGED for h in mismatched
        }
        good = [row["hash"] for row in images if row["hash"] not in bad]
        marked = restored = 0
        with self._transaction("mark renders with missing images") as conn:
            for digest, status in bad.items():
                marked += conn.execute(
                    "UPDATE renders SET status = ? WHERE image_hash = ? AND status != ?",
                    (status.value, digest, status.value),
                ).rowcount
            for digest in good:
                restored += conn.execute(
                    "UPDATE renders SET status = 'ok' WHERE image_hash = ? "
                    "AND status IN ('missing', 'damaged')",
                    (digest,),
                ).rowcount
        return marked, restored


def _suggestion(
    studio: Mapping[str, Any] | None, parameters: str | None, width: int, height: int
) -> SceneSuggestion:
    if studio is not None and isinstance(studio.get("prompt"), str):

        def num(key: str) -> Any:
            value = studio.get(key)
            return value if isinstance(value, int | float) and not isinstance(value, bool) else None

        seed = num("seed_returned")
        seed = seed if seed is not None else num("seed_requested")
        guidance = num("guidance")
        return SceneSuggestion(
            prompt=studio["prompt"],
            negative=str(studio.get("negative") or ""),
            seed=None if seed is None else int(seed),
            width=width,
            height=height,
            steps=None if num("steps") is None else int(num("steps")),
            guidance=None if guidance is None else float(guidance),
            model=str(studio.get("model") or ""),
            provider=str(studio.get("provider") or ""),
            source="studio",
        )
    if parameters:
        params = parse_parameters(parameters)
        return SceneSuggestion(
            prompt=params.prompt,
            negative=params.negative,
            seed=params.seed,
            width=params.width or width,
            height=params.height or height,
            steps=params.steps,
            guidance=params.guidance,
            model=params.model,
            provider=params.provider,
            source="parameters",
        )
    return SceneSuggestion(width=width, height=height)
