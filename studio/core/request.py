"""What one image generation asks of a provider, independent of any API's wire format.

Reference images travel by content hash: a request names each image it sends by the sha256 of
its file and its role, never by its bytes or where it is kept, so the request stays small, the
job journal and the PNG chunk can keep it whole, and a job resumed in another process sends the
same images. A provider that sends references reads their bytes through the
:class:`~studio.core.references.ReferenceReader` it is given when it is built (the library's
image store, by hash).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from studio.core.anchor import ReferenceImage, ReferenceStrength

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
    #: The noun the prompt names the character by when it speaks of reference images.
    subject: str = ""


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
    #: The reference images sent with the prompt, in the order the prompt numbers them
    #: ("image 1", "image 2"); their bytes are read by hash when the request is sent.
    references: tuple[ReferenceImage, ...] = ()
    #: How strongly the render holds to them; OFF exactly when no reference is sent.
    reference_strength: ReferenceStrength = ReferenceStrength.OFF
    extras: Mapping[str, Any] = field(default_factory=dict)
    context: SceneContext = field(default_factory=SceneContext)

    def with_changes(self, **changes: Any) -> GenerationRequest:
        """A copy with some fields replaced (requests are immutable)."""
        return replace(self, **changes)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"
