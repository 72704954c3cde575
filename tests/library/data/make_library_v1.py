"""Writes ``library-v1.sqlite3``: a library as the first release of the schema stored it.

Kept so the migration test always starts from a real version-1 file; do not regenerate it
after the schema changes (it must stay version 1). Run: python tests/library/data/make_library_v1.py
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from studio.library.schema import MIGRATIONS

HERE = Path(__file__).resolve().parent


def main() -> None:
    target = HERE / "library-v1.sqlite3"
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("BEGIN")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    t = 1_700_000_000.0
    conn.execute("INSERT INTO projects (id, name, created) VALUES (1, 'Emma', ?)", (t,))
    conn.execute(
        "INSERT INTO characters (id, project_id, name, created) VALUES (1, 1, 'Emma', ?)", (t,)
    )
    conn.execute(
        "INSERT INTO anchor_versions (id, character_id, version, anchor, seed, created) "
        "VALUES (1, 1, 1, '30-year-old woman, dark brown wavy hair', 42, ?)",
        (t,),
    )
    conn.execute(
        "INSERT INTO sheets (id, project_id, name, path, character_id, created) "
        "VALUES (1, 1, 'emma', 'emma.sheet.toml', 1, ?)",
        (t,),
    )
    conn.execute(
        "INSERT INTO scenes (id, sheet_id, name, position, setting, text_hash) "
        "VALUES (1, 1, 'Beach', 0, 'sunset beach', 'abc')"
    )
    conn.execute(
        "INSERT INTO renders (id, project_id, sheet_id, scene_id, character_id, anchor_version_id, "
        "stage, provider, model, prompt, width, height, steps, guidance, seed_requested, status, "
        "scene_name, character_name, scene_text_hash, tags, created) VALUES (1, 1, 1, 1, 1, 1, "
        "'preview', 'modelslab', 'flux-schnell', 'woman on a sunset beach, golden hour', 1024, "
        "1024, 4, 3.5, 42, 'failed', 'Beach', 'Emma', 'abc', '[\"keeper\"]', ?)",
        (t,),
    )
    conn.execute(
        "INSERT INTO jobs (id, draft, request, provider, model, state, provider_request_id, "
        "created, updated) VALUES (1, ?, '{}', 'modelslab', 'flux-schnell', 'submitted', 'r-1', "
        "?, ?)",
        (
            '{"project_id": 1, "stage": "preview", "provider": "modelslab", '
            '"model": "flux-schnell", "prompt": "p", "width": 1024, "height": 1024, '
            '"steps": 4, "guidance": 3.5}',
            t,
            t,
        ),
    )
    conn.execute("COMMIT")
    conn.execute("VACUUM")
    conn.close()


if __name__ == "__main__":
    main()
