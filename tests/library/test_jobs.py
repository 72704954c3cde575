"""Jobs: what was sent where, so a crash resumes polling instead of paying twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.request import Stage
from studio.library import JobState, Library, LibraryError, Outcome

from .conftest import draft, png_bytes


def test_a_job_survives_a_restart_and_completes_once(data_dir: Path) -> None:
    with Library.open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        job = lib.jobs.create(draft(project.id, stage=Stage.FINAL, tags=("t",)))
        assert job.state is JobState.QUEUED and job.attempts == 0
        lib.jobs.mark_submitted(
            job.id,
            provider_request_id="pred-123",
            poll_url="https://api.example/v1/predictions/pred-123",
            submission={"id": "pred-123", "eta": 12},
        )
        lib.jobs.set_state(job.id, JobState.PROCESSING)
    # The app crashed here; the next start finds the job and resumes it.
    with Library.open(data_dir) as lib:
        (pending,) = lib.jobs.unfinished()
        assert pending.id == job.id and pending.state is JobState.PROCESSING
        assert pending.provider_request_id == "pred-123"
        assert pending.poll_url.endswith("pred-123")
        assert pending.submission == {"id": "pred-123", "eta": 12}
        assert pending.request == pending.draft.request and pending.request.seed == 42
        assert pending.draft == draft(project.id, stage=Stage.FINAL, tags=("t",))
        assert (pending.provider, pending.model, pending.attempts) == ("offline", "flux-schnell", 1)
        render = lib.jobs.complete(job.id, png_bytes(1), Outcome(seed_returned=42))
        assert render.request_id == "pred-123"  # taken from the job when the result has none
        assert lib.jobs.complete(job.id, png_bytes(2)) == render  # a second completion is a no-op
        done = lib.jobs.get(job.id)
        assert done.state is JobState.DONE and done.render_id == render.id
        assert lib.jobs.unfinished() == []
        assert render.stage is Stage.FINAL and render.tags == ("t",)


def test_failed_and_cancelled_jobs(library: Library) -> None:
    project = library.projects.ensure("Emma")
    failing = library.jobs.create(draft(project.id))
    library.jobs.mark_submitted(failing.id, provider_request_id="x")
    failed = library.jobs.fail(failing.id, "The provider said the prompt was refused.")
    assert failed.state is JobState.FAILED and failed.image_path is None
    assert failed.request_id == "x" and failed.error.startswith("The provider")
    assert library.jobs.get(failing.id).state is JobState.FAILED
    cancelled = library.jobs.cancel(library.jobs.create(draft(project.id)).id)
    assert cancelled.state is JobState.CANCELLED
    assert library.jobs.unfinished() == []
    with pytest.raises(LibraryError, match="already cancelled"):
        library.jobs.complete(cancelled.id, png_bytes(1))
    with pytest.raises(LibraryError, match="already failed"):
        library.jobs.mark_submitted(failing.id, provider_request_id="y")
    with pytest.raises(ValueError):
        library.jobs.set_state(cancelled.id, JobState.DONE)


def test_a_job_whose_image_cannot_be_stored_stays_unfinished(library: Library) -> None:
    project = library.projects.ensure("Emma")
    job = library.jobs.create(draft(project.id))
    with pytest.raises(LibraryError):
        library.jobs.complete(job.id, b"not an image")
    assert [j.id for j in library.jobs.unfinished()] == [job.id]


def test_several_jobs_move_on_in_one_write(library: Library) -> None:
    project = library.projects.ensure("Emma")
    first, second, third = (library.jobs.create(draft(project.id)) for _ in range(3))
    library.jobs.cancel(third.id)
    library.jobs.set_states({first.id: JobState.SENDING, second.id: JobState.PROCESSING,
                             third.id: JobState.SENDING})
    assert [j.state for j in library.jobs.many([first.id, second.id, third.id])] == [
        JobState.SENDING, JobState.PROCESSING, JobState.CANCELLED]  # a finished job stays
    with pytest.raises(ValueError, match="finish a job"):
        library.jobs.set_states({first.id: JobState.DONE})
