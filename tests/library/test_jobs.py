"""Jobs: what was sent where, so a crash resumes polling instead of paying twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.core.request import Stage
from studio.library import (
    JobState,
    Library,
    LibraryError,
    LibraryStorageError,
    Outcome,
    RenderRecord,
    SubmittedJob,
)
from studio.library.storage import DurableFileWriter

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


def test_accepted_jobs_and_their_next_states_are_kept_in_one_write(library: Library) -> None:
    project = library.projects.ensure("Emma")
    first, second, third = (library.jobs.create(draft(project.id)) for _ in range(3))
    library.jobs.cancel(third.id)
    library.jobs.record_moves(
        {first.id: JobState.PROCESSING},
        {first.id: SubmittedJob("ml-1", "https://api/fetch/1", {"eta": 2.0}),
         second.id: SubmittedJob("ml-2"), third.id: SubmittedJob("ml-3")})
    one, two, three = library.jobs.many([first.id, second.id, third.id])
    # The acceptance is written before the state the same write moves the job on to.
    assert (one.state, one.provider_request_id, one.poll_url, one.submission, one.attempts) == (
        JobState.PROCESSING, "ml-1", "https://api/fetch/1", {"eta": 2.0}, 1)
    assert (two.state, two.provider_request_id, two.attempts) == (JobState.SUBMITTED, "ml-2", 1)
    assert (three.state, three.provider_request_id) == (JobState.CANCELLED, "")  # finished


def test_images_finished_together_are_stored_in_one_write_each_job_on_its_own(
    library: Library,
) -> None:
    project = library.projects.ensure("Emma")
    good, bad, cancelled, again = (library.jobs.create(draft(project.id)) for _ in range(4))
    library.jobs.cancel(cancelled.id)
    earlier = library.jobs.complete(again.id, png_bytes(9))
    writes: list[object] = []
    library.changes.subscribe(writes.append)
    results = library.jobs.complete_many([
        (good.id, png_bytes(1), Outcome(seed_returned=7)), (bad.id, b"not an image", None),
        (cancelled.id, png_bytes(2), None), (again.id, png_bytes(3), None)])
    assert len(writes) == 1
    stored, refused, finished, same = results
    assert isinstance(stored, RenderRecord) and stored.seed_returned == 7
    assert stored.image_path is not None and stored.image_path.is_file()
    assert isinstance(refused, LibraryError) and isinstance(finished, LibraryError)
    assert "already cancelled" in str(finished)
    assert same == earlier  # a second completion is a no-op
    assert [j.id for j in library.jobs.unfinished()] == [bad.id]
    assert library.jobs.get(good.id).state is JobState.DONE


def test_a_full_database_keeps_every_job_of_the_batch_unfinished(data_dir: Path) -> None:
    with Library.open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        jobs = [lib.jobs.create(draft(project.id, prompt="x" * 3000)) for _ in range(30)]
        pages = lib.db._conn.execute("PRAGMA page_count").fetchone()[0]
        lib.db._conn.execute(f"PRAGMA max_page_count = {pages}")
        results = lib.jobs.complete_many([(job.id, png_bytes(n), None)
                                          for n, job in enumerate(jobs)])
        lib.db._conn.execute("PRAGMA max_page_count = 1073741823")
        assert all(isinstance(r, LibraryStorageError) and r.reason == "full" for r in results)
        assert len(lib.jobs.unfinished()) == 30
    with Library.open(data_dir) as lib:
        # The images of the renders that could not be recorded were not left behind.
        assert lib.maintenance.check(repair=False).ok
        again = lib.jobs.complete_many([(job.id, png_bytes(n), None)
                                        for n, job in enumerate(jobs)])
        assert all(isinstance(r, RenderRecord) for r in again)
        assert lib.jobs.unfinished() == []


class _HookedWriter:
    """Writes durably like the library's own writer, calling ``hook`` first."""

    def __init__(self, hook: Callable[[], object]) -> None:
        self.hook = hook

    def write_new(self, path: Path, data: bytes) -> None:
        self.hook()
        DurableFileWriter().write_new(path, data)


def test_the_library_stays_free_while_finished_images_are_made_durable(
        data_dir: Path) -> None:
    moved: list[bool] = []

    def journal_meanwhile() -> None:
        # Another thread journals a job while this image is being written: it must not
        # wait for the image (a request waiting for its "sending" entry).
        def journal() -> None:
            lib.jobs.record_moves({other.id: JobState.SENDING})
            moved.append(True)

        worker = threading.Thread(target=journal)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive(), "the journal waited for an image being written"

    with Library.open(data_dir, file_writer=_HookedWriter(journal_meanwhile)) as lib:
        project = lib.projects.ensure("Emma")
        job, other = lib.jobs.create(draft(project.id)), lib.jobs.create(draft(project.id))
        (render,) = lib.jobs.complete_many([(job.id, png_bytes(1), None)])
    assert moved == [True]
    assert isinstance(render, RenderRecord) and render.image_path is not None
    with Library.open(data_dir) as lib:
        assert lib.jobs.get(other.id).state is JobState.SENDING
        assert lib.jobs.get(job.id).state is JobState.DONE


