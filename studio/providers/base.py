"""The one async interface every provider implements, and the values that cross it.

A job goes ``submit`` → :class:`Submission` (persist it before awaiting the result) →
``follow`` → :class:`GenerationResult`. ``follow`` works from a Submission read back in a new
process, so a crashed render resumes following instead of paying twice. Progress comes out as
frozen event dataclasses through a plain callback, or an async iterator (:func:`iter_events`);
no Qt here.

Concurrency is not the provider's business: the render queue decides how many jobs of a
provider run at once (``Provider.concurrency`` is its default).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from studio.core import codec
from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import JobState, Timings
from studio.core.request import GenerationRequest, Stage
from studio.providers.adapt import adapt, reference_model
from studio.providers.errors import ProviderError
from studio.providers.images import preload_decoder

# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Submitted:
    """The provider accepted the job; persist ``submission`` now to resume after a crash."""

    submission: Submission


@dataclass(frozen=True, slots=True)
class Queued:
    """Waiting in the provider's queue; ``position`` is 0-based when the provider says it."""

    position: int | None = None


@dataclass(frozen=True, slots=True)
class Processing:
    """Being generated; ``eta`` in seconds when the provider announces one."""

    eta: float | None = None


@dataclass(frozen=True, slots=True)
class Downloading:
    """The image is ready and being fetched (``source`` is the host or ``inline``)."""

    source: str = ""


@dataclass(frozen=True, slots=True)
class Throttled:
    """The provider's rate limit holds the submit back for about ``seconds``; ``hint`` says
    so in words ("resets in about 30 s"). ``fresh`` when a throttled answer just came (each job
    waiting on a limit already announced says so too, not fresh)."""

    seconds: float
    hint: str = ""
    fresh: bool = False


@dataclass(frozen=True, slots=True)
class Done:
    result: GenerationResult


@dataclass(frozen=True, slots=True)
class Failed:
    error: ProviderError


ProviderEvent = Submitted | Throttled | Queued | Processing | Downloading | Done | Failed
EventCallback = Callable[[ProviderEvent], None]
#: Awaited by a submit with ``JobState.SENDING`` right before its request leaves (write it down
#: first: a crash from then on may leave a billed job without an id) and ``JobState.QUEUED``
#: when the request came back refused for a rate limit and waits to be sent again.
SendJournal = Callable[[JobState], Awaitable[None]]


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A provider's default model per stage."""

    preview: str
    final: str

    def for_stage(self, stage: Stage) -> str:
        return self.final if stage is Stage.FINAL else self.preview


@dataclass(frozen=True, slots=True)
class Submission:
    """A job the provider accepted: everything needed to follow, cancel or record it, with
    nothing secret in it (persisted through :mod:`studio.core.codec`).

    ``request_body`` is the body sent, without the key. ``seed`` is the seed sent;
    ``seed_returned`` one the provider confirmed in its submit answer. ``outputs`` holds image
    references when the submit answer already carried them; ``info`` what the provider's
    engine needs besides (its first status, under ``state``).
    """

    provider: str
    model: str
    request_id: str
    submitted_at: float  # wall-clock seconds since the epoch
    submit_seconds: float
    request_body: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    seed: int | None = None
    width: int = 0
    height: int = 0
    poll_url: str | None = None
    result_url: str | None = None
    cancel_url: str | None = None
    outputs: tuple[str, ...] = ()
    eta: float | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    seed_returned: int | None = None

    def to_data(self) -> dict[str, Any]:
        """The JSON form kept in the job journal."""
        data: dict[str, Any] = codec.to_data(self)
        return data

    @classmethod
    def from_data(cls, data: Any) -> Submission:
        """A Submission from its journal form (``codec.CodecError`` when damaged); older forms
        with extra keys still load."""
        return codec.from_data(cls, data)


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """One finished image, verified to decode, with everything needed to record it.

    ``seed_returned`` is the seed the provider confirmed it used (a result field, its logs, its
    metadata); None when it confirmed none. It is never a copy of the seed sent.
    """

    provider: str
    model: str
    request_id: str
    image: bytes = field(repr=False)
    format: str  # "png", "jpeg", "webp"
    width: int
    height: int
    seed_returned: int | None
    timings: Timings
    request_body: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    cost: float | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mime_type(self) -> str:
        return f"image/{self.format}"


# ---------------------------------------------------------------- clock


