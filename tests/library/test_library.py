"""Records, images, queries, trash and thumbnails of the library."""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from studio.core.fingerprint import Fingerprint
from studio.core.parameters import format_parameters, parse_parameters
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.library import (
    AnchorSpec,
    Approval,
    Library,
    Outcome,
    RecordNotFoundError,
    RenderDraft,
    RenderFilter,
    SceneSpec,
    Timings,
)
from studio.library.metadata import read_png_metadata
from studio.library.renders import render_data

from .conftest import FakeClock, draft, jpeg_bytes, png_bytes


def test_a_fresh_library_is_created_with_its_folders(library: Library, data_dir: Path) -> None:
    assert (data_dir / "library.sqlite3").is_file()
    assert library.read_only is False and library.notice == ""
    assert library.projects.all() == []


def test_projects_are_unique_by_name(library: Library) -> None:
    a = library.projects.ensure("Emma")
    assert library.projects.ensure(" Emma ") == a
    library.projects.ensure("Zed")
    assert [p.name for p in library.projects.all()] == ["Emma", "Zed"]
    assert library.projects.by_name("nobody") is None
    with pytest.raises(RecordNotFoundError):
        library.projects.get(999)


def test_editing_an_anchor_makes_a_new_version_and_saving_it_unchanged_does_not(
    library: Library,
) -> None:
    project = library.projects.ensure("Emma")
    emma = library.characters.ensure(project.id, "Emma")
    spec = AnchorSpec("30-year-old woman", {"hair": "brown"}, 42)
    v1 = library.characters.save_anchor(emma.id, spec)
    assert (
        library.characters.save_anchor(emma.id, spec) == v1
    )
    v2 = library.characters.save_anchor(
        emma.id, AnchorSpec("30-year-old woman, freckles", {"hair": "brown"}, 42)
    )
    assert (v1.version, v2.version) == (1, 2)
    assert library.characters.latest_anchor(emma.id) == v2
    assert [v.anchor for v in library.characters.anchor_versions(emma.id)] == [
        "30-year-old woman",
        "30-year-old woman, freckles",
    ]
    assert library.characters.anchor_version(v1.id).fields == {"hair": "brown"}


def test_scenes_follow_the_sheet_file_and_keep_their_ids(library: Library) -> None:
    project = library.projects.ensure("Emma")
    sheet = library.sheets.save(project.id, "emma", "/sheets/emma.sheet.toml")
    first = library.sheets.sync_scenes(
        sheet.id, [SceneSpec("Headshot", "grey backdrop"), SceneSpec("Beach", "sunset beach")]
    )
    again = library.sheets.sync_scenes(
        sheet.id,
        [SceneSpec("Beach", "sunset beach", notes="windy"), SceneSpec("Cafe", "paris cafe")],
    )
    assert [s.name for s in again] == ["Beach", "Cafe"]
    assert again[0].id == first[1].id and again[0].position == 0 and again[0].notes == "windy"
    assert library.sheets.for_file("/sheets/emma.sheet.toml") == sheet
    assert library.sheets.save(project.id, "emma", "/moved.sheet.toml").id == sheet.id
    assert library.sheets.for_file("/sheets/emma.sheet.toml") is None
    assert [s.id for s in library.sheets.of_project(project.id)] == [sheet.id]
    with pytest.raises(ValueError, match="same name"):
        library.sheets.sync_scenes(sheet.id, [SceneSpec("A"), SceneSpec("A")])


