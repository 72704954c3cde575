"""Hostile text chunks in an image: read as absent, never a traceback."""

from __future__ import annotations

from studio.core import limits
from studio.library.metadata import embed_png_metadata, read_png_metadata

from .conftest import png_bytes


def _with_studio_chunk(text: str) -> bytes:
    """A PNG whose ``studio`` chunk holds ``text`` as given (embed_png_metadata only ever
    writes JSON it made itself)."""
    from studio.library.metadata import _chunk, _iter_chunks

    png = embed_png_metadata(png_bytes(2), "p\nSteps: 1, Seed: 1, CFG scale: 1", None)
    ihdr_end = _iter_chunks(png)[0][2]
    chunk = _chunk(b"tEXt", b"studio\0" + text.encode("latin-1"))
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def test_a_deeply_nested_studio_chunk_reads_as_absent() -> None:
    meta = read_png_metadata(_with_studio_chunk("[" * 200_000 + "]" * 200_000))
    assert meta.studio is None
    assert meta.parameters == "p\nSteps: 1, Seed: 1, CFG scale: 1"


def test_a_studio_chunk_with_nan_or_huge_numbers_reads_as_absent() -> None:
    assert read_png_metadata(_with_studio_chunk('{"guidance": NaN}')).studio is None
    assert read_png_metadata(_with_studio_chunk('{"seed": 1180591620717411303424}')).studio \
        is None
    assert read_png_metadata(_with_studio_chunk('{"seed": 42}')).studio == {"seed": 42}


def test_a_text_chunk_over_the_limit_is_left_unread() -> None:
    huge = "x" * (limits.PNG_TEXT_CHUNK_MAX_BYTES + 1)
    meta = read_png_metadata(embed_png_metadata(png_bytes(1), huge, {"a": 1}))
    assert meta.parameters is None and "parameters" not in meta.text
    assert meta.studio == {"format": 1, "a": 1}
