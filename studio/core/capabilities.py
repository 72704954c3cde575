"""What a provider's model can honour: declared as data so requests are checked before sending."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from studio.core.anchor import ReferenceRole, ReferenceStrength
from studio.core.request import SEED_MAX, SEED_MIN


class ReferenceLayout(StrEnum):
    """How a model's request spells several reference images."""

    #: One field holds a list (``image_urls: [...]``).
    LIST = "list"
    #: A field per image: ``input_image``, ``input_image_2`` ... (one image: the first alone).
    NUMBERED = "numbered"


class ReferenceControl(StrEnum):
    """The knob a model turns for a scene's reference strength."""

    #: None: light and strong send the same.
    NONE = "none"
    #: The number of references sent: light sends ``light_count`` (face first), strong all.
    COUNT = "count"
    #: A number in ``control_field``: ``light_value`` or ``strong_value``.
    WEIGHT = "weight"


@dataclass(frozen=True, slots=True)
class ReferenceSupport:
    """How one model takes reference images. ``max_images`` 0: it takes none.

    ``roles`` are the kinds of image it can use (an identity model keyed on a face uses no
    outfit picture). ``required``: the model cannot render without a reference (an edit
    model), so a scene sending none goes to the provider's text-to-image model instead.
    ``price_per_reference`` is what one reference of about one megapixel adds
    to the price of an image where the API bills input images, for estimates.
    """

    max_images: int = 0
    field_name: str = ""
    layout: ReferenceLayout = ReferenceLayout.NUMBERED
    roles: tuple[ReferenceRole, ...] = tuple(ReferenceRole)
    control: ReferenceControl = ReferenceControl.NONE
    control_field: str = ""
    light_value: float | None = None
    strong_value: float | None = None
    light_count: int = 1
    price_per_reference: float | None = None
    required: bool = False

    @property
    def takes_references(self) -> bool:
        return self.max_images > 0

    def count_for(self, strength: ReferenceStrength) -> int:
        """How many references a request of ``strength`` sends at most."""
        if strength is ReferenceStrength.OFF or not self.takes_references:
            return 0
        if strength is ReferenceStrength.LIGHT and self.control is ReferenceControl.COUNT:
            return min(self.max_images, max(1, self.light_count))
        return self.max_images

    def control_value(self, strength: ReferenceStrength) -> float | None:
        """The value of ``control_field`` for ``strength`` (None: the model's default, or no
        such knob)."""
        if self.control is not ReferenceControl.WEIGHT or strength is ReferenceStrength.OFF:
            return None
        return self.light_value if strength is ReferenceStrength.LIGHT else self.strong_value

    def field_names(self, count: int) -> tuple[str, ...]:
        """The wire fields ``count`` references go in: one list field, or numbered ones."""
        if count <= 0 or not self.field_name:
            return ()
        if self.layout is ReferenceLayout.LIST:
            return (self.field_name,)
        return tuple(self.field_name if i == 0 else f"{self.field_name}_{i + 1}"
                     for i in range(count))