def test_a_render_is_stored_with_its_image_and_metadata(library: Library) -> None:
    project = library.projects.ensure("Emma")
    render = library.renders.record(
        draft(project.id, tags=("keeper", " keeper", "red  coat")),
        png_bytes(1),
        Outcome(seed_returned=43, request_id="req-1", timings=Timings(processing=2.5), cost=0.002),
    )
    assert render.usable
    assert (render.seed_requested, render.seed_returned, render.seed) == (42, 43, 43)
    assert render.tags == ("keeper", "red coat")
    assert render.timings == Timings(processing=2.5) and render.cost == 0.002
    assert render.image_path is not None and render.image_hash is not None
    stored = render.image_path.read_bytes()
    # The file is named by the hash of the bytes on disk (metadata included).
    assert hashlib.sha256(stored).hexdigest() == render.image_hash
    assert render.image_path.name == f"{render.image_hash}.png"
    assert render.image_path.parent.name == render.image_hash[:2]
    meta = read_png_metadata(stored)
    params = parse_parameters(meta.parameters or "")
    assert params.prompt == render.prompt and params.negative == "cartoon, anime"
    assert (params.seed, params.steps, params.guidance) == (43, 4, 3.5)
    assert (params.model, params.provider, params.width) == ("flux-schnell", "offline", 1024)
    assert meta.studio is not None
    assert meta.studio["outcome"]["request_id"] == "req-1"
    assert meta.studio["request"]["stage"] == "preview"
    assert meta.studio["project"] == "Emma"
    # The record gives export the same settings text.
    assert format_parameters(render.parameters()) == meta.parameters
    data = render_data(render)
    assert data["seed"] == 43 and data["tags"] == ["keeper", "red coat"]


def test_no_key_or_url_ever_reaches_the_image(library: Library) -> None:
    project = library.projects.ensure("Emma")
    job = library.jobs.create(draft(project.id))
    library.jobs.mark_submitted(
        job.id,
        provider_request_id="r1",
        poll_url="https://api.example/poll?token=SECRET",
        submission={"key": "SECRET"},
    )
    render = library.jobs.complete(job.id, png_bytes(2), Outcome(request_id="r1"))
    assert render.image_path is not None
    assert b"SECRET" not in render.image_path.read_bytes()


def test_provider_formats_other_than_png_are_kept_as_returned(library: Library) -> None:
    project = library.projects.ensure("Emma")
    data = jpeg_bytes(5)
    render = library.renders.record(draft(project.id), data)
    assert render.image_path is not None and render.image_path.suffix == ".jpg"
    assert render.image_path.read_bytes() == data


def test_the_same_bytes_are_stored_once(library: Library, data_dir: Path) -> None:
    project = library.projects.ensure("Emma")
    a = library.renders.record(draft(project.id), jpeg_bytes(9))
    b = library.renders.record(draft(project.id), jpeg_bytes(9))
    assert a.id != b.id and a.image_hash == b.image_hash
    files = [p for p in (data_dir / "images").rglob("*") if p.is_file()]
    assert len(files) == 1


def test_a_draft_keeps_the_request_as_sent(library: Library) -> None:
    project = library.projects.ensure("Emma")
    request = GenerationRequest(
        prompt="p",
        width=768,
        height=1024,
        steps=4,
        guidance=3.5,
        model="fluxgram-v1",
        negative="n",
        seed=7,
        stage=Stage.FINAL,
        provider="modelslab",
        context=SceneContext(character="Emma", scene="Beach"),
    )
    render = library.renders.record(RenderDraft(request, project_id=project.id), png_bytes(3))
    assert (render.stage, render.model, render.seed_requested) == (Stage.FINAL, "fluxgram-v1", 7)
    assert (render.scene_name, render.character_name) == ("Beach", "Emma")
    assert render.request == request and render.provider == "modelslab"


def test_records_refuse_ids_the_library_does_not_have(library: Library) -> None:
    project = library.projects.ensure("Emma")
    with pytest.raises(RecordNotFoundError):
        library.renders.record(draft(project.id, scene_id=77), png_bytes(1))
    with pytest.raises(RecordNotFoundError):
        library.renders.record(draft(999), png_bytes(1))
    assert not list((library.data_dir / "images").rglob("*.png"))


