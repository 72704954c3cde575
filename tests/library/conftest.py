"""Fixtures for the library tests: every library lives in ``tmp_path``."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.library import Library, RenderDraft


def png_bytes(seed: int = 0, size: tuple[int, int] = (16, 12), mode: str = "RGB") -> bytes:
    """A small PNG whose pixels (and so bytes) depend on ``seed``."""
    rng = random.Random(seed)
    image = Image.new(mode, size)
    image.putdata([tuple(rng.randrange(256) for _ in mode) for _ in range(size[0] * size[1])])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(seed: int = 0) -> bytes:
    image = Image.new("RGB", (20, 20), (seed % 256, 40, 90))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


_REQUEST_KEYS = {"stage", "provider", "model", "prompt", "negative", "width", "height", "steps",
                 "guidance", "seed"}


def draft(project_id: int, **changes: object) -> RenderDraft:
    """A draft of a preview; ``changes`` name request fields (``seed_requested`` for the seed,
    ``scene_name``/``character_name`` for its context) or the draft's own."""
    request: dict[str, object] = {
        "stage": Stage.PREVIEW,
        "provider": "offline",
        "model": "flux-schnell",
        "prompt": "30-year-old woman, dark brown wavy hair, neutral grey studio backdrop",
        "negative": "cartoon, anime",
        "width": 1024,
        "height": 1024,
        "steps": 4,
        "guidance": 3.5,
        "seed": 42,
    }
    if "seed_requested" in changes:
        changes["seed"] = changes.pop("seed_requested")
    context = SceneContext(scene=str(changes.pop("scene_name", "")),
                           character=str(changes.pop("character_name", "")))
    request.update({k: v for k, v in changes.items() if k in _REQUEST_KEYS})
    rest = {k: v for k, v in changes.items() if k not in _REQUEST_KEYS}
    return RenderDraft(request=GenerationRequest(context=context, **request),  # type: ignore[arg-type]
                       project_id=project_id, **rest)  # type: ignore[arg-type]


class FakeClock:
    """A clock the test moves by hand, so ordering by time is deterministic."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def library(data_dir: Path, clock: FakeClock) -> Iterator[Library]:
    lib = Library.open(data_dir, clock=clock)
    yield lib
    lib.close()
