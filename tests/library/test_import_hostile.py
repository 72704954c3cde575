"""Hostile images dropped on the window: only PNG, JPEG and WebP are opened, never more pixels
than the limit (checked from the header, before decoding), never Ghostscript, and every refusal
is a sentence; thumbnails refuse the same images."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import EpsImagePlugin, Image, PngImagePlugin

from studio.core import limits
from studio.library import ImageImportError, Library
from studio.library.thumbnails import ThumbnailCache


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels and whose data is a few bytes:
    decoding it would fail, so a refusal naming the size shows the header was read first."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
       b"newpath 0 0 moveto 16 16 lineto stroke\nshowpage\n%%EOF\n")


def _png(size: tuple[int, int], **chunks: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def _nothing_stored(library: Library) -> bool:
    images = library.data_dir / "images"
    return library.renders.page().items == () and not any(
        p.is_file() for p in images.rglob("*"))


def test_an_eps_file_named_png_is_never_handed_to_ghostscript(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def ghostscript(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise OSError("Ghostscript was asked to run")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)
    source = tmp_path / "portrait.png"
    source.write_bytes(EPS)
    project = library.projects.ensure("Imports")
    with pytest.raises(ImageImportError) as caught:
        library.maintenance.import_image(source, project.id)
    assert str(caught.value) == ("portrait.png is not an image the studio can read; choose a "
                                 "PNG, JPEG or WebP file.")
    assert calls == []
    assert _nothing_stored(library)


def test_a_huge_picture_in_a_small_file_is_refused_from_its_header(library: Library) -> None:
    # The 169-megapixel case: 13000 x 13000 pixels claimed by a few hundred bytes.
    project = library.projects.ensure("Imports")
    with pytest.raises(ImageImportError) as caught:
        library.maintenance.import_image(png_claiming(13_000, 13_000), project.id,
                                         name="poster")
    assert str(caught.value) == (
        "poster claims more pixels (13,000x13,000, 169 megapixels) than the studio opens "
        "(67 megapixels); nothing was imported (scale it down first).")
    assert _nothing_stored(library)


def test_a_picture_past_pillows_own_bomb_limit_is_a_sentence_too(library: Library) -> None:
    project = library.projects.ensure("Imports")
    with pytest.raises(ImageImportError, match=r"^huge claims more pixels than the studio "
                       r"opens \(67 megapixels\)"):
        library.maintenance.import_image(png_claiming(30_000, 30_000), project.id, name="huge")
    assert _nothing_stored(library)


def test_a_decodable_image_over_the_pixel_limit_is_refused_and_one_under_it_kept(
        library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    # The limit scaled down so real pixels can be decoded in a test.
    monkeypatch.setattr(limits, "IMAGE_PIXELS_MAX", 100 * 100)
    project = library.projects.ensure("Imports")
    with pytest.raises(ImageImportError, match="claims more pixels"):
        library.maintenance.import_image(_png((101, 100)), project.id)
    assert _nothing_stored(library)
    kept = library.maintenance.import_image(_png((100, 100)), project.id)
    assert (kept.render.width, kept.render.height) == (100, 100)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "IMAGE_FILE_MAX_BYTES", 1000)
    source = tmp_path / "big.png"
    source.write_bytes(_png((8, 8)) + b"\0" * 2000)
    read: list[Path] = []
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        read.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    project = library.projects.ensure("Imports")
    with pytest.raises(ImageImportError, match=r"^big\.png is 2 KB, over the limit of 1,000 "
                       r"bytes for one image"):
        library.maintenance.import_image(source, project.id)
    assert source not in read
    assert _nothing_stored(library)


def test_numbers_in_the_studio_chunk_the_library_cannot_keep_are_left_out(
        library: Library) -> None:
    # Floats where whole numbers belong (a seed of 1e30 overflowed SQLite), an infinity
    # (1e400 reads as one), negatives and fractions.
    chunk = ('{"format": 2, "request": {"prompt": "a dock at dawn", "seed": 1e30, '
             '"steps": 1e18, "guidance": 1e400, "model": "m"}, '
             '"outcome": {"seed_returned": -5}}')
    project = library.projects.ensure("Imports")
    result = library.maintenance.import_image(_png((24, 16), studio=chunk), project.id)
    s = result.suggestion
    assert (s.prompt, s.seed, s.steps, s.guidance, s.model) == ("a dock at dawn", None, None,
                                                                None, "m")
    assert result.render.seed is None and result.render.steps == 0
    flat = json.dumps({"prompt": "p", "seed_requested": 41.5, "steps": 2.5, "guidance": -1})
    odd = library.maintenance.import_image(_png((24, 16), studio=flat), project.id).suggestion
    assert (odd.seed, odd.steps, odd.guidance) == (None, None, None)
    fine = json.dumps({"prompt": "p", "seed_requested": 2**63 - 1, "steps": 28.0,
                       "guidance": 3.5})
    kept = library.maintenance.import_image(_png((24, 16), studio=fine), project.id).suggestion
    assert (kept.seed, kept.steps, kept.guidance) == (2**63 - 1, 28, 3.5)


def test_thumbnails_refuse_what_import_refuses(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An older library may hold an oversized image: its thumbnail fails with a sentence
    instead of decoding 169 megapixels."""
    cache = ThumbnailCache(tmp_path / "thumbs", tmp_path / "tmp", workers=1)
    try:
        huge = tmp_path / "huge.png"
        huge.write_bytes(png_claiming(13_000, 13_000))
        with pytest.raises(ImageImportError, match="claims more pixels"):
            cache.ensure("ab" * 32, huge).result(timeout=60)
        eps = tmp_path / "eps.png"
        eps.write_bytes(EPS)
        with pytest.raises(ImageImportError, match="not an image the studio can read"):
            cache.ensure("cd" * 32, eps).result(timeout=60)
        monkeypatch.setattr(limits, "IMAGE_PIXELS_MAX", 50 * 50)
        real = tmp_path / "real.png"
        real.write_bytes(_png((60, 60)))
        with pytest.raises(ImageImportError, match="claims more pixels"):
            cache.ensure("ef" * 32, real).result(timeout=60)
        assert not (tmp_path / "thumbs").exists() or not any((tmp_path / "thumbs").rglob("*.png"))
        small = tmp_path / "small.png"
        small.write_bytes(_png((40, 40)))
        assert cache.ensure("01" * 32, small).result(timeout=60).is_file()
        # A GIF an older version imported as it was still gets its thumbnail.
        gif = tmp_path / "old.gif"
        Image.new("RGB", (30, 20), (1, 2, 3)).save(gif, "GIF")
        assert cache.ensure("02" * 32, gif).result(timeout=60).is_file()
    finally:
        cache.close()