NO_REFERENCES = ReferenceSupport()


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """Limits of one model on one provider.

    ``aspect_ratios`` maps a ratio name ("4:3") to the pixel size the provider produces for it;
    when it is non-empty the provider takes an aspect ratio instead of a free width and height.
    ``replaced_seeds`` are seeds the model does not honour but replaces by a random one (seed 0
    on Replicate's FLUX.1 Schnell): an image rendered with one cannot be reproduced.
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
    references: ReferenceSupport = field(default_factory=ReferenceSupport)
    replaced_seeds: tuple[int, ...] = ()

    @property
    def takes_aspect_ratio(self) -> bool:
        return bool(self.aspect_ratios)

    def price_for(self, references: int = 0) -> float | None:
        """The price of one image sent with ``references`` reference images: the price per
        image, plus what each reference adds where the API bills input images (None when the
        price per image is not known)."""
        if self.price_per_image is None:
            return None
        extra = self.references.price_per_reference or 0.0
        return self.price_per_image + extra * min(max(0, references),
                                                  self.references.max_images)


#: FLUX.1 Kontext takes an aspect ratio from 21:9 to 9:21 and makes about one megapixel; the
#: pixel size of each ratio is not documented (these are one-megapixel sizes in steps of 16).
KONTEXT_ASPECT_RATIOS: Mapping[str, tuple[int, int]] = {
    "21:9": (1568, 672), "16:9": (1392, 784), "4:3": (1184, 880), "3:2": (1248, 832),
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:4": (880, 1184), "9:16": (784, 1392),
    "9:21": (672, 1568),
}

_PERSON = (ReferenceRole.FACE, ReferenceRole.FULL_BODY, ReferenceRole.OTHER)

#: The models that take reference images, by (provider, model id), as PROVIDERS.md sections 7
#: and 8 describe them. The adapters read their wire fields from here; which light/strong values
#: suit each knob is the studio's choice, not the APIs' (the APIs document only the defaults).
REFERENCE_MODELS: Mapping[tuple[str, str], ReferenceSupport] = {
    # FLUX.2 edit models take several whole pictures; light sends the best one (a face first).
    ("fal", "fal-ai/flux-2/klein/4b/edit"): ReferenceSupport(
        4, "image_urls", ReferenceLayout.LIST, control=ReferenceControl.COUNT, required=True),
    # The type states no maximum (a third party says 9); the studio sends at most 4.
    ("fal", "fal-ai/flux-2-pro/edit"): ReferenceSupport(
        4, "image_urls", ReferenceLayout.LIST, control=ReferenceControl.COUNT, required=True),
    ("fal", "fal-ai/flux-pro/kontext"): ReferenceSupport(1, "image_url", required=True),
    ("fal", "fal-ai/flux-pro/kontext/multi"): ReferenceSupport(
        4, "image_urls", ReferenceLayout.LIST, control=ReferenceControl.COUNT, required=True),
    # PuLID keys on a face embedding: one photo with a face; id_weight defaults to 1.
    ("fal", "fal-ai/flux-pulid"): ReferenceSupport(
        1, "reference_image_url", roles=_PERSON, control=ReferenceControl.WEIGHT,
        control_field="id_weight", light_value=0.6, strong_value=1.0, required=True),
    # Whether Kontext [pro] renders without an input image on Replicate is not documented.
    ("replicate", "black-forest-labs/flux-kontext-pro"): ReferenceSupport(
        1, "input_image", required=True),
    ("replicate", "black-forest-labs/flux-2-pro"): ReferenceSupport(
        8, "input_images", ReferenceLayout.LIST, control=ReferenceControl.COUNT),
    # img2img: 0 keeps the input, 1 ignores it; 0.5 is the documented default.
    ("modelslab", "flux-kontext-dev"): ReferenceSupport(
        2, "init_image", control=ReferenceControl.WEIGHT, control_field="strength",
        light_value=0.75, strong_value=0.5, required=True),
    # BFL bills input megapixels: 1.5 credits (pro) and 0.1 (klein) per megapixel.
    ("bfl", "flux-2-pro"): ReferenceSupport(
        8, "input_image", control=ReferenceControl.COUNT, price_per_reference=0.015),
    ("bfl", "flux-2-klein-4b"): ReferenceSupport(
        4, "input_image", control=ReferenceControl.COUNT, price_per_reference=0.001),
    # input_image_2.._4 are "experimental multiref" on Kontext: one image only.
    ("bfl", "flux-kontext-pro"): ReferenceSupport(1, "input_image"),
    # The placeholder card shows every reference and names the strength.
    ("offline", "placeholder"): ReferenceSupport(4, "references", ReferenceLayout.LIST),
}


def reference_support(provider: str, model: str) -> ReferenceSupport:
    """How ``model`` on ``provider`` takes reference images (none when it is not listed)."""
    return REFERENCE_MODELS.get((provider, model), NO_REFERENCES)