def _filled(library: Library) -> dict[str, int]:
    emma = library.projects.ensure("Emma")
    other = library.projects.ensure("Other")
    ch = library.characters.ensure(emma.id, "Emma")
    anchor = library.characters.save_anchor(ch.id, AnchorSpec("woman with freckles"))
    ids: dict[str, int] = {}
    ids["beach"] = library.renders.record(
        draft(emma.id, prompt="woman on a sunset beach", anchor_version_id=anchor.id),
        png_bytes(10),
    ).id
    ids["cafe"] = library.renders.record(
        draft(emma.id, prompt="woman in a paris café", stage=Stage.FINAL, provider="fal"),
        png_bytes(11),
    ).id
    ids["other"] = library.renders.record(
        draft(other.id, prompt="a robot on the beach", notes="client likes this"), png_bytes(12)
    ).id
    ids["emma"] = emma.id
    ids["character"] = ch.id
    return ids


def test_listing_pages_newest_first(library: Library) -> None:
    project = library.projects.ensure("Emma")
    made = [library.renders.record(draft(project.id), png_bytes(i)).id for i in range(5)]
    first = library.renders.page(RenderFilter(project_id=project.id), limit=2)
    assert [r.id for r in first.items] == made[::-1][:2] and first.next_offset == 2
    rest = library.renders.page(RenderFilter(project_id=project.id), limit=10, offset=2)
    assert [r.id for r in rest.items] == made[::-1][2:] and rest.next_offset is None
    assert library.projects.all()[0].render_count == 5


def test_filters(library: Library) -> None:
    ids = _filled(library)
    library.renders.set_approval([ids["cafe"]], Approval.APPROVED)
    library.renders.set_star([ids["beach"]], True)
    library.renders.set_tags(ids["other"], ["robots", "wip"])

    def found(**kw: object) -> set[int]:
        return {r.id for r in library.renders.page(RenderFilter(**kw)).items}  # type: ignore[arg-type]

    assert found(project_id=ids["emma"]) == {ids["beach"], ids["cafe"]}
    assert found(stage=Stage.FINAL) == {ids["cafe"]}
    assert found(provider="fal") == {ids["cafe"]}
    assert found(approval=Approval.APPROVED) == {ids["cafe"]}
    assert found(starred=True) == {ids["beach"]}
    assert found(starred=False) == {ids["cafe"], ids["other"]}
    assert found(character_id=ids["character"]) == {ids["beach"]}
    assert found(tag="wip") == {ids["other"]}
    beach = library.renders.get(ids["beach"])
    assert found(since=beach.created) == {ids["beach"], ids["cafe"], ids["other"]}
    assert found(until=beach.created) == set()
    assert found(since=datetime(2100, 1, 1, tzinfo=UTC)) == set()


def test_full_text_search(library: Library) -> None:
    ids = _filled(library)
    assert {r.id for r in library.renders.search("beach").items} == {ids["beach"], ids["other"]}
    emma_only = RenderFilter(project_id=ids["emma"])
    assert {r.id for r in library.renders.search("beach", emma_only).items} == {
        ids["beach"]
    }
    assert {r.id for r in library.renders.search("cafe").items} == {ids["cafe"]}  # accents folded
    # The anchor is not searched.
    assert {r.id for r in library.renders.search("freck").items} == set()
    assert {r.id for r in library.renders.search("Emma").items} == {ids["beach"]}  # character name
    assert {r.id for r in library.renders.search("client").items} == {ids["other"]}  # notes
    assert {r.id for r in library.renders.search("sun").items} == {ids["beach"]}  # prefix
    library.renders.set_tags(ids["cafe"], ["hero shot"])
    assert {r.id for r in library.renders.search("hero").items} == {ids["cafe"]}
    library.renders.set_notes(ids["other"], "")
    assert library.renders.search("client").items == ()
    # Search syntax in user text is taken literally, never an error.
    for text in ['"', "a AND (", "NEAR(", "-", "*", "prompt:woman", ""]:
        library.renders.search(text)


