"""From a sheet to the jobs of one stage: previews for the whole sheet, finals from previews.

The library learns of the sheet first (:func:`bind_sheet`: project, character with its anchor
version, sheet, scenes and what each sends now), and every render is stamped with the
fingerprint of what it was made from, so cells can be reported out of date later by the one rule
(``studio.core.fingerprint``).

A final reuses its preview's anchor version, prompt, seed and reference images (and so the
prompt parts of its fingerprint), takes the final stage's model, steps, guidance and negative
prompt, and is linked to the preview (``parent_id``). A scene with no preview yet is finalized
straight from the sheet, and said so; so is a final made from an out-of-date preview.

*Takes*: a stage of a scene may be rendered several times at once (``takes``), with the seeds
that follow the cell's own (:func:`take_seeds`). Every take carries the cell's fingerprint (its
seed part is the cell's seed, not the take's): a take is a variation the user asked for, not a
render of something the sheet no longer says, so only a change of the cell's seed makes it out
of date. The seed each take was sent with is in its request and its record. A final is made
from the preview its cell shows (:func:`preview_for`): the take the user picked, else the latest.

Everything here is blocking (library reads and writes): the window calls it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from studio.core.capabilities import ModelCapabilities
from studio.core.errors import StudioInputError
from studio.core.fingerprint import (
    STAGE_PARTS,
    Fingerprint,
    SheetFingerprints,
    describe_reasons,
    staleness,
)
from studio.core.lifecycle import Approval
from studio.core.presets import PresetCatalog
from studio.core.prompt import SheetPrompts
from studio.core.request import GenerationRequest, Stage
from studio.core.settings import PROVIDER_IDS, env_name
from studio.core.sheet import Scene, Sheet
from studio.library import Library, RenderDraft, RenderFilter, RenderRecord
from studio.library.binding import SheetBinding
from studio.providers.base import Provider
from studio.providers.errors import InvalidRequestError, provider_name
from studio.providers.keys import missing_setup
from studio.providers.prepared import BatchPreparation

SHEET_SUFFIX = ".sheet.toml"
#: The most takes one render of a scene may ask for (``studio render --takes``).
TAKES_MAX = 16


class RenderInputError(StudioInputError):
    """The render cannot start as asked (unknown scene or provider, no key, over budget).

    Nothing has been sent. The message is a sentence saying what to do.
    """


class MissingKeyError(RenderInputError):
    """The provider the user named has no API key configured."""


# --------------------------------------------------------------------------- the sheet


# --------------------------------------------------------------------------- choosing a provider


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """The provider and model a stage renders with; ``note`` explains a fallback."""

    provider: Provider
    model: str
    note: str = ""


def choose_provider(
    providers: Mapping[str, Provider],
    stage: Stage,
    sheet_provider: str,
    sheet_model: str,
    *,
    provider_id: str | None = None,
    model: str | None = None,
    default_provider_id: str | None = None,
) -> ProviderChoice:
    """The provider for a stage, by these rules:

    * ``provider_id`` (the user named one): that provider; no key → :class:`MissingKeyError`.
    * else the sheet's provider for the stage, when it has a key;
    * else ``default_provider_id`` (the stage's default in Settings), when it has a key;
    * else the offline placeholder, with a note saying why (DESIGN: offline is the default
      where no key is configured).

    The model is ``model`` when given; else the sheet's model when the sheet's provider is the
    one used; else the chosen provider's default model for the stage.
    """
    note = ""
    if provider_id is not None:
        chosen = providers.get(provider_id)
        if chosen is None:
            known = ", ".join(p for p in PROVIDER_IDS if p in providers)
            raise RenderInputError(f"There is no provider \"{provider_id}\"; use one of: {known}.")
        if not chosen.configured:
            lacks, fix = missing_setup(provider_id)
            raise MissingKeyError(
                f"{provider_name(provider_id)} {lacks}, so nothing was sent; {fix} "
                "(or render with --provider offline)."
            )
    else:
        wanted = providers.get(sheet_provider)
        fallback = providers.get(default_provider_id or "")
        if wanted is not None and wanted.configured:
            chosen = wanted
        else:
            why = ("is not a provider the studio knows" if wanted is None
                   else f"has no server configured ({env_name(sheet_provider, 'BASE_URL')} "
                   "is not set)" if sheet_provider == "comfyui"
                   else f"has no API key ({env_name(sheet_provider, 'API_KEY')} is not set "
                   "and none is in Settings)")
            if fallback is not None and fallback.configured:
                chosen = fallback
                note = (f"The sheet's {stage.value} provider {provider_name(sheet_provider)} "
                        f"{why}; rendering with your default {stage.value} provider "
                        f"{provider_name(fallback.id)} from Settings.")
            else:
                chosen = providers["offline"]
                if sheet_provider != "offline":
                    note = (f"The sheet's {stage.value} provider "
                            f"{provider_name(sheet_provider)} {why}; rendering offline "
                            "placeholder cards instead. Name a provider with --provider to "
                            "render for real.")
    if model:
        chosen_model = model
    elif chosen.id == sheet_provider:
        chosen_model = sheet_model
    else:
        chosen_model = chosen.models().for_stage(stage)
    return ProviderChoice(chosen, chosen_model, note)


# --------------------------------------------------------------------------- takes


def check_takes(takes: int) -> None:
    """Refuse a number of takes out of 1..TAKES_MAX with a sentence."""
    if not 1 <= takes <= TAKES_MAX:
        raise RenderInputError(f"--takes {takes} is not a number of takes the studio renders; "
                               f"ask for 1 to {TAKES_MAX}.")


def take_seeds(seed: int, takes: int, caps: ModelCapabilities) -> tuple[int, ...]:
    """The seeds of ``takes`` takes of a cell whose seed is ``seed``: the seed itself, then
    seed+1, seed+2, ... within the model's seed range (past its top, on from its bottom),
    passing over seeds the model replaces by a random one, so every take can be made again.
    A sentence (:class:`RenderInputError`) when ``takes`` is out of range."""
    check_takes(takes)
    low, high = caps.seed_min, caps.seed_max
    span = high - low + 1
    skipped = set(caps.replaced_seeds)
    seeds = [seed]
    candidate = seed
    # Bounded: each step adds a take or passes one of the few replaced seeds.
    for _ in range(takes + len(skipped)):
        if len(seeds) == takes:
            break
        candidate = low + (candidate + 1 - low) % span
        if candidate == seed:
            break  # a range smaller than the takes asked for
        if candidate not in skipped:
            seeds.append(candidate)
    if len(seeds) < takes:
        raise RenderInputError(f"{caps.label or caps.model} takes only {len(seeds)} different "
                               f"seeds, fewer than the {takes} takes asked for; ask for fewer "
                               "takes.")
    return tuple(seeds)


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One image to render: its draft holds the request as the provider adapted it (what is
    sent, and what the library records) and the records it belongs to; ``notes`` say what the
    adaptation changed."""

    draft: RenderDraft
    notes: tuple[str, ...] = ()

    @property
    def scene(self) -> str:
        return self.draft.scene_name

    @property
    def stage(self) -> Stage:
        return self.draft.stage

    @property
    def provider(self) -> str:
        return self.draft.provider

    @property
    def request(self) -> GenerationRequest:
        return self.draft.request


@dataclass(frozen=True, slots=True)
class OutOfDateCell:
    """A cell whose latest render was made from something other than what it sends now."""

    scene: str
    stage: Stage
    render_id: int
    reasons: tuple[str, ...]  # studio.core.fingerprint.REASONS

    def sentence(self) -> str:
        return (f"The {self.stage.value} of “{self.scene}” is out of date: "
                f"{describe_reasons(self.reasons)} changed since it was rendered.")


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """The jobs of one stage of a sheet, and what the user should know before sending them.

    ``out_of_date`` lists the cells out of date when the plan was made; the finals planned from
    an out-of-date preview are named in ``notes`` (they keep the preview's anchor and prompt).
    """

    stage: Stage
    jobs: tuple[JobSpec, ...]
    notes: tuple[str, ...] = ()
    out_of_date: tuple[OutOfDateCell, ...] = ()


def out_of_date_cells(library: Library, binding: SheetBinding) -> tuple[OutOfDateCell, ...]:
    """Every cell of the sheet whose latest render is out of date, in sheet order (the library
    holds what each scene sends now since the sheet was bound)."""
    if not library.renders.page(RenderFilter(sheet_id=binding.sheet.id, usable=True),
                                limit=1).items:
        return ()  # nothing rendered yet: nothing out of date, and no scene to read
    return tuple(
        OutOfDateCell(cell.scene.name, cell.stage, cell.render.id, cell.out_of_date)
        for cell in library.renders.cells(binding.sheet.id) if cell.is_out_of_date
    )


def selected_scenes(sheet: Sheet, names: Sequence[str] | None) -> list[Scene]:
    """The scenes named (all when none are), in sheet order; an unknown name is a sentence."""
    if not names:
        return list(sheet.scenes)
    known = {s.name for s in sheet.scenes}
    unknown = [n for n in names if n not in known]
    if unknown:
        listed = ", ".join(f"“{s.name}”" for s in sheet.scenes) or "none"
        raise RenderInputError(
            f"The sheet has no scene named “{unknown[0]}”; its scenes are: {listed}.")
    wanted = set(names)
    return [s for s in sheet.scenes if s.name in wanted]


def prepare_request(choice: ProviderChoice, request: GenerationRequest, scene: Scene,
                    seed: int | None = None, *, preparation: BatchPreparation | None = None,
                    ) -> tuple[GenerationRequest, tuple[str, ...]]:
    """``request`` (sent with ``seed``, a take's own, when given) as ``choice``'s provider will
    send it, and its notes on what it changed; a refusal is a :class:`RenderInputError`
    naming the scene (nothing has been sent). ``preparation``: the batch's, to prepare each
    shape of request once (the same answers)."""
    provider_id = choice.provider.id
    if request.model != choice.model or request.provider != provider_id or (
            seed is not None and request.seed != seed):
        changes: dict[str, object] = {"model": choice.model, "provider": provider_id}
        if seed is not None:
            changes["seed"] = seed
        request = request.with_changes(**changes)
    try:
        if preparation is not None:
            return preparation.prepare(request)
        return choice.provider.prepare(request)
    except InvalidRequestError as exc:  # refused before anything is sent (references too)
        raise RenderInputError(exc.user_message(scene.name)) from None


def prepare_takes(choice: ProviderChoice, scene: Scene, request: GenerationRequest,
                  takes: int, *, preparation: BatchPreparation | None = None,
                  ) -> list[tuple[GenerationRequest, tuple[str, ...]]]:
    """:func:`prepare_request` of ``takes`` takes of one scene, one per seed from the
    request's (within the range of the model the provider prepared the first take for: a scene
    with references may go to the provider's reference model)."""
    first = prepare_request(choice, request, scene, preparation=preparation)
    if takes == 1 or request.seed is None:
        seeds: tuple[int | None, ...] = (None,) * (takes - 1)
    else:
        caps = choice.provider.capabilities(first[0].model)
        seeds = take_seeds(request.seed, takes, caps)[1:]
    return [first, *(prepare_request(choice, request, scene, seed, preparation=preparation)
                     for seed in seeds)]


def _takes(choice: ProviderChoice, binding: SheetBinding, scene: Scene,
           request: GenerationRequest, made_from: Fingerprint, takes: int, *,
           anchor_version_id: int, parent: RenderRecord | None = None,
           preparation: BatchPreparation | None = None) -> list[JobSpec]:
    """The jobs of ``takes`` takes of one scene (:func:`prepare_takes`), each stamped with the
    cell's fingerprint ``made_from``."""
    return [JobSpec(RenderDraft(
        request=adapted,
        project_id=binding.project.id,
        sheet_id=binding.sheet.id,
        scene_id=binding.scenes[scene.name].id,
        anchor_version_id=anchor_version_id,
        parent_id=None if parent is None else parent.id,
        fingerprint=made_from,
    ), notes) for adapted, notes in prepare_takes(choice, scene, request, takes,
                                                  preparation=preparation)]


def plan_previews(
    library: Library,
    binding: SheetBinding,
    sheet: Sheet,
    catalog: PresetCatalog,
    choice: ProviderChoice,
    scenes: Sequence[str] | None = None,
    *,
    takes: int = 1,
) -> RenderPlan:
    """Previews of the named scenes (all when none are named), in sheet order; ``takes`` of
    each, with the seeds :func:`take_seeds` gives."""
    check_takes(takes)
    # What the scenes share is composed once for the whole sheet.
    prompts = SheetPrompts(sheet, catalog)
    now = SheetFingerprints(sheet, catalog, prompts)
    preparation = BatchPreparation(choice.provider)
    jobs = tuple(
        job for sc in selected_scenes(sheet, scenes)
        for job in _takes(choice, binding, sc,
                          prompts.request(sc, Stage.PREVIEW, model=choice.model,
                                          provider=choice.provider.id),
                          binding.fingerprint(sheet, sc, Stage.PREVIEW)
                          or now.of(sc, Stage.PREVIEW), takes,
                          anchor_version_id=binding.anchor.id, preparation=preparation)
    )
    notes = (choice.note,) if choice.note else ()
    return RenderPlan(Stage.PREVIEW, jobs, notes, out_of_date_cells(library, binding))


def preview_for(library: Library, binding: SheetBinding, scene: str) -> RenderRecord | None:
    """The preview a final of ``scene`` is made from: the one its cell shows
    (:meth:`~studio.library.renders.Renders.cell`: the take the user picked, else the latest),
    the same render the card and ``studio status`` show."""
    cell = library.renders.cell(binding.scenes[scene].id, Stage.PREVIEW)
    return None if cell is None else cell.render


def plan_finals(
    library: Library,
    binding: SheetBinding,
    sheet: Sheet,
    catalog: PresetCatalog,
    choice: ProviderChoice,
    scenes: Sequence[str] | None = None,
    *,
    approved_only: bool = False,
    takes: int = 1,
) -> RenderPlan:
    """Finals of the named scenes (all when none are named; only those with an approved preview
    when ``approved_only``), each from its preview (:func:`preview_for`); ``takes`` of each,
    from the preview's seed on."""
    check_takes(takes)
    jobs: list[JobSpec] = []
    notes: list[str] = [choice.note] if choice.note else []
    stale = out_of_date_cells(library, binding)
    prompts = SheetPrompts(sheet, catalog)
    sheet_fingerprints = SheetFingerprints(sheet, catalog, prompts)
    preparation = BatchPreparation(choice.provider)
    for sc in selected_scenes(sheet, scenes):
        base = prompts.request(sc, Stage.FINAL)
        now = (binding.fingerprint(sheet, sc, Stage.FINAL)
               or sheet_fingerprints.of(sc, Stage.FINAL))
        preview = preview_for(library, binding, sc.name)
        if approved_only and (preview is None or preview.approval is not Approval.APPROVED):
            continue
        if preview is None:
            notes.append(f"“{sc.name}” has no preview yet; its final is rendered straight from "
                         "the sheet.")
            jobs.extend(_takes(choice, binding, sc, base, now, takes,
                               anchor_version_id=binding.anchor.id, preparation=preparation))
            continue
        # What a final inherits from its preview is its prompt and seed, not its stage's own
        # settings: only those parts carry over.
        inherited = tuple(r for r in staleness(preview.fingerprint,
                                               binding.fingerprint(sheet, sc, Stage.PREVIEW)
                                               or sheet_fingerprints.of(sc, Stage.PREVIEW))
                          if r not in STAGE_PARTS)
        if inherited:
            cell = OutOfDateCell(sc.name, Stage.PREVIEW, preview.id, inherited)
            notes.append(f"{cell.sentence()} Its final keeps the preview's prompt and seed, so "
                         "it is out of date too; render the preview again to pick up the "
                         "change.")
        request = base.with_changes(prompt=preview.prompt, seed=preview.seed,
                                    references=preview.references,
                                    reference_strength=preview.reference_strength)
        anchor_id = preview.anchor_version_id or binding.anchor.id
        jobs.extend(_takes(choice, binding, sc, request, now.for_final(preview.fingerprint),
                           takes, anchor_version_id=anchor_id, parent=preview,
                           preparation=preparation))
    if approved_only and not jobs:
        raise RenderInputError("No scene of the sheet has an approved preview; approve previews "
                               "first, or finalize named scenes with --scene.")
    return RenderPlan(Stage.FINAL, tuple(jobs), tuple(notes), stale)


class _Noted(Protocol):
    """A plan, or previews planned before they are recorded (``studio.render.staged``)."""

    @property
    def notes(self) -> tuple[str, ...]: ...

    @property
    def jobs(self) -> Sequence[_NotedJob]: ...


class _NotedJob(Protocol):
    @property
    def scene(self) -> str: ...

    @property
    def notes(self) -> tuple[str, ...]: ...


def all_notes(plan: _Noted) -> Iterable[str]:
    """The plan's notes, then one line per request the provider will adapt."""
    yield from plan.notes
    for job in plan.jobs:
        for note in job.notes:
            yield f"“{job.scene}”: {note}"
