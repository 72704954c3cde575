"""Prompt composition in the guides' order, and the generation requests of a sheet.

Order: anchor, physical/skin details, setting (with the scene's pattern), lighting,
camera/lens, quality markers. Deterministic: the same sheet always yields the same requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.core.sheet import Scene, Sheet, frame_size, scene_anchor


@dataclass(frozen=True, slots=True)
class PromptPart:
    """One group of the composed prompt, kept apart so the UI can colour and explain it."""

    role: str  # anchor | skin | setting | pattern | lighting | lens | quality
    text: str


def prompt_parts(sheet: Sheet, scene: Scene, catalog: PresetCatalog) -> list[PromptPart]:
    ch = sheet.character
    # The scene's effective anchor: the character's, its outfit swapped for the scene's.
    parts: list[PromptPart] = [PromptPart("anchor", scene_anchor(sheet, scene).strip())]
    parts += [PromptPart("skin", catalog.text_for(PresetKind.SKIN, s)) for s in ch.skin]
    parts.append(PromptPart("setting", scene.setting.strip()))
    if scene.pattern:
        parts.append(PromptPart("pattern", catalog.text_for(PresetKind.PATTERN, scene.pattern)))
    if scene.lighting:
        parts.append(PromptPart("lighting", catalog.text_for(PresetKind.LIGHTING, scene.lighting)))
    if scene.lens:
        parts.append(PromptPart("lens", catalog.text_for(PresetKind.LENS, scene.lens)))
    parts += [PromptPart("quality", catalog.text_for(PresetKind.QUALITY, q)) for q in ch.quality]
    return [p for p in parts if p.text.strip()]


def compose_prompt(sheet: Sheet, scene: Scene, catalog: PresetCatalog) -> str:
    return ", ".join(p.text.strip().strip(",").strip() for p in prompt_parts(sheet, scene, catalog))


def stage_negative(sheet: Sheet, stage: Stage, catalog: PresetCatalog) -> str:
    """The negative prompt a stage sends: the stage's own if set, none for previews, else the
    character's, else the catalog's recommended negative for finals."""
    profile = sheet.profile(stage)
    if profile.negative is not None:
        return profile.negative
    if stage is Stage.PREVIEW:
        return catalog.recommended_negative(Stage.PREVIEW)
    if sheet.character.negative is not None:
        return sheet.character.negative
    return catalog.recommended_negative(Stage.FINAL)


def build_request(
    sheet: Sheet, scene: Scene, stage: Stage, catalog: PresetCatalog
) -> GenerationRequest:
    profile = sheet.profile(stage)
    size = frame_size(scene.framing, catalog) or (1024, 1024)
    return GenerationRequest(
        prompt=compose_prompt(sheet, scene, catalog),
        negative=stage_negative(sheet, stage, catalog),
        width=size[0],
        height=size[1],
        steps=profile.steps,
        guidance=profile.guidance,
        model=profile.model,
        seed=sheet.seed_for(scene),
        stage=stage,
        context=SceneContext(
            character=sheet.character.name,
            scene=scene.name,
            lighting=catalog.label_for(PresetKind.LIGHTING, scene.lighting),
            lens=catalog.label_for(PresetKind.LENS, scene.lens),
            framing=catalog.label_for(PresetKind.FRAMING, scene.framing),
        ),
    )


def build_requests(
    sheet: Sheet, stage: Stage, catalog: PresetCatalog, scene_names: list[str] | None = None
) -> list[GenerationRequest]:
    """Requests for the sheet's scenes in sheet order (only the named ones, if given)."""
    wanted = None if not scene_names else set(scene_names)
    return [build_request(sheet, sc, stage, catalog) for sc in sheet.scenes
            if wanted is None or sc.name in wanted]
