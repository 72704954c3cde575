"""What one image generation asks of a provider, independent of any API's wire format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

SEED_MIN = 0
SEED_MAX = 4_294_967_295


class Stage(StrEnum):
    """The two stages of a sheet: fast drafts, then photoreal finals."""

    PREVIEW = "preview"
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class LoraWeight:
    """One LoRA to merge: a URL, a hub id or a provider-specific identifier, and its strength."""

    path: str
    scale: float = 0.8


@dataclass(frozen=True, slots=True)
class SceneContext:
    """Who and what a request is for. Never sent to a remote API; used for captions, placeholders
    and records."""

    character: str = ""
    scene: str = ""
    lighting: str = ""
    lens: str = ""
    framing: str = ""


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """What one render asks: the image to generate and who renders it. Providers adapt it to
    their capabilities before sending; the library keeps it as sent."""

    prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    model: str
    negative: str = ""
    seed: int | None = None
    stage: Stage = Stage.PREVIEW
    #: The provider that renders it (empty until one is chosen).
    provider: str = ""
    images: int = 1
    loras: tuple[LoraWeight, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)
    context: SceneContext = field(default_factory=SceneContext)

    def with_changes(self, **changes: Any) -> GenerationRequest:
        """A copy with some fields replaced (requests are immutable)."""
        return replace(self, **changes)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"
