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
"""

# Where a sheet's renders are recorded is the library's rule; re-exported for callers of render.
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
