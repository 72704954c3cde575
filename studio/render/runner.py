"""Running one job through its provider, recording every step in the library first.

The order is what makes a crash safe: the job is journaled ``sending`` right before its request
leaves (the provider awaits the journal), ``submitted`` with its id and serialised submission as
soon as the provider accepts it, ``processing`` when it starts, and done (image and render
record), failed, cancelled or **uncertain** when it ends. A request that left and got no usable
answer makes the job uncertain: it may have been billed, and it is never sent again unless the
user asks (:meth:`RenderQueue.resend`).

Jobs the provider never took because of its key, or because it stayed throttled past the
patience, go back to ``queued`` in the library (``kept_for_resume``): they are sent by
``studio resume`` once the key is fixed or the limit has reset.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from studio.core.lifecycle import JobState, Outcome
from studio.library import (
    Library,
    LibraryError,
    LibraryStorageError,
    RenderRecord,
    SubmittedJob,
)
from studio.providers.base import (
    Downloading,
    GenerationResult,
    Processing,
    Provider,
    ProviderEvent,
    Queued,
    Throttled,
)
from studio.providers.errors import (
    AuthenticationError,
    KeyRefusedError,
    MayHaveBeenBilledError,
    ProviderError,
    RateLimitedError,
    RenderCancelled,
    provider_name,
)
from studio.render.events import (
    JobCancelled,
    JobDone,
    JobDownloading,
    JobEvent,
    JobFailed,
    JobProcessing,
    JobQueued,
    JobSending,
    JobSubmitted,
    JobUncertain,
)
from studio.render.job import RunningJob
from studio.render.journal import StateJournal
from studio.render.lanes import Lane
from studio.render.shelf import ImageShelf

log = logging.getLogger("studio.render")

T = TypeVar("T")

_BILLED_NOTE = ("Cancelled after it was sent; {name} has no way to stop a job, so it may still "
                "finish there and be billed.")


class JobHost(Protocol):
    """What a runner needs from the queue that owns the jobs."""

    def change(self, job: RunningJob, event: JobEvent) -> None: ...

    def lane(self, provider: Provider) -> Lane: ...

    def throttled(self, job: RunningJob, provider: Provider, event: Throttled) -> None: ...

    def accepted(self, provider: Provider) -> None: ...


class JobRunner:
    """Runs jobs for a :class:`~studio.render.queue.RenderQueue`; see the module docstring."""

    def __init__(self, library: Library, providers: Mapping[str, Provider], host: JobHost,
                 clock: Callable[[], float]) -> None:
        self._library = library
        self._providers = providers
        self._host = host
        self._clock = clock
        self.journal = StateJournal(library)
        #: Journal entries "sending" not yet written: each holds a request back.
        self._sending: set[asyncio.Future[None]] = set()
        #: Images stored batch by batch, each batch after the requests waiting to send.
        self.shelf = ImageShelf(library, self._sends_first)
        #: Jobs whose submit is on its way; and whether the image decoder is being loaded.
        self._submitting = 0
        self._images_prepared = False

    async def _db(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(func, *args, **kwargs)

    async def settle_writes(self, job: RunningJob) -> None:
        pending, job.pending_write = job.pending_write, None
        if pending is not None:
            try:
                await pending
            except LibraryError as exc:
                log.warning("could not record the progress of job %s: %s", job.ref.job_id, exc)

    # ------------------------------------------------------------------ the task

    async def run(self, job: RunningJob) -> None:
        provider = self._providers[job.ref.provider]
        lane = self._host.lane(provider)
        try:
            await lane.acquire()
            job.place = lane
            try:
                result = await self._through(job, provider)
            finally:
                self._free_place(job)
            if result is not None:
                job.phase = "storing"
                await self._store(job, result)
        except asyncio.CancelledError:
            if not job.cancel_requested:
                job.phase = "finished"
                raise  # closing: the job stays unfinished in the library for resume
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self.finish_cancel(job, provider)
        except ProviderError as exc:
            await self._provider_failed(job, provider, exc)
        except LibraryStorageError as exc:
            self.fail(job, "storage", _storage_sentence(job, exc), retryable=True, kept=True)
        except LibraryError as exc:  # the library refused the image itself (not a disk fault)
            message = (f"The image {provider_name(job.ref.provider)} sent for “{job.ref.scene}” "
                       f"could not be kept: {exc} Retry the scene.")
            await self.record_failure(job, "bad_response", message, retryable=True)
        except Exception as exc:  # our bug: say so on the job, never lose it silently
            log.exception("render job %s failed unexpectedly", job.ref.job_id)
            message = (f"Rendering “{job.ref.scene}” stopped on an internal error "
                       f"({type(exc).__name__}); this is a bug in the studio. Retry the scene; "
                       "the job is kept so `studio resume` can finish it.")
            self.fail(job, "internal", message, retryable=True, kept=True)
        finally:
            job.phase = "finished"

    async def _through(self, job: RunningJob, provider: Provider) -> GenerationResult | None:
        """Submit (unless already accepted) and follow; None when the job ended otherwise."""
        if job.started is None:
            job.started = self._clock()
        if job.submission is None:
            job.phase = "submitting"
            self._submitting += 1
            try:
                if not await self._submit(job, provider):
                    return None
            finally:
                self._submitting -= 1
        elif job.resumed:
            self._host.change(job, JobSubmitted(job.ref, job.submission.request_id,
                                                resumed=True))
        if job.cancel_requested:
            await self.finish_cancel(job, provider)
            return None
        if job.detach:
            return None
        job.phase = "following"
        if not self._images_prepared and not self._submitting:
            # The requests are out and the provider is working: the decoder its images need
            # loads now, not when the first one arrives (nor before the first request left).
            self._images_prepared = True
            provider.prepare_images()
        assert job.submission is not None
        return await provider.follow(job.submission, lambda e: self._on_event(job, e))

    # ------------------------------------------------------------------ submitting

    async def _submit(self, job: RunningJob, provider: Provider) -> bool:
        assert job.request is not None
        refusal = provider.refusal()
        if refusal is not None:  # a refused key: nothing more goes to this provider
            await self._kept_unsent(job, KeyRefusedError(provider.id, "the key was refused"))
            return False

        async def journal(state: JobState) -> None:
            if state is JobState.SENDING:
                job.leaving = True
                move = self.journal.move(job.ref.job_id, JobState.SENDING)
                self._sending.add(move)
                move.add_done_callback(self._sending.discard)
                await move
                if job.state is not JobState.SENDING:
                    self._host.change(job, JobSending(job.ref))
            else:  # came back throttled: nothing was taken, it waits again
                await self.journal.move(job.ref.job_id, JobState.QUEUED)
                job.leaving = False
                self._host.change(job, JobQueued(job.ref))

        def on_event(event: ProviderEvent) -> None:
            if isinstance(event, Throttled):
                self._host.throttled(job, provider, event)

        submission = await provider.submit(job.request, on_event, journal)
        job.submission = submission
        # Recorded before anything else happens, so a crash from here on resumes following
        # (with the acceptances of the jobs answered at the same moment: one disk write).
        await self.journal.submitted(job.ref.job_id, SubmittedJob(
            submission.request_id, submission.poll_url or "", submission.to_data()))
        job.leaving = False
        self._host.accepted(provider)
        self._host.change(job, JobSubmitted(job.ref, submission.request_id))
        return True

    async def _kept_unsent(self, job: RunningJob, exc: ProviderError) -> None:
        """Not sent (or refused for the key or a rate limit): back to queued in the library,
        so ``studio resume`` sends it once the cause is gone."""
        message = exc.user_message(job.ref.scene)
        await self.settle_writes(job)
        try:
            await self._db(self._library.jobs.set_state, job.ref.job_id, JobState.QUEUED,
                           error=message)
        except LibraryError as err:
            log.warning("could not record job %s as not sent: %s", job.ref.job_id, err)
        job.leaving = False
        self.fail(job, exc.kind, message, retryable=True, kept=True)

    async def uncertain(self, job: RunningJob, message: str) -> None:
        """The provider may have taken (and billed) the job without the studio learning its
        id: recorded as uncertain, never sent again unless the user asks."""
        await self.settle_writes(job)
        try:
            await self._db(self._library.jobs.set_state, job.ref.job_id, JobState.UNCERTAIN,
                           error=message)
        except LibraryError as err:
            log.warning("could not record job %s as uncertain: %s", job.ref.job_id, err)
        job.error, job.kind, job.may_be_billed, job.leaving = message, "uncertain", True, False
        if job.started is not None:
            job.seconds = self._clock() - job.started
        self._host.change(job, JobUncertain(job.ref, message))

    # ------------------------------------------------------------------ following

    def _on_event(self, job: RunningJob, event: ProviderEvent) -> None:
        update: JobEvent | None = None
        if isinstance(event, Queued):
            update = JobProcessing(job.ref, position=event.position)
        elif isinstance(event, Processing):
            update = JobProcessing(job.ref, eta=event.eta)
        elif isinstance(event, Downloading):
            # The provider's work is done: its place goes to the next job now, whose request
            # then leaves while this image downloads and is stored.
            self._free_place(job)
            update = JobDownloading(job.ref, event.source)
        if update is None or update == job.last_progress_event:
            return
        job.last_progress_event = update
        if isinstance(update, JobProcessing) and job.state is not JobState.PROCESSING \
                and job.pending_write is None:
            job.pending_write = self.journal.move(job.ref.job_id, JobState.PROCESSING)
        self._host.change(job, update)

    @staticmethod
    def _free_place(job: RunningJob) -> None:
        """Give the job's place in its provider's lane back (once)."""
        lane, job.place = job.place, None
        if lane is not None:
            lane.release()

    async def _store(self, job: RunningJob, result: GenerationResult) -> None:
        await self.settle_writes(job)
        outcome = Outcome(request_id=result.request_id, seed_returned=result.seed_returned,
                          timings=result.timings, cost=result.cost)
        # Shielded: a job closing meanwhile still has its image stored (never lost).
        render = await asyncio.shield(self.shelf.store(job.ref.job_id, result.image, outcome))
        job.render = render
        job.seconds = self._clock() - (job.started or self._clock())
        notes = tuple(dict.fromkeys((*job.notes, *result.notes)))
        self._host.change(job, JobDone(job.ref, render, job.seconds, notes))

    async def _sends_first(self) -> None:
        """Until no request waits for its "sending" entry: storing an image holds the library
        for a few milliseconds, and a job waiting to send (one that took the place this job
        just freed) goes first, so a finished batch never delays the next one's requests."""
        await asyncio.sleep(0)  # the job handed this job's place runs up to its journal entry
        if self._sending:  # those waiting now; later ones never hold a store back for long
            await asyncio.wait(set(self._sending))

    # ------------------------------------------------------------------ endings

    async def _provider_failed(self, job: RunningJob, provider: Provider,
                               exc: ProviderError) -> None:
        scene = job.ref.scene
        if job.submission is None:
            if isinstance(exc, MayHaveBeenBilledError):
                await self.uncertain(job, exc.user_message(scene))
            elif job.cancel_requested:
                await self.finish_cancel(job, provider)  # never accepted: nothing to stop
            elif isinstance(exc, KeyRefusedError | AuthenticationError | RateLimitedError):
                await self._kept_unsent(job, exc)
            else:
                await self.record_failure(job, exc.kind, exc.user_message(scene),
                                          retryable=exc.retryable, request_id=exc.request_id)
            return
        if isinstance(exc, RenderCancelled):
            await self.settle_writes(job)
            await self._db(self._library.jobs.cancel, job.ref.job_id)
            message = f"{provider_name(job.ref.provider)} cancelled the job for “{scene}”."
            self._cancelled(job, may_be_billed=False, message=message)
            return
        message = exc.user_message(scene)
        if exc.resumable:
            # Accepted and maybe still running: keep it so resume (or retry) follows it again.
            await self.settle_writes(job)
            self.fail(job, exc.kind, f"{message} Run `studio resume` to pick it up later.",
                      retryable=True, kept=True)
            return
        await self.record_failure(job, exc.kind, message, retryable=exc.retryable,
                                  request_id=exc.request_id)

    async def record_failure(self, job: RunningJob, kind: str, message: str, *,
                             retryable: bool, request_id: str | None = None) -> None:
        await self.settle_writes(job)
        rid = request_id or (job.submission.request_id if job.submission else "")
        render: RenderRecord | None = None
        try:
            render = await self._db(self._library.jobs.fail, job.ref.job_id, message,
                                    Outcome(request_id=rid))
        except LibraryError as exc:
            log.warning("could not record the failure of job %s: %s", job.ref.job_id, exc)
        self.fail(job, kind, message, retryable=retryable, render=render)

    def fail(self, job: RunningJob, kind: str, message: str, *, retryable: bool,
             render: RenderRecord | None = None, kept: bool = False) -> None:
        job.error, job.kind, job.kept_for_resume, job.render = message, kind, kept, render
        if job.started is not None:
            job.seconds = self._clock() - job.started
        self._host.change(job, JobFailed(job.ref, kind, message, retryable, render, kept))

    async def finish_cancel(self, job: RunningJob, provider: Provider) -> None:
        may_be_billed = False
        if job.submission is not None:
            try:
                stopped = await provider.cancel(job.submission)
            except ProviderError as exc:
                log.info("could not cancel job %s at the provider: %s", job.ref.job_id, exc)
                stopped = False
            may_be_billed = not stopped
        name = provider_name(job.ref.provider)
        message = (_BILLED_NOTE.format(name=name) if may_be_billed
                   else f"Cancelled; nothing is charged by {name} for it.")
        await self.settle_writes(job)
        try:
            if may_be_billed:
                current = JobState.PROCESSING if job.state is JobState.PROCESSING \
                    else JobState.SUBMITTED
                await self._db(self._library.jobs.set_state, job.ref.job_id, current,
                               error=message)
            await self._db(self._library.jobs.cancel, job.ref.job_id)
        except LibraryError as exc:
            log.warning("could not record the cancellation of job %s: %s", job.ref.job_id, exc)
        self._cancelled(job, may_be_billed=may_be_billed, message=message)

    def _cancelled(self, job: RunningJob, *, may_be_billed: bool, message: str) -> None:
        job.may_be_billed, job.error, job.kind = may_be_billed, message, "cancelled"
        self._host.change(job, JobCancelled(job.ref, may_be_billed, message))


def _storage_sentence(job: RunningJob, exc: LibraryStorageError) -> str:
    return (f"The image of “{job.ref.scene}” arrived but could not be saved in the library "
            f"({exc}). Free some space or fix the folder, then run `studio resume`; the job is "
            "kept.")
