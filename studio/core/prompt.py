"""Prompt composition in the guides' order, and the generation requests of a sheet.

Order: anchor, physical/skin details, setting (with the scene's pattern), lighting,
camera/lens, quality markers. Deterministic: the same sheet always yields the same requests.

A scene that sends reference images opens with a clause that points the model at them, the way
the reference models are prompted ("the woman from the reference image", or by number when
there are several: "the woman from image 1, with the face from image 2, wearing the outfit from
image 3"); the guides' order follows unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from studio.core.anchor import ReferenceImage, ReferenceRole, anchor_subject
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.core.sheet import (
    Scene,
    Sheet,
    frame_size,
    scene_anchor,
    scene_reference_strength,
    scene_references,
)


@dataclass(frozen=True, slots=True)
class PromptPart:
    """One group of the composed prompt, kept apart so the UI can colour and explain it."""

    role: str  # reference | anchor | skin | setting | pattern | lighting | lens | quality
    text: str


def _images(numbers: Sequence[int], total: int) -> str:
    """How the prompt names some of the images sent: "the reference image" when only one is
    sent, else "image 2", "images 1 and 3", "images 1, 2 and 4"."""
    if total == 1:
        return "the reference image"
    if len(numbers) == 1:
        return f"image {numbers[0]}"
    listed = [str(n) for n in numbers]
    return f"images {', '.join(listed[:-1])} and {listed[-1]}"


def reference_clause(subject: str, references: Sequence[ReferenceImage]) -> str:
    """The clause that opens a prompt sent with ``references`` (in the order they are sent);
    empty when none are."""
    total = len(references)
    if not total:
        return ""
    by_role: dict[str, list[int]] = {"face": [], "body": [], "outfit": []}
    for number, ref in enumerate(references, start=1):
        kind = {ReferenceRole.FACE: "face", ReferenceRole.OUTFIT: "outfit"}.get(ref.role, "body")
        by_role[kind].append(number)
    faces, bodies, outfits = by_role["face"], by_role["body"], by_role["outfit"]
    if total == 1 and not outfits:
        return f"the {subject} from the reference image"
    clause = f"the {subject}"
    if bodies:
        clause += f" from {_images(bodies, total)}"
    if faces:
        clause += f"{',' if bodies else ''} with the face from {_images(faces, total)}"
    if outfits:
        clause += f"{',' if bodies or faces else ''} wearing the outfit from " \
                  f"{_images(outfits, total)}"
    return clause


def scene_subject(sheet: Sheet, scene: Scene) -> str:
    """The noun the prompt names the character by when it speaks of reference images."""
    ch = sheet.character
    return anchor_subject(scene_anchor(sheet, scene), ch.fields)


def prompt_parts(sheet: Sheet, scene: Scene, catalog: PresetCatalog) -> list[PromptPart]:
    """The parts of the prompt ``scene`` sends, in order (what the Scene panel shows as the
    prompt sent, each part coloured by its role)."""
    ch = sheet.character
    clause = reference_clause(scene_subject(sheet, scene), scene_references(sheet, scene))
    # The scene's effective anchor: the character's, its outfit swapped for the scene's.
    parts: list[PromptPart] = [PromptPart("reference", clause),
                               PromptPart("anchor", scene_anchor(sheet, scene).strip())]
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
    # The images by content, not by where the sheet keeps them.
    references = tuple(ReferenceImage(r.sha256, r.role) for r in scene_references(sheet, scene))
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
        references=references,
        reference_strength=scene_reference_strength(sheet, scene),
        context=SceneContext(
            character=sheet.character.name,
            scene=scene.name,
            lighting=catalog.label_for(PresetKind.LIGHTING, scene.lighting),
            lens=catalog.label_for(PresetKind.LENS, scene.lens),
            framing=catalog.label_for(PresetKind.FRAMING, scene.framing),
            subject=scene_subject(sheet, scene),
        ),
    )


def build_requests(
    sheet: Sheet, stage: Stage, catalog: PresetCatalog, scene_names: list[str] | None = None
) -> list[GenerationRequest]:
    """Requests for the sheet's scenes in sheet order (only the named ones, if given)."""
    wanted = None if not scene_names else set(scene_names)
    return [build_request(sheet, sc, stage, catalog) for sc in sheet.scenes
            if wanted is None or sc.name in wanted]
