"""Check a request against a model's capabilities before anything is sent.

What the model cannot honour is adapted with a note the user sees (the negative prompt dropped,
a size turned into the nearest aspect ratio, steps clamped, reference images cut to what the
model takes) or refused with :class:`InvalidRequestError` whose message is a sentence.

Reference images also choose the model (:func:`reference_model`): a scene that sends them to a
provider's default model that takes none renders with the provider's reference model for the
stage, and a scene that sends none (``reference = "off"``) to a model that cannot render
without one renders with the provider's text-to-image model; each says so in a note.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from studio.core.anchor import ReferenceStrength
from studio.core.capabilities import ModelCapabilities
from studio.core.references import fit_references
from studio.core.request import GenerationRequest, Stage
from studio.providers.errors import InvalidRequestError, provider_name


def _round_to(value: int, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def nearest_aspect_ratio(width: int, height: int, caps: ModelCapabilities) -> str:
    """The name of the declared aspect ratio closest to width:height (compared as log-ratios,
    so 2:1 and 1:2 are equally far from 1:1)."""
    wanted = math.log(width / height)
    return min(
        caps.aspect_ratios,
        key=lambda name: abs(
            math.log(caps.aspect_ratios[name][0] / caps.aspect_ratios[name][1]) - wanted
        ),
    )


def reference_model(
    request: GenerationRequest,
    capabilities: Callable[[str], ModelCapabilities],
    *,
    defaults: Collection[str],
    reference_models: Callable[[Stage], str] | None,
    text_model: Callable[[Stage], str],
) -> tuple[GenerationRequest, tuple[str, ...]]:
    """The model that renders ``request`` given the references it sends.

    ``defaults`` are the provider's default model ids (a model the user picked on purpose is
    kept: its references are then left out by :func:`adapt`, with a note); a request with LoRA
    weights keeps its model too. ``reference_models(stage)`` names the provider's model that
    takes references; ``text_model(stage)`` the one that needs none. Idempotent.
    """
    caps = capabilities(request.model)
    label = caps.label or caps.model
    sends = bool(request.references) and request.reference_strength is not ReferenceStrength.OFF
    if sends and not caps.references.takes_references and reference_models is not None \
            and not request.loras and request.model in defaults:
        target = reference_models(request.stage)
        chosen = capabilities(target)
        if target != request.model and chosen.references.takes_references:
            count = len(request.references)
            images = "its reference image" if count == 1 else f"its {count} reference images"
            return request.with_changes(model=target), (
                f"{label} takes no reference images, so the scene was rendered with "
                f"{chosen.label or target}, which keeps the likeness from {images} (set "
                f"reference = \"off\" on the scene to render with {label}).",)
    if not sends and caps.references.required:
        target = text_model(request.stage)
        chosen = capabilities(target)
        if target != request.model and not chosen.references.required:
            return request.with_changes(model=target), (
                f"{label} needs a reference image and the scene sends none, so it was "
                f"rendered with {chosen.label or target}.",)
    return request, ()


def adapt(
    request: GenerationRequest, caps: ModelCapabilities
) -> tuple[GenerationRequest, tuple[str, ...]]:
    """``request`` as ``caps`` can honour it, plus notes on every change; or InvalidRequestError."""
    name = provider_name(caps.provider)
    label = caps.label or caps.model
    notes: list[str] = []
    changes: dict[str, object] = {}

    def refuse(message: str) -> InvalidRequestError:
        return InvalidRequestError(caps.provider, message)

    if not request.prompt.strip():
        raise refuse("the prompt is empty; write what the scene shows")
    if request.width <= 0 or request.height <= 0:
        raise refuse(f"the size {request.size} is not a picture size")
    if request.images < 1:
        raise refuse("at least one image must be asked for")
    if request.images > caps.max_images:
        raise refuse(
            f"{label} makes at most {caps.max_images} image(s) per call, "
            f"not {request.images}"
        )
    if request.seed is not None and not caps.seed_min <= request.seed <= caps.seed_max:
        raise refuse(
            f"the seed {request.seed} is outside {name}'s range "
            f"{caps.seed_min} to {caps.seed_max}; pick a seed in that range"
        )
    if request.loras and not caps.supports_lora:
        raise refuse(f"{label} on {name} does not take LoRA weights; remove them or pick a model "
                     "that does")

    if request.negative.strip() and not caps.supports_negative:
        changes["negative"] = ""
        notes.append(f"{label} has no negative prompt, so the negative prompt was not sent.")

    steps = request.steps if request.steps > 0 else caps.steps_default
    if steps != request.steps:
        notes.append(f"Steps were not set, so {label}'s default of {steps} was used.")
    if steps > caps.steps_max:
        notes.append(
            f"{request.steps} steps is more than {label} allows; {caps.steps_max} were used."
        )
        steps = caps.steps_max
    elif steps < caps.steps_min:
        notes.append(
            f"{request.steps} steps is fewer than {label} allows; {caps.steps_min} were used."
        )
        steps = caps.steps_min
    changes["steps"] = steps

    if caps.uses_guidance:
        guidance = min(max(request.guidance, caps.guidance_min), caps.guidance_max)
        if guidance != request.guidance:
            notes.append(
                f"Guidance {request.guidance:g} is outside {label}'s range "
                f"{caps.guidance_min:g}–{caps.guidance_max:g}; {guidance:g} was used."
            )
        changes["guidance"] = guidance

    if caps.takes_aspect_ratio:
        ratio = nearest_aspect_ratio(request.width, request.height, caps)
        width, height = caps.aspect_ratios[ratio]
        if (width, height) != (request.width, request.height):
            notes.append(
                f"{name} takes an aspect ratio, not a size: {request.size} was sent as "
                f"{ratio} ({width}x{height})."
            )
    else:
        width, height = request.width, request.height
        largest = max(width, height)
        if largest > caps.max_side:
            scale = caps.max_side / largest
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        smallest = min(width, height)
        if smallest < caps.min_side:
            scale = caps.min_side / smallest
            width, height = round(width * scale), round(height * scale)
            if max(width, height) > caps.max_side:
                raise refuse(
                    f"the size {request.size} is too narrow for {label}, whose sides must be "
                    f"{caps.min_side} to {caps.max_side} pixels"
                )
        width = min(_round_to(width, caps.size_multiple), caps.max_side)
        height = min(_round_to(height, caps.size_multiple), caps.max_side)
        if (width, height) != (request.width, request.height):
            notes.append(
                f"{label} takes sides of {caps.min_side}–{caps.max_side} pixels in steps of "
                f"{caps.size_multiple}: {request.size} was sent as {width}x{height}."
            )
    changes["width"], changes["height"] = width, height

    # What the model makes of the reference images: cut to what it takes, or refused.
    # Most requests already fit: no copy is made of those (a big sheet prepares thousands).
    changed = {k: v for k, v in changes.items() if getattr(request, k) != v}
    fit = fit_references(request.with_changes(**changed) if changed else request, caps)
    if fit.refusal:
        raise refuse(fit.refusal.rstrip(".") + "; nothing was sent")
    return fit.request, (*notes, *fit.notes)
