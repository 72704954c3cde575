"""What a batch will cost before it is sent, and the budget cap that can refuse it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from studio.core.capabilities import reference_support
from studio.core.request import GenerationRequest
from studio.core.settings import Settings
from studio.providers.base import Provider
from studio.providers.errors import provider_name
from studio.render.plan import RenderInputError

#: ``price(provider_id, model)``: the price of one image, or None when it is not known.
PriceLookup = Callable[[str, str], "float | None"]


@dataclass(frozen=True, slots=True)
class BatchEstimate:
    """The number of requests a batch sends and, where every price is known, its cost."""

    requests: int
    cost: float | None
    #: Providers whose price per image is not configured (the cost then is None).
    unpriced: tuple[str, ...] = ()

    def sentence(self) -> str:
        what = f"{self.requests} request{'s' if self.requests != 1 else ''}"
        if self.cost is not None:
            return f"{what}, estimated cost {self.cost:.2f}"
        if self.unpriced:
            names = ", ".join(provider_name(p) for p in self.unpriced)
            return f"{what} (cost unknown: no price per image is set for {names})"
        return what


class BudgetExceeded(RenderInputError):
    """The batch would cost more than the budget cap, or its cost cannot be told; nothing sent."""

    def __init__(self, message: str, estimate: BatchEstimate, cap: float) -> None:
        super().__init__(message)
        self.estimate = estimate
        self.cap = cap


def settings_prices(settings: Settings, providers: Mapping[str, Provider]) -> PriceLookup:
    """Prices from settings (``[providers.<id>] price_per_image``), else the provider's own."""

    def price(provider_id: str, model: str) -> float | None:
        configured = settings.provider(provider_id).price_per_image
        if configured is not None:
            return configured
        provider = providers.get(provider_id)
        return None if provider is None else provider.capabilities(model).price_per_image

    return price


class Priced(Protocol):
    """A job as far as its count and cost go: who renders it and what it asks."""

    @property
    def provider(self) -> str: ...

    @property
    def request(self) -> GenerationRequest: ...


def estimate(jobs: Sequence[Priced], price: PriceLookup) -> BatchEstimate:
    """How many requests ``jobs`` make and, where every price is known, what they cost. The
    price and the reference billing of each provider and model are looked up once (a batch
    names a few), the jobs added up in order."""
    total = 0.0
    unpriced: dict[str, None] = {}
    rates: dict[tuple[str, str], tuple[float | None, int, float]] = {}
    for job in jobs:
        request = job.request
        key = (job.provider, request.model)
        rate = rates.get(key)
        if rate is None:
            # Where the API bills input images (BFL's FLUX.2), each reference sent adds.
            support = reference_support(*key)
            rate = rates[key] = (price(*key), support.max_images,
                                 support.price_per_reference or 0.0)
        each, most, per_reference = rate
        if each is None:
            unpriced.setdefault(job.provider, None)
        else:
            sent = min(len(request.references), most)
            total += (each + per_reference * sent) * request.images
    requests = len(jobs)
    return BatchEstimate(requests, None if unpriced else round(total, 6), tuple(unpriced))


def check_budget(batch: BatchEstimate, cap: float | None) -> None:
    """Raise :class:`BudgetExceeded` when ``batch`` would pass ``cap`` (or its cost cannot be
    told while a cap is set)."""
    if cap is None or batch.requests == 0:
        return
    if batch.cost is None:
        names = ", ".join(provider_name(p) for p in batch.unpriced)
        raise BudgetExceeded(
            f"A budget cap of {cap:.2f} is set but the cost of this batch cannot be told "
            f"(no price per image is set for {names}); nothing was sent. Set the price in "
            "Settings → Providers, or raise or remove the cap.", batch, cap)
    if batch.cost > cap + 1e-9:
        raise BudgetExceeded(
            f"This batch of {batch.requests} would cost {batch.cost:.2f}, more than the budget "
            f"cap of {cap:.2f}; nothing was sent. Render fewer scenes, or raise the cap.",
            batch, cap)