def test_trash_restore_and_empty(library: Library, data_dir: Path) -> None:
    project = library.projects.ensure("Emma")
    keep = library.renders.record(draft(project.id), jpeg_bytes(1))
    shared = library.renders.record(draft(project.id), jpeg_bytes(1))
    gone = library.renders.record(draft(project.id), png_bytes(2))
    assert gone.image_path is not None
    library.files.thumbnail(gone).result()
    library.renders.trash([shared.id, gone.id])
    assert {r.id for r in library.renders.page().items} == {keep.id}
    assert {r.id for r in library.renders.page(RenderFilter(trashed=True)).items} == {
        shared.id,
        gone.id,
    }
    library.renders.restore([shared.id])
    library.renders.trash([shared.id])
    emptied = library.renders.empty_trash()
    assert (emptied.renders_removed, emptied.files_removed) == (2, 1)
    assert not gone.image_path.exists()
    assert gone.thumbnail_path is not None and not gone.thumbnail_path.exists()
    assert keep.image_path is not None and keep.image_path.exists()
    with pytest.raises(RecordNotFoundError):
        library.renders.get(gone.id)
    assert library.maintenance.check().ok


def test_a_final_outlives_its_trashed_preview(library: Library) -> None:
    project = library.projects.ensure("Emma")
    preview = library.renders.record(draft(project.id), png_bytes(1))
    final = library.renders.record(
        draft(project.id, stage=Stage.FINAL, parent_id=preview.id), png_bytes(2)
    )
    assert final.parent_id == preview.id
    library.renders.trash([preview.id])
    library.renders.empty_trash()
    assert library.renders.get(final.id).parent_id is None


def _fingerprints(**texts: str) -> dict[Stage, Fingerprint]:
    return {stage: Fingerprint.of_texts({"anchor": "woman", "setting": "grey", **texts,
                                         "model": stage.value})
            for stage in Stage}


def test_sheet_cells_and_out_of_date_detection(library: Library, clock: FakeClock) -> None:
    project = library.projects.ensure("Emma")
    emma = library.characters.ensure(project.id, "Emma")
    v1 = library.characters.save_anchor(emma.id, AnchorSpec("woman", seed=42))
    sheet = library.sheets.save(project.id, "emma", "emma.sheet.toml", emma.id)
    head_now, beach_now = _fingerprints(), _fingerprints(setting="sunset")
    head, beach = library.sheets.sync_scenes(sheet.id, [
        SceneSpec("Headshot", "grey", fingerprints=head_now),
        SceneSpec("Beach", "sunset", fingerprints=beach_now)])

    def render(scene_id: int, stage: Stage, seed: int,
               made_with: dict[Stage, Fingerprint]) -> int:
        return library.renders.record(
            draft(project.id, sheet_id=sheet.id, scene_id=scene_id, anchor_version_id=v1.id,
                  stage=stage, fingerprint=made_with[stage]),
            png_bytes(seed),
        ).id

    render(head.id, Stage.PREVIEW, 1, head_now)
    newer_head = render(head.id, Stage.PREVIEW, 2, head_now)
    head_final = render(head.id, Stage.FINAL, 3, head_now)
    beach_preview = render(beach.id, Stage.PREVIEW, 4, beach_now)
    library.renders.record_failure(
        draft(project.id, sheet_id=sheet.id, scene_id=beach.id, anchor_version_id=v1.id),
        "provider failed",
    )
    cells = library.renders.cells(sheet.id)
    assert [(c.scene.name, c.stage, c.render.id) for c in cells] == [
        ("Headshot", Stage.PREVIEW, newer_head),
        ("Headshot", Stage.FINAL, head_final),
        ("Beach", Stage.PREVIEW, beach_preview),
    ]
    assert not any(c.is_out_of_date for c in cells)
    assert cells[0].render.scene_name == "Headshot"
    assert cells[0].render.character_name == "Emma"

    # The sheet changes: the anchor for every scene, the setting and lighting of the beach.
    head_next = _fingerprints(anchor="woman with freckles")
    beach_next = _fingerprints(anchor="woman with freckles", setting="sunrise", lighting="rim")
    library.sheets.sync_scenes(sheet.id, [
        SceneSpec("Headshot", "grey", fingerprints=head_next),
        SceneSpec("Beach", "sunrise", fingerprints=beach_next)])
    cells = library.renders.cells(sheet.id)
    assert [c.out_of_date for c in cells] == [
        ("anchor",), ("anchor",), ("anchor", "setting", "lighting")]
    fresh = render(head.id, Stage.PREVIEW, 5, head_next)
    cells = library.renders.cells(sheet.id)
    assert cells[0].render.id == fresh and cells[0].out_of_date == ()
    assert library.renders.staleness(library.renders.get(beach_preview)) == (
        "anchor", "setting", "lighting")


