"""The identity measure's cache: one face analysis per image, by content hash.

The library keeps the analysis as the measure wrote it (its JSON and its version) without
knowing its shape; the measure (``studio.identity``) reads it back and recomputes an analysis
made by an older version of itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .database import Database


@dataclass(frozen=True, slots=True)
class StoredAnalysis:
    version: int
    analysis: str  # JSON text


class FaceAnalyses:
    """Cached face analyses by image sha256."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, image_hash: str) -> StoredAnalysis | None:
        with self._db.read("read a face analysis") as conn:
            row = conn.execute("SELECT version, analysis FROM face_analyses WHERE image_hash = ?",
                               (image_hash,)).fetchone()
        return None if row is None else StoredAnalysis(row["version"], row["analysis"])

    def put(self, image_hash: str, version: int, analysis: str) -> None:
        """Keep (or replace) the analysis of an image. A library open for viewing only keeps
        nothing: the measure simply runs again next time."""
        if self._db.read_only:
            return
        with self._db.transaction("keep a face analysis") as (conn, _changed):
            conn.execute(
                "INSERT INTO face_analyses (image_hash, version, analysis, created) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (image_hash) DO UPDATE SET "
                "version = excluded.version, analysis = excluded.analysis, "
                "created = excluded.created",
                (image_hash, version, analysis, self._db.now()))
