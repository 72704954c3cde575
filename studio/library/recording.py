"""Storing one render: its image (with the settings written into the file) and its record.

Durability order: the image file is written and fsynced under its content hash, *then* the
record is committed (WAL, ``synchronous=FULL``). A crash in between leaves an unrecorded file
that ``check`` sets aside, never a record pointing at a missing file.

Every render records the reference images it was sent with (hash and role, in the order sent,
with the strength), in its row and in the image's ``studio`` chunk.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from studio.core import codec
from studio.core.anchor import ReferenceImage, ReferenceStrength
from studio.core.lifecycle import JobState, Outcome
from studio.core.parameters import ImageParameters, format_parameters
from studio.core.priority import background_threads

from .changes import ChangeCollector
from .database import Database
from .errors import ImageImportError, LibraryError
from .files import Files
from .metadata import MetadataError, embed_png_metadata
from .models import RenderDraft
from .storage import sniff_format

#: How many images of finished jobs are written (and made durable) at once: as many as the
#: cores left to the window, eight at most. Each writer hashes, copies and writes megabytes
#: and runs Python: on two cores a second writer was one more thread the window waited behind
#: for a core (while 48 scenes rendered, its longest wait was under 16 ms in 16 of 20 runs with
#: two, 18 of 20 with one; median 10.9 and 9.2 ms). An image's fsyncs take a millisecond or two.
IMAGE_WRITERS = min(8, background_threads())


class WrittenImage(NamedTuple):
    """A finished job's image stored and durable, not recorded yet
    (:meth:`Recorder.write_job_images`): the names its record and chunk use, the image row
    (hash, path relative to ``images/``, format, size), and whether this write created the
    file (only then is it removed when the record is not kept)."""

    ctx: dict[str, Any]
    image: tuple[str, str, str, int]
    created: bool


#: The ``studio`` PNG chunk's layout: 2 keeps the request, outcome and fingerprint as the codec
#: writes them (1 had flat keys).
STUDIO_CHUNK_FORMAT = 2


def references_json(references: Iterable[ReferenceImage], strength: ReferenceStrength) -> str:
    """What ``renders.reference_images`` holds: one ``{"sha256", "role", "strength"}`` object
    per image sent, in order (``[]`` for none)."""
    return json.dumps([{"sha256": r.sha256, "role": r.role.value, "strength": strength.value}
                       for r in references])


def references_from_json(text: str | None) -> tuple[tuple[ReferenceImage, ...],
                                                    ReferenceStrength]:
    """The images and strength ``renders.reference_images`` holds (none from damaged text)."""
    try:
        items = json.loads(text or "[]")
        refs = tuple(codec.from_data(ReferenceImage, item) for item in items)
        strength = ReferenceStrength(items[0].get("strength", "strong")) if refs else (
            ReferenceStrength.OFF)
    except (ValueError, TypeError, AttributeError, codec.CodecError):
        return (), ReferenceStrength.OFF
    return refs, strength


def reference_data(references: Iterable[ReferenceImage]) -> list[dict[str, str]]:
    """The references as ``studio status --json`` and bundle settings list them."""
    return [{"sha256": r.sha256, "role": r.role.value} for r in references]


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags with runs of white space folded, empty ones and repeats dropped, order kept."""
    seen: dict[str, None] = {}
    for tag in tags:
        clean = " ".join(tag.split())
        if clean:
            seen.setdefault(clean, None)
    return tuple(seen)


