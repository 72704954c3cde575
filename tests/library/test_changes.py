"""The library announces what each committed write changed, so every view can follow."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from studio.core.lifecycle import Approval
from studio.library import Library, LibraryChange, RecordNotFoundError

from .conftest import draft, png_bytes


@pytest.fixture
def heard(library: Library) -> list[LibraryChange]:
    changes: list[LibraryChange] = []
    library.changes.subscribe(changes.append)
    return changes


def test_every_write_announces_the_records_it_changed(library: Library,
                                                     heard: list[LibraryChange]) -> None:
    project = library.projects.ensure("Emma")
    assert heard[-1] == LibraryChange(projects=frozenset({project.id}))
    library.projects.ensure("Emma")  # nothing new: nothing announced
    assert len(heard) == 1
    sheet = library.sheets.save(project.id, "emma", "/emma.sheet.toml")
    assert heard[-1].sheets == {sheet.id}
    render = library.renders.record(draft(project.id, sheet_id=sheet.id), png_bytes(1))
    assert heard[-1].renders == {render.id} and heard[-1].sheets == {sheet.id}
    for write in (lambda: library.renders.set_approval([render.id], Approval.APPROVED),
                  lambda: library.renders.set_star([render.id], True),
                  lambda: library.renders.trash([render.id]),
                  lambda: library.renders.restore([render.id])):
        before = len(heard)
        write()
        assert len(heard) == before + 1 and heard[-1].renders == {render.id}
        assert heard[-1].sheets == {sheet.id}
    job = library.jobs.create(draft(project.id))
    assert heard[-1].jobs == {job.id}
    library.jobs.mark_submitted(job.id, provider_request_id="r")
    done = library.jobs.complete(job.id, png_bytes(2))
    assert heard[-1].jobs == {job.id} and heard[-1].renders == {done.id}
    library.renders.trash([done.id])
    library.renders.empty_trash()
    assert done.id in heard[-1].renders


def test_the_same_verdict_or_star_again_takes_it_back_in_one_announced_write(
        library: Library, heard: list[LibraryChange]) -> None:
    project = library.projects.ensure("Emma")
    a, b = (library.renders.record(draft(project.id), png_bytes(n)).id for n in (1, 2))
    library.renders.set_approval([a], Approval.APPROVED)

    def verdicts() -> list[Approval]:
        return [library.renders.get(i).approval for i in (a, b)]

    before = len(heard)
    # Not every one has it yet: both get it; then both lose it.
    assert library.renders.toggle_approval([a, b], Approval.APPROVED) is Approval.APPROVED
    assert verdicts() == [Approval.APPROVED, Approval.APPROVED]
    assert library.renders.toggle_approval([a, b], Approval.APPROVED) is Approval.NONE
    assert verdicts() == [Approval.NONE, Approval.NONE]
    assert library.renders.toggle_approval([a], Approval.REJECTED) is Approval.REJECTED
    assert library.renders.toggle_approval([a], Approval.APPROVED) is Approval.APPROVED
    assert len(heard) == before + 4 and heard[-1].renders == {a}
    library.renders.set_star([b], True)
    assert library.renders.toggle_star([a, b]) is True
    assert library.renders.toggle_star([a, b]) is False
    assert not any(library.renders.get(i).star for i in (a, b))
    with pytest.raises(RecordNotFoundError):
        library.renders.toggle_star([a, 999])
    assert not library.renders.get(a).star  # refused whole


def test_a_write_that_fails_announces_nothing(library: Library,
                                              heard: list[LibraryChange]) -> None:
    project = library.projects.ensure("Emma")
    before = len(heard)
    with pytest.raises(RecordNotFoundError):
        library.renders.set_star([999], True)
    with pytest.raises(RecordNotFoundError):
        library.renders.record(draft(project.id, scene_id=77), png_bytes(1))
    assert len(heard) == before


def test_a_broken_listener_does_not_undo_the_write(library: Library,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    def broken(change: LibraryChange) -> None:
        raise RuntimeError("view bug")

    library.changes.subscribe(broken)
    project = library.projects.ensure("Emma")
    assert library.projects.get(project.id).name == "Emma"
    assert "listener failed" in caplog.text
    caplog.clear()


def test_listeners_hear_on_the_writing_thread_and_can_unsubscribe(library: Library) -> None:
    threads: list[str] = []
    stop = library.changes.subscribe(lambda _c: threads.append(threading.current_thread().name))
    worker = threading.Thread(target=lambda: library.projects.ensure("Zed"), name="writer")
    worker.start()
    worker.join()
    assert threads == ["writer"]
    stop()
    library.projects.ensure("Ann")
    assert threads == ["writer"]


def test_face_analyses_are_kept_by_image_hash(library: Library, data_dir: Path) -> None:
    assert library.faces.get("ab" * 32) is None
    library.faces.put("ab" * 32, 1, '{"faces": 1}')
    library.faces.put("ab" * 32, 2, '{"faces": 0}')
    stored = library.faces.get("ab" * 32)
    assert stored is not None and (stored.version, stored.analysis) == (2, '{"faces": 0}')
    library.close()
    with Library.open(data_dir, read_only=True) as viewer:
        viewer.faces.put("cd" * 32, 1, "{}")  # viewing only: nothing kept, no error
        assert viewer.faces.get("cd" * 32) is None
        assert viewer.faces.get("ab" * 32) is not None
