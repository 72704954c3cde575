"""The one staleness rule: a render is out of date when what its cell would send now differs from
what was sent for it.

:func:`fingerprint` reduces everything that shapes a request of one scene at one stage to a
digest per *part* (anchor, skin, quality, setting, pattern, lighting, lens, framing, seed,
negative, model, steps, guidance, reference); every render stores the fingerprint it was made
with, and :func:`staleness` names the parts that changed since. The grid's cards, ``studio
status``, ``studio render``, exports and the library all ask these two functions, so they can
never disagree.

Parts hash the *resolved* text (a preset's words, not its id; the framing's pixel size), so an
edited preset marks the cells it changes. The stage parts (negative, model, steps, guidance) are
the sheet's own settings for the stage: rendering through a fallback provider does not make a
cell out of date, changing the sheet does. A final is made from its preview's prompt and seed,
so it carries the preview's prompt parts (:meth:`Fingerprint.for_final`).

The reference part is the images a scene sends (their hashes and roles, in order), the strength
and the clause that speaks of them; a scene that sends none has an empty reference part, so
changing a reference image marks exactly the cells that send it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from studio.core.anchor import ReferenceStrength
from studio.core.presets import PresetCatalog
from studio.core.prompt import PromptPart, SceneShape, SheetPrompts
from studio.core.request import Stage
from studio.core.sheet import (
    Scene,
    Sheet,
    scene_reference_strength,
    scene_references,
)

#: Every reason a cell can be out of date, in the order they are reported (DESIGN.md contract).
REASONS = ("anchor", "skin", "quality", "setting", "pattern", "lighting", "lens", "framing",
           "seed", "negative", "model", "steps", "guidance", "reference")
#: The parts a stage's own settings decide; the rest come from the composed prompt and seed.
STAGE_PARTS = frozenset({"negative", "model", "steps", "guidance"})
PROMPT_PARTS = tuple(r for r in REASONS if r not in STAGE_PARTS)

_DIGEST_LENGTH = 16


@functools.lru_cache(maxsize=4096)
def part_digest(text: str) -> str:
    """The short digest a fingerprint keeps of one part's text (remembered: a sheet's scenes
    share most of their texts, the anchor and the stage settings above all)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGEST_LENGTH]


