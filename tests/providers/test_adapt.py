"""Requests checked against capabilities before sending: adapted with notes, or refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.core.capabilities import ModelCapabilities
from studio.providers.adapt import adapt, nearest_aspect_ratio
from studio.providers.errors import InvalidRequestError
from studio.providers.modelslab import DEFAULT_MODELS
from studio.providers.onemin import MODELS as ONEMIN_MODELS
from studio.providers.replicate import MODELS as REPLICATE_MODELS
from studio.providers.replicate import SCHNELL
from tests.fakes.sample import sample_request

SCHNELL_ML = DEFAULT_MODELS["flux-schnell"].capabilities
FLUXGRAM = DEFAULT_MODELS["fluxgram-v1"].capabilities
REPLICATE = REPLICATE_MODELS[SCHNELL]


def test_schnell_drops_negative_with_note() -> None:
    adapted, notes = adapt(sample_request(negative="cartoon"), SCHNELL_ML)
    assert adapted.negative == ""
    assert notes == ("FLUX.1 Schnell has no negative prompt, so the negative prompt was not "
                     "sent.",)


def test_replicate_takes_aspect_ratio() -> None:
    adapted, notes = adapt(sample_request(width=1024, height=768, model=SCHNELL), REPLICATE)
    assert (adapted.width, adapted.height) == (1152, 896)
    assert notes == ("Replicate takes an aspect ratio, not a size: 1024x768 was sent as 4:3 "
                     "(1152x896).",)


@pytest.mark.parametrize(
    ("size", "ratio"),
    [((1024, 1024), "1:1"), ((768, 1024), "3:4"), ((1920, 1080), "16:9"), ((512, 768), "2:3"),
     ((400, 2000), "9:21"), ((100, 100), "1:1")],
)
def test_nearest_ratio(size: tuple[int, int], ratio: str) -> None:
    assert nearest_aspect_ratio(*size, REPLICATE) == ratio


def test_steps_clamped_and_guidance_clamped() -> None:
    adapted, notes = adapt(sample_request(model="fluxgram-v1", steps=80, guidance=40), FLUXGRAM)
    assert adapted.steps == 50 and adapted.guidance == 20
    assert len(notes) == 2


def test_zero_steps_uses_default() -> None:
    adapted, notes = adapt(sample_request(steps=0), SCHNELL_ML)
    assert adapted.steps == 4 and "default" in notes[0]


def test_size_capped_and_rounded() -> None:
    adapted, notes = adapt(sample_request(width=2048, height=1365), FLUXGRAM)
    assert (adapted.width, adapted.height) == (1024, 680)
    assert any("2048x1365 was sent as 1024x680" in n for n in notes)


def test_unchanged_request_has_no_notes() -> None:
    request = sample_request(model="fluxgram-v1", steps=30, guidance=7.5, negative="cartoon")
    adapted, notes = adapt(request, FLUXGRAM)
    assert adapted == request and notes == ()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"prompt": "  "}, "prompt is empty"),
        ({"images": 3}, "at most 1 image"),
        ({"seed": -1}, "outside ModelsLab's range"),
        ({"seed": 2**40}, "outside ModelsLab's range"),
        ({"width": 4000, "height": 10}, "too narrow"),
        ({"width": 0}, "not a picture size"),
    ],
)
def test_refusals_are_sentences(changes: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        adapt(sample_request(**changes), FLUXGRAM)
    assert words in str(info.value)
    message = info.value.user_message("Headshot")
    assert message.startswith("ModelsLab cannot render this request for scene “Headshot”: ")
    assert message.endswith(".")


@given(
    width=st.integers(1, 5000), height=st.integers(1, 5000), steps=st.integers(0, 200),
    guidance=st.floats(-5, 50, allow_nan=False),
)
def test_adapted_requests_always_fit(width: int, height: int, steps: int,
                                     guidance: float) -> None:
    for caps in (FLUXGRAM, SCHNELL_ML, REPLICATE, ONEMIN_MODELS[next(iter(ONEMIN_MODELS))]):
        request = sample_request(width=width, height=height, steps=steps, guidance=guidance)
        try:
            adapted, _notes = adapt(request, caps)
        except InvalidRequestError:
            ratio = max(width, height) / min(width, height)
            assert ratio > 0.99 * caps.max_side / caps.min_side
            continue
        assert caps.steps_min <= adapted.steps <= caps.steps_max
        size = (adapted.width, adapted.height)
        if caps.takes_aspect_ratio:
            assert size in caps.aspect_ratios.values()
        else:
            assert all(caps.min_side <= s <= caps.max_side for s in size)
            assert all(s % caps.size_multiple == 0 for s in size)
        if caps.uses_guidance:
            assert caps.guidance_min <= adapted.guidance <= caps.guidance_max


def test_capabilities_are_core_type() -> None:
    assert isinstance(FLUXGRAM, ModelCapabilities)
