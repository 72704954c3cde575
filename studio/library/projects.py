"""Projects, characters and the versions of each character's anchor (with its reference set)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from studio.core.anchor import REFERENCES_MAX, ReferenceImage, ReferenceRole, reference_identity

from .database import Database, dt
from .errors import LibraryError
from .models import AnchorSpec, AnchorVersion, CharacterRecord, ProjectRecord


def _project(row: sqlite3.Row) -> ProjectRecord:
    count = row["render_count"] if "render_count" in row.keys() else 0  # noqa: SIM118
    return ProjectRecord(id=row["id"], name=row["name"], created=dt(row["created"]),
                         notes=row["notes"], render_count=count)


def _character(row: sqlite3.Row) -> CharacterRecord:
    return CharacterRecord(id=row["id"], project_id=row["project_id"], name=row["name"],
                           created=dt(row["created"]))


def _anchor(row: sqlite3.Row,
            references: tuple[ReferenceImage, ...] = ()) -> AnchorVersion:
    return AnchorVersion(id=row["id"], character_id=row["character_id"],
                         version=row["version"], anchor=row["anchor"],
                         fields=json.loads(row["fields"]), seed=row["seed"],
                         negative=row["negative"], created=dt(row["created"]),
                         references=references)


def _references(conn: sqlite3.Connection,
                version_ids: Iterable[int]) -> dict[int, tuple[ReferenceImage, ...]]:
    """The reference set of each anchor version, in order."""
    ids = list(version_ids)
    found: dict[int, list[ReferenceImage]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = conn.execute(
            "SELECT anchor_version_id, image_hash, role FROM anchor_references WHERE "
            f"anchor_version_id IN ({','.join('?' * len(chunk))}) "
            "ORDER BY anchor_version_id, position", chunk).fetchall()
        for row in rows:
            try:
                role = ReferenceRole(row["role"])
            except ValueError:  # a role a newer studio knows
                role = ReferenceRole.OTHER
            found[row["anchor_version_id"]].append(ReferenceImage(row["image_hash"], role))
    return {i: tuple(refs) for i, refs in found.items()}


def _anchors(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[AnchorVersion]:
    refs = _references(conn, [row["id"] for row in rows])
    return [_anchor(row, refs[row["id"]]) for row in rows]


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
        """Record the character's anchor: a new version if it differs from the latest one
        (its text, fields, seed, negative or reference set), else the latest version unchanged.
        Every reference image must be stored already (``library.references.store``)."""
        fields = json.dumps(dict(spec.fields), sort_keys=True)
        refs = reference_identity(spec.references)
        if len(refs) > REFERENCES_MAX:
            raise LibraryError(f"An anchor holds at most {REFERENCES_MAX} reference images, "
                               f"not {len(refs)}; keep the ones that show the character best.")
        with self._db.transaction("save the character's anchor") as (conn, changed):
            self._db.one(conn, "SELECT id FROM characters WHERE id = ?", (character_id,),
                         "such character")
            latest = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (character_id,),
            ).fetchone()
            if latest is not None:
                current = _anchor(latest, _references(conn, [latest["id"]])[latest["id"]])
                if (latest["anchor"], latest["fields"], latest["seed"], latest["negative"],
                        reference_identity(current.references)) == (
                        spec.anchor, fields, spec.seed, spec.negative, refs):
                    return current
            missing = [h for h, _role in refs if conn.execute(
                "SELECT 1 FROM images WHERE hash = ?", (h,)).fetchone() is None]
            if missing:
                raise LibraryError(f"The reference image {missing[0][:8]} is not stored in the "
                                   "library; store it before saving the anchor.")
            version = 1 if latest is None else latest["version"] + 1
            cursor = conn.execute(
                "INSERT INTO anchor_versions (character_id, version, anchor, fields, seed, "
                "negative, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (character_id, version, spec.anchor, fields, spec.seed, spec.negative,
                 self._db.now()),
            )
            conn.executemany(
                "INSERT INTO anchor_references (anchor_version_id, position, image_hash, role) "
                "VALUES (?, ?, ?, ?)",
                [(cursor.lastrowid, position, image_hash, role)
                 for position, (image_hash, role) in enumerate(refs)])
            row = self._db.one(conn, "SELECT * FROM anchor_versions WHERE id = ?",
                               (cursor.lastrowid,), "anchor")
            changed.note(characters=[character_id])
        return _anchor(row, tuple(ReferenceImage(h, ReferenceRole(r)) for h, r in refs))

    def latest_anchor(self, character_id: int) -> AnchorVersion | None:
        with self._db.read("read the anchor") as conn:
            rows = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (character_id,),
            ).fetchall()
            found = _anchors(conn, rows)
        return found[0] if found else None

    def anchor_versions(self, character_id: int) -> list[AnchorVersion]:
        """Every version of the character's anchor, oldest first."""
        with self._db.read("read the anchor history") as conn:
            rows = conn.execute(
                "SELECT * FROM anchor_versions WHERE character_id = ? ORDER BY version",
                (character_id,),
            ).fetchall()
            return _anchors(conn, rows)

    def anchor_version(self, anchor_version_id: int) -> AnchorVersion:
        with self._db.read("read the anchor") as conn:
            row = self._db.one(conn, "SELECT * FROM anchor_versions WHERE id = ?",
                               (anchor_version_id,), f"anchor version {anchor_version_id}")
            return _anchors(conn, [row])[0]
