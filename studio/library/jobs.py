"""The job journal: every render job is written down before anything is sent, and at every step
after, so a crash resumes following a job instead of paying for it twice."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.core import codec
from studio.core.lifecycle import JobState, Outcome
from studio.core.request import GenerationRequest, LoraWeight, SceneContext, Stage

from .database import Database, dt
from .errors import LibraryError
from .models import JobRecord, RenderDraft, RenderRecord
from .recording import Recorder, WrittenImage
from .renders import Renders

#: States a job is in until it ends; ``resume`` picks these up.
UNFINISHED = tuple(s for s in JobState if not s.finished)
_UNFINISHED_SQL = ", ".join(f"'{s.value}'" for s in UNFINISHED)


def _legacy_draft(data: Mapping[str, Any], request: Mapping[str, Any]) -> RenderDraft:
    """A job written before the codec: a flat draft beside the provider-neutral request."""
    source = request if request.get("prompt") is not None else data
    ctx = request.get("context") or {}
    seed = source.get("seed", data.get("seed_requested"))
    return RenderDraft(
        request=GenerationRequest(
            prompt=str(source["prompt"]), negative=str(source.get("negative", "")),
            width=int(source["width"]), height=int(source["height"]),
            steps=int(source["steps"]), guidance=float(source["guidance"]),
            model=str(data.get("model") or source["model"]),
            seed=None if seed is None else int(seed), stage=Stage(data["stage"]),
            provider=str(data["provider"]),
            loras=tuple(LoraWeight(str(lw["path"]), float(lw.get("scale", 0.8)))
                        for lw in request.get("loras", ())),
            context=SceneContext(
                character=str(data.get("character_name") or ctx.get("character", "")),
                scene=str(data.get("scene_name") or ctx.get("scene", "")),
                lighting=str(ctx.get("lighting", "")), lens=str(ctx.get("lens", "")),
                framing=str(ctx.get("framing", ""))),
        ),
        project_id=int(data["project_id"]), sheet_id=data.get("sheet_id"),
        scene_id=data.get("scene_id"), anchor_version_id=data.get("anchor_version_id"),
        parent_id=data.get("parent_id"), notes=str(data.get("notes", "")),
        tags=tuple(data.get("tags", ())),
    )


def draft_from_json(draft_text: str, request_text: str = "{}") -> RenderDraft:
    """A job's draft as stored; ``ValueError`` when it is damaged."""
    data = json.loads(draft_text)
    if isinstance(data, Mapping) and "request" not in data:
        try:
            return _legacy_draft(data, json.loads(request_text or "{}"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the stored job is incomplete ({exc!r})") from None
    return codec.from_data(RenderDraft, data)


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        id=row["id"],
        draft=draft_from_json(row["draft"], row["request"]),
        state=JobState(row["state"]),
        provider_request_id=row["provider_request_id"],
        poll_url=row["poll_url"],
        submission=json.loads(row["submission"]),
        attempts=row["attempts"],
        error=row["error"],
        render_id=row["render_id"],
        created=dt(row["created"]),
        updated=dt(row["updated"]),
    )


@dataclass(frozen=True, slots=True)
class SubmittedJob:
    """What :meth:`Jobs.mark_submitted` keeps of an accepted job, for a batch of them."""

    provider_request_id: str
    poll_url: str = ""
    submission: Mapping[str, Any] = field(default_factory=dict)


class Jobs:
    """Render jobs from queued to done, failed, cancelled or uncertain."""

    def __init__(self, db: Database, renders: Renders, recorder: Recorder) -> None:
        self._db = db
        self._renders = renders
        self._recorder = recorder

    def create(self, draft: RenderDraft) -> JobRecord:
        """Record a job before anything is sent, so a crash after sending can resume it."""
        return self.create_many([draft])[0]

    def create_many(self, drafts: Sequence[RenderDraft]) -> list[JobRecord]:
        """Record several jobs in one transaction (a batch of a sheet)."""
        with self._db.lock:
            with self._db.read("queue the jobs") as conn:
                links = {(d.project_id, d.sheet_id, d.scene_id, d.anchor_version_id,
                          d.parent_id): d for d in drafts}
                for draft in links.values():
                    self._recorder.context(conn, draft)
            now = self._db.now()
            ids: list[int] = []
            with self._db.transaction("queue the jobs") as (conn, changed):
                for draft in drafts:
                    cursor = conn.execute(
                        "INSERT INTO jobs (draft, request, provider, model, state, created, "
                        "updated) VALUES (?, '{}', ?, ?, 'queued', ?, ?)",
                        (codec.dumps(draft), draft.provider, draft.model, now, now),
                    )
                    assert cursor.lastrowid is not None
                    ids.append(cursor.lastrowid)
                changed.note(jobs=ids)
            return self.many(ids)

    def get(self, job_id: int) -> JobRecord:
        with self._db.read("read a job") as conn:
            row = self._db.one(conn, "SELECT * FROM jobs WHERE id = ?", (job_id,), f"job {job_id}")
        return _job(row)

    def many(self, job_ids: Sequence[int]) -> list[JobRecord]:
        found: dict[int, JobRecord] = {}
        with self._db.read("read jobs") as conn:
            for start in range(0, len(job_ids), 500):
                chunk = list(job_ids[start:start + 500])
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(f"SELECT * FROM jobs WHERE id IN ({marks})", chunk):
                    found[row["id"]] = _job(row)
        return [found[i] for i in job_ids if i in found]

    def unfinished(self) -> list[JobRecord]:
        """Jobs not yet done, failed, cancelled or uncertain, oldest first: resume these."""
        return self._where(f"state IN ({_UNFINISHED_SQL})")

    def uncertain(self) -> list[JobRecord]:
        """Jobs that may have been accepted (and billed) without the studio learning their id;
        only the user can send them again."""
        return self._where("state = 'uncertain'")

    def _where(self, condition: str) -> list[JobRecord]:
        with self._db.read("list jobs") as conn:
            rows = conn.execute(f"SELECT * FROM jobs WHERE {condition} ORDER BY id").fetchall()
        return [_job(row) for row in rows]

    def _update(self, job_id: int, doing: str, assignment: str, values: Sequence[Any], *,
                allow_finished: tuple[JobState, ...] = ()) -> None:
        with self._db.transaction(doing) as (conn, changed):
            row = self._db.one(conn, "SELECT state FROM jobs WHERE id = ?", (job_id,),
                               f"job {job_id}")
            state = JobState(row["state"])
            if state.finished and state not in allow_finished:
                raise LibraryError(f"Job {job_id} is already {state.value}.")
            conn.execute(f"UPDATE jobs SET {assignment}, updated = ? WHERE id = ?",
                         (*values, self._db.now(), job_id))
            changed.note(jobs=[job_id])

    def mark_submitted(self, job_id: int, *, provider_request_id: str, poll_url: str = "",
                       submission: Mapping[str, Any] | None = None) -> JobRecord:
        """The provider accepted the job: keep what is needed to follow it after a crash."""
        self._update(
            job_id, "record the submitted job",
            "state = 'submitted', provider_request_id = ?, poll_url = ?, submission = ?, "
            "attempts = attempts + 1",
            (provider_request_id, poll_url, json.dumps(dict(submission or {}), sort_keys=True)),
        )
        return self.get(job_id)

    def set_state(self, job_id: int, state: JobState, *, error: str = "") -> JobRecord:
        """Move an unfinished job on (queued, sending, submitted, processing, downloading), or
        mark it uncertain; finish it with :meth:`complete`, :meth:`fail` or :meth:`cancel`."""
        if state.finished and state is not JobState.UNCERTAIN:
            raise ValueError("finish a job with complete, fail or cancel")
        self._update(job_id, "update the job", "state = ?, error = ?", (state.value, error))
        return self.get(job_id)

    def set_states(self, states: Mapping[int, JobState]) -> None:
        """Move several unfinished jobs on in one transaction (the jobs of a batch whose
        requests leave together), like :meth:`set_state` without an error text and without
        reading them back. A job that has finished meanwhile is left as it is."""
        self.record_moves(states)

    def record_moves(self, states: Mapping[int, JobState],
                     submitted: Mapping[int, SubmittedJob] | None = None) -> None:
        """:meth:`set_states` and, first, the submissions of jobs the provider accepted (as
        :meth:`mark_submitted` records each), all in one transaction: the jobs of a batch
        whose requests are answered together cost one disk write. A job that has finished
        meanwhile is left as it is."""
        if any(state.finished for state in states.values()):
            raise ValueError("finish a job with complete, fail or cancel")
        if not states and not submitted:
            return
        with self._db.transaction("update the jobs") as (conn, changed):
            now = self._db.now()
            if submitted:
                conn.executemany(
                    "UPDATE jobs SET state = 'submitted', provider_request_id = ?, poll_url = ?, "
                    "submission = ?, attempts = attempts + 1, updated = ? WHERE id = ? AND "
                    f"state IN ({_UNFINISHED_SQL})",
                    [(s.provider_request_id, s.poll_url,
                      json.dumps(dict(s.submission), sort_keys=True), now, job_id)
                     for job_id, s in submitted.items()])
            if states:
                conn.executemany(
                    f"UPDATE jobs SET state = ?, error = '', updated = ? WHERE id = ? AND "
                    f"state IN ({_UNFINISHED_SQL})",
                    [(state.value, now, job_id) for job_id, state in states.items()])
            changed.note(jobs=[*(submitted or {}), *states])

    def requeue(self, job_id: int) -> JobRecord:
        """Put an uncertain job back in the queue: the user chose to send it again."""
        self._update(job_id, "send the job again", "state = 'queued', error = ''", (),
                     allow_finished=(JobState.UNCERTAIN,))
        return self.get(job_id)

    def complete(self, job_id: int, image: bytes, outcome: Outcome | None = None) -> RenderRecord:
        """Store the job's image and render record and mark the job done, in one transaction
        after the file is durable. Completing a job already done returns its render."""
        result = self.complete_many([(job_id, image, outcome)])[0]
        if isinstance(result, LibraryError):
            raise result
        return result

    def complete_many(self, finished: Sequence[tuple[int, bytes, Outcome | None]],
                      ) -> list[RenderRecord | LibraryError]:
        """:meth:`complete` for several jobs (job id, image, outcome) whose images arrived
        together: the images made durable, then every record in one transaction. Each entry
        gets its render, or the LibraryError that kept it from being stored (an image that
        cannot be kept fails only its own job; a full disk fails them all).

        The library's lock is held to check the jobs and to record them, not while the files
        are written: a job waiting for its "sending" entry is never held up by a wave of
        images being made durable."""
        results: list[RenderRecord | LibraryError | None] = [None] * len(finished)
        pending: list[tuple[int, RenderDraft, bytes, Outcome]] = []
        with self._db.lock:
            for index, (job_id, image, outcome) in enumerate(finished):
                checked = self._storable(job_id, outcome)
                if isinstance(checked, tuple):
                    pending.append((index, checked[0], image, checked[1]))
                else:
                    results[index] = checked
        written = self._recorder.write_job_images(
            [(draft, image, outcome) for _, draft, image, outcome in pending])
        with self._db.lock:
            entries: list[tuple[RenderDraft, Outcome, int, WrittenImage]] = []
            places: list[int] = []
            unused: list[WrittenImage] = []
            for (index, draft, _, outcome), item in zip(pending, written, strict=True):
                if isinstance(item, LibraryError):
                    results[index] = item
                    continue
                job_id = finished[index][0]
                # Checked again: the job may have ended another way while its file was written.
                again = self._ended(job_id)
                if again is None:
                    entries.append((draft, outcome, job_id, item))
                    places.append(index)
                else:
                    results[index] = again
                    unused.append(item)
            self._recorder.forget_written(unused)
            stored = self._recorder.record_jobs(entries)
            for index, render_id in zip(places, stored, strict=True):
                try:
                    results[index] = render_id if isinstance(render_id, LibraryError) \
                        else self._renders.get(render_id)
                except LibraryError as exc:
                    results[index] = exc
        return [r if r is not None else LibraryError("The render was not stored.") for r in results]

    def _storable(self, job_id: int, outcome: Outcome | None,
                  ) -> tuple[RenderDraft, Outcome] | RenderRecord | LibraryError:
        """What storing ``job_id``'s image needs (its draft, the outcome with the job's request
        id), or its render when it is done already, or why it cannot be completed."""
        try:
            job = self.get(job_id)
            ended = self._ending(job_id, job.state, job.render_id)
        except LibraryError as exc:
            return exc
        if ended is not None:
            return ended
        outcome = outcome or Outcome()
        if not outcome.request_id:
            outcome = Outcome(job.provider_request_id, outcome.seed_returned,
                              outcome.timings, outcome.cost)
        return job.draft, outcome

    def _ended(self, job_id: int) -> RenderRecord | LibraryError | None:
        """:meth:`_storable`'s answer when ``job_id`` can no longer be completed (its render
        when it is done already, else why), None while it still can; only its state is read,
        not its whole draft again."""
        try:
            with self._db.read("read a job") as conn:
                row = self._db.one(conn, "SELECT state, render_id FROM jobs WHERE id = ?",
                                   (job_id,), f"job {job_id}")
            return self._ending(job_id, JobState(row["state"]), row["render_id"])
        except LibraryError as exc:
            return exc

    def _ending(self, job_id: int, state: JobState, render_id: int | None,
                ) -> RenderRecord | LibraryError | None:
        if state is JobState.DONE and render_id is not None:
            return self._renders.get(render_id)
        if state.finished:
            return LibraryError(f"Job {job_id} is already {state.value}.")
        return None

    def fail(self, job_id: int, error: str, outcome: Outcome | None = None) -> RenderRecord:
        """Mark the job failed and keep a failed render with its settings and the reason."""
        with self._db.lock:
            job = self.get(job_id)
            if job.state.finished:
                raise LibraryError(f"Job {job_id} is already {job.state.value}.")
            render_id = self._recorder.store_failure(
                job.draft, error, outcome or Outcome(request_id=job.provider_request_id),
                job_id=job_id)
            return self._renders.get(render_id)

    def cancel(self, job_id: int) -> JobRecord:
        self._update(job_id, "cancel the job", "state = 'cancelled'", (),
                     allow_finished=(JobState.UNCERTAIN,))
        return self.get(job_id)
