"""Images from other tools (and the studio's own exports) become renders and scene suggestions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from studio.core.request import Stage
from studio.library import ImageImportError, Library, SceneSuggestion
from studio.library.metadata import read_png_metadata

from .conftest import draft, jpeg_bytes, png_bytes
from .test_metadata import A1111_TEXT


def _png_with_text(**chunks: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 100, 50)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def test_an_automatic1111_png_becomes_a_render_and_a_scene_suggestion(
    library: Library, tmp_path: Path
) -> None:
    project = library.projects.ensure("Imports")
    source = tmp_path / "00012-3141592653.png"
    source.write_bytes(_png_with_text(parameters=A1111_TEXT))
    result = library.maintenance.import_image(source, project.id)
    assert result.suggestion == SceneSuggestion(
        prompt="photo of a woman, (freckles:1.2), red coat\nstanding in the rain",
        negative="cartoon, anime, lowres",
        seed=3141592653,
        width=832,
        height=1216,
        steps=28,
        guidance=7.0,
        model="juggernaut_v9",
        provider="",
        source="parameters",
    )
    render = result.render
    assert render.source == "import" and render.provider == "import"
    assert render.seed == 3141592653 and render.scene_name == "00012-3141592653"
    assert (render.width, render.height, render.stage) == (40, 30, Stage.FINAL)
    assert render.image_path is not None
    meta = read_png_metadata(render.image_path)
    # The other tool's settings text is kept verbatim; the studio adds its own record.
    assert meta.parameters == A1111_TEXT
    assert meta.studio is not None and meta.studio["source"] == "import"
    assert library.renders.search("freckles").items[0].id == render.id


def test_a_studio_png_imports_with_its_full_record(library: Library, data_dir: Path) -> None:
    project = library.projects.ensure("Emma")
    original = library.renders.record(
        draft(project.id, prompt="woman in a red coat", seed_requested=9, guidance=2.5),
        png_bytes(1),
    )
    assert original.image_path is not None
    other = library.projects.ensure("Elsewhere")
    result = library.maintenance.import_image(original.image_path.read_bytes(), other.id)
    s = result.suggestion
    assert s.source == "studio"
    assert (s.prompt, s.negative, s.seed, s.guidance, s.steps) == (
        "woman in a red coat",
        "cartoon, anime",
        9,
        2.5,
        4,
    )
    assert (s.model, s.provider, s.width, s.height) == ("flux-schnell", "offline", 16, 12)
    assert result.render.provider == "offline"


def test_an_image_without_metadata_still_imports(library: Library) -> None:
    project = library.projects.ensure("Imports")
    plain = library.maintenance.import_image(png_bytes(3), project.id, name="sketch")
    assert plain.suggestion == SceneSuggestion(width=16, height=12)
    assert plain.render.prompt == "" and plain.render.scene_name == "sketch"
    assert plain.render.image_path is not None
    meta = read_png_metadata(plain.render.image_path)
    assert meta.parameters is not None and "Steps" not in meta.parameters
    jpeg = library.maintenance.import_image(jpeg_bytes(3), project.id)
    assert jpeg.render.image_path is not None and jpeg.render.image_path.suffix == ".jpg"
    odd = _png_with_text(parameters="Steps: banana, Seed: x, CFG scale: ?", studio="{not json")
    assert library.maintenance.import_image(odd, project.id).suggestion.seed is None


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "TIFF"])
def test_formats_other_than_png_jpeg_and_webp_are_refused(library: Library, fmt: str) -> None:
    project = library.projects.ensure("Imports")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, fmt)
    with pytest.raises(ImageImportError, match="not an image the studio can read; choose a "
                       "PNG, JPEG or WebP file"):
        library.maintenance.import_image(buffer.getvalue(), project.id)
    assert library.renders.page().items == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an image"),
        (b"GIF89a but not really", "truncated or damaged|not an image"),
        (b"%PDF-1.7 a document", "not an image"),
        (png_bytes(5, size=(64, 64))[:-60], "truncated or damaged"),
        (jpeg_bytes(5)[:200], "truncated or damaged"),
    ],
    ids=["empty", "fake-gif", "pdf", "truncated-png", "truncated-jpeg"],
)
def test_what_is_not_a_whole_image_is_refused_clearly(
    library: Library, data: bytes, message: str
) -> None:
    project = library.projects.ensure("Imports")
    with pytest.raises(ImageImportError, match=message):
        library.maintenance.import_image(data, project.id)
    assert library.renders.page().items == ()


def test_an_unreadable_file_is_a_clear_error(library: Library, tmp_path: Path) -> None:
    project = library.projects.ensure("Imports")
    with pytest.raises(ImageImportError, match="Could not read"):
        library.maintenance.import_image(tmp_path / "missing.png", project.id)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_settings_in_the_exif_comment_of_a_jpeg_or_webp_are_read(
    library: Library, fmt: str
) -> None:
    exif = Image.Exif()
    text = "a cat on a windowsill, 猫\nNegative prompt: dog\nSteps: 20, CFG scale: 6.5, Seed: 5"
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-be")
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (9, 9, 9)).save(buffer, fmt, exif=exif)
    project = library.projects.ensure("Imports")
    result = library.maintenance.import_image(buffer.getvalue(), project.id)
    s = result.suggestion
    assert (s.prompt, s.negative, s.steps, s.guidance, s.seed) == (
        "a cat on a windowsill, 猫",
        "dog",
        20,
        6.5,
        5,
    )
    assert s.source == "parameters" and (s.width, s.height) == (24, 16)
    assert result.render.image_path is not None
    assert result.render.image_path.read_bytes() == buffer.getvalue()
