"""The offline placeholder: drawn locally, instantly, never mistakable for a render."""

from __future__ import annotations

import io
import socket

import pytest
from PIL import Image

from studio.core import codec
from studio.core.request import SceneContext
from studio.providers.base import Submission, iter_events
from studio.providers.offline import OfflineProvider
from tests.fakes.sample import sample_request


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the offline provider touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def colours(png: bytes) -> set[tuple[int, int, int]]:
    with Image.open(io.BytesIO(png)) as img:
        small = img.convert("RGB").resize((16, 16)).tobytes()
    return {tuple(small[i:i + 3]) for i in range(0, len(small), 3)}  # type: ignore[misc]


@pytest.mark.asyncio
async def test_renders_a_png_with_no_network(no_network, events) -> None:
    provider = OfflineProvider()
    assert provider.configured
    result = await provider.generate(sample_request(width=512, height=768, model="anything"),
                                     events)
    assert events.names == ["Submitted", "Processing", "Downloading", "Done"]
    assert result.format == "png" and (result.width, result.height) == (512, 768)
    assert result.image.startswith(b"\x89PNG")
    assert result.seed_returned == 42 and result.cost == 0.0
    assert result.info["placeholder"] is True
    with Image.open(io.BytesIO(result.image)) as img:
        assert img.size == (512, 768)


@pytest.mark.asyncio
async def test_same_request_same_card_and_seed_or_lighting_changes_it() -> None:
    provider = OfflineProvider()
    base = await provider.generate(sample_request())
    again = await provider.generate(sample_request())
    other_seed = await provider.generate(sample_request(seed=43))
    golden = await provider.generate(sample_request(
        context=SceneContext(scene="Headshot", lighting="golden hour backlight")))
    neon = await provider.generate(sample_request(
        context=SceneContext(scene="Headshot", lighting="neon city reflections")))
    assert base.image == again.image
    assert base.image != other_seed.image
    assert colours(golden.image) != colours(neon.image)


@pytest.mark.asyncio
async def test_resume_redraws_from_the_stored_submission() -> None:
    provider = OfflineProvider()
    submission = await provider.submit(sample_request(seed=None))
    restored = codec.loads(Submission, codec.dumps(submission))
    result = await OfflineProvider().follow(restored)
    assert result.seed_returned == submission.seed is not None


@pytest.mark.asyncio
async def test_iter_events_yields_progress_until_done() -> None:
    provider = OfflineProvider()
    names = [type(e).__name__ async for e in iter_events(
        lambda cb: provider.generate(sample_request(), cb))]
    assert names == ["Submitted", "Processing", "Downloading", "Done"]


def test_card_is_labelled() -> None:
    from studio.providers.offline import LABEL, draw_card

    assert LABEL == "OFFLINE PLACEHOLDER"
    png = draw_card(sample_request(width=256, height=256), 7)
    with Image.open(io.BytesIO(png)) as img:
        # The label banner is near-black across the top edge.
        top = img.convert("RGB").getpixel((2, 2))
    assert max(top) < 40