def test_thumbnails_are_made_off_thread_cached_and_remade_if_missing(library: Library) -> None:
    project = library.projects.ensure("Emma")
    render = library.renders.record(draft(project.id), png_bytes(1, size=(600, 300)))
    seen: list[str] = []
    future = library.files.thumbnail(render)
    future.add_done_callback(lambda _f: seen.append(threading.current_thread().name))
    path = future.result()
    assert path == render.thumbnail_path
    with Image.open(path) as thumb:
        assert thumb.size == (256, 128)
    mtime = path.stat().st_mtime_ns
    assert library.files.thumbnail(render).result().stat().st_mtime_ns == mtime
    path.unlink()
    assert library.files.thumbnail(render).result().is_file()
    assert seen and (seen[0].startswith("studio-thumbnail") or seen[0] == "MainThread")


def test_a_thumbnail_of_a_lost_image_fails_its_future(library: Library) -> None:
    project = library.projects.ensure("Emma")
    render = library.renders.record(draft(project.id), png_bytes(1))
    assert render.image_path is not None
    render.image_path.unlink()
    with pytest.raises(FileNotFoundError):
        library.files.thumbnail(render).result()
    failed = library.renders.record_failure(draft(project.id), "nope")
    with pytest.raises(Exception, match="no image"):
        library.files.thumbnail(failed).result()


def test_closing_waits_for_thumbnails_and_stops_the_workers(data_dir: Path) -> None:
    lib = Library.open(data_dir)
    project = lib.projects.ensure("Emma")
    renders = [lib.renders.record(draft(project.id), png_bytes(i, (300, 300))) for i in range(6)]
    futures = [lib.files.thumbnail(r) for r in renders]
    lib.close()
    assert all(f.done() for f in futures)
    assert not any(t.name.startswith("studio-thumbnail") for t in threading.enumerate())


def test_reading_from_worker_threads(library: Library) -> None:
    project = library.projects.ensure("Emma")
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(5):
                library.renders.record(draft(project.id), png_bytes(seed * 100 + i))
                library.renders.page(RenderFilter(project_id=project.id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(library.renders.page(limit=100).items) == 20


def test_image_bytes_the_studio_cannot_store_are_refused(library: Library) -> None:
    project = library.projects.ensure("Emma")
    with pytest.raises(Exception, match="not a PNG, JPEG"):
        library.renders.record(draft(project.id), b"<html>error page</html>")
    with pytest.raises(Exception, match="damaged"):
        library.renders.record(draft(project.id), png_bytes(1)[:60])
    assert library.renders.page().items == ()


def test_pillow_reads_the_stored_png(library: Library) -> None:
    project = library.projects.ensure("Emma")
    render = library.renders.record(draft(project.id), png_bytes(4))
    assert render.image_path is not None
    with Image.open(io.BytesIO(render.image_path.read_bytes())) as image:
        image.load()
        assert image.size == (16, 12)


def test_move_sheet_keeps_its_scenes_and_renders(library: Library) -> None:
    project = library.projects.ensure("Moves")
    old = library.sheets.save(project.id, "untitled", "/data/unsaved/untitled.sheet.toml")
    library.sheets.sync_scenes(old.id, [SceneSpec(name="A", setting="park")])
    older = library.sheets.save(project.id, "emma", "/old/emma.sheet.toml")
    moved = library.sheets.move(old.id, "emma", "/home/u/emma.sheet.toml")
    assert (moved.id, moved.name, moved.path) == (old.id, "emma", "/home/u/emma.sheet.toml")
    assert library.sheets.for_file("/home/u/emma.sheet.toml") == moved
    assert library.sheets.for_file("/data/unsaved/untitled.sheet.toml") is None
    assert [s.name for s in library.sheets.scenes(moved.id)] == ["A"]
    assert library.sheets.get(older.id).name == f"emma ({older.id})"