class Clock(Protocol):
    """Time as the providers see it; tests inject one whose sleeps return at once."""

    def monotonic(self) -> float: ...

    def wall(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


# ---------------------------------------------------------------- the interface


class Provider(ABC):
    """One image API. Subclasses implement the wire format; the flow is shared."""

    id: ClassVar[str]

    @abstractmethod
    def models(self) -> ModelChoice:
        """Default model per stage (from settings where the user changed them)."""

    @abstractmethod
    def model_ids(self) -> tuple[str, ...]:
        """Every model this provider knows capabilities for."""

    @abstractmethod
    def capabilities(self, model: str) -> ModelCapabilities:
        """What ``model`` can honour; unknown ids get a conservative profile."""

    @property
    def configured(self) -> bool:
        """Whether the provider can be used now (a key is present, or none is needed)."""
        return True

    @property
    def concurrency(self) -> int:
        """How many jobs the render queue runs at once on this provider by default."""
        return 1

    @property
    def blocking_create(self) -> bool:
        """Whether the API answers a submit only once the image exists (no job id before):
        such a submit cut off is *uncertain*, and closing a window does not wait for it."""
        return False

    def reference_models(self) -> ModelChoice | None:
        """The models that take reference images, per stage, that a scene sending some
        renders with when the stage's default model takes none (None: no such switch)."""
        return None

    def text_models(self) -> ModelChoice:
        """The models that render from the prompt alone, per stage (for a scene that sends no
        reference to a model that needs one)."""
        return self.models()

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, tuple[str, ...]]:
        """The request as it will be sent, and notes on what was changed; raises
        :class:`~studio.providers.errors.InvalidRequestError` when it cannot be honoured.
        Idempotent: a prepared request prepares unchanged."""
        models, text, refs = self.models(), self.text_models(), self.reference_models()
        chosen, notes = reference_model(
            request, self.capabilities,
            defaults=(models.preview, models.final, text.preview, text.final),
            reference_models=None if refs is None else refs.for_stage,
            text_model=text.for_stage)
        adapted, more = adapt(chosen, self.capabilities(chosen.model))
        return adapted, (*notes, *more)

    def warm_up(self) -> None:  # noqa: B027 - optional hook, nothing to prepare by default
        """Prepare what the first request needs (an HTTP client and its TLS trust store) ahead
        of time; blocking, safe to run in a worker thread, also while jobs start (the first
        request waits for what it is preparing)."""

    def prepare_images(self) -> None:
        """Load what checking this provider's images needs (the image decoder) in the
        background; called once a batch's requests have left, while the provider works."""
        preload_decoder()

    def refusal(self) -> ProviderError | None:
        """Why the provider would refuse to send anything now (its key was refused), or None;
        lets the queue report jobs not sent without journaling them as sending."""
        return None

    @abstractmethod
    async def _submit(self, request: GenerationRequest) -> Submission: ...

    @abstractmethod
    async def _follow(
        self, submission: Submission, on_event: EventCallback | None
    ) -> GenerationResult: ...

    async def submit(self, request: GenerationRequest,
                     on_event: EventCallback | None = None,
                     journal: SendJournal | None = None) -> Submission:
        """Check, adapt and send the request once. Raises a ProviderError on refusal;
        :class:`~studio.providers.errors.MayHaveBeenBilledError` when it went out and no usable
        answer came back. ``on_event`` hears :class:`Throttled` waits; ``journal`` is awaited
        right before the request leaves (see :data:`SendJournal`)."""
        if journal is not None:
            await journal(JobState.SENDING)
        return await self._submit(request)

    async def follow(
        self, submission: Submission, on_event: EventCallback | None = None
    ) -> GenerationResult:
        """Wait for the job to finish and download its image. Never submits again; works
        from a Submission restored in another process. Emits progress, then Done or Failed."""
        return await self._follow(submission, on_event)

    async def find_sent(self, request: GenerationRequest, since: float) -> Submission | None:
        """A job found *sending* after a restart (its request may have left at wall time
        ``since``, and no answer was recorded): the provider's record of it when its API lets a
        client find a job without its id, else None, and the job is uncertain. None of the
        hosted APIs allows that; a server that takes a client-chosen job id could."""
        return None

    async def cancel(self, submission: Submission) -> bool:
        """Ask the provider to stop the job; False when it has no way to (the job may still
        finish and be billed). Cancel the task running :meth:`follow` to stop waiting."""
        return False

    async def generate(
        self, request: GenerationRequest, on_event: EventCallback | None = None
    ) -> GenerationResult:
        """Submit and follow. Emits :class:`Submitted` first (persist it), then progress,
        then Done or Failed."""
        emit = on_event or _ignore
        try:
            submission = await self.submit(request, on_event)
        except ProviderError as exc:
            emit(Failed(exc))
            raise
        emit(Submitted(submission))
        return await self.follow(submission, on_event)

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release network resources."""


def _ignore(event: ProviderEvent) -> None:
    pass


async def iter_events(
    run: Callable[[EventCallback], Awaitable[GenerationResult]],
) -> AsyncIterator[ProviderEvent]:
    """Progress of ``run`` as an async iterator, ending after Done or Failed.

    ``run`` receives the callback to pass on, e.g.
    ``iter_events(lambda cb: provider.generate(request, cb))``. Errors end the iteration after
    their Failed event; they are not raised again here.
    """
    queue: asyncio.Queue[ProviderEvent | None] = asyncio.Queue()
    task = asyncio.ensure_future(run(queue.put_nowait))
    task.add_done_callback(lambda _t: queue.put_nowait(None))
    try:
        while (event := await queue.get()) is not None:
            yield event
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(ProviderError, asyncio.CancelledError):
            await task
