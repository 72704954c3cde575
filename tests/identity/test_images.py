"""Reading images for face analysis: a plain RGB PNG is decoded by libspng to exactly the pixels
Pillow gives; every PNG that could differ (transparency, other modes, an EXIF turn before or
after the pixels) and every PNG libspng refuses goes through Pillow, as does everything when
libspng is not installed."""

from __future__ import annotations

import io
import struct
import sys
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, ImageOps

from studio.identity.images import decode_image

from .conftest import encode, png_chunk

pyspng = pytest.importorskip("pyspng", reason="libspng has no wheel for this system")


@pytest.fixture
def spng_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every PNG handed to libspng."""
    calls: list[bytes] = []
    load: Callable[..., Any] = pyspng.load

    def recording(data: bytes, *args: Any) -> Any:
        calls.append(data)
        return load(data, *args)

    monkeypatch.setattr(pyspng, "load", recording)
    return calls


def pillow_pixels(data: bytes) -> bytes:
    """What Pillow alone decodes, upright, as RGB bytes."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return image.convert("RGB").tobytes()


def render(astronaut: Image.Image) -> Image.Image:
    return astronaut.resize((1024, 1024), Image.Resampling.BICUBIC)


def with_chunk_after_pixels(data: bytes, chunk: bytes) -> bytes:
    """The PNG with ``chunk`` between its last image data and its end."""
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def test_a_plain_rgb_png_is_decoded_by_libspng_to_pillows_pixels(
    astronaut: Image.Image, spng_calls: list[bytes],
) -> None:
    for image in (render(astronaut), astronaut.crop((0, 0, 301, 203))):
        data = encode(image)
        decoded = decode_image(data)
        assert decoded is not None and spng_calls[-1] == data
        assert decoded.pixels.mode == "RGB" and decoded.size == image.size
        assert decoded.pixels.tobytes() == pillow_pixels(data)
    assert len(spng_calls) == 2


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "LA", "I;16"])
def test_other_pngs_are_decoded_by_pillow_as_before(
    mode: str, astronaut: Image.Image, spng_calls: list[bytes],
) -> None:
    image = astronaut.convert(mode) if mode != "I;16" else astronaut.convert("L").convert("I;16")
    data = encode(image)
    decoded = decode_image(data)
    assert decoded is not None and decoded.pixels.mode == "RGB" and not spng_calls
    if mode not in ("RGBA", "LA"):  # transparency is flattened on white
        assert decoded.pixels.tobytes() == pillow_pixels(data)


def test_an_rgb_png_with_a_transparent_colour_is_flattened_by_pillow(
    astronaut: Image.Image, spng_calls: list[bytes],
) -> None:
    data = encode(astronaut, transparency=(0, 0, 0))
    decoded = decode_image(data)
    assert decoded is not None and not spng_calls


def test_a_png_turned_by_exif_before_or_after_its_pixels_is_read_upright(
    astronaut: Image.Image, spng_calls: list[bytes],
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    stored = astronaut.crop((0, 0, 512, 300)).transpose(Image.Transpose.ROTATE_90)
    before = encode(stored, exif=exif.tobytes())  # Pillow writes eXIf ahead of the pixels
    after = with_chunk_after_pixels(encode(stored), png_chunk(b"eXIf", exif.tobytes()))
    for data in (before, after):
        decoded = decode_image(data)
        assert decoded is not None and decoded.size == (512, 300)
        assert decoded.pixels.tobytes() == astronaut.crop((0, 0, 512, 300)).tobytes()
    assert not spng_calls


def test_text_after_the_pixels_leaves_the_png_to_pillow(
    astronaut: Image.Image, spng_calls: list[bytes],
) -> None:
    data = with_chunk_after_pixels(encode(astronaut), png_chunk(b"tEXt", b"Comment\x00late"))
    decoded = decode_image(data)
    assert decoded is not None and not spng_calls
    assert decoded.pixels.tobytes() == astronaut.tobytes()


def test_a_damaged_png_is_unreadable_whichever_decoder_tries(
    astronaut: Image.Image, spng_calls: list[bytes],
) -> None:
    data = encode(astronaut)
    # Its chunks intact, its compressed pixels scrambled: libspng refuses it, then Pillow.
    start = data.index(b"IDAT") + 4 + 64
    assert struct.unpack(">I", data[start - 72:start - 68])[0] >= 256  # inside the first IDAT
    scrambled = data[:start] + bytes(b ^ 0x5A for b in data[start:start + 128]) + data[
        start + 128:]
    assert decode_image(scrambled) is None and spng_calls == [scrambled]
    # Cut short, or with a chunk claiming more bytes than the file holds: never read past its
    # end, and left to Pillow, which refuses or reads what is there.
    assert decode_image(data[: len(data) // 2]) is None
    claiming = with_chunk_after_pixels(data, b"\x7f\xff\xff\xffIDAT")
    decoded = decode_image(claiming)
    assert decoded is None or decoded.pixels.tobytes() == astronaut.tobytes()
    assert spng_calls == [scrambled]


def test_without_libspng_pillow_decodes_the_same_pixels(
    astronaut: Image.Image, monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = encode(render(astronaut))
    monkeypatch.setitem(sys.modules, "pyspng", None)  # as on a system with no wheel
    decoded = decode_image(data)
    assert decoded is not None and decoded.pixels.tobytes() == pillow_pixels(data)
