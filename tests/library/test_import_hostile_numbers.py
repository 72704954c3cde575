"""An image whose settings text holds numbers SQLite cannot keep (a seed of 2^70, 10^30 steps,
NaN guidance) imports with those settings left out, instead of raising a raw exception."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, PngImagePlugin

from studio.library import Library


def _png(parameters: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters)
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (90, 60, 30)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def test_numbers_out_of_range_import_as_absent(library: Library, tmp_path: Path) -> None:
    project = library.projects.ensure("Imports")
    source = tmp_path / "odd.png"
    source.write_bytes(_png("a woman in the rain\nSteps: 1000000000000000000000000000000, "
                            "CFG scale: nan, Seed: 1180591620717411303424, Size: 99999x99999, "
                            "Model: m"))
    result = library.maintenance.import_image(source, project.id)
    suggestion = result.suggestion
    assert suggestion is not None
    assert (suggestion.seed, suggestion.steps, suggestion.guidance) == (None, None, None)
    assert (suggestion.width, suggestion.height) == (24, 16)  # the image's own size
    assert suggestion.model == "m" and suggestion.prompt == "a woman in the rain"
    assert (result.render.width, result.render.height) == (24, 16)


def test_a_studio_chunk_with_numbers_out_of_range_falls_back_to_the_parameters(
        library: Library, tmp_path: Path) -> None:
    project = library.projects.ensure("Imports")
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a dock at dawn\nSteps: 4, CFG scale: 3.5, Seed: 42")
    info.add_text("studio", '{"format": 1, "seed": 1180591620717411303424, "guidance": NaN}')
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16)).save(buffer, "PNG", pnginfo=info)
    source = tmp_path / "studio.png"
    source.write_bytes(buffer.getvalue())
    result = library.maintenance.import_image(source, project.id)
    assert result.render.seed == 42
