"""Sample requests for provider and render tests."""

from __future__ import annotations

from typing import Any

from studio.core.request import GenerationRequest, SceneContext


def sample_request(**changes: Any) -> GenerationRequest:
    """A preview request for the Emma headshot; ``changes`` replace any field."""
    base: dict[str, Any] = {
        "prompt": "30-year-old woman, dark brown wavy hair, soft studio lighting",
        "width": 512,
        "height": 768,
        "steps": 4,
        "guidance": 0.0,
        "model": "flux-schnell",
        "seed": 42,
        "context": SceneContext(character="Emma", scene="Headshot", lighting="soft studio",
                                lens="Canon EF 85mm", framing="portrait"),
    }
    base.update(changes)
    return GenerationRequest(**base)
