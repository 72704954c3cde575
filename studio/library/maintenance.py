"""Library maintenance: importing images made elsewhere, and checking (and safely repairing)
the database and the image files."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from studio.core import limits
from studio.core.lifecycle import Outcome
from studio.core.parameters import parse_parameters
from studio.core.request import GenerationRequest, SceneContext, Stage

from . import paths
from .database import Database
from .decoding import check_file_size, check_image
from .errors import ImageImportError, storage_error_from_os
from .files import Files
from .metadata import read_exif_parameters, read_png_metadata
from .models import CheckReport, ImageHealth, ImportResult, RenderDraft, SceneSuggestion
from .recording import Recorder
from .renders import Renders
from .storage import content_hash


class Maintenance:
    """Imports and integrity checks."""

    def __init__(self, db: Database, files: Files, renders: Renders, recorder: Recorder) -> None:
        self._db = db
        self._files = files
        self._renders = renders
        self._recorder = recorder

    def import_image(
        self,
        source: Path | bytes,
        project_id: int,
        *,
        stage: Stage = Stage.FINAL,
        name: str = "",
    ) -> ImportResult:
        """Import an image made by another tool (or an exported studio PNG).

        Only PNG, JPEG and WebP within ``core.limits`` are read (checked from the header, then
        decoded whole before anything is stored). Settings are read from the studio's own
        chunk, else from an A1111 ``parameters`` text; numbers out of range are left out, and
        an image without settings is still imported. Raises ``ImageImportError`` (a sentence)
        for a file that is not such an image, and the library's storage errors.
        """
        label = name or (source.name if isinstance(source, Path) else "The file")
        if isinstance(source, Path):
            try:
                check_file_size(label, source.stat().st_size)
                data = source.read_bytes()
            except OSError as exc:
                raise ImageImportError(
                    f"Could not read {source}: {exc.strerror or exc}; check the file."
                ) from exc
            name = name or source.stem
        else:
            data = source
        checked = check_image(data, label)
        fmt, width, height = checked.format, checked.width, checked.height
        suggestion = SceneSuggestion(width=width, height=height)
        original_parameters: str | None = None
        if fmt == "PNG":
            meta = read_png_metadata(data)
            suggestion = _suggestion(meta.studio, meta.parameters, width, height)
            # Another tool's settings text is kept verbatim (sampler, hashes and all).
            original_parameters = meta.parameters
        else:
            # Kept as they are (EXIF included); only the suggestion is read from them.
            suggestion = _suggestion(None, read_exif_parameters(data), width, height)
        draft = RenderDraft(
            request=GenerationRequest(
                prompt=suggestion.prompt, negative=suggestion.negative, width=width,
                height=height, steps=suggestion.steps or 0,
                guidance=suggestion.guidance or 0.0, model=suggestion.model,
                seed=suggestion.seed, stage=stage, provider=suggestion.provider or "import",
                context=SceneContext(scene=name),
            ),
            project_id=project_id,
        )
        render_id = self._recorder.store(draft, data, Outcome(seed_returned=suggestion.seed),
                                         source="import", parameters=original_parameters)
        return ImportResult(render=self._renders.get(render_id), suggestion=suggestion)

    def check(self, *, repair: bool = True, verify_hashes: bool = True) -> CheckReport:
        """Integrity check of the database and the files; with ``repair`` (and write access),
        fix what is safe: remove temp files, set aside unrecorded images in ``orphans/``, delete
        files of emptied records, mark renders whose image is missing or damaged (and unmark
        them when the file is back)."""
        repair = repair and not self._db.read_only
        with self._db.read("check the library") as conn:
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
                path = self._files.images.path(row["path"])
                try:
                    if verify_hashes:
                        if content_hash(path.read_bytes()) != row["hash"]:
                            mismatched.append(row["hash"])
                    elif not path.is_file():
                        missing.append(row["hash"])
                except FileNotFoundError:
                    missing.append(row["hash"])
            orphans: list[str] = []
            images_dir = self._files.images.images_dir
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
                removed_temp = self._files.remove_temp_files()
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
        target_dir = self._db.data_dir / paths.ORPHANS_DIR
        for relative in orphans:
            path = self._files.images.path(relative)
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
            with self._db.transaction("tidy the library's files") as (conn, _changed):
                conn.execute("DELETE FROM deleted_images")
        return moved

    def _mark_renders(
        self, missing: Sequence[str], mismatched: Sequence[str], images: Sequence[sqlite3.Row]
    ) -> tuple[int, int]:
        bad = {h: ImageHealth.MISSING for h in missing} | {
            h: ImageHealth.DAMAGED for h in mismatched
        }
        good = [row["hash"] for row in images if row["hash"] not in bad]
        marked = restored = 0
        with self._db.transaction("mark renders with missing images") as (conn, changed):
            for digest, health in bad.items():
                rows = conn.execute(
                    "UPDATE renders SET status = ? WHERE image_hash = ? AND status NOT IN "
                    "(?, 'failed') RETURNING id", (health.value, digest, health.value),
                ).fetchall()
                marked += len(rows)
                changed.note(renders=[row[0] for row in rows])
            for digest in good:
                rows = conn.execute(
                    "UPDATE renders SET status = 'ok' WHERE image_hash = ? "
                    "AND status IN ('missing', 'damaged') RETURNING id", (digest,),
                ).fetchall()
                restored += len(rows)
                changed.note(renders=[row[0] for row in rows])
        return marked, restored




def _suggestion(
    studio: Mapping[str, Any] | None, parameters: str | None, width: int, height: int
) -> SceneSuggestion:
    if studio is not None and isinstance(studio.get("request"), Mapping):
        # The chunk as the studio writes it now: the request and outcome as the codec has them.
        request, outcome = studio["request"], studio.get("outcome")
        studio = {**request, "seed_requested": request.get("seed"),
                  "seed_returned": outcome.get("seed_returned")
                  if isinstance(outcome, Mapping) else None}
    if studio is not None and isinstance(studio.get("prompt"), str):

        def num(key: str, low: float, high: float) -> int | float | None:
            # Anyone's chunk: a number out of what the library keeps is left out, not stored.
            return limits.number_within(studio.get(key), low, high)

        seed_range = (limits.PARAM_SEED_MIN, limits.PARAM_SEED_MAX)
        seed = num("seed_returned", *seed_range)
        seed = seed if seed is not None else num("seed_requested", *seed_range)
        steps = num("steps", limits.PARAM_STEPS_MIN, limits.PARAM_STEPS_MAX)
        guidance = num("guidance", limits.PARAM_GUIDANCE_MIN, limits.PARAM_GUIDANCE_MAX)
        return SceneSuggestion(
            prompt=studio["prompt"],
            negative=str(studio.get("negative") or ""),
            seed=None if seed is None or seed != int(seed) else int(seed),
            width=width,
            height=height,
            steps=None if steps is None or steps != int(steps) else int(steps),
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
