"""Sheets and their scenes, as the library last recorded them from their files.

A scene keeps, besides its text, what it sends at each stage (its fingerprints), so renders can
be told out of date from the library alone (the library browser has no sheet file at hand).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from studio.core import codec
from studio.core.fingerprint import Fingerprint
from studio.core.request import Stage

from .database import Database, dt
from .models import SceneRecord, SceneSpec, SheetRecord


@dataclass(frozen=True, slots=True)
class _StageFingerprints:
    """The stored form of a scene's fingerprints."""

    stages: Mapping[Stage, Fingerprint]


#: The columns of a scene its sheet file decides, in the order ``sync_scenes`` writes them.
_SCENE_VALUES = ("position", "setting", "lighting", "lens", "framing", "notes", "fingerprints")
#: Names looked up in one statement (well under SQLite's limit on bound values).
_NAMES_PER_QUERY = 500


def _sheet(row: sqlite3.Row) -> SheetRecord:
    return SheetRecord(id=row["id"], project_id=row["project_id"], name=row["name"],
                       path=row["path"], character_id=row["character_id"],
                       created=dt(row["created"]))


def fingerprints_from_json(text: str | None) -> dict[Stage, Fingerprint]:
    """A scene's stored fingerprints per stage ({} for a scene recorded before they were kept
    or whose record is damaged)."""
    if not text:
        return {}
    try:
        data = codec.loads(_StageFingerprints, text)
    except codec.CodecError:
        return {}
    return dict(data.stages)


def fingerprints_to_json(fingerprints: Mapping[Stage, Fingerprint]) -> str:
    return codec.dumps(_StageFingerprints(dict(fingerprints)))


def _scene(row: sqlite3.Row) -> SceneRecord:
    return SceneRecord(id=row["id"], sheet_id=row["sheet_id"], name=row["name"],
                       position=row["position"], setting=row["setting"],
                       lighting=row["lighting"], lens=row["lens"], framing=row["framing"],
                       notes=row["notes"], fingerprints=fingerprints_from_json(row["fingerprints"]))