def test_the_images_of_a_batch_are_written_side_by_side(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With cores to spare (two writers or more; one per core left to the window)."""
    monkeypatch.setattr("studio.library.recording.IMAGE_WRITERS", 2)
    both = threading.Barrier(2, timeout=30)  # broken unless two writes are under way at once
    with Library.open(data_dir, file_writer=_HookedWriter(both.wait)) as lib:
        project = lib.projects.ensure("Emma")
        jobs = [lib.jobs.create(draft(project.id)) for _ in range(2)]
        results = lib.jobs.complete_many([(j.id, png_bytes(n), None)
                                          for n, j in enumerate(jobs)])
        assert all(isinstance(r, RenderRecord) for r in results)
        assert [lib.jobs.get(j.id).state for j in jobs] == [JobState.DONE] * 2


def test_with_one_writer_the_images_of_a_batch_are_written_in_the_calling_thread(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two cores: one is left to the window, so no thread is started for the writes."""
    monkeypatch.setattr("studio.library.recording.IMAGE_WRITERS", 1)
    writers: list[str] = []
    with Library.open(data_dir, file_writer=_HookedWriter(
            lambda: writers.append(threading.current_thread().name))) as lib:
        project = lib.projects.ensure("Emma")
        jobs = [lib.jobs.create(draft(project.id)) for _ in range(3)]
        results = lib.jobs.complete_many([(j.id, png_bytes(n), None)
                                          for n, j in enumerate(jobs)])
        assert all(isinstance(r, RenderRecord) for r in results)
    assert writers == [threading.current_thread().name] * 3


@pytest.mark.parametrize("writers", [1, 2])
def test_a_bug_while_a_batch_is_written_leaves_no_file_and_no_job_done(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch, writers: int) -> None:
    """Not a storage error (those fail only their own image): the batch's files are removed
    and the error raised, whether the images were written side by side or one by one."""
    monkeypatch.setattr("studio.library.recording.IMAGE_WRITERS", writers)
    calls: list[int] = []

    def second_fails() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("a bug in writing")

    with Library.open(data_dir, file_writer=_HookedWriter(second_fails)) as lib:
        project = lib.projects.ensure("Emma")
        jobs = [lib.jobs.create(draft(project.id)) for _ in range(3)]
        with pytest.raises(RuntimeError, match="a bug in writing"):
            lib.jobs.complete_many([(j.id, png_bytes(n), None) for n, j in enumerate(jobs)])
        assert all(lib.jobs.get(j.id).state is not JobState.DONE for j in jobs)
    assert not [p for p in (data_dir / "images").rglob("*") if p.is_file()]


def test_a_job_that_ended_while_its_image_was_written_keeps_its_end_and_no_file(
        data_dir: Path) -> None:
    def cancel_meanwhile() -> None:
        lib.jobs.cancel(job.id)

    with Library.open(data_dir, file_writer=_HookedWriter(cancel_meanwhile)) as lib:
        project = lib.projects.ensure("Emma")
        job = lib.jobs.create(draft(project.id))
        (result,) = lib.jobs.complete_many([(job.id, png_bytes(1), None)])
        assert isinstance(result, LibraryError) and "already cancelled" in str(result)
        assert lib.jobs.get(job.id).state is JobState.CANCELLED
        assert not [p for p in (data_dir / "images").rglob("*") if p.is_file()]


def test_images_of_one_batch_from_two_projects_each_carry_their_own_project(
        library: Library) -> None:
    from studio.library.metadata import read_png_metadata

    emma, noor = library.projects.ensure("Emma"), library.projects.ensure("Noor")
    jobs = [library.jobs.create(draft(p.id)) for p in (emma, noor, emma)]
    results = library.jobs.complete_many([(j.id, png_bytes(n), None)
                                          for n, j in enumerate(jobs)])
    projects = []
    for result in results:
        assert isinstance(result, RenderRecord) and result.image_path is not None
        studio = read_png_metadata(result.image_path).studio
        assert studio is not None
        projects.append(studio["project"])
    assert projects == ["Emma", "Noor", "Emma"]


def test_a_job_done_while_its_image_was_written_returns_that_render_and_no_second_file(
        data_dir: Path) -> None:
    def complete_meanwhile() -> None:
        hook.hook = lambda: None  # the other completion writes its own file unhooked
        done.append(lib.jobs.complete(job.id, png_bytes(2)))

    done: list[RenderRecord] = []
    hook = _HookedWriter(complete_meanwhile)
    with Library.open(data_dir, file_writer=hook) as lib:
        project = lib.projects.ensure("Emma")
        job = lib.jobs.create(draft(project.id))
        (result,) = lib.jobs.complete_many([(job.id, png_bytes(1), None)])
        assert done and result == done[0]
        assert lib.jobs.get(job.id).state is JobState.DONE
        files = [p for p in (data_dir / "images").rglob("*") if p.is_file()]
        assert files == [done[0].image_path]
