"""Reference images in the library: stored once by hash and checked, part of the anchor's
version, recorded on every render (row, PNG chunk, JSON), kept by the trash, taken from a
render, and stored from a sheet file when it is bound."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from studio.core import limits
from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.imagefile import content_hash
from studio.core.presets import PresetCatalog, load_catalog
from studio.core.references import ReferenceUnavailableError
from studio.core.sheet import load_sheet
from studio.library import AnchorSpec, Library, LibraryError
from studio.library.binding import bind_sheet
from studio.library.metadata import read_png_metadata
from studio.library.references import ReferenceFiles, ReferenceImageError, check_reference_image
from studio.library.renders import render_data
from tests.library.conftest import draft, jpeg_bytes, png_bytes

FACE, BODY = ReferenceRole.FACE, ReferenceRole.FULL_BODY


def test_a_reference_is_stored_once_unmodified_and_read_back_by_hash(
        library: Library, data_dir: Path) -> None:
    data = png_bytes(1)
    digest = library.references.store(data, "face.png")
    assert digest == content_hash(data)
    assert library.references.store(data, "again.png") == digest
    stored = library.references.path(digest)
    assert stored is not None and stored.read_bytes() == data  # no chunk added
    assert library.references.reference_bytes(digest) == data
    assert library.references.is_stored(digest)
    jpeg = jpeg_bytes(3)
    assert ReferenceFiles.in_data_dir(data_dir).reference_bytes(
        library.references.store(jpeg, "face.jpg")) == jpeg
    # `check` knows the files: nothing is an orphan
    assert library.maintenance.check(repair=False).ok


def test_reading_by_hash_says_what_is_wrong(library: Library, data_dir: Path) -> None:
    reader = ReferenceFiles.in_data_dir(data_dir)
    with pytest.raises(ReferenceUnavailableError, match=r"The reference image abababab is not "
                                                        r"in the library; render the sheet"):
        reader.reference_bytes("ab" * 32)
    with pytest.raises(ReferenceUnavailableError, match="not in the library"):
        reader.reference_bytes("../../etc/passwd")
    digest = library.references.store(png_bytes(2), "face.png")
    path = library.references.path(digest)
    assert path is not None
    path.write_bytes(png_bytes(3))
    with pytest.raises(ReferenceUnavailableError, match=rf"The reference image {digest[:8]} is "
                                                        r"damaged in the library"):
        reader.reference_bytes(digest)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"hello, not an image", r"face\.png is not an image the studio can read; choose a "
                                 r"PNG, JPEG or WebP file"),
        (b"GIF89a" + bytes(40), r"face\.png is not an image the studio can read"),
        (png_bytes(4, (64, 64))[:60], r"face\.png is truncated or damaged \(.*\); it cannot be "
                                      r"used as a reference image\."),
    ],
)
def test_what_is_not_a_usable_image_is_refused(library: Library, data: bytes,
                                               expected: str) -> None:
    with pytest.raises(ReferenceImageError, match=expected):
        library.references.store(data, "face.png")


def test_the_pixel_and_byte_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    data = png_bytes(5, (40, 30))
    assert check_reference_image(data, "face.png") == ("PNG", 40, 30)
    monkeypatch.setattr(limits, "IMAGE_PIXELS_MAX", 1000)
    with pytest.raises(ReferenceImageError, match=r"face\.png claims more pixels \(40x30, .*\) "
                                                  r"than the studio opens .*; it cannot be used "
                                                  r"as a reference image \(scale it down"):
        check_reference_image(data, "face.png")
    monkeypatch.setattr(limits, "IMAGE_FILE_MAX_BYTES", 50)
    with pytest.raises(ReferenceImageError, match=r"face\.png is .* over the limit of 50 bytes "
                                                  r"for one image; it cannot be used as a "
                                                  r"reference image \(save it smaller"):
        check_reference_image(data, "face.png")


def test_the_reference_set_is_part_of_the_anchor_version(library: Library,
                                                         data_dir: Path) -> None:
    project = library.projects.ensure("Emma")
    emma = library.characters.ensure(project.id, "Emma")
    face, body, other = (library.references.store(png_bytes(i), f"{i}.png") for i in (10, 11, 12))
    base = AnchorSpec("Emma, 30-year-old woman", seed=42)
    v1 = library.characters.save_anchor(emma.id, base)
    refs = (ReferenceImage(face, FACE), ReferenceImage(body, BODY))
    v2 = library.characters.save_anchor(emma.id, dataclasses.replace(base, references=refs))
    assert v2.version == 2 and v2.references == refs
    # the same set again (even named by other paths) is the same version
    again = tuple(dataclasses.replace(r, path=f"elsewhere/{i}.png") for i, r in enumerate(refs))
    assert library.characters.save_anchor(emma.id, dataclasses.replace(
        base, references=again)) == v2
    changes = {
        "an image": (ReferenceImage(other, FACE), refs[1]),
        "a role": (ReferenceImage(face, ReferenceRole.OTHER), refs[1]),
        "the order": (refs[1], refs[0]),
        "one fewer": refs[:1],
    }
    versions = [library.characters.save_anchor(emma.id, dataclasses.replace(base, references=r))
                for r in changes.values()]
    assert [v.version for v in versions] == [3, 4, 5, 6]
    assert [v.references for v in versions] == list(changes.values())
    library.close()
    with Library.open(data_dir, read_only=True) as viewer:
        history = viewer.characters.anchor_versions(emma.id)
        assert [v.references for v in history] == [(), refs, *changes.values()]
        assert viewer.characters.anchor_version(v2.id).references == refs
        latest = viewer.characters.latest_anchor(emma.id)
        assert latest is not None and latest.references == refs[:1]
    assert v1.references == ()


def test_an_anchor_names_only_stored_images_and_at_most_four(library: Library) -> None:
    project = library.projects.ensure("Emma")
    emma = library.characters.ensure(project.id, "Emma")
    with pytest.raises(LibraryError, match=r"The reference image cdcdcdcd is not stored in the "
                                           r"library"):
        library.characters.save_anchor(emma.id, AnchorSpec(
            "Emma", references=(ReferenceImage("cd" * 32, FACE),)))
    digest = library.references.store(png_bytes(20), "a.png")
    with pytest.raises(LibraryError, match="at most 4 reference images, not 5"):
        library.characters.save_anchor(emma.id, AnchorSpec(
            "Emma", references=(ReferenceImage(digest, FACE),) * 5))
    assert library.characters.latest_anchor(emma.id) is None  # nothing half-written


def test_emptying_the_trash_keeps_the_images_an_anchor_lists(library: Library) -> None:
    project = library.projects.ensure("Emma")
    emma = library.characters.ensure(project.id, "Emma")
    image = png_bytes(30)
    render = library.renders.record(draft(project.id), image)
    # the render's own image (chunks added) is another file than the reference (as chosen)
    digest = library.references.store(image, "face.png")
    library.characters.save_anchor(emma.id, AnchorSpec(
        "Emma", references=(ReferenceImage(digest, FACE),)))
    loose = library.references.store(png_bytes(31), "unused.png")
    library.renders.trash([render.id])
    emptied = library.renders.empty_trash()
    assert emptied.renders_removed == 1
    assert library.references.reference_bytes(digest) == image
    assert library.references.path(loose) is None  # listed by nothing: removed with the trash


def test_every_render_records_the_references_it_was_sent_with(library: Library) -> None:
    project = library.projects.ensure("Emma")
    digest = library.references.store(png_bytes(40), "face.png")
    refs = (ReferenceImage(digest, FACE), ReferenceImage("ef" * 32, ReferenceRole.OUTFIT))
    with_refs = draft(project.id)
    with_refs = dataclasses.replace(with_refs, request=with_refs.request.with_changes(
        references=refs, reference_strength=ReferenceStrength.LIGHT))
    render = library.renders.record(with_refs, png_bytes(41))
    assert render.references == refs and render.reference_strength is ReferenceStrength.LIGHT
    assert library.renders.get(render.id).request.references == refs
    data = render_data(render)
    assert data["references"] == [{"sha256": digest, "role": "face"},
                                  {"sha256": "ef" * 32, "role": "outfit"}]
    assert data["reference_strength"] == "light"
    assert render.image_path is not None
    chunk = read_png_metadata(render.image_path).studio
    assert chunk is not None
    assert chunk["references"] == data["references"]
    assert chunk["request"]["references"] == data["references"]  # no local paths in it
    assert chunk["request"]["reference_strength"] == "light"
    plain = library.renders.record(draft(project.id), png_bytes(42))
    assert plain.references == () and plain.reference_strength is ReferenceStrength.OFF
    assert render_data(plain)["references"] == []
    failed = library.renders.record_failure(with_refs, "the provider refused it")
    assert failed.references == refs


def test_use_as_reference_and_copy_beside_a_sheet(library: Library, tmp_path: Path) -> None:
    project = library.projects.ensure("Emma")
    render = library.renders.record(draft(project.id), png_bytes(50))
    ref = library.references.from_render(render.id, BODY)
    assert ref.sha256 == render.image_hash and ref.role is BODY
    assert Path(ref.path) == render.image_path
    library.references.store(render.image_path.read_bytes(), "render")  # type: ignore[union-attr]
    sheet = tmp_path / "sheets" / "emma.sheet.toml"
    sheet.parent.mkdir()
    copied = library.references.copy_beside(ref.sha256, sheet, BODY)
    assert copied.path == f"refs/emma-full-body-{ref.sha256[:8]}.png"
    assert (sheet.parent / copied.path).read_bytes() == render.image_path.read_bytes()  # type: ignore[union-attr]
    assert library.references.copy_beside(ref.sha256, sheet, BODY) == copied  # no second copy
    (sheet.parent / copied.path).write_bytes(b"someone else's file")
    other = library.references.copy_beside(ref.sha256, sheet, BODY)
    assert other.path.endswith("-2.png")  # an existing file is never overwritten
    assert (sheet.parent / copied.path).read_bytes() == b"someone else's file"
    failed = library.renders.record_failure(draft(project.id), "no image")
    with pytest.raises(ReferenceImageError, match=rf"Render {failed.id} has no image"):
        library.references.from_render(failed.id)


SHEET = """\
format = 1
[character]
name = "Emma"
anchor = "Emma, 30-year-old woman"
seed = 42
references = [{ image = "face.png", role = "face" }]
[[scenes]]
name = "A"
setting = "park"
"""


def test_binding_a_sheet_stores_its_references_and_versions_the_anchor(
        library: Library, tmp_path: Path) -> None:
    catalog: PresetCatalog = load_catalog()
    path = tmp_path / "emma.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    (tmp_path / "face.png").write_bytes(png_bytes(60))
    first = bind_sheet(library, load_sheet(path, catalog), path, catalog)
    digest = content_hash(png_bytes(60))
    assert first.anchor.references == (ReferenceImage(digest, FACE),)
    assert library.references.reference_bytes(digest) == png_bytes(60)
    assert bind_sheet(library, load_sheet(path, catalog), path, catalog).anchor == first.anchor
    (tmp_path / "face.png").write_bytes(png_bytes(61))
    second = bind_sheet(library, load_sheet(path, catalog), path, catalog)
    assert second.anchor.version == first.anchor.version + 1
    assert second.anchor.references == (ReferenceImage(content_hash(png_bytes(61)), FACE),)
    # a sheet whose file changed after it was read is refused, nothing recorded
    stale = load_sheet(path, catalog)
    (tmp_path / "face.png").write_bytes(png_bytes(62))
    with pytest.raises(ReferenceImageError, match=r"reference image 1 \(face\.png\) changed "
                                                  r"while the sheet was being read"):
        bind_sheet(library, stale, path, catalog)
    assert library.characters.latest_anchor(first.character.id) == second.anchor
