"""Renders: reading and searching them, a sheet's latest cells, the user's verdicts, the trash.

A render's staleness is core's rule (``studio.core.fingerprint.staleness``) applied to the
fingerprint it was made with and the one its scene has now; the library only keeps both.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from studio.core import codec
from studio.core.fingerprint import Fingerprint, staleness
from studio.core.lifecycle import Approval, JobState, Outcome, Timings
from studio.core.request import GenerationRequest, SceneContext, Stage

from .database import Database, dt, dt_opt
from .errors import LibraryError, RecordNotFoundError
from .files import Files
from .models import (
    EmptiedTrash,
    ImageHealth,
    RenderDraft,
    RenderFilter,
    RenderPage,
    RenderRecord,
    SceneRecord,
    SheetCell,
)
from .recording import Recorder, clean_tags, reference_data, references_from_json
from .sheets import _scene

RENDER_SELECT = (
    "SELECT r.*, i.path AS image_rel FROM renders r LEFT JOIN images i ON i.hash = r.image_hash"
)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """User text as a safe FTS5 query: every word must match, the last one as a prefix."""
    words = _WORD_RE.findall(text)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _timings(text: str) -> Timings:
    data = json.loads(text or "{}")
    if "generate" in data and "processing" not in data:  # recorded before the codec
        data["processing"] = data.pop("generate")
    try:
        return codec.from_data(Timings, data)
    except codec.CodecError:
        return Timings()


def fingerprint_from_json(text: str | None) -> Fingerprint | None:
    if not text:
        return None
    try:
        return codec.loads(Fingerprint, text)
    except codec.CodecError:
        return None


def render_from_row(row: sqlite3.Row, files: Files) -> RenderRecord:
    """A ``renders`` row (joined with its image's path as ``image_rel``) as a record."""
    rel = row["image_rel"]
    image_hash = row["image_hash"]
    status = row["status"]
    references, strength = references_from_json(row["reference_images"])
    request = GenerationRequest(
        prompt=row["prompt"], negative=row["negative"], width=row["width"],
        height=row["height"], steps=row["steps"], guidance=row["guidance"], model=row["model"],
        seed=row["seed_requested"], stage=Stage(row["stage"]), provider=row["provider"],
        references=references, reference_strength=strength,
        context=SceneContext(character=row["character_name"], scene=row["scene_name"]),
    )
    return RenderRecord(
        id=row["id"],
        project_id=row["project_id"],
        request=request,
        outcome=Outcome(request_id=row["request_id"], seed_returned=row["seed_returned"],
                        timings=_timings(row["timings"]), cost=row["cost"]),
        state=JobState.FAILED if status == "failed" else JobState.DONE,
        health=ImageHealth.OK if status == "failed" else ImageHealth(status),
        error=row["error"],
        parent_id=row["parent_id"],
        approval=Approval(row["approval"]),
        star=bool(row["star"]),
        tags=tuple(json.loads(row["tags"])),
        sheet_id=row["sheet_id"],
        scene_id=row["scene_id"],
        character_id=row["character_id"],
        anchor_version_id=row["anchor_version_id"],
        fingerprint=fingerprint_from_json(row["fingerprint"]),
        notes=row["notes"],
        image_hash=image_hash,
        image_path=None if rel is None else files.image_path(rel),
        thumbnail_path=None if image_hash is None else files.thumbnail_path(image_hash),
        created=dt(row["created"]),
        trashed=dt_opt(row["trashed"]),
        source=row["source"],
    )


def render_data(render: RenderRecord) -> dict[str, Any]:
    """One render as flat JSON data: the shape of ``--json`` output and of bundle settings
    (never a key: the library keeps none)."""
    request = render.request
    return {
        "id": render.id,
        "project_id": render.project_id,
        "stage": request.stage.value,
        "status": render.status_word,
        "provider": request.provider,
        "model": request.model,
        "request_id": render.request_id,
        "prompt": request.prompt,
        "negative": request.negative,
        "width": request.width,
        "height": request.height,
        "steps": request.steps,
        "guidance": request.guidance,
        "seed": render.seed,
        "seed_requested": request.seed,
        "seed_returned": render.seed_returned,
        "timings": codec.to_data(render.timings),
        "cost": render.cost,
        "error": render.error,
        "parent_id": render.parent_id,
        "approval": render.approval.value,
        "star": render.star,
        "tags": list(render.tags),
        "sheet_id": render.sheet_id,
        "scene_id": render.scene_id,
        "scene": request.context.scene,
        "character_id": render.character_id,
        "character": request.context.character,
        "anchor_version_id": render.anchor_version_id,
        "fingerprint": codec.to_data(render.fingerprint),
        "references": reference_data(render.references),
        "reference_strength": render.reference_strength.value,
        "notes": render.notes,
        "image_hash": render.image_hash,
        "image": None if render.image_path is None else str(render.image_path),
        "created": render.created.isoformat(),
        "trashed": None if render.trashed is None else render.trashed.isoformat(),
        "source": render.source,
    }


class Renders:
    """Every render the library keeps."""

    def __init__(self, db: Database, files: Files, recorder: Recorder) -> None:
        self._db = db
        self._files = files
        self._recorder = recorder

    def _record(self, row: sqlite3.Row) -> RenderRecord:
        return render_from_row(row, self._files)

    # ------------------------------------------------------------------ reading

    def get(self, render_id: int) -> RenderRecord:
        with self._db.read("read a render") as conn:
            row = self._db.one(conn, f"{RENDER_SELECT} WHERE r.id = ?", (render_id,),
                               f"render {render_id}")
        return self._record(row)

    def many(self, render_ids: Iterable[int]) -> list[RenderRecord]:
        """The renders with these ids that still exist, in the order asked."""
        ids = list(dict.fromkeys(render_ids))
        if not ids:
            return []
        found: dict[int, RenderRecord] = {}
        with self._db.read("read renders") as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(f"{RENDER_SELECT} WHERE r.id IN ({marks})", chunk):
                    found[row["id"]] = self._record(row)
        return [found[i] for i in ids if i in found]

    def page(self, where: RenderFilter | None = None, *, limit: int = 200,
             offset: int = 0) -> RenderPage:
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
            ("r.star", None if where.starred is None else int(where.starred)),
        ]
        for column, value in equal:
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if where.state is not None:
            clauses.append("r.status = 'failed'" if where.state is JobState.FAILED
                           else "r.status != 'failed'")
        if where.usable is not None:
            clauses.append("r.status = 'ok'" if where.usable else "r.status != 'ok'")
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
        sql = (f"{RENDER_SELECT} WHERE {' AND '.join(clauses)} "
               "ORDER BY r.created DESC, r.id DESC LIMIT ? OFFSET ?")
        with self._db.read("list renders") as conn:
            rows = conn.execute(sql, (*args, limit + 1, offset)).fetchall()
        items = tuple(self._record(row) for row in rows[:limit])
        return RenderPage(items, offset + limit if len(rows) > limit else None)

    def search(self, text: str, where: RenderFilter | None = None, *, limit: int = 200,
               offset: int = 0) -> RenderPage:
        """Full-text search over prompts, scene and character names, notes and tags."""
        base = where or RenderFilter()
        return self.page(dataclasses.replace(base, text=text), limit=limit, offset=offset)

    def cells(self, sheet_id: int) -> list[SheetCell]:
        """For each scene of the sheet and each stage, the render its cell shows (see
        :meth:`_shown`) and why it is out of date against the scene as last recorded."""
        with self._db.read("read the sheet's renders") as conn:
            scenes = {row["id"]: _scene(row) for row in
                      conn.execute("SELECT * FROM scenes WHERE sheet_id = ?", (sheet_id,))}
            rows = self._shown(conn, "r.sheet_id = ?", (sheet_id,))
        cells = [self._cell(scenes[row["scene_id"]], row) for row in rows
                 if row["scene_id"] in scenes]
        order = {Stage.PREVIEW: 0, Stage.FINAL: 1}
        cells.sort(key=lambda c: (c.scene.position, order[c.stage]))
        return cells

    def cell(self, scene_id: int, stage: Stage) -> SheetCell | None:
        """The render one scene's cell shows at ``stage`` (the rule of :meth:`cells`: what the
        card and ``studio status`` show, and the preview a final is made from); None when it
        has none."""
        with self._db.read("read the scene's render") as conn:
            row = conn.execute("SELECT * FROM scenes WHERE id = ?", (scene_id,)).fetchone()
            rows = self._shown(conn, "r.scene_id = ? AND r.stage = ?", (scene_id, stage.value))
        if row is None or not rows:
            return None
        return self._cell(_scene(row), rows[0])

    @staticmethod
    def _shown(conn: sqlite3.Connection, where: str,
               params: Sequence[object]) -> list[sqlite3.Row]:
        """The one rule for what a cell shows, per scene and stage among the renders ``where``
        selects: the take the user picked while it is usable and kept, else the latest usable
        live render. (An approval does not pick: the user picks a take to make finals from.)"""
        return conn.execute(
            "SELECT * FROM (SELECT r.*, i.path AS image_rel, ROW_NUMBER() OVER ("
            "PARTITION BY r.scene_id, r.stage ORDER BY (t.render_id IS NOT NULL) DESC, "
            "r.created DESC, r.id DESC) AS rn "
            "FROM renders r LEFT JOIN images i ON i.hash = r.image_hash "
            "LEFT JOIN chosen_takes t ON t.render_id = r.id "
            f"WHERE {where} AND r.scene_id IS NOT NULL AND r.trashed IS NULL "
            "AND r.status = 'ok') WHERE rn = 1",
            tuple(params),
        ).fetchall()

    def _cell(self, scene: SceneRecord, row: sqlite3.Row) -> SheetCell:
        render = self._record(row)
        current = scene.fingerprint(render.stage)
        reasons = () if current is None else staleness(render.fingerprint, current)
        return SheetCell(scene=scene, stage=render.stage, render=render, out_of_date=reasons)

    def takes(self, scene_id: int, stage: Stage) -> list[RenderRecord]:
        """Every usable live take of a scene at a stage, newest first."""
        with self._db.read("read the takes") as conn:
            rows = conn.execute(
                f"{RENDER_SELECT} WHERE r.scene_id = ? AND r.stage = ? AND r.trashed IS NULL "
                "AND r.status = 'ok' ORDER BY r.created DESC, r.id DESC",
                (scene_id, stage.value)).fetchall()
        return [self._record(row) for row in rows]

    def chosen_take(self, scene_id: int, stage: Stage) -> int | None:
        """The render the user picked for the scene at the stage, if any."""
        with self._db.read("read the chosen take") as conn:
            row = conn.execute("SELECT render_id FROM chosen_takes WHERE scene_id = ? AND "
                               "stage = ?", (scene_id, stage.value)).fetchone()
        return None if row is None else int(row[0])

    def choose_take(self, render_id: int) -> None:
        """Make ``render_id`` the take its cell shows (and finals are made from)."""
        with self._db.transaction("pick the take") as (conn, changed):
            row = self._db.one(conn, "SELECT id, scene_id, stage, sheet_id, status, trashed "
                               "FROM renders WHERE id = ?", (render_id,), f"render {render_id}")
            if row["scene_id"] is None or row["status"] != "ok" or row["trashed"] is not None:
                raise LibraryError(f"Render {render_id} cannot be picked as a take: it "
                                   "belongs to no scene, failed, or is in the trash.")
            conn.execute("INSERT INTO chosen_takes (scene_id, stage, render_id) VALUES (?, ?, ?) "
                         "ON CONFLICT (scene_id, stage) DO UPDATE SET "
                         "render_id = excluded.render_id",
                         (row["scene_id"], row["stage"], render_id))
            changed.note(renders=[render_id],
                         sheets=[row["sheet_id"]] if row["sheet_id"] is not None else [])

    def take_counts(self, sheet_id: int) -> dict[tuple[int, Stage], int]:
        """How many usable live renders (takes) each scene of the sheet has at each stage."""
        with self._db.read("count the sheet's takes") as conn:
            rows = conn.execute(
                "SELECT scene_id, stage, COUNT(*) FROM renders WHERE sheet_id = ? AND "
                "scene_id IS NOT NULL AND trashed IS NULL AND status = 'ok' "
                "GROUP BY scene_id, stage", (sheet_id,)).fetchall()
        return {(row[0], Stage(row[1])): row[2] for row in rows}

    def staleness(self, render: RenderRecord) -> tuple[str, ...]:
        """Why ``render`` no longer matches its scene as the library last recorded it."""
        if render.scene_id is None:
            return ()
        with self._db.read("check whether a render is out of date") as conn:
            row = conn.execute("SELECT * FROM scenes WHERE id = ?", (render.scene_id,)).fetchone()
        current = None if row is None else _scene(row).fingerprint(render.stage)
        return () if current is None else staleness(render.fingerprint, current)

    def unfingerprinted(self, sheet_id: int) -> list[RenderRecord]:
        """The sheet's renders made before fingerprints were kept."""
        with self._db.read("read the sheet's renders") as conn:
            rows = conn.execute(f"{RENDER_SELECT} WHERE r.sheet_id = ? AND r.fingerprint IS NULL "
                                "AND r.scene_id IS NOT NULL", (sheet_id,)).fetchall()
        return [self._record(row) for row in rows]

    # ------------------------------------------------------------------ writing

    def record(self, draft: RenderDraft, image: bytes,
               outcome: Outcome | None = None) -> RenderRecord:
        """Store a finished render: the image (PNG with its metadata chunks added; JPEG, WebP
        and GIF as returned) and its record, in that order. Returns the committed record."""
        return self.get(self._recorder.store(draft, image, outcome or Outcome()))

    def record_failure(self, draft: RenderDraft, error: str,
                       outcome: Outcome | None = None) -> RenderRecord:
        """Keep a failed render's settings and reason (no image)."""
        return self.get(self._recorder.store_failure(draft, error, outcome or Outcome()))

    def set_fingerprints(self, fingerprints: Mapping[int, Fingerprint]) -> None:
        """Give renders made before fingerprints were kept the one learned for them."""
        with self._db.transaction("record what old renders were made with") as (conn, changed):
            for render_id, fp in fingerprints.items():
                conn.execute("UPDATE renders SET fingerprint = ? WHERE id = ? AND fingerprint "
                             "IS NULL", (codec.dumps(fp), render_id))
            changed.note(renders=fingerprints)

    def set_approval(self, render_ids: Iterable[int], approval: Approval) -> None:
        self._update(render_ids, "approval = ?", (approval.value,), "set the approval")

    def set_star(self, render_ids: Iterable[int], star: bool) -> None:
        self._update(render_ids, "star = ?", (int(star),), "star the render")

    # The rule of the verdict and star buttons of the library browser, the viewer and the
    # image menus (a card applies it to its scene's verdict): the same verdict again takes it
    # back; a star where every one has it, too. Read and written in one transaction.

    def toggle_approval(self, render_ids: Iterable[int], approval: Approval) -> Approval:
        """Give the renders ``approval``, or take it back (``NONE``) when every one has it
        already; the verdict they have now."""
        ids = list(render_ids)
        if not ids:
            return Approval.NONE
        with self._db.transaction("set the approval") as (conn, _changed):
            have = _column_values(conn, "approval", ids)
            verdict = Approval.NONE if have == {approval.value} else approval
            self._update(ids, "approval = ?", (verdict.value,), "set the approval")
        return verdict

    def toggle_star(self, render_ids: Iterable[int]) -> bool:
        """Star the renders, or unstar them when every one is starred; whether they are."""
        ids = list(render_ids)
        if not ids:
            return False
        with self._db.transaction("star the render") as (conn, _changed):
            have = _column_values(conn, "star", ids)
            star = have != {1}
            self._update(ids, "star = ?", (int(star),), "star the render")
        return star

    def set_tags(self, render_id: int, tags: Iterable[str]) -> None:
        self._update((render_id,), "tags = ?", (json.dumps(list(clean_tags(tags))),),
                     "tag the render")

    def set_notes(self, render_id: int, notes: str) -> None:
        self._update((render_id,), "notes = ?", (notes,), "save the notes")

    def trash(self, render_ids: Iterable[int]) -> None:
        """Move renders to the trash (kept, with their images, until the trash is emptied)."""
        self._update(render_ids, "trashed = COALESCE(trashed, ?)", (self._db.now(),),
                     "move to the trash")

    def restore(self, render_ids: Iterable[int]) -> None:
        self._update(render_ids, "trashed = NULL", (), "restore from the trash")

    def _update(self, render_ids: Iterable[int], assignment: str, values: Sequence[Any],
                doing: str) -> int:
        ids = list(render_ids)
        with self._db.transaction(doing) as (conn, changed):
            count = 0
            for render_id in ids:
                cursor = conn.execute(f"UPDATE renders SET {assignment} WHERE id = ?",
                                      (*values, render_id))
                if cursor.rowcount == 0:
                    raise RecordNotFoundError(f"The library has no render {render_id}.")
                count += cursor.rowcount
            sheets = conn.execute(
                f"SELECT DISTINCT sheet_id FROM renders WHERE id IN ({','.join('?' * len(ids))}) "
                "AND sheet_id IS NOT NULL", ids).fetchall() if ids else []
            changed.note(renders=ids, sheets=[row[0] for row in sheets])
        return count

    def empty_trash(self) -> EmptiedTrash:
        """Delete trashed renders for good, and the image files no remaining record uses.

        The records go first (with a tombstone per file), then the files: a crash in between
        leaves files that ``check`` knows it may delete.
        """
        with self._db.lock:
            with self._db.transaction("empty the trash") as (conn, changed):
                gone = conn.execute(
                    "SELECT id, sheet_id FROM renders WHERE trashed IS NOT NULL").fetchall()
                cursor = conn.execute("DELETE FROM renders WHERE trashed IS NOT NULL")
                removed = cursor.rowcount
                unused = conn.execute(
                    "SELECT hash, path FROM images i WHERE NOT EXISTS "
                    "(SELECT 1 FROM renders r WHERE r.image_hash = i.hash) AND NOT EXISTS "
                    "(SELECT 1 FROM anchor_references a WHERE a.image_hash = i.hash)"
                ).fetchall()
                for row in unused:
                    conn.execute("INSERT OR IGNORE INTO deleted_images (path) VALUES (?)",
                                 (row["path"],))
                    conn.execute("DELETE FROM images WHERE hash = ?", (row["hash"],))
                changed.note(renders=[row["id"] for row in gone],
                             sheets=[row["sheet_id"] for row in gone if row["sheet_id"]])
            for row in unused:
                self._files.images.remove(row["path"])
                self._files.thumbnails.remove(row["hash"])
            if unused:
                with self._db.transaction("empty the trash") as (conn, _changed):
                    conn.executemany("DELETE FROM deleted_images WHERE path = ?",
                                     [(row["path"],) for row in unused])
        return EmptiedTrash(renders_removed=removed, files_removed=len(unused))


def _column_values(conn: sqlite3.Connection, column: str, ids: list[int]) -> set[Any]:
    """The distinct values of ``column`` among the renders ``ids``."""
    marks = ",".join("?" * len(ids))
    return {row[0] for row in conn.execute(
        f"SELECT DISTINCT {column} FROM renders WHERE id IN ({marks})", ids)}