class Sheets:
    """Sheet records (by project and name, with the file they were saved as) and their scenes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, project_id: int, name: str, path: str = "",
             character_id: int | None = None) -> SheetRecord:
        """The sheet called ``name`` in the project, created or updated (path, character)."""
        with self._db.transaction(f"save the sheet {name!r}") as (conn, changed):
            self._db.one(conn, "SELECT id FROM projects WHERE id = ?", (project_id,),
                         "such project")
            conn.execute(
                "INSERT INTO sheets (project_id, name, path, character_id, created) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, name) DO UPDATE SET "
                "path = excluded.path, character_id = excluded.character_id",
                (project_id, name, path, character_id, self._db.now()),
            )
            row = self._db.one(conn, "SELECT * FROM sheets WHERE project_id = ? AND name = ?",
                               (project_id, name), "sheet")
            changed.note(sheets=[row["id"]])
        return _sheet(row)

    def move(self, sheet_id: int, name: str, path: str) -> SheetRecord:
        """Give a sheet a new name and file ("Save as"): its scenes and renders go with it.

        When the project already has a sheet of that name (an older file saved there before),
        that record gives way: its name is freed by suffixing its id, its renders are kept.
        """
        with self._db.transaction(f"move the sheet to {name!r}") as (conn, changed):
            row = self._db.one(conn, "SELECT * FROM sheets WHERE id = ?", (sheet_id,),
                               f"sheet {sheet_id}")
            clash = conn.execute(
                "SELECT id FROM sheets WHERE project_id = ? AND name = ? AND id != ?",
                (row["project_id"], name, sheet_id),
            ).fetchone()
            if clash is not None:
                conn.execute("UPDATE sheets SET name = name || ' (' || id || ')', path = '' "
                             "WHERE id = ?", (clash["id"],))
                changed.note(sheets=[clash["id"]])
            conn.execute("UPDATE sheets SET name = ?, path = ? WHERE id = ?",
                         (name, path, sheet_id))
            row = self._db.one(conn, "SELECT * FROM sheets WHERE id = ?", (sheet_id,),
                               f"sheet {sheet_id}")
            changed.note(sheets=[sheet_id])
        return _sheet(row)

    def for_file(self, path: str) -> SheetRecord | None:
        """The sheet saved with this file path (the most recent if several projects have it).

        Store and look up the same form of the path (``str(Path(...).resolve())``).
        """
        with self._db.read("find the sheet") as conn:
            row = conn.execute(
                "SELECT * FROM sheets WHERE path = ? ORDER BY id DESC LIMIT 1", (path,)
            ).fetchone()
        return None if row is None else _sheet(row)

    def get(self, sheet_id: int) -> SheetRecord:
        with self._db.read("read a sheet") as conn:
            row = self._db.one(conn, "SELECT * FROM sheets WHERE id = ?", (sheet_id,),
                               f"sheet {sheet_id}")
        return _sheet(row)

    def of_project(self, project_id: int) -> list[SheetRecord]:
        with self._db.read("list sheets") as conn:
            rows = conn.execute(
                "SELECT * FROM sheets WHERE project_id = ? ORDER BY name", (project_id,)
            ).fetchall()
        return [_sheet(row) for row in rows]

    def sync_scenes(self, sheet_id: int, scenes: Sequence[SceneSpec]) -> list[SceneRecord]:
        """Make the sheet's scenes these, in this order, matched by name: a kept scene keeps its
        id (and its renders); a scene no longer listed is removed (its renders stay, unlinked)."""
        names = [s.name for s in scenes]
        if len(set(names)) != len(names):
            raise ValueError("two scenes of one sheet have the same name")
        with self._db.transaction("save the sheet's scenes") as (conn, changed):
            self._db.one(conn, "SELECT id FROM sheets WHERE id = ?", (sheet_id,), "such sheet")
            removed = self._remove_others(conn, sheet_id, set(names))
            records = self._upsert(conn, sheet_id, list(enumerate(scenes)), None)
            if removed or records[1]:
                changed.note(sheets=[sheet_id])
        return records[0]

    def record_scenes(self, sheet_id: int,
                      scenes: Sequence[tuple[int, SceneSpec]]) -> list[SceneRecord]:
        """Record some scenes of the sheet, each at its position, matched by name (added, or
        updated keeping its id); the sheet's other scenes are left as they are. A big sheet is
        recorded in parts this way while its first renders are sent; :meth:`keep_scenes` then
        removes the scenes it no longer lists."""
        with self._db.transaction("save the sheet's scenes") as (conn, changed):
            self._db.one(conn, "SELECT id FROM sheets WHERE id = ?", (sheet_id,), "such sheet")
            records, wrote = self._upsert(conn, sheet_id, scenes,
                                          [spec.name for _, spec in scenes])
            if wrote:
                changed.note(sheets=[sheet_id])
        return records

    def keep_scenes(self, sheet_id: int, names: AbstractSet[str]) -> int:
        """Remove the sheet's scenes not named in ``names`` (their renders stay, unlinked);
        returns how many were removed."""
        with self._db.transaction("save the sheet's scenes") as (conn, changed):
            removed = self._remove_others(conn, sheet_id, names)
            if removed:
                changed.note(sheets=[sheet_id])
        return removed

    @staticmethod
    def _remove_others(conn: sqlite3.Connection, sheet_id: int, names: AbstractSet[str]) -> int:
        gone = [(row[0],) for row in conn.execute(
            "SELECT id, name FROM scenes WHERE sheet_id = ?", (sheet_id,)).fetchall()
            if row[1] not in names]
        conn.executemany("DELETE FROM scenes WHERE id = ?", gone)
        return len(gone)

    @staticmethod
    def _upsert(conn: sqlite3.Connection, sheet_id: int,
                scenes: Sequence[tuple[int, SceneSpec]],
                only: Sequence[str] | None) -> tuple[list[SceneRecord], bool]:
        """Write ``scenes`` (position, spec) that differ from their rows; the records, and
        whether anything was written. ``only``: the names to read the rows of (None: every
        scene of the sheet)."""
        # Plain tuples (id, then the values), not rows: a sheet may hold thousands.
        reading = conn.cursor()
        reading.row_factory = None
        query = (f"SELECT name, id, {', '.join(_SCENE_VALUES)} FROM scenes WHERE sheet_id = ?")
        rows: list[tuple[Any, ...]] = []
        if only is None:
            rows = reading.execute(query, (sheet_id,)).fetchall()
        else:
            for start in range(0, len(only), _NAMES_PER_QUERY):
                part = only[start:start + _NAMES_PER_QUERY]
                rows += reading.execute(f"{query} AND name IN ({', '.join('?' * len(part))})",
                                        (sheet_id, *part)).fetchall()
        existing: dict[str, tuple[Any, ...]] = {row[0]: row[1:] for row in rows}
        added: list[tuple[Any, ...]] = []
        updated: list[tuple[Any, ...]] = []
        for position, spec in scenes:
            values: tuple[Any, ...] = (
                position, spec.setting, spec.lighting, spec.lens, spec.framing, spec.notes,
                fingerprints_to_json(spec.fingerprints),
            )
            old = existing.get(spec.name)
            if old is None:
                added.append((sheet_id, spec.name, *values))
            elif old[1:] != values:
                updated.append((*values, old[0]))
        # One statement per kind of change: a sheet of thousands of scenes is recorded in
        # a few statements, not one per scene.
        conn.executemany(
            "INSERT INTO scenes (sheet_id, name, position, setting, lighting, lens, "
            "framing, notes, fingerprints, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
            added)
        conn.executemany(
            "UPDATE scenes SET position = ?, setting = ?, lighting = ?, lens = ?, "
            "framing = ?, notes = ?, fingerprints = ? WHERE id = ?", updated)
        ids = {name: row[0] for name, row in existing.items()}
        if added:
            # The new rows' ids: read back by name, only those just added.
            names = [row[1] for row in added]
            for start in range(0, len(names), _NAMES_PER_QUERY):
                part = names[start:start + _NAMES_PER_QUERY]
                ids.update(reading.execute(
                    f"SELECT name, id FROM scenes WHERE sheet_id = ? AND name IN "
                    f"({', '.join('?' * len(part))})", (sheet_id, *part)).fetchall())
        # Every row now holds what ``scenes`` say: the records are made from them, not read
        # back and decoded again.
        records = [SceneRecord(id=ids[spec.name], sheet_id=sheet_id, name=spec.name,
                               position=position, setting=spec.setting, lighting=spec.lighting,
                               lens=spec.lens, framing=spec.framing, notes=spec.notes,
                               fingerprints=dict(spec.fingerprints))
                   for position, spec in scenes]
        return records, bool(added or updated)

    def scenes(self, sheet_id: int) -> list[SceneRecord]:
        with self._db.read("list scenes") as conn:
            rows = conn.execute(
                "SELECT * FROM scenes WHERE sheet_id = ? ORDER BY position", (sheet_id,)
            ).fetchall()
        return [_scene(row) for row in rows]

    def scene(self, scene_id: int) -> SceneRecord:
        with self._db.read("read a scene") as conn:
            row = self._db.one(conn, "SELECT * FROM scenes WHERE id = ?", (scene_id,),
                               f"scene {scene_id}")
        return _scene(row)
