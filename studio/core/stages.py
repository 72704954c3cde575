"""Stage profiles: how previews (FLUX.1 Schnell) and finals (Fluxgram) are rendered, and the
ranges the guides document for each model family."""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.request import Stage

DEFAULT_PROVIDER = "modelslab"
PREVIEW_MODEL = "flux-schnell"
FINAL_MODEL = "fluxgram-v1"


@dataclass(frozen=True, slots=True)
class StageProfile:
    """Provider, model and sampling settings of one stage of a sheet.

    ``negative`` None means the stage's default: none for previews (Schnell ignores it), the
    character's negative prompt (or the catalog's recommended one) for finals.
    """

    stage: Stage
    provider: str
    model: str
    steps: int
    guidance: float
    negative: str | None = None


def default_profile(stage: Stage) -> StageProfile:
    if stage is Stage.PREVIEW:
        return StageProfile(Stage.PREVIEW, DEFAULT_PROVIDER, PREVIEW_MODEL, steps=4, guidance=0.0)
    return StageProfile(Stage.FINAL, DEFAULT_PROVIDER, FINAL_MODEL, steps=30, guidance=7.5)


@dataclass(frozen=True, slots=True)
class ModelGuide:
    """What the guides say works for a model family (advice, not a provider's hard limit)."""

    family: str
    steps_min: int
    steps_max: int
    guidance_min: float
    guidance_max: float
    takes_negative: bool
    note: str


SCHNELL = ModelGuide(
    "FLUX.1 Schnell", 1, 4, 0.0, 0.0, takes_negative=False,
    note="4-step distilled model; guidance 0 and no negative prompt",
)
FLUXGRAM = ModelGuide(
    "Fluxgram", 20, 40, 7.0, 8.0, takes_negative=True,
    note="30-35 steps give the best quality for the time; below 20 faces degrade",
)


def model_guide(model: str) -> ModelGuide | None:
    low = model.lower()
    if "schnell" in low:
        return SCHNELL
    if "fluxgram" in low:
        return FLUXGRAM
    return None