class Recorder:
    """Writes renders for the aggregates that make them (renders, jobs, imports)."""

    def __init__(self, db: Database, files: Files) -> None:
        self._db = db
        self._files = files

    def context(self, conn: sqlite3.Connection, draft: RenderDraft,
                seen: dict[tuple[str, int | None], Any] | None = None) -> dict[str, Any]:
        """Ids and names the record and the image's chunk need, checked to exist. ``seen``
        keeps the rows read for one batch (its images share a project, sheet and anchor
        version): each is read once per batch, not once per image."""
        def one(conn: sqlite3.Connection, sql: str, args: tuple[int | None],
                what: str) -> sqlite3.Row:
            if seen is None:
                return self._db.one(conn, sql, args, what)
            key = (sql, args[0])
            row = seen.get(key)
            if row is None:
                row = seen[key] = self._db.one(conn, sql, args, what)
            return row

        ctx: dict[str, Any] = {"character_id": None}
        ctx["project"] = one(conn, "SELECT name FROM projects WHERE id = ?",
                             (draft.project_id,), "such project")["name"]
        ctx["sheet"] = None
        if draft.sheet_id is not None:
            ctx["sheet"] = one(conn, "SELECT name FROM sheets WHERE id = ?", (draft.sheet_id,),
                               "such sheet")["name"]
        # Names as the user saw them, kept even if the scene or character is later removed.
        ctx["scene_name"] = draft.scene_name
        ctx["character_name"] = draft.character_name
        if draft.scene_id is not None:
            scene = one(conn, "SELECT name FROM scenes WHERE id = ?", (draft.scene_id,),
                        "such scene")
            ctx["scene_name"] = draft.scene_name or scene["name"]
        ctx["anchor"] = None
        if draft.anchor_version_id is not None:
            anchor = one(conn, "SELECT a.*, c.name AS character_name FROM anchor_versions a "
                         "JOIN characters c ON c.id = a.character_id WHERE a.id = ?",
                         (draft.anchor_version_id,), "such anchor version")
            ctx["character_id"] = anchor["character_id"]
            ctx["character_name"] = draft.character_name or anchor["character_name"]
            ctx["anchor"] = {"id": anchor["id"], "version": anchor["version"],
                             "anchor": anchor["anchor"]}
        if draft.parent_id is not None:
            one(conn, "SELECT id FROM renders WHERE id = ?", (draft.parent_id,), "such preview")
        return ctx

    @staticmethod
    def studio_chunk(draft: RenderDraft, outcome: Outcome, ctx: Mapping[str, Any],
                     source: str) -> dict[str, Any]:
        """The ``studio`` chunk: settings and context only, never a key or a URL."""
        return {
            "format": STUDIO_CHUNK_FORMAT,
            "request": codec.to_data(draft.request),
            "outcome": codec.to_data(outcome),
            "fingerprint": codec.to_data(draft.fingerprint),
            "project": ctx["project"],
            "sheet": ctx["sheet"],
            "scene_id": draft.scene_id,
            "anchor_version": ctx["anchor"],
            "references": reference_data(draft.request.references),
            "parent_render_id": draft.parent_id,
            "source": source,
        }

    def prepare_image(self, image: bytes, draft: RenderDraft, outcome: Outcome,
                      ctx: Mapping[str, Any], source: str,
                      parameters: str | None = None) -> tuple[bytes, str]:
        fmt = sniff_format(image)
        if not fmt:
            raise ImageImportError(
                "The image is not a PNG, JPEG, WebP or GIF file; it was not stored.")
        if fmt != "PNG":
            return image, fmt
        if parameters is None:
            request = draft.request
            seed = outcome.seed_returned if outcome.seed_returned is not None else request.seed
            known = source != "import"  # an import without settings has no steps or CFG
            parameters = format_parameters(ImageParameters(
                prompt=request.prompt, negative=request.negative,
                steps=request.steps if known or request.steps else None,
                guidance=request.guidance if known or request.guidance else None,
                seed=seed, width=request.width, height=request.height,
                model=request.model, provider=request.provider,
            ))
        try:
            image = embed_png_metadata(image, parameters,
                                       self.studio_chunk(draft, outcome, ctx, source))
        except MetadataError as exc:
            raise ImageImportError(f"The PNG image is damaged ({exc}); it was not stored.") from exc
        return image, fmt

    def insert(self, conn: sqlite3.Connection, changed: ChangeCollector, draft: RenderDraft,
               outcome: Outcome, ctx: Mapping[str, Any], *, state: JobState, error: str,
               image: tuple[str, str, str, int] | None, source: str) -> int:
        """Insert the render record (and its image row); returns its id."""
        now = self._db.now()
        image_hash = None
        if image is not None:
            image_hash, relative, fmt, size = image
            conn.execute(
                "INSERT INTO images (hash, path, format, bytes, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (hash) DO NOTHING",
                (image_hash, relative, fmt, size, now),
            )
            conn.execute("DELETE FROM deleted_images WHERE path = ?", (relative,))
        request = draft.request
        cursor = conn.execute(
            "INSERT INTO renders (project_id, sheet_id, scene_id, character_id, "
            "anchor_version_id, parent_id, stage, provider, model, request_id, prompt, negative, "
            "width, height, steps, guidance, seed_requested, seed_returned, timings, cost, "
            "status, error, tags, scene_name, character_name, fingerprint, notes, "
            "image_hash, source, created, reference_images) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?)",
            (
                draft.project_id, draft.sheet_id, draft.scene_id, ctx["character_id"],
                draft.anchor_version_id, draft.parent_id, request.stage.value, request.provider,
                request.model, outcome.request_id, request.prompt, request.negative,
                request.width, request.height, request.steps, request.guidance, request.seed,
                outcome.seed_returned, codec.dumps(outcome.timings), outcome.cost,
                "ok" if state is JobState.DONE else "failed", error,
                json.dumps(list(clean_tags(draft.tags))), ctx["scene_name"],
                ctx["character_name"],
                None if draft.fingerprint is None else codec.dumps(draft.fingerprint),
                draft.notes, image_hash, source, now,
                references_json(request.references, request.reference_strength),
            ),
        )
        render_id = cursor.lastrowid
        assert render_id is not None
        changed.note(renders=[render_id])
        if draft.sheet_id is not None:
            changed.note(sheets=[draft.sheet_id])
        return render_id

    def store(self, draft: RenderDraft, image: bytes, outcome: Outcome, *,
              source: str = "studio", parameters: str | None = None) -> int:
        """Write the image, then the record; returns the render id. (A job's image is stored
        with :meth:`write_job_images` and :meth:`record_jobs`, which finish the job in the same
        transaction.)"""
        self._db.require_writable("save the render")
        with self._db.lock:
            with self._db.read("save the render") as conn:
                ctx = self.context(conn, draft)
            data, fmt = self.prepare_image(image, draft, outcome, ctx, source, parameters)
            # The file is durable before any record points at it.
            digest, relative, created = self._files.images.store(data, fmt)
            try:
                with self._db.transaction("save the render") as (conn, changed):
                    if created:
                        # Inside a larger transaction (an import) the file must go if that
                        # one rolls back later, not only if this insert fails.
                        self._db.on_rollback(lambda: self._files.images.remove(relative))
                    render_id = self.insert(conn, changed, draft, outcome, ctx,
                                            state=JobState.DONE, error="",
                                            image=(digest, relative, fmt, len(data)),
                                            source=source)
            except BaseException:
                # Not recorded, and the caller is told so: don't leave the file on a full disk.
                if created:
                    self._files.images.remove(relative)
                raise
            return render_id

    def write_job_images(self, entries: Sequence[tuple[RenderDraft, bytes, Outcome]],
                         ) -> list[WrittenImage | LibraryError]:
        """The first half of storing finished jobs' images (draft, image, outcome): each image,
        with its settings written in, stored and made durable, or the LibraryError that kept it
        out. Call it *without* holding the library's lock, then :meth:`record_jobs` with it.

        Each file is made durable by its own fsyncs, which wait on the disk and not on the
        interpreter: the images of a batch are written side by side (up to
        :data:`IMAGE_WRITERS` at once), and the library stays free meanwhile for the journal
        entries that let the next requests leave. Files are content-addressed, so writing one
        beside the library's other work never clashes with it."""
        self._db.require_writable("save the render")
        # The names each chunk carries are read first, in this thread: the writers below never
        # touch the database (nor wait for its lock, which this thread may hold).
        contexts: list[dict[str, Any] | LibraryError] = []
        seen: dict[tuple[str, int | None], Any] = {}
        with self._db.lock:
            for draft, _, _ in entries:
                try:
                    with self._db.read("save the render") as conn:
                        contexts.append(self.context(conn, draft, seen))
                except LibraryError as exc:
                    contexts.append(exc)
        work = [(ctx, *entry) for ctx, entry in zip(contexts, entries, strict=True)]
        if len(work) <= 1 or IMAGE_WRITERS == 1:
            done: list[WrittenImage | LibraryError] = []
            try:
                for item in work:
                    done.append(self._write_job_image(*item))
            except BaseException:  # not a storage error: a bug, raised once the rest is undone
                self.forget_written(done)
                raise
            return done
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(len(work), IMAGE_WRITERS),
                                thread_name_prefix="image-writer") as pool:
            futures = [pool.submit(self._write_job_image, *item) for item in work]
        written: list[WrittenImage | LibraryError] = []
        failure: BaseException | None = None
        for future in futures:
            error = future.exception()
            if error is not None:  # not a storage error: a bug, raised once the rest is undone
                failure = failure or error
                continue
            written.append(future.result())
        if failure is not None:
            self.forget_written(written)
            raise failure
        return written

    def _write_job_image(self, ctx: dict[str, Any] | LibraryError, draft: RenderDraft,
                         image: bytes, outcome: Outcome) -> WrittenImage | LibraryError:
        if isinstance(ctx, LibraryError):
            return ctx
        try:
            data, fmt = self.prepare_image(image, draft, outcome, ctx, "studio")
            digest, relative, created = self._files.images.store(data, fmt)
        except LibraryError as exc:
            return exc
        return WrittenImage(ctx, (digest, relative, fmt, len(data)), created)

    def forget_written(self, written: Iterable[WrittenImage | LibraryError]) -> None:
        """Remove the files :meth:`write_job_images` created for images that will not be
        recorded (don't leave them on a full disk)."""
        for item in written:
            if isinstance(item, WrittenImage) and item.created:
                self._files.images.remove(item.image[1])

    def record_jobs(self, entries: Sequence[tuple[RenderDraft, Outcome, int, WrittenImage]],
                    ) -> list[int | LibraryError]:
        """The second half: the records of finished jobs (draft, outcome, job id, what
        :meth:`write_job_images` wrote) in one transaction, each job marked done with its
        render. Each entry gets its render id; a transaction that fails (a full disk) fails
        every entry it held, and their new files are removed."""
        self._db.require_writable("save the render")
        results: list[int | LibraryError | None] = [None] * len(entries)
        with self._db.lock:
            try:
                if entries:
                    with self._db.transaction("save the renders") as (conn, changed):
                        for index, (draft, outcome, job_id, written) in enumerate(entries):
                            render_id = self.insert(conn, changed, draft, outcome, written.ctx,
                                                    state=JobState.DONE, error="",
                                                    image=written.image, source="studio")
                            conn.execute(
                                "UPDATE jobs SET state = 'done', render_id = ?, error = '', "
                                "updated = ? WHERE id = ?",
                                (render_id, self._db.now(), job_id),
                            )
                            changed.note(jobs=[job_id])
                            results[index] = render_id
            except BaseException as exc:
                # Not recorded: don't leave their files on a full disk.
                self.forget_written(written for *_, written in entries)
                if not isinstance(exc, LibraryError):
                    raise
                results = [exc] * len(entries)
        return [r if r is not None else LibraryError("The render was not stored.") for r in results]

    def store_failure(self, draft: RenderDraft, error: str, outcome: Outcome, *,
                      job_id: int | None = None) -> int:
        """Keep a failed render's settings and reason (no image); finish ``job_id`` failed."""
        with self._db.lock:
            with self._db.read("save the failed render") as conn:
                ctx = self.context(conn, draft)
            with self._db.transaction("save the failed render") as (conn, changed):
                render_id = self.insert(conn, changed, draft, outcome, ctx,
                                        state=JobState.FAILED, error=error, image=None,
                                        source="studio")
                if job_id is not None:
                    conn.execute(
                        "UPDATE jobs SET state = 'failed', error = ?, render_id = ?, "
                        "updated = ? WHERE id = ?",
                        (error, render_id, self._db.now(), job_id),
                    )
                    changed.note(jobs=[job_id])
            return render_id
