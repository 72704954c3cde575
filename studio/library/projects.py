"""Projects, characters and the versions of each character's anchor."""

from __future__ import annotations

import json
import sqlite3

from .database import Database, dt
from .models import AnchorSpec, AnchorVersion, CharacterRecord, ProjectRecord


def _project(row: sqlite3.Row) -> ProjectRecord:
    count = row["render_count"] if "render_count" in row.keys() else 0  # noqa: SIM118
    return ProjectRecord(id=row["id"], name=row["name"], created=dt(row["created"]),
                         notes=row["notes"], render_count=count)


def _character(row: sqlite3.Row) -> CharacterRecord:
    return CharacterRecord(id=row["id"], project_id=row["project_id"], name=row["name"],
                           created=dt(row["created"]))


def _anchor(row: sqlite3.Row) -> AnchorVersion:
    return AnchorVersion(id=row["id"], character_id=row["character_id"],
                         version=row["version"], anchor=row["anchor"],
                         fields=json.loads(row["fields"]), seed=row["seed"],
                         negative=row["negative"], created=dt(row["created"]))


class Projects:
    """The user's projects (one per sheet title or character, as sheets are recorded)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def ensure(self, name: str) -> ProjectRecord:
        """The project called ``name``, created if new."""
        name = name.strip()
        if not name:
            raise ValueError("a project needs a name")
        with self._db.transaction(f"create the project {name!r}") as (conn, changed):
            cursor = conn.execute(
                "INSERT INTO projects (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, self._db.now()),
            )
            row = self._db.one(conn, "SELECT * FROM projects WHERE name = ?", (name,), "project")
            if cursor.rowcount:
                changed.note(projects=[row["id"]])
        return _project(row)

    def get(self, project_id: int) -> ProjectRecord:
        with self._db.read("read a project") as conn:
            row = self._db.one(conn, "SELECT * FROM projects WHERE id = ?", (project_id,),
                               f"project {project_id}")
        return _project(row)

    def by_name(self, name: str) -> ProjectRecord | None:
        with self._db.read("read a project") as conn:
            row = conn.execute("SELECT * FROM projects WHERE name = ?", (name,)).fetchone()
        return None if row is None else _project(row)

    def all(self) -> list[ProjectRecord]:
        """Every project with its number of live renders, by name."""
        with self._db.read("list projects") as conn:
            rows = conn.execute(
                "SELECT p.*, (SELECT COUNT(*) FROM renders r WHERE r.project_id = p.id "
                "AND r.trashed IS NULL) AS render_count FROM projects p ORDER BY p.name"
            ).fetchall()
        return [_project(row) for row in rows]


class Characters:
    """Characters and their anchor versions: editing an anchor makes a new version, and every
    render records the version it used (the anchor's history)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def ensure(self, project_id: int, name: str) -> CharacterRecord:
        name = name.strip()
        if not name:
            raise ValueError("a character needs a name")
        with self._db.transaction(f"create the character {name!r}") as (conn, changed):
            self._db.one(conn, "SELECT id FROM projects WHERE id = ?", (project_id,),
                         "such project")
            cursor = conn.execute(
                "INSERT INTO characters (project_id, name, created) VALUES (?, ?, ?) "
                "ON CONFLICT (project_id, name) DO NOTHING",
                (project_id, name, self._db.now()),
            )
            row = self._db.one(conn, "SELECT * FROM characters WHERE project_id = ? AND name = ?",
                               (project_id, name), "character")
            if cursor.rowcount:
                changed.note(characters=[row["id"]])
        return _character(row)

    def of_project(self, project_id: int) -> list[CharacterRecord]:
        with self._db.read("list characters") as conn:
            rows = conn.execute(
                "SELECT * FROM characters WHERE project_id = ? ORDER BY name", (project_id,)
            ).fetchall()
        return [_character(row) for row in rows]

    def save_anchor(self, character_id: int, spec: AnchorSpec) -> AnchorVersion:
        """Record the character's anchor: a new version if it differs from the latest one,
        else the latest version unchanged."""
        fields = json.dumps(dict(spec.fields), sort_keys=True)
        with self._db.transaction("save the character's anchor") as (conn, changed):
            self._db.one(conn, "SELECT id FROM characters WHERE id = ?", (character_id,),
                         "such character")
            latest = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (character_id,),
            ).fetchone()
            if latest is not None and (
                latest["anchor"], latest["fields"], latest["seed"], latest["negative"],
            ) == (spec.anchor, fields, spec.seed, spec.negative):
                return _anchor(latest)
            version = 1 if latest is None else latest["version"] + 1
            cursor = conn.execute(
                "INSERT INTO anchor_versions (character_id, version, anchor, fields, seed, "
                "negative, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (character_id, version, spec.anchor, fields, spec.seed, spec.negative,
                 self._db.now()),
            )
            row = self._db.one(conn, "SELECT * FROM anchor_versions WHERE id = ?",
                               (cursor.lastrowid,), "anchor")
            changed.note(characters=[character_id])
        return _anchor(row)

    def latest_anchor(self, character_id: int) -> AnchorVersion | None:
        with self._db.read("read the anchor") as conn:
            row = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (character_id,),
            ).fetchone()
        return None if row is None else _anchor(row)

    def anchor_versions(self, character_id: int) -> list[AnchorVersion]:
        """Every version of the character's anchor, oldest first."""
        with self._db.read("read the anchor history") as conn:
            rows = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? ORDER BY version",
                (character_id,),
            ).fetchall()
        return [_anchor(row) for row in rows]

    def anchor_version(self, anchor_version_id: int) -> AnchorVersion:
        with self._db.read("read the anchor") as conn:
            row = self._db.one(conn, "SELECT * FROM anchor_versions WHERE id = ?",
                               (anchor_version_id,), f"anchor version {anchor_version_id}")
        return _anchor(row)
