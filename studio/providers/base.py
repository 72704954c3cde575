"""The one async interface every provider implements, and the values that cross it.

A job goes ``submit`` → :class:`Submission` (JSON-serialisable; persist it before awaiting the
result) → ``follow`` → :class:`GenerationResult`. ``follow`` works from a Submission read back
in a new process, so a crashed render resumes polling instead of paying twice. Progress comes out
as frozen event dataclasses through a plain callback, or an async iterator (:func:`iter_events`);
no Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import Timings
from studio.core.request import GenerationRequest, Stage
from studio.providers.adapt import adapt
from studio.providers.errors import ProviderError

SUBMISSION_FORMAT = 1


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
class Done:
    result: GenerationResult


@dataclass(frozen=True, slots=True)
class Failed:
    error: ProviderError


ProviderEvent = Submitted | Queued | Processing | Downloading | Done | Failed
EventCallback = Callable[[ProviderEvent], None]


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
    """A job the provider accepted. Everything needed to follow, cancel or record it.

    ``request_body`` is the exact body sent, with the key redacted. ``outputs`` holds image
    references (URLs, ``data:`` URIs) when the submit answer already carried them. Serialise with
    :meth:`to_json`; :meth:`from_json` restores it in another process.
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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = SUBMISSION_FORMAT
        data["notes"] = list(self.notes)
        data["outputs"] = list(self.outputs)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Submission:
        version = data.get("format", SUBMISSION_FORMAT)
        if version != SUBMISSION_FORMAT:
            raise ValueError(f"unknown submission format {version!r}")
        names = {f for f in cls.__dataclass_fields__ if f != "format"}
        values = {k: v for k, v in data.items() if k in names}
        values["notes"] = tuple(values.get("notes", ()))
        values["outputs"] = tuple(values.get("outputs", ()))
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> Submission:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """One finished image, verified to decode, with everything needed to record it."""

    provider: str
    model: str
    request_id: str
    image: bytes = field(repr=False)
    format: str  # "png", "jpeg", "webp"
    width: int
    height: int
    seed: int | None
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
        return 1

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, tuple[str, ...]]:
        """The request as it will be sent, and notes on what was changed; raises
        :class:`~studio.providers.errors.InvalidRequestError` when it cannot be honoured."""
        return adapt(request, self.capabilities(request.model))

    def _slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """One of the provider's concurrency slots (none by default)."""
        return contextlib.nullcontext()

    @abstractmethod
    async def _submit(self, request: GenerationRequest) -> Submission: ...

    @abstractmethod
    async def _follow(
        self, submission: Submission, on_event: EventCallback | None
    ) -> GenerationResult: ...

    async def submit(self, request: GenerationRequest) -> Submission:
        """Check, adapt and send the request once. Raises a ProviderError on refusal."""
        async with self._slot():
            return await self._submit(request)

    async def follow(
        self, submission: Submission, on_event: EventCallback | None = None
    ) -> GenerationResult:
        """Wait for the job to finish and download its image. Never submits again; works
        from a Submission restored in another process. Emits progress, then Done or Failed."""
        async with self._slot():
            return await self._follow(submission, on_event)

    async def cancel(self, submission: Submission) -> bool:
        """Ask the provider to stop the job; False when it has no way to (the job may still
        finish and be billed). Cancel the task running :meth:`follow` to stop waiting."""
        return False

    async def generate(
        self, request: GenerationRequest, on_event: EventCallback | None = None
    ) -> GenerationResult:
        """Submit and follow, holding one of the provider's concurrency slots throughout.

        Emits :class:`Submitted` first (persist it), then progress, then Done or Failed.
        """
        emit = on_event or _ignore
        async with self._slot():
            try:
                submission = await self._submit(request)
            except ProviderError as exc:
                emit(Failed(exc))
                raise
            emit(Submitted(submission))
            return await self._follow(submission, on_event)

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
