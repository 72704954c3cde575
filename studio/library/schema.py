"""The database schema, as ordered migrations.

``PRAGMA user_version`` is the number of migrations applied. Each migration runs in one
transaction together with the version bump, so a crash mid-migration leaves the previous
version intact. Never edit a released migration: add the next one (and keep a database of the
old version in ``tests/library/data/``).
"""

from __future__ import annotations

from collections.abc import Sequence

# Version 1: the records.
_V1: Sequence[str] = (
    """CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        notes TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL
    )""",
    """CREATE TABLE characters (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        UNIQUE (project_id, name)
    )""",
    """CREATE TABLE anchor_versions (
        id INTEGER PRIMARY KEY,
        character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        anchor TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        seed INTEGER,
        negative TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        UNIQUE (character_id, version)
    )""",
    """CREATE TABLE sheets (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        path TEXT NOT NULL DEFAULT '',
        character_id INTEGER REFERENCES characters(id) ON DELETE SET NULL,
        created REAL NOT NULL,
        UNIQUE (project_id, name)
    )""",
    """CREATE TABLE scenes (
        id INTEGER PRIMARY KEY,
        sheet_id INTEGER NOT NULL REFERENCES sheets(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        setting TEXT NOT NULL DEFAULT '',
        lighting TEXT NOT NULL DEFAULT '',
        lens TEXT NOT NULL DEFAULT '',
        framing TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        text_hash TEXT NOT NULL,
        UNIQUE (sheet_id, name)
    )""",
    """CREATE TABLE images (
        hash TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        format TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created REAL NOT NULL
    )""",
    # AUTOINCREMENT: a render id is never reused, even after the trash is emptied.
    """CREATE TABLE renders (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        sheet_id INTEGER REFERENCES sheets(id) ON DELETE SET NULL,
        scene_id INTEGER REFERENCES scenes(id) ON DELETE SET NULL,
        character_id INTEGER REFERENCES characters(id) ON DELETE SET NULL,
        anchor_version_id INTEGER REFERENCES anchor_versions(id) ON DELETE SET NULL,
        parent_id INTEGER REFERENCES renders(id) ON DELETE SET NULL,
        stage TEXT NOT NULL CHECK (stage IN ('preview', 'final')),
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        request_id TEXT NOT NULL DEFAULT '',
        prompt TEXT NOT NULL,
        negative TEXT NOT NULL DEFAULT '',
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        steps INTEGER NOT NULL,
        guidance REAL NOT NULL,
        seed_requested INTEGER,
        seed_returned INTEGER,
        timings TEXT NOT NULL DEFAULT '{}',
        cost REAL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'missing', 'damaged')),
        error TEXT NOT NULL DEFAULT '',
        approval TEXT NOT NULL DEFAULT 'none'
            CHECK (approval IN ('none', 'approved', 'rejected')),
        star INTEGER NOT NULL DEFAULT 0,
        tags TEXT NOT NULL DEFAULT '[]',
        scene_name TEXT NOT NULL DEFAULT '',
        character_name TEXT NOT NULL DEFAULT '',
        scene_text_hash TEXT,
        notes TEXT NOT NULL DEFAULT '',
        image_hash TEXT REFERENCES images(hash),
        source TEXT NOT NULL DEFAULT 'studio',
        created REAL NOT NULL,
        trashed REAL
    )""",
    "CREATE INDEX renders_by_project ON renders (project_id, trashed, created DESC, id DESC)",
    "CREATE INDEX renders_by_scene ON renders (scene_id, stage, created DESC)",
    "CREATE INDEX renders_by_sheet ON renders (sheet_id, stage)",
    "CREATE INDEX renders_by_image ON renders (image_hash)",
    "CREATE INDEX renders_by_created ON renders (trashed, created DESC, id DESC)",
    "CREATE INDEX renders_by_parent ON renders (parent_id)",
    """CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        draft TEXT NOT NULL,
        request TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('queued', 'submitted', 'processing', 'done', 'failed', 'cancelled')),
        provider_request_id TEXT NOT NULL DEFAULT '',
        poll_url TEXT NOT NULL DEFAULT '',
        submission TEXT NOT NULL DEFAULT '{}',
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        render_id INTEGER REFERENCES renders(id) ON DELETE SET NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    "CREATE INDEX jobs_unfinished ON jobs (state) WHERE state IN "
    "('queued', 'submitted', 'processing')",
)

# Version 2: full-text search over renders, and tombstones so emptying the trash is crash-safe.
_V2: Sequence[str] = (
    """CREATE VIRTUAL TABLE renders_fts USING fts5 (
        prompt, scene_name, character_name, notes, tags,
        content='renders', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER renders_fts_insert AFTER INSERT ON renders BEGIN
        INSERT INTO renders_fts (rowid, prompt, scene_name, character_name, notes, tags)
        VALUES (new.id, new.prompt, new.scene_name, new.character_name, new.notes, new.tags);
    END""",
    """CREATE TRIGGER renders_fts_delete AFTER DELETE ON renders BEGIN
        INSERT INTO renders_fts (renders_fts, rowid, prompt, scene_name, character_name, notes,
            tags)
        VALUES ('delete', old.id, old.prompt, old.scene_name, old.character_name, old.notes,
            old.tags);
    END""",
    """CREATE TRIGGER renders_fts_update AFTER UPDATE OF prompt, scene_name, character_name,
        notes, tags ON renders BEGIN
        INSERT INTO renders_fts (renders_fts, rowid, prompt, scene_name, character_name, notes,
            tags)
        VALUES ('delete', old.id, old.prompt, old.scene_name, old.character_name, old.notes,
            old.tags);
        INSERT INTO renders_fts (rowid, prompt, scene_name, character_name, notes, tags)
        VALUES (new.id, new.prompt, new.scene_name, new.character_name, new.notes, new.tags);
    END""",
    "INSERT INTO renders_fts (renders_fts) VALUES ('rebuild')",
    # Image files whose records were deleted but which may still be on disk: check deletes
    # them, rather than setting them aside as images from an interrupted save.
    "CREATE TABLE deleted_images (path TEXT PRIMARY KEY)",
)

# Version 3: the one staleness rule and the one job lifecycle. Each render keeps the fingerprint
# of what it was made with, each scene what it sends now; jobs take every state of the lifecycle
# (a CHECK constraint cannot be altered in place, so the table is rebuilt).
_V3: Sequence[str] = (
    "ALTER TABLE renders ADD COLUMN fingerprint TEXT",
    "ALTER TABLE scenes ADD COLUMN fingerprints TEXT NOT NULL DEFAULT '{}'",
    """CREATE TABLE jobs_v3 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        draft TEXT NOT NULL,
        request TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('queued', 'sending', 'submitted', 'processing', 'downloading', 'done', 'failed',
             'cancelled', 'uncertain')),
        provider_request_id TEXT NOT NULL DEFAULT '',
        poll_url TEXT NOT NULL DEFAULT '',
        submission TEXT NOT NULL DEFAULT '{}',
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        render_id INTEGER REFERENCES renders(id) ON DELETE SET NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    "INSERT INTO jobs_v3 SELECT * FROM jobs",
    "DROP TABLE jobs",
    "ALTER TABLE jobs_v3 RENAME TO jobs",
    "CREATE INDEX jobs_unfinished ON jobs (state) WHERE state NOT IN "
    "('done', 'failed', 'cancelled')",
)

