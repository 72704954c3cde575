"""What the open sheet's batches would cost before anything is sent: each scene's job as the
chosen provider prepares it (its model, the reference images it sends), for the render layer's
one estimate (``studio.render.budget.estimate``), which the queue uses again to ask before it
sends and to hold a batch to the budget cap; and the toolbar's line and tooltips made of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Sheet
from studio.library import RenderDraft
from studio.providers.errors import InvalidRequestError

if TYPE_CHECKING:
    from studio.render import BatchEstimate, JobSpec, ProviderChoice

STAGE_LABELS = {Stage.PREVIEW: "Previews", Stage.FINAL: "Finals"}


class CostedJobs:
    """Each scene's job as it would be sent (a draft for costing only: nothing is recorded),
    kept while the scene, the character, the stage's settings and the provider's choice stay
    the same, so an edit to one scene prepares only that scene again."""

    def __init__(self) -> None:
        self._known: dict[Stage, dict[Any, JobSpec | None]] = {}

    def jobs(self, sheet: Sheet, catalog: PresetCatalog, stage: Stage,
             choice: ProviderChoice) -> list[JobSpec]:
        """A job per scene; a request the provider refuses is left out (nothing is sent for
        it)."""
        from studio.core.prompt import build_request
        from studio.render import JobSpec

        provider = choice.provider
        shared = (provider.id, choice.model, id(catalog), sheet.character, sheet.profile(stage))
        known: dict[Any, JobSpec | None] = self._known.get(stage, {})
        kept: dict[Any, JobSpec | None] = {}
        jobs = []
        for scene in sheet.scenes:
            key = (shared, scene)
            if key not in known:
                request = build_request(sheet, scene, stage, catalog).with_changes(
                    model=choice.model, provider=provider.id)
                try:
                    adapted, _notes = provider.prepare(request)
                except InvalidRequestError:
                    known[key] = None
                else:
                    known[key] = JobSpec(RenderDraft(request=adapted, project_id=0))
            job = kept[key] = known[key]
            if job is not None:
                jobs.append(job)
        self._known[stage] = kept
        return jobs

    def clear(self) -> None:
        """The providers or their settings changed: prepare every job again."""
        self._known.clear()


def cost_line(estimates: Mapping[Stage, BatchEstimate], scenes: int, takes: int,
              providers: Mapping[Stage, str]) -> tuple[str, dict[Stage, str]]:
    """The toolbar's short line for each stage's batch of every scene, and a sentence per
    stage for its tooltips (``providers``: each stage's provider and model, as shown)."""
    parts, tips = [], {}
    for stage, batch in estimates.items():
        label = STAGE_LABELS[stage]
        if batch.cost is None:
            cost = "cost unknown"
        elif batch.cost == 0:
            cost = "free"
        else:
            cost = f"≈ {batch.cost:.2f}"
        parts.append(f"{label}: {cost}")
        each = f" ({takes} takes of each)" if takes > 1 else ""
        tips[stage] = (f"{label} of all {scenes} scenes{each} on {providers[stage]}: "
                       f"{batch.sentence()}")
    if all(part.endswith("cost unknown") for part in parts):
        return "Cost unknown (no price set)", tips  # short enough for the toolbar
    return "  ·  ".join(parts), tips
