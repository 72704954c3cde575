"""Render orchestration: the two-stage preview→final flow, a crash-safe queue, cost and budget.

* :mod:`~studio.render.plan`: sheet → library records (:func:`bind_sheet`), provider choice
  (:func:`choose_provider`), the jobs of a stage (:func:`plan_previews`, :func:`plan_finals`),
  out-of-date cells.
* :mod:`~studio.render.queue`: :class:`RenderQueue` (add, resume, cancel, cancel_all, retry,
  resend, uncertain, wait, events); :mod:`~studio.render.runner` runs one job through its
  provider; :mod:`~studio.render.lanes` is where per-provider concurrency lives.
* :mod:`~studio.render.events`: the immutable events listeners receive.
* :mod:`~studio.render.budget`: batch estimate and the budget cap.

No Qt here: the window subscribes to the same events the command line prints.

Importing the package imports none of its modules: each name below is looked up in its module
on first use (PEP 562), so a command that needs one module (``studio status`` reads identity
scores through :mod:`~studio.render.identity`) does not pay for the queue and the providers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Where a sheet's renders are recorded is the library's rule; re-exported for callers of
    # render.
    from studio.library.binding import SheetBinding, bind_sheet
    from studio.render.budget import BatchEstimate, BudgetExceeded, check_budget, settings_prices
    from studio.render.events import (
        BatchPlanned,
        JobCancelled,
        JobDone,
        JobDownloading,
        JobEvent,
        JobFailed,
        JobProcessing,
        JobQueued,
        JobRef,
        JobSending,
        JobSubmitted,
        JobUncertain,
        Progress,
        RateLimitWait,
        RenderEvent,
        RenderListener,
    )
    from studio.render.plan import (
        JobSpec,
        MissingKeyError,
        OutOfDateCell,
        ProviderChoice,
        RenderInputError,
        RenderPlan,
        choose_provider,
        out_of_date_cells,
        plan_finals,
        plan_previews,
    )
    from studio.render.queue import EventStream, JobView, RenderQueue

#: Where each public name lives (the imports above, for the type checker).
_HOMES: dict[str, str] = {
    "BatchEstimate": "studio.render.budget",
    "BatchPlanned": "studio.render.events",
    "BudgetExceeded": "studio.render.budget",
    "EventStream": "studio.render.queue",
    "JobCancelled": "studio.render.events",
    "JobDone": "studio.render.events",
    "JobDownloading": "studio.render.events",
    "JobEvent": "studio.render.events",
    "JobFailed": "studio.render.events",
    "JobProcessing": "studio.render.events",
    "JobQueued": "studio.render.events",
    "JobRef": "studio.render.events",
    "JobSending": "studio.render.events",
    "JobSpec": "studio.render.plan",
    "JobSubmitted": "studio.render.events",
    "JobUncertain": "studio.render.events",
    "JobView": "studio.render.queue",
    "MissingKeyError": "studio.render.plan",
    "OutOfDateCell": "studio.render.plan",
    "Progress": "studio.render.events",
    "ProviderChoice": "studio.render.plan",
    "RateLimitWait": "studio.render.events",
    "RenderEvent": "studio.render.events",
    "RenderInputError": "studio.render.plan",
    "RenderListener": "studio.render.events",
    "RenderPlan": "studio.render.plan",
    "RenderQueue": "studio.render.queue",
    "SheetBinding": "studio.library.binding",
    "bind_sheet": "studio.library.binding",
    "check_budget": "studio.render.budget",
    "choose_provider": "studio.render.plan",
    "out_of_date_cells": "studio.render.plan",
    "plan_finals": "studio.render.plan",
    "plan_previews": "studio.render.plan",
    "settings_prices": "studio.render.budget",
}

__all__ = [
    "BatchEstimate",
    "BatchPlanned",
    "BudgetExceeded",
    "EventStream",
    "JobCancelled",
    "JobDone",
    "JobDownloading",
    "JobEvent",
    "JobFailed",
    "JobProcessing",
    "JobQueued",
    "JobRef",
    "JobSending",
    "JobSpec",
    "JobSubmitted",
    "JobUncertain",
    "JobView",
    "MissingKeyError",
    "OutOfDateCell",
    "Progress",
    "ProviderChoice",
    "RateLimitWait",
    "RenderEvent",
    "RenderInputError",
    "RenderListener",
    "RenderPlan",
    "RenderQueue",
    "SheetBinding",
    "bind_sheet",
    "check_budget",
    "choose_provider",
    "out_of_date_cells",
    "plan_finals",
    "plan_previews",
    "settings_prices",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
