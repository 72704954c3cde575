"""The ``parameters`` text and the ``studio`` chunk: layout other tools read, round trips."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.core.parameters import ImageParameters, format_parameters, parse_parameters
from studio.library.metadata import MetadataError, embed_png_metadata, png_info, read_png_metadata

from .conftest import jpeg_bytes, png_bytes

A1111_TEXT = (
    "photo of a woman, (freckles:1.2), red coat\n"
    "standing in the rain\n"
    "Negative prompt: cartoon, anime, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 3141592653, Size: 832x1216, "
    'Model hash: 6ce0161689, Model: juggernaut_v9, Lora hashes: "detail: 1a2b, skin: 3c4d", '
    "Version: v1.9.4"
)


def test_studio_layout_matches_what_other_tools_read() -> None:
    text = format_parameters(
        ImageParameters(
            prompt="woman, grey backdrop",
            negative="cartoon, anime",
            steps=4,
            guidance=3.5,
            seed=42,
            width=1024,
            height=768,
            model="flux-schnell",
            provider="modelslab",
        )
    )
    assert text == (
        "woman, grey backdrop\n"
        "Negative prompt: cartoon, anime\n"
        "Steps: 4, CFG scale: 3.5, Seed: 42, Size: 1024x768, Model: flux-schnell, "
        "Provider: modelslab"
    )


def test_reads_an_automatic1111_parameters_text() -> None:
    params = parse_parameters(A1111_TEXT)
    assert params.prompt == "photo of a woman, (freckles:1.2), red coat\nstanding in the rain"
    assert params.negative == "cartoon, anime, lowres"
    assert (params.steps, params.guidance, params.seed) == (28, 7.0, 3141592653)
    assert (params.width, params.height) == (832, 1216)
    assert params.model == "juggernaut_v9"
    assert params.provider == ""
    assert params.extra["Sampler"] == "DPM++ 2M Karras"
    assert params.extra["Lora hashes"] == "detail: 1a2b, skin: 3c4d"


def test_text_without_a_settings_line_is_all_prompt() -> None:
    params = parse_parameters("just a prompt, nothing else")
    assert params.prompt == "just a prompt, nothing else"
    assert params.seed is None and params.steps is None and params.extra == {}


_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=40
).filter(lambda s: not s.startswith("Negative prompt:"))
_multiline = st.lists(_line, min_size=1, max_size=3).map("\n".join)


@settings(deadline=None)  # a loaded CI machine is slow, not wrong
@given(
    prompt=_multiline,
    negative=_multiline,
    steps=st.none() | st.integers(1, 200),
    guidance=st.none() | st.floats(0, 30, allow_nan=False).map(lambda f: round(f, 2)),
    seed=st.none() | st.integers(0, 2**32 - 1),
    model=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() == s and "\n" not in s),
)
def test_parameters_round_trip(
    prompt: str,
    negative: str,
    steps: int | None,
    guidance: float | None,
    seed: int | None,
    model: str,
) -> None:
    original = ImageParameters(
        prompt=prompt,
        negative=negative,
        steps=steps,
        guidance=guidance,
        seed=seed,
        width=512,
        height=768,
        model=model,
        provider="fal",
    )
    parsed = parse_parameters(format_parameters(original))
    # A prompt never starts a line with "Negative prompt:" (filtered above); with no negative,
    # the negative line is left out, as AUTOMATIC1111 does.
    assert parsed == original


def test_embedding_keeps_pixels_and_replaces_old_chunks() -> None:
    original = png_bytes(7)
    first = embed_png_metadata(original, A1111_TEXT, {"stage": "preview"})
    second = embed_png_metadata(first, "new prompt\nSteps: 1, CFG scale: 1, Seed: 1", None)
    meta = read_png_metadata(second)
    assert meta.parameters == "new prompt\nSteps: 1, CFG scale: 1, Seed: 1"
    assert meta.studio is None
    with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(second)) as b:
        assert a.tobytes() == b.tobytes()
    meta_first = read_png_metadata(first)
    assert meta_first.studio == {"format": 1, "stage": "preview"}


def test_non_latin_text_goes_into_an_international_chunk() -> None:
    data = embed_png_metadata(png_bytes(1), "桜の下の女性\nSteps: 4, CFG scale: 1, Seed: 2", {})
    assert b"iTXt" in data
    assert read_png_metadata(data).parameters == "桜の下の女性\nSteps: 4, CFG scale: 1, Seed: 2"


def test_png_info_gives_the_same_chunks_to_encoders() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG", pnginfo=png_info("p\nSteps: 1", {"a": 1}))
    meta = read_png_metadata(buffer.getvalue())
    assert meta.parameters == "p\nSteps: 1"
    assert meta.studio == {"format": 1, "a": 1}


@pytest.mark.parametrize(
    "data", [b"not a png", png_bytes(3)[:40], jpeg_bytes()], ids=["garbage", "truncated", "jpeg"]
)
def test_embedding_refuses_what_is_not_a_whole_png(data: bytes) -> None:
    with pytest.raises(MetadataError):
        embed_png_metadata(data, "x", None)
