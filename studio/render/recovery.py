"""Picking jobs up again: resume after a crash, retry, and the uncertain jobs.

After a crash, :meth:`Recovery.resume` follows every job that has a provider request id (it is
never sent again), sends once the jobs never sent, and makes every job found *sending* (its
request may have left, no id came back) **uncertain**: listed, never sent again unless the user
asks (:meth:`Recovery.resend`, or ``resume(resend_uncertain=True)``).

Library calls block, so they run in worker threads (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

from studio.core.lifecycle import JobState
from studio.library import JobRecord, Library
from studio.providers.base import Provider, Submission
from studio.providers.errors import MayHaveBeenBilledError
from studio.render.admission import not_configured, require_configured
from studio.render.book import JobBook
from studio.render.budget import PriceLookup
from studio.render.events import BatchPlanned, JobCancelled, JobQueued, JobRef
from studio.render.job import JobView, RunningJob, job_ref
from studio.render.plan import RenderInputError
from studio.render.runner import JobRunner


class Recovery:
    """Puts unfinished, failed and uncertain jobs back into a queue's :class:`JobBook`.

    The methods are those of :class:`~studio.render.queue.RenderQueue` of the same names (see
    there); the queue checks it is open before calling them.
    """

    def __init__(self, library: Library, providers: Mapping[str, Provider], price: PriceLookup,
                 book: JobBook, runner: JobRunner, start: Callable[[RunningJob], None]) -> None:
        self._library = library
        self._providers = providers
        self._price = price
        self._book = book
        self._runner = runner
        self._start = start

    async def resume(self, *, resend_uncertain: bool) -> tuple[JobRef, ...]:
        book = self._book
        records = await asyncio.to_thread(self._library.jobs.unfinished)
        started: list[RunningJob] = []
        to_send: list[JobRecord] = []
        for rec in records:
            known = book.find(rec.id)
            if known is not None and not known.state.finished:
                continue  # running in this queue already
            job = book.hold(RunningJob(ref=job_ref(rec), resumed=True))
            book.change(job, JobQueued(job.ref))
            provider = self._providers.get(rec.provider)
            if provider is None or not provider.configured:
                self._runner.fail(job, "not_configured", not_configured(rec.provider,
                                                                        resume=True),
                                  retryable=True, kept=True)
                continue
            try:
                if rec.provider_request_id:
                    job.submission = Submission.from_data(rec.submission)
                elif rec.state is JobState.SENDING:
                    found = await provider.find_sent(rec.request, rec.updated.timestamp())
                    if found is None:
                        await self._runner.uncertain(job, _stopped_while_sending(job))
                        continue
                    await asyncio.to_thread(
                        self._library.jobs.mark_submitted, rec.id,
                        provider_request_id=found.request_id, poll_url=found.poll_url or "",
                        submission=found.to_data())
                    job.submission = found
                else:
                    job.request = rec.request
                    to_send.append(rec)
            except (ValueError, TypeError, KeyError) as exc:
                message = (f"The unfinished job for scene “{job.ref.scene}” cannot be resumed: "
                           f"its stored record is damaged ({exc}). Render the scene again.")
                await self._runner.record_failure(job, "bad_record", message, retryable=False)
                continue
            started.append(job)
        uncertain = await asyncio.to_thread(self._library.jobs.uncertain)
        for rec in uncertain:
            known = book.find(rec.id)
            if resend_uncertain:
                started.append(await self._requeued(rec.id))
                to_send.append(rec)
            elif known is None:
                self._hold_uncertain(rec)
        if to_send:
            self._plan(to_send)
        for job in started:
            if job.task is None:
                self._start(job)
        return tuple(job.ref for job in started)

    def _plan(self, records: Sequence[JobRecord]) -> None:
        specs = [rec.draft for rec in records]
        priced = [self._price(d.provider, d.model) for d in specs]
        unpriced = tuple(dict.fromkeys(d.provider for d, p in zip(specs, priced, strict=True)
                                       if p is None))
        cost = None if unpriced else sum(p or 0.0 for p in priced)
        self._book.emit(BatchPlanned(len(specs), cost, unpriced, None))

    async def retry_many(self, job_ids: Sequence[int]) -> list[JobRef | Exception]:
        book = self._book
        outcomes: list[JobRef | Exception] = []
        olds: list[RunningJob] = []
        for job_id in job_ids:
            try:
                old = book.get(job_id)
                if old.state not in (JobState.FAILED, JobState.CANCELLED):
                    raise ValueError(f"job {job_id} is {old.state.value}; only failed or "
                                     "cancelled jobs can be retried")
                require_configured(self._providers, old.ref.provider)
            except (ValueError, KeyError, RenderInputError) as exc:
                outcomes.append(exc)
                continue
            outcomes.append(old.ref)  # replaced below by the retry's own reference
            olds.append(old)

        def record() -> list[tuple[JobRecord, JobRecord | None]]:
            recs = self._library.jobs.many([old.ref.job_id for old in olds])
            again = [rec.draft for old, rec in zip(olds, recs, strict=True)
                     if not old.kept_for_resume]
            new = iter(self._library.jobs.create_many(again) if again else [])
            return [(rec, None if old.kept_for_resume else next(new))
                    for old, rec in zip(olds, recs, strict=True)]

        recorded = await asyncio.to_thread(record) if olds else []
        refs: dict[int, JobRef] = {}
        again: list[RunningJob] = []
        for old, (rec, new) in zip(olds, recorded, strict=True):
            if new is None:  # kept for resume: the same job, followed or sent
                job = RunningJob(ref=old.ref, resumed=True, notes=old.notes)
                if rec.provider_request_id:
                    job.submission = Submission.from_data(rec.submission)
                else:
                    job.request = rec.request
                book.hold(job)
                book.change(job, JobQueued(job.ref))
            else:
                job = book.hold(RunningJob(ref=job_ref(new), request=new.request,
                                           notes=old.notes))
                book.change(job, JobQueued(job.ref, retry_of=old.ref.job_id))
            refs[old.ref.job_id] = job.ref
            again.append(job)
        for job in again:
            self._start(job)
        return [refs.get(o.job_id, o) if isinstance(o, JobRef) else o for o in outcomes]

    # ------------------------------------------------------------------ uncertain jobs

    async def uncertain(self) -> tuple[JobView, ...]:
        for rec in await asyncio.to_thread(self._library.jobs.uncertain):
            if rec.id not in self._book:
                self._hold_uncertain(rec)
        return tuple(job.view() for job in self._book if job.state is JobState.UNCERTAIN)

    async def resend(self, job_id: int) -> JobRef:
        known = self._book.find(job_id)
        if known is not None and known.state is not JobState.UNCERTAIN:
            raise ValueError(f"job {job_id} is {known.state.value}; only an uncertain job is "
                             "sent again this way")
        job = await self._requeued(job_id)
        self._start(job)
        return job.ref

    async def forget(self, job_id: int) -> JobRef:
        rec = await self._uncertain_record(job_id, "forgotten")
        await asyncio.to_thread(self._library.jobs.cancel, job_id)
        job = self._book.find(job_id)
        if job is None or job.state is not JobState.UNCERTAIN:
            job = self._hold_uncertain(rec)
        self._book.change(job, JobCancelled(job.ref, True, "Forgotten: not sent again. If the "
                                            "provider did render it, it may still be billed."))
        return job.ref

    async def _uncertain_record(self, job_id: int, done_to_it: str) -> JobRecord:
        """The library's record of ``job_id``, which must be uncertain (else a sentence saying
        that only an uncertain job is ``done_to_it`` this way)."""
        rec = await asyncio.to_thread(self._library.jobs.get, job_id)
        if rec.state is not JobState.UNCERTAIN:
            raise ValueError(f"job {job_id} is {rec.state.value}; only an uncertain job is "
                             f"{done_to_it} this way")
        return rec

    async def _requeued(self, job_id: int) -> RunningJob:
        rec = await self._uncertain_record(job_id, "sent again")
        require_configured(self._providers, rec.provider)
        rec = await asyncio.to_thread(self._library.jobs.requeue, job_id)
        job = self._book.hold(RunningJob(ref=job_ref(rec), request=rec.request, resumed=True))
        self._book.change(job, JobQueued(job.ref))
        return job

    def _hold_uncertain(self, rec: JobRecord) -> RunningJob:
        """Hold an uncertain job of the library (listed, not started)."""
        return self._book.hold(RunningJob(ref=job_ref(rec), state=JobState.UNCERTAIN,
                                          error=rec.error, kind="uncertain",
                                          may_be_billed=True))


def _stopped_while_sending(job: RunningJob) -> str:
    return MayHaveBeenBilledError(
        job.ref.provider, "the studio stopped while its request was on the way, before the "
        "answer with the job's id was recorded").user_message(job.ref.scene)