# Version 4: the character's reference images and the identity measure. A reference image is
# stored once by content hash like any image, belongs to the anchor versions that list it (so
# emptying the trash never deletes it), and every render records the references it was sent
# with. Face analyses are cached by image hash (the measure's own JSON and version).
_V4: Sequence[str] = (
    """CREATE TABLE anchor_references (
        anchor_version_id INTEGER NOT NULL REFERENCES anchor_versions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        image_hash TEXT NOT NULL REFERENCES images(hash),
        role TEXT NOT NULL,
        PRIMARY KEY (anchor_version_id, position)
    )""",
    "CREATE INDEX anchor_references_by_image ON anchor_references (image_hash)",
    "ALTER TABLE renders ADD COLUMN reference_images TEXT NOT NULL DEFAULT '[]'",
    """CREATE TABLE face_analyses (
        image_hash TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        analysis TEXT NOT NULL,
        created REAL NOT NULL
    )""",
)

# Version 5: takes. Every render of a scene at a stage is a take; the one the user picked is the
# cell's render (finals are made from the picked preview take).
_V5: Sequence[str] = (
    """CREATE TABLE chosen_takes (
        scene_id INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
        stage TEXT NOT NULL CHECK (stage IN ('preview', 'final')),
        render_id INTEGER NOT NULL REFERENCES renders(id) ON DELETE CASCADE,
        PRIMARY KEY (scene_id, stage)
    )""",
)

MIGRATIONS: Sequence[Sequence[str]] = (_V1, _V2, _V3, _V4, _V5)
SCHEMA_VERSION = len(MIGRATIONS)
