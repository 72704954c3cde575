"""What a provider's model can honour: declared as data so requests are checked before sending."""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.core.request import SEED_MAX, SEED_MIN


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """Limits of one model on one provider.

    ``aspect_ratios`` maps a ratio name ("4:3") to the pixel size the provider produces for it;
    when it is non-empty the provider takes an aspect ratio instead of a free width and height.
    """

    provider: str
    model: str
    label: str = ""
    steps_min: int = 1
    steps_max: int = 50
    steps_default: int = 4
    uses_guidance: bool = True
    guidance_min: float = 0.0
    guidance_max: float = 20.0
    supports_negative: bool = True
    min_side: int = 256
    max_side: int = 1024
    size_multiple: int = 8
    aspect_ratios: dict[str, tuple[int, int]] = field(default_factory=dict)
    max_images: int = 1
    supports_lora: bool = False
    seed_min: int = SEED_MIN
    seed_max: int = SEED_MAX
    can_cancel: bool = False
    price_per_image: float | None = None

    @property
    def takes_aspect_ratio(self) -> bool:
        return bool(self.aspect_ratios)
