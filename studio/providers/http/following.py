"""Following one accepted job to its image: its statuses (polled or pushed, by the adapter's
:class:`~studio.providers.http.follow.Follow`) until a terminal one, then the download, the
timings and the cost, as a :class:`~studio.providers.base.GenerationResult`.

A job is followed from a :class:`~studio.providers.base.Submission` alone (the one a submit
just returned, or one read back from the journal after a restart).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from studio.core.lifecycle import JobState, Timings
from studio.providers.base import (
    Done,
    Downloading,
    EventCallback,
    GenerationResult,
    Processing,
    ProviderEvent,
    Queued,
    Submission,
)
from studio.providers.errors import (
    BadResponseError,
    ProviderFailedError,
    ProviderTimeout,
    RenderCancelled,
    provider_name,
)
from studio.providers.http.download import source_label
from studio.providers.http.follow import JobStatus

if TYPE_CHECKING:
    from studio.providers.http.provider import HttpProvider


class JobFollower:
    """Follows the jobs of one provider (its clock, deadline, follow, downloader and models)."""

    def __init__(self, provider: HttpProvider) -> None:
        self._provider = provider

    @staticmethod
    def initial_status(submission: Submission) -> JobStatus:
        """Where the job stood when it was accepted (or when its journal entry was written)."""
        info = submission.info
        seed = submission.seed_returned
        if submission.outputs:
            return JobStatus(JobState.DONE, outputs=submission.outputs, seed=seed)
        state = str(info.get("state") or info.get("phase") or "")  # "phase": older journals
        if state in ("done", JobState.DONE.value):
            return JobStatus(JobState.DONE, seed=seed)  # finished without an image: reported
        if state in ("queued", JobState.SUBMITTED.value):
            position = info.get("position")
            return JobStatus(JobState.SUBMITTED,
                             position=position if isinstance(position, int) else None)
        return JobStatus(JobState.PROCESSING, eta=submission.eta)

    async def follow(self, submission: Submission, emit: EventCallback) -> GenerationResult:
        """The job's image, once a status says it is done; ProviderErrors otherwise (a job
        the provider reports failed or cancelled, one past the job deadline)."""
        p = self._provider
        clock = p.clock
        start = clock.monotonic()
        until = start + p.job_deadline
        processing_since: float | None = None
        last: ProviderEvent | None = None
        final: JobStatus | None = None
        statuses = p.follow_with(submission).statuses(
            submission, self.initial_status(submission), until)
        async with contextlib.aclosing(statuses):  # type: ignore[type-var]
            async for status in statuses:
                if status.state is JobState.FAILED:
                    raise status.error or ProviderFailedError(p.id, "the job failed")
                if status.state is JobState.CANCELLED:
                    raise status.error or RenderCancelled(p.id, "the job was cancelled")
                if status.state is JobState.DONE:
                    if not status.outputs:
                        raise BadResponseError(p.id, "the job finished without an image")
                    final = status
                    break
                event: ProviderEvent
                if status.state is JobState.SUBMITTED:
                    event = Queued(status.position)
                else:
                    event = Processing(status.eta)
                    if processing_since is None:
                        processing_since = clock.monotonic()
                if event != last:
                    emit(event)
                    last = event
                if clock.monotonic() > until:
                    raise ProviderTimeout(p.id, "the job was not finished in time")
        if final is None:
            raise BadResponseError(p.id, "the provider stopped telling how the job stands")
        ready = clock.monotonic()
        emit(Downloading(source_label(final.outputs[0])))
        image = await p.downloader.first_image(final.outputs)
        finished = clock.monotonic()
        if processing_since is None:
            queue, processing = 0.0, ready - start
        else:
            queue, processing = processing_since - start, ready - processing_since
        result = GenerationResult(
            provider=p.id, model=submission.model, request_id=submission.request_id,
            image=image.data, format=image.format, width=image.width, height=image.height,
            seed_returned=final.seed if final.seed is not None else submission.seed_returned,
            timings=Timings(submit=submission.submit_seconds, queue=queue,
                            processing=processing, download=finished - ready),
            request_body=submission.request_body, notes=submission.notes,
            cost=self.cost(submission, final),
            info=p.redactor.data(dict(final.info)),
        )
        emit(Done(result))
        p._log.info("%s job %s done: %dx%d %s", provider_name(p.id),
                    submission.request_id, image.width, image.height, image.format)
        return result

    def cost(self, submission: Submission, final: JobStatus) -> float | None:
        """What the image cost: the API's own figure where it gave one (``cost`` in the
        status's info, in currency), else the model's price with what its references add."""
        told = final.info.get("cost", submission.info.get("cost"))
        if isinstance(told, int | float) and not isinstance(told, bool) and told >= 0:
            return float(told)
        count = submission.info.get("references")
        return self._provider.capabilities(submission.model).price_for(
            count if isinstance(count, int) else 0)
