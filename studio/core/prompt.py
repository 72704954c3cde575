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

from studio.core.anchor import (
    ReferenceImage,
    ReferenceRole,
    ReferenceStrength,
    anchor_subject,
)
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.core.sheet_model import (
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


class SheetPrompts:
    """The prompts and requests of one sheet's scenes.

    What scenes share is worked out once per sheet and kept: the anchor and its subject for
    each outfit, the reference images and clause for each way a scene sends them, the skin and
    quality texts, each stage's negative, each preset's words and label. A sheet of thousands
    of scenes then costs little more per scene than the scene's own words; one scene asked of a
    new ``SheetPrompts`` (what :func:`prompt_parts` and :func:`build_request` do) gives the same
    answer, as everything kept is a function of the sheet and the catalog alone.
    """

    def __init__(self, sheet: Sheet, catalog: PresetCatalog) -> None:
        self.sheet = sheet
        self.catalog = catalog
        ch = sheet.character
        self._skin = tuple(PromptPart("skin", catalog.text_for(PresetKind.SKIN, s))
                           for s in ch.skin)
        self._quality = tuple(PromptPart("quality", catalog.text_for(PresetKind.QUALITY, q))
                              for q in ch.quality)
        self._anchors: dict[str, tuple[str, str]] = {}
        self._sends: dict[tuple[str, ReferenceStrength | None], _Sends] = {}
        self._negatives: dict[Stage, str] = {}
        self._words: dict[tuple[PresetKind, str], tuple[str, str]] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._shapes: dict[tuple[str, ReferenceStrength | None, str, str, str, str],
                           SceneShape] = {}

    def anchor(self, scene: Scene) -> tuple[str, str]:
        """The anchor ``scene`` sends (:func:`scene_anchor`) and the subject it names the
        character by (:func:`scene_subject`)."""
        kept = self._anchors.get(scene.outfit)
        if kept is None:
            anchor = scene_anchor(self.sheet, scene)
            kept = self._anchors[scene.outfit] = (
                anchor, anchor_subject(anchor, self.sheet.character.fields))
        return kept

    def sends(self, scene: Scene) -> _Sends:
        """The reference images ``scene`` sends, their strength and the prompt's clause about
        them (:func:`scene_references`, :func:`scene_reference_strength`,
        :func:`reference_clause`)."""
        key = (scene.outfit, scene.reference)
        kept = self._sends.get(key)
        if kept is None:
            refs = scene_references(self.sheet, scene)
            kept = self._sends[key] = _Sends(
                tuple(ReferenceImage(r.sha256, r.role) for r in refs),
                scene_reference_strength(self.sheet, scene),
                reference_clause(self.anchor(scene)[1], refs))
        return kept

    def negative(self, stage: Stage) -> str:
        """:func:`stage_negative` of the sheet."""
        kept = self._negatives.get(stage)
        if kept is None:
            kept = self._negatives[stage] = stage_negative(self.sheet, stage, self.catalog)
        return kept

    def words(self, kind: PresetKind, value: str) -> tuple[str, str]:
        """The prompt text and the label of a preset id, or the value itself (free text)."""
        kept = self._words.get((kind, value))
        if kept is None:
            kept = self._words[(kind, value)] = (self.catalog.text_for(kind, value),
                                                 self.catalog.label_for(kind, value))
        return kept

    def size(self, scene: Scene) -> tuple[int, int]:
        """Width and height of the scene's framing (1024x1024 when it names none)."""
        kept = self._sizes.get(scene.framing)
        if kept is None:
            kept = self._sizes[scene.framing] = (
                frame_size(scene.framing, self.catalog) or (1024, 1024))
        return kept

    def parts(self, scene: Scene) -> list[PromptPart]:
        """:func:`prompt_parts` of ``scene``."""
        shape = self.shape(scene)
        setting = PromptPart("setting", scene.setting.strip())
        return [*shape.head, setting, *shape.tail] if setting.text else [*shape.head,
                                                                          *shape.tail]

    def shape(self, scene: Scene) -> SceneShape:
        """What ``scene`` shares with every scene of the same outfit, reference strength,
        presets and framing: its prompt's parts around the setting, its size and what it
        names in its request's context. A storyboard's thousands of scenes have a few."""
        key = (scene.outfit, scene.reference, scene.pattern, scene.lighting, scene.lens,
               scene.framing)
        kept = self._shapes.get(key)
        if kept is None:
            kept = self._shapes[key] = self._shape(scene)
        return kept

    def _shape(self, scene: Scene) -> SceneShape:
        anchor, subject = self.anchor(scene)
        sends = self.sends(scene)
        head = [PromptPart("reference", sends.clause), PromptPart("anchor", anchor.strip()),
                *self._skin]
        tail: list[PromptPart] = []
        if scene.pattern:
            tail.append(PromptPart("pattern", self.words(PresetKind.PATTERN, scene.pattern)[0]))
        if scene.lighting:
            tail.append(PromptPart("lighting",
                                   self.words(PresetKind.LIGHTING, scene.lighting)[0]))
        if scene.lens:
            tail.append(PromptPart("lens", self.words(PresetKind.LENS, scene.lens)[0]))
        tail += self._quality
        kept_head = tuple(p for p in head if p.text.strip())
        kept_tail = tuple(p for p in tail if p.text.strip())
        width, height = self.size(scene)
        return SceneShape(
            head=kept_head, tail=kept_tail,
            head_text=tuple(_prompt_text(p) for p in kept_head),
            tail_text=tuple(_prompt_text(p) for p in kept_tail),
            width=width, height=height, sends=sends, subject=subject,
            lighting=self.words(PresetKind.LIGHTING, scene.lighting)[1],
            lens=self.words(PresetKind.LENS, scene.lens)[1],
            framing=self.words(PresetKind.FRAMING, scene.framing)[1])

    def prompt(self, scene: Scene) -> str:
        """:func:`compose_prompt` of ``scene``."""
        return self._prompt(scene, self.shape(scene))

    @staticmethod
    def _prompt(scene: Scene, shape: SceneShape) -> str:
        setting = scene.setting.strip()
        if not setting:
            return ", ".join((*shape.head_text, *shape.tail_text))
        return ", ".join((*shape.head_text, setting.strip(",").strip(), *shape.tail_text))

    def request(self, scene: Scene, stage: Stage, *, model: str | None = None,
                provider: str = "") -> GenerationRequest:
        """:func:`build_request` of ``scene`` at ``stage``; ``model`` and ``provider``, when
        given, in place of the stage's model and no provider (what planning sends with)."""
        profile = self.sheet.profile(stage)
        shape = self.shape(scene)
        sends = shape.sends
        return GenerationRequest(
            prompt=self._prompt(scene, shape),
            negative=self.negative(stage),
            width=shape.width,
            height=shape.height,
            steps=profile.steps,
            guidance=profile.guidance,
            model=profile.model if model is None else model,
            seed=self.sheet.seed_for(scene),
            stage=stage,
            provider=provider,
            references=sends.sent,
            reference_strength=sends.strength,
            context=SceneContext(
                character=self.sheet.character.name,
                scene=scene.name,
                lighting=shape.lighting,
                lens=shape.lens,
                framing=shape.framing,
                subject=shape.subject,
            ),
        )


def _prompt_text(part: PromptPart) -> str:
    """A part as the composed prompt writes it (its own leading and trailing commas dropped:
    the prompt puts one between parts)."""
    return part.text.strip().strip(",").strip()


# Compared and hashed by identity: a SheetPrompts keeps one per shape, and a shape is a key
# of the fingerprints' own caches for every scene of a sheet.
@dataclass(frozen=True, slots=True, eq=False)
class SceneShape:
    """What scenes of one outfit, reference strength, presets and framing share
    (:meth:`SheetPrompts.shape`): the prompt's parts before the setting (``head``) and after it
    (``tail``), without the empty ones, and as the prompt writes them; the size; the reference
    images sent; the context's labels and subject."""

    head: tuple[PromptPart, ...]
    tail: tuple[PromptPart, ...]
    head_text: tuple[str, ...]
    tail_text: tuple[str, ...]
    width: int
    height: int
    sends: _Sends
    subject: str
    lighting: str
    lens: str
    framing: str


@dataclass(frozen=True, slots=True)
class _Sends:
    """The reference images a scene sends, as a request names them (by content, not by where
    the sheet keeps them), their strength and the prompt's clause about them."""

    sent: tuple[ReferenceImage, ...]
    strength: ReferenceStrength
    clause: str


def prompt_parts(sheet: Sheet, scene: Scene, catalog: PresetCatalog) -> list[PromptPart]:
    """The parts of the prompt ``scene`` sends, in order (what the Scene panel shows as the
    prompt sent, each part coloured by its role)."""
    return SheetPrompts(sheet, catalog).parts(scene)


def compose_prompt(sheet: Sheet, scene: Scene, catalog: PresetCatalog) -> str:
    return SheetPrompts(sheet, catalog).prompt(scene)


def build_request(
    sheet: Sheet, scene: Scene, stage: Stage, catalog: PresetCatalog
) -> GenerationRequest:
    return SheetPrompts(sheet, catalog).request(scene, stage)


def build_requests(
    sheet: Sheet, stage: Stage, catalog: PresetCatalog, scene_names: list[str] | None = None
) -> list[GenerationRequest]:
    """Requests for the sheet's scenes in sheet order (only the named ones, if given)."""
    wanted = None if not scene_names else set(scene_names)
    prompts = SheetPrompts(sheet, catalog)
    return [prompts.request(sc, stage) for sc in sheet.scenes
            if wanted is None or sc.name in wanted]
