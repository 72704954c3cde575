"""Prompt checks from the guides (`studio lint`): each finding has an id, a severity, a message
naming the scene and a suggested fix, with a one-click patch where the fix is mechanical."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from studio.core.anchor import GENERIC_NAMES, anchor_descriptors, name_in_anchor
from studio.core.capabilities import ModelCapabilities
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.prompt import compose_prompt, stage_negative
from studio.core.request import SEED_MAX, SEED_MIN, Stage
from studio.core.sheet import Scene, Sheet, frame_size
from studio.core.stages import model_guide

MAX_DESCRIPTORS = 6

PHOTO_WORDS = ("photorealistic", "photoreal", "photo-realistic", "realistic", "raw photo",
               "photograph", "photography", "photo", "dslr")
ILLUSTRATION_WORDS = ("digital art", "illustration", "illustrated", "oil painting", "painting",
                      "watercolor", "watercolour", "cartoon", "anime", "manga", "comic book",
                      "sketch", "drawing", "3d render", "cel shaded", "concept art", "pixel art",
                      "vector art")
VAGUE_WORDS = ("beautiful", "stunning", "amazing", "gorgeous", "perfect", "awesome",
               "incredible", "best quality", "masterpiece", "pretty", "nice")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Fix:
    """A mechanical change that resolves a finding: set the value at ``path``.

    Paths: ``character.<field>``, ``<stage>.<field>`` or ``scenes.<scene name>.<field>``.
    """

    label: str
    path: str
    value: Any


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    severity: Severity
    message: str
    suggestion: str
    scene: str | None = None
    fix: Fix | None = None

    def line(self) -> str:
        return f"{self.severity.value}: [{self.id}] {self.message} Fix: {self.suggestion}"


CapabilityLookup = Callable[[str, str], ModelCapabilities | None]


def _find(words: Iterable[str], text: str) -> list[str]:
    low = text.lower()
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low)]


def _phrases(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _where(scene: Scene | None, sheet: Sheet) -> str:
    return f"Scene \"{scene.name}\"" if scene else f"Character \"{sheet.character.name}\""


class _Linter:
    def __init__(self, sheet: Sheet, catalog: PresetCatalog,
                 capabilities: CapabilityLookup | None) -> None:
        self.sheet = sheet
        self.catalog = catalog
        self.caps = capabilities or (lambda provider, model: None)
        self.out: list[Finding] = []

    def add(self, rule: str, sev: Severity, scene: Scene | None, message: str,
            suggestion: str, fix: Fix | None = None) -> None:
        self.out.append(Finding(rule, sev, f"{_where(scene, self.sheet)}: {message}", suggestion,
                                scene.name if scene else None, fix))

    # -- character-level
    def character(self) -> None:
        ch = self.sheet.character
        if ch.name.strip().lower() in GENERIC_NAMES:
            self.add("generic-name", Severity.WARNING, None,
                     f"the name \"{ch.name}\" is generic; the guides keep a character "
                     "consistent with a specific first name",
                     "give the character a first name such as \"Emma\"")
        elif not name_in_anchor(ch.name, ch.anchor):
            self.add("name-missing", Severity.WARNING, None,
                     f"the anchor does not mention \"{ch.name}\", so the name never reaches "
                     "the prompt", f"start the anchor with \"{ch.name}, \"",
                     Fix(f"Add \"{ch.name}\" to the anchor", "character.anchor",
                         f"{ch.name}, {ch.anchor}"))
        if not SEED_MIN <= ch.seed <= SEED_MAX:
            self.add("seed-range", Severity.ERROR, None,
                     f"seed {ch.seed} is outside {SEED_MIN}..{SEED_MAX}",
                     "use a whole number from 0 to 4294967295",
                     Fix("Use seed 42", "character.seed", 42))
        self.vague(None, ", ".join([ch.anchor, *ch.quality]))
        for stage in Stage:
            self.stage(stage)

    def vague(self, scene: Scene | None, text: str) -> None:
        """Vague praise ("beautiful", "stunning") in the anchor (once) or in a scene."""
        vague = _find(VAGUE_WORDS, text)
        if not vague:
            return
        ch = self.sheet.character
        specific = bool(ch.skin) or len(anchor_descriptors(ch.anchor, ch.name)) >= 3
        self.add("vague-quality", Severity.INFO if specific else Severity.WARNING, scene,
                 f"uses vague quality words ({', '.join(vague)})"
                 + ("" if specific else " with no physical specifics, giving generic faces"),
                 "describe physical specifics instead, e.g. \"defined cheekbones, warm skin "
                 "undertone, natural eye contact\"")

    def stage(self, stage: Stage) -> None:
        sheet, profile = self.sheet, self.sheet.profile(stage)
        negative = stage_negative(sheet, stage, self.catalog)
        guide = model_guide(profile.model)
        caps = self.caps(profile.provider, profile.model)
        label = f"The {stage.value} stage ({profile.provider} / {profile.model})"

        def add(rule: str, sev: Severity, message: str, suggestion: str,
                fix: Fix | None = None) -> None:
            self.out.append(Finding(rule, sev, f"{label}: {message}", suggestion, None, fix))

        if stage is Stage.FINAL and not negative.strip():
            rec = self.catalog.recommended_negative(Stage.FINAL)
            add("final-no-negative", Severity.WARNING,
                "has no negative prompt; without one Fluxgram slides toward illustrated looks",
                f"use the recommended negative \"{rec}\"",
                Fix("Use the recommended negative", "character.negative", rec))
        takes_negative = (guide.takes_negative if guide else True) and (
            caps.supports_negative if caps else True)
        if negative.strip() and not takes_negative:
            add("negative-on-schnell", Severity.WARNING,
                "has a negative prompt, which this model ignores: it will be dropped",
                "leave the negative prompt empty for this stage",
                Fix("Remove the negative prompt", f"{stage.value}.negative", ""))
        if guide and not guide.steps_min <= profile.steps <= guide.steps_max:
            add("steps-range", Severity.WARNING,
                f"{profile.steps} steps is outside {guide.family}'s documented range "
                f"{guide.steps_min}-{guide.steps_max} ({guide.note})",
                f"use {guide.steps_max if profile.steps > guide.steps_max else guide.steps_min}"
                " steps",
                Fix("Use the documented steps", f"{stage.value}.steps",
                    min(max(profile.steps, guide.steps_min), guide.steps_max)))
        if caps and not caps.steps_min <= profile.steps <= caps.steps_max:
            add("steps-limit", Severity.ERROR,
                f"{profile.steps} steps is outside what {caps.provider} accepts for "
                f"{caps.model} ({caps.steps_min}-{caps.steps_max})",
                f"use at most {caps.steps_max} steps",
                Fix("Use the provider's limit", f"{stage.value}.steps",
                    min(max(profile.steps, caps.steps_min), caps.steps_max)))
        if guide and not guide.guidance_min <= profile.guidance <= guide.guidance_max:
            rng = (f"{guide.guidance_min:g}" if guide.guidance_min == guide.guidance_max
                   else f"{guide.guidance_min:g}-{guide.guidance_max:g}")
            target = min(max(profile.guidance, guide.guidance_min), guide.guidance_max)
            add("guidance-range", Severity.WARNING,
                f"guidance {profile.guidance:g} is outside {guide.family}'s documented {rng}",
                f"use guidance {target:g}",
                Fix("Use the documented guidance", f"{stage.value}.guidance", target))
        if caps and sheet.character.seed in caps.replaced_seeds:
            add("seed-replaced", Severity.WARNING,
                f"{caps.model} on {caps.provider} replaces seed {sheet.character.seed} by a "
                "random seed, so its images cannot be reproduced from the sheet",
                "lock any other seed, e.g. 42",
                Fix("Use seed 42", "character.seed", 42))
        if caps and caps.uses_guidance and not (
                caps.guidance_min <= profile.guidance <= caps.guidance_max):
            add("guidance-limit", Severity.ERROR,
                f"guidance {profile.guidance:g} is outside what {caps.provider} accepts "
                f"({caps.guidance_min:g}-{caps.guidance_max:g})",
                f"use a guidance between {caps.guidance_min:g} and {caps.guidance_max:g}")

    # -- scene-level
    def scene(self, scene: Scene) -> None:
        sheet, catalog = self.sheet, self.catalog
        prompt = compose_prompt(sheet, scene, catalog)
        photo, illus = _find(PHOTO_WORDS, prompt), _find(ILLUSTRATION_WORDS, prompt)
        if photo and illus:
            in_setting = _find(ILLUSTRATION_WORDS, scene.setting)
            fix = None
            if in_setting:
                kept = [p for p in _phrases(scene.setting) if not _find(ILLUSTRATION_WORDS, p)]
                fix = Fix("Remove the illustration words from the setting",
                          f"scenes.{scene.name}.setting", ", ".join(kept))
            self.add("style-conflict", Severity.WARNING, scene,
                     f"mixes photographic words ({', '.join(photo)}) with illustration words "
                     f"({', '.join(illus)}), which confuses the model",
                     "pick one output mode: remove the illustration words for photoreal renders",
                     fix)
        descriptors = self.descriptors(scene)
        if len(descriptors) > MAX_DESCRIPTORS:
            self.add("overloaded-prompt", Severity.WARNING, scene,
                     f"has {len(descriptors)} descriptors beside the anchor (more than "
                     f"{MAX_DESCRIPTORS} get averaged into a generic result)",
                     "keep the 3-4 that matter most; move the rest to another scene")
        self.vague(scene, ", ".join([scene.setting, scene.lighting, scene.lens]))
        self.size(scene)
        if scene.seed is not None and scene.seed != sheet.character.seed:
            for stage in Stage:
                profile = sheet.profile(stage)
                caps = self.caps(profile.provider, profile.model)
                if caps is not None and scene.seed in caps.replaced_seeds:
                    self.add("seed-replaced", Severity.WARNING, scene,
                             f"seed {scene.seed} is replaced by a random seed by {caps.model} "
                             f"on {caps.provider} ({stage.value}s), so this scene cannot be "
                             "reproduced", "use the sheet's locked seed or any other seed",
                             Fix("Use the sheet's seed", f"scenes.{scene.name}.seed", None))
                    break
        if scene.seed is not None and not SEED_MIN <= scene.seed <= SEED_MAX:
            self.add("seed-range", Severity.ERROR, scene,
                     f"seed {scene.seed} is outside {SEED_MIN}..{SEED_MAX}",
                     "use the sheet's locked seed or a whole number from 0 to 4294967295",
                     Fix("Use the sheet's seed", f"scenes.{scene.name}.seed", None))

    def descriptors(self, scene: Scene) -> list[str]:
        out = _phrases(scene.setting)
        if scene.pattern:
            out += _phrases(self.catalog.text_for(PresetKind.PATTERN, scene.pattern))
        for kind, value in ((PresetKind.LIGHTING, scene.lighting), (PresetKind.LENS, scene.lens)):
            if value:
                out += [value] if self.catalog.get(kind, value) else _phrases(value)
        for skin in self.sheet.character.skin:
            out += [skin] if self.catalog.get(PresetKind.SKIN, skin) else _phrases(skin)
        return list(dict.fromkeys(d.lower() for d in out))

    def size(self, scene: Scene) -> None:
        size = frame_size(scene.framing, self.catalog)
        if size is None:
            return
        w, h = size
        if w % 8 or h % 8:
            fixed = f"{w - w % 8}x{h - h % 8}"
            self.add("size-multiple", Severity.ERROR, scene,
                     f"size {w}x{h} is not divisible by 8, which the models require",
                     f"use {fixed}", Fix(f"Use {fixed}", f"scenes.{scene.name}.framing", fixed))
        for stage in Stage:
            profile = self.sheet.profile(stage)
            caps = self.caps(profile.provider, profile.model)
            if caps is None or caps.takes_aspect_ratio:
                continue
            if max(w, h) > caps.max_side or min(w, h) < caps.min_side:
                self.add("size-limit", Severity.ERROR, scene,
                         f"size {w}x{h} is outside what {caps.provider} accepts for {stage.value}s "
                         f"({caps.min_side}-{caps.max_side} px a side)",
                         f"pick a framing within {caps.max_side}x{caps.max_side}")

    def run(self) -> list[Finding]:
        self.character()
        for scene in self.sheet.scenes:
            self.scene(scene)
        return self.out


def lint_sheet(sheet: Sheet, catalog: PresetCatalog,
               capabilities: CapabilityLookup | None = None) -> list[Finding]:
    """Every finding for the sheet, character and stage findings first, then scenes in order."""
    return _Linter(sheet, catalog, capabilities).run()


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def apply_fix(sheet: Sheet, fix: Fix) -> Sheet:
    """The sheet with ``fix`` applied."""
    head, _, rest = fix.path.partition(".")
    if head == "character":
        return replace(sheet, character=replace(sheet.character, **{rest: fix.value}))
    if head == "preview":
        return replace(sheet, preview=replace(sheet.preview, **{rest: fix.value}))
    if head == "final":
        return replace(sheet, final=replace(sheet.final, **{rest: fix.value}))
    if head == "scenes":
        name, _, attr = rest.rpartition(".")
        scenes = tuple(replace(s, **{attr: fix.value}) if s.name == name else s
                       for s in sheet.scenes)
        return replace(sheet, scenes=scenes)
    raise ValueError(f"unknown fix path {fix.path!r}")
