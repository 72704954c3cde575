"""Jobs: what was sent where, so a crash resumes polling instead of paying twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.request import Stage
from studio.library import JobState, Library, LibraryError, RenderResult, RenderStatus

from .conftest import draft, png_bytes


def test_a_job_survives_a_restart_and_completes_once(data_dir: Path) -> None:
    with Library.open(data_dir) as lib:
        project = lib.ensure_project("Emma")
        job = lib.create_job(
            draft(project.id, stage=Stage.FINAL, tags=("t",)), {"prompt": "p", "seed": 42}
        )
        assert job.state is JobState.QUEUED and job.attempts == 0
        lib.mark_submitted(
            job.id,
            provider_request_id="pred-123",
            poll_url="https://api.example/v1/predictions/pred-123",
            submission={"id": "pred-123", "eta": 12},
        )
        lib.update_job_state(job.id, JobState.PROCESSING)
    # The app crashed here; the next start finds the job and resumes it.
    with Library.open(data_dir) as lib:
        (pending,) = lib.unfinished_jobs()
        assert pending.id == job.id and pending.state is JobState.PROCESSING
        assert pending.provider_request_id == "pred-123"
        assert pending.poll_url.endswith("pred-123")
        assert pending.submission == {"id": "pred-123", "eta": 12}
        assert pending.request == {"prompt": "p", "seed": 42}
        assert pending.draft == draft(project.id, stage=Stage.FINAL, tags=("t",))
        assert (pending.provider, pending.model, pending.attempts) == ("offline", "flux-schnell", 1)
        render = lib.complete_job(job.id, png_bytes(1), RenderResult(seed_returned=42))
        assert render.request_id == "pred-123"  # taken from the job when the result has none
        assert lib.complete_job(job.id, png_bytes(2)) == render  # a second completion is a no-op
        done = lib.job(job.id)
        assert done.state is JobState.DONE and done.render_id == render.id
        assert lib.unfinished_jobs() == []
        assert render.stage is Stage.FINAL and render.tags == ("t",)


def test_failed_and_cancelled_jobs(library: Library) -> None:
    project = library.ensure_project("Emma")
    failing = library.create_job(draft(project.id), {})
    library.mark_submitted(failing.id, provider_request_id="x")
    failed = library.fail_job(failing.id, "The provider said the prompt was refused.")
    assert failed.status is RenderStatus.FAILED and failed.image_path is None
    assert failed.request_id == "x" and failed.error.startswith("The provider")
    assert library.job(failing.id).state is JobState.FAILED
    cancelled = library.cancel_job(library.create_job(draft(project.id), {}).id)
    assert cancelled.state is JobState.CANCELLED
    assert library.unfinished_jobs() == []
    with pytest.raises(LibraryError, match="already cancelled"):
        library.complete_job(cancelled.id, png_bytes(1))
    with pytest.raises(LibraryError, match="already failed"):
        library.mark_submitted(failing.id, provider_request_id="y")
    with pytest.raises(ValueError):
        library.update_job_state(cancelled.id, JobState.DONE)


def test_a_job_whose_image_cannot_be_stored_stays_unfinished(library: Library) -> None:
    project = library.ensure_project("Emma")
    job = library.create_job(draft(project.id), {})
    with pytest.raises(LibraryError):
        library.complete_job(job.id, b"not an image")
    assert [j.id for j in library.unfinished_jobs()] == [job.id]
