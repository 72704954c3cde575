"""A batch's estimate: each provider and model priced once, the jobs added up as one by one,
and made once when the caller has made it already (the count and cost printed are those
checked against the budget cap)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.capabilities import reference_support
from studio.core.presets import PresetCatalog
from studio.core.request import GenerationRequest
from studio.core.sheet import Sheet
from studio.library import Library
from studio.providers.base import Provider
from studio.providers.offline import OfflineProvider
from studio.render.budget import BatchEstimate, BudgetExceeded, estimate
from studio.render.events import BatchPlanned
from studio.render.queue import RenderQueue
from tests.render.conftest import Recorder, preview_plan

Queues = Callable[..., RenderQueue]

PRICES = {("bfl", "flux-2-pro"): 0.05, ("bfl", "flux-2-klein-4b"): 0.014,
          ("fal", "flux-schnell"): 0.003, ("offline", "placeholder"): 0.0}


@dataclass(frozen=True)
class Job:
    provider: str
    request: GenerationRequest


def _jobs() -> list[Job]:
    refs = tuple(ReferenceImage(f"{i:064x}", ReferenceRole.FACE) for i in range(10))
    jobs = []
    pairs = [*PRICES, ("replicate", "unpriced-model")]
    for i, ((provider, model), count, images) in enumerate(
            itertools.product(pairs, (0, 1, 3, 9), (1, 2))):
        jobs.append(Job(provider, GenerationRequest(
            prompt=f"scene {i}", width=1024, height=1024, steps=4, guidance=3.5, model=model,
            provider=provider, images=images, references=refs[:count],
            reference_strength=ReferenceStrength.STRONG if count else ReferenceStrength.OFF)))
    return jobs


def _one_by_one(jobs: list[Job], priced: bool) -> BatchEstimate:
    total, unpriced = 0.0, []
    for job in jobs:
        each = PRICES.get((job.provider, job.request.model))
        if each is None:
            unpriced.append(job.provider)
            continue
        support = reference_support(job.provider, job.request.model)
        sent = min(len(job.request.references), support.max_images)
        total += (each + (support.price_per_reference or 0.0) * sent) * job.request.images
    return BatchEstimate(len(jobs), None if unpriced else round(total, 6),
                         tuple(dict.fromkeys(unpriced)))


@pytest.mark.parametrize("priced", [True, False])
def test_each_model_is_priced_once_and_the_sum_is_the_jobs_one_by_one(priced: bool) -> None:
    jobs = _jobs() if not priced else [j for j in _jobs() if j.provider != "replicate"]
    asked: list[tuple[str, str]] = []

    def price(provider: str, model: str) -> float | None:
        asked.append((provider, model))
        return PRICES.get((provider, model))

    assert estimate(jobs, price) == _one_by_one(jobs, priced)
    assert sorted(asked) == sorted({(j.provider, j.request.model) for j in jobs})


@pytest.mark.asyncio
async def test_an_estimate_given_to_the_queue_is_not_made_again(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    queues: Queues, recorder: Recorder,
) -> None:
    provs: dict[str, Provider] = {"offline": OfflineProvider()}
    _, plan = preview_plan(library, sheet, sheet_path, catalog, provs)
    asked: list[str] = []

    def price(provider: str, model: str) -> float | None:
        asked.append(provider)
        return 0.25

    queue = queues(library, provs, price=price, budget_cap=0.5)
    queue.subscribe(recorder)
    batch = queue.estimate(plan.jobs)
    assert asked == ["offline"] and batch == BatchEstimate(4, 1.0)
    with pytest.raises(ValueError, match="counts 4 requests, the batch 3"):
        await queue.add(plan.jobs[:3], batch=batch)
    with pytest.raises(BudgetExceeded, match=r"would cost 1\.00"):
        await queue.add(plan.jobs, batch=batch)
    assert asked == ["offline"]  # checked against the cap without pricing the jobs again
    assert [(e.requests, e.cost) for e in recorder.of(BatchPlanned)] == [(4, 1.0)]
    assert library.jobs.unfinished() == [] and queue.jobs() == ()