_EMPTY = part_digest("")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A digest per part of what a cell sends. A part absent from ``parts`` counts as empty, so
    fingerprints stored before a part existed still compare equal where it is unused."""

    parts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of_texts(cls, texts: Mapping[str, str]) -> Fingerprint:
        return cls({name: part_digest(texts.get(name, "")) for name in REASONS})

    def part(self, name: str) -> str:
        return self.parts.get(name, _EMPTY)

    @property
    def digest(self) -> str:
        """One digest of every part (equal fingerprints, equal digests)."""
        joined = "\x1f".join(f"{name}={self.part(name)}" for name in REASONS)
        return part_digest(joined)

    def for_final(self, preview: Fingerprint | None) -> Fingerprint:
        """This final-stage fingerprint with the prompt parts of the preview a final is made
        from (a final keeps its preview's prompt and seed)."""
        if preview is None:
            return self
        return Fingerprint({name: (self.part(name) if name in STAGE_PARTS
                                   else preview.part(name)) for name in REASONS})


class SheetFingerprints:
    """The fingerprints of one sheet's scenes. What scenes share (the composed prompt's shared
    parts, each stage's settings) is worked out once per sheet (:class:`SheetPrompts`), so the
    fingerprints of thousands of scenes cost little more per scene than the scene's own texts;
    one scene asked of a new ``SheetFingerprints`` (what :func:`fingerprint` does) gives the
    same answer."""

    def __init__(self, sheet: Sheet, catalog: PresetCatalog,
                 prompts: SheetPrompts | None = None) -> None:
        self.sheet = sheet
        self.prompts = prompts or SheetPrompts(sheet, catalog)
        self._stages: dict[Stage, dict[str, str]] = {}
        #: Per scene shape: its texts around the setting; per shape and stage: the digests of
        #: every part but the setting and the seed, in REASONS order.
        self._shape_texts: dict[SceneShape, tuple[dict[str, str], dict[str, str]]] = {}
        self._digests: dict[tuple[SceneShape, Stage], dict[str, str]] = {}
        self._references: dict[tuple[str, ReferenceStrength | None], str] = {}

    def prompt_texts(self, scene: Scene) -> dict[str, str]:
        """The parts every stage shares: the composed prompt's, the framing, the seed."""
        before, after = self._around_setting(scene)
        setting = scene.setting.strip()
        texts = {**before, "setting": setting, **after} if setting else {**before, **after}
        texts["seed"] = str(self.sheet.seed_for(scene))
        return texts

    def _around_setting(self, scene: Scene) -> tuple[dict[str, str], dict[str, str]]:
        """The texts of the parts of ``scene``'s shape before its setting and after it (with
        the reference part and the framing): each role's texts in order, joined by \x1f."""
        shape = self.prompts.shape(scene)
        kept = self._shape_texts.get(shape)
        if kept is None:
            before = _role_texts(shape.head)
            after = _role_texts(shape.tail)
            # The reference part keeps its place when the prompt has one, else comes last.
            (before if "reference" in before else after)["reference"] = self._reference(
                scene, before.get("reference", ""))
            after["framing"] = f"{shape.width}x{shape.height}"
            kept = self._shape_texts[shape] = (before, after)
        return kept

    def _reference(self, scene: Scene, clause: str) -> str:
        key = (scene.outfit, scene.reference)
        kept = self._references.get(key)
        if kept is None:
            kept = self._references[key] = reference_text(self.sheet, scene, clause)
        return kept

    def stage_texts(self, stage: Stage) -> dict[str, str]:
        """The parts ``stage``'s own settings decide."""
        kept = self._stages.get(stage)
        if kept is None:
            profile = self.sheet.profile(stage)
            kept = self._stages[stage] = {
                "negative": self.prompts.negative(stage),
                "model": profile.model,
                "steps": str(profile.steps),
                "guidance": repr(float(profile.guidance)),
            }
        return kept

    def texts(self, scene: Scene, stage: Stage) -> dict[str, str]:
        """:func:`fingerprint_texts` of ``scene``."""
        texts = self.prompt_texts(scene)
        texts.update(self.stage_texts(stage))
        return {name: texts.get(name, "") for name in REASONS}

    def of(self, scene: Scene, stage: Stage) -> Fingerprint:
        """:func:`fingerprint` of ``scene`` at ``stage``: ``Fingerprint.of_texts`` of its
        :meth:`texts`, with the digests of what scenes of one shape share made once per shape
        and stage; only the setting's and the seed's are the scene's own."""
        shape = self.prompts.shape(scene)
        shared = self._digests.get((shape, stage))
        if shared is None:
            before, after = self._around_setting(scene)
            texts = {**before, **after, **self.stage_texts(stage)}
            shared = self._digests[(shape, stage)] = {
                name: part_digest(texts.get(name, "")) for name in REASONS}
        parts = dict(shared)
        parts["setting"] = part_digest(scene.setting.strip())
        parts["seed"] = part_digest(str(self.sheet.seed_for(scene)))
        return Fingerprint(parts)

    def stages(self, scene: Scene,
               stages: Iterable[Stage] = tuple(Stage)) -> dict[Stage, Fingerprint]:
        """:func:`fingerprints` of ``scene``: composing its prompt once for every stage."""
        return {stage: self.of(scene, stage) for stage in stages}


def _role_texts(parts: Iterable[PromptPart]) -> dict[str, str]:
    """Each role's texts among ``parts``, stripped, in order, joined by \x1f."""
    texts: dict[str, str] = {}
    for part in parts:
        text, role = part.text.strip(), part.role
        texts[role] = f"{texts[role]}\x1f{text}" if role in texts else text
    return texts


def fingerprint_texts(sheet: Sheet, scene: Scene, stage: Stage,
                      catalog: PresetCatalog) -> dict[str, str]:
    """The resolved text of every part for ``scene`` at ``stage`` (what the digests are of)."""
    return SheetFingerprints(sheet, catalog).texts(scene, stage)


def reference_text(sheet: Sheet, scene: Scene, clause: str) -> str:
    """The reference part's text: empty when the scene sends no reference image, else the
    strength, each image's role and hash in order, and the prompt's ``clause`` about them."""
    refs = scene_references(sheet, scene)
    if not refs:
        return ""
    images = "\x1f".join(f"{r.role.value}:{r.sha256}" for r in refs)
    return f"{scene_reference_strength(sheet, scene).value}\x1e{images}\x1e{clause}"


def fingerprint(sheet: Sheet, scene: Scene, stage: Stage, catalog: PresetCatalog) -> Fingerprint:
    """What ``scene`` of ``sheet`` sends at ``stage`` now, as a fingerprint."""
    return SheetFingerprints(sheet, catalog).of(scene, stage)


def fingerprints(sheet: Sheet, scene: Scene, catalog: PresetCatalog,
                 stages: Iterable[Stage] = tuple(Stage)) -> dict[Stage, Fingerprint]:
    """:func:`fingerprint` at each of ``stages``, composing the scene's prompt once."""
    return SheetFingerprints(sheet, catalog).stages(scene, stages)


def staleness(stored: Fingerprint | None, current: Fingerprint) -> tuple[str, ...]:
    """The parts that changed between the fingerprint a render was made with and the cell's
    current one, in :data:`REASONS` order; () when it is up to date (or was made before
    fingerprints were kept and nothing could be learned of it)."""
    if stored is None:
        return ()
    return tuple(name for name in REASONS if stored.part(name) != current.part(name))


def describe_reasons(reasons: Iterable[str]) -> str:
    """The reasons in words: "the anchor and the lighting"."""
    words = [_WORDS.get(r, r) for r in reasons]
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


_WORDS = {
    "anchor": "the character's anchor", "skin": "the skin details",
    "quality": "the quality markers", "setting": "the setting", "pattern": "the pattern",
    "lighting": "the lighting", "lens": "the lens", "framing": "the framing",
    "seed": "the seed", "negative": "the negative prompt", "model": "the model",
    "steps": "the steps", "guidance": "the guidance", "reference": "the reference images",
}


@dataclass(frozen=True, slots=True)
class RenderEvidence:
    """What a render made before fingerprints were kept still proves about what it sent."""

    prompt: str
    negative: str
    model: str
    steps: int
    guidance: float
    seed: int | None
    width: int
    height: int
    anchor: str | None  # the text of the anchor version it was stamped with
    same_provider: bool  # rendered by the sheet's own provider (its model is the sheet's)


def adopt_legacy(evidence: RenderEvidence, texts: Mapping[str, str],
                 preset_texts: Mapping[str, Iterable[str]] | None = None) -> Fingerprint:
    """A fingerprint for a render made before fingerprints were kept, from what it recorded.

    Exact where the record says (anchor text, size, seed, negative, steps, guidance, the model
    when the sheet's own provider rendered it). For the prompt's other parts, the current text
    counts as unchanged when the stored prompt contains it and contains no other preset of that
    kind (``preset_texts``: every preset's words, per part), so a preset added, swapped or
    removed since is seen. A part that cannot be shown unchanged is marked changed, so the cell
    reads out of date for that reason rather than current by default.
    """
    unknown = "\x00unknown"
    known: dict[str, str] = {}
    others = preset_texts or {}
    for name in ("skin", "quality", "setting", "pattern", "lighting", "lens"):
        current = texts.get(name, "")
        items = [t for t in current.split("\x1f") if t]
        extra = [t for t in others.get(name, ()) if t and t not in items and t in evidence.prompt
                 and not any(t in item for item in items)]
        same = all(t in evidence.prompt for t in items) and not extra
        known[name] = current if same else unknown
    known["anchor"] = evidence.anchor if evidence.anchor is not None else (
        texts.get("anchor", "") if texts.get("anchor", "") in evidence.prompt else unknown)
    known["framing"] = f"{evidence.width}x{evidence.height}"
    known["seed"] = "" if evidence.seed is None else str(evidence.seed)
    # The record holds the request as the provider adapted it (a negative dropped, steps
    # clamped, another provider's model): the stage parts are exact only when the sheet's own
    # provider rendered it and kept them.
    exact = evidence.same_provider
    known["negative"] = evidence.negative if exact and evidence.negative else texts.get(
        "negative", "")
    known["model"] = evidence.model if exact else texts.get("model", "")
    known["steps"] = str(evidence.steps) if exact else texts.get("steps", "")
    known["guidance"] = repr(float(evidence.guidance)) if exact else texts.get("guidance", "")
    known["reference"] = ""
    return Fingerprint.of_texts(known)
