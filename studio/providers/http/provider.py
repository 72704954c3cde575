"""The HTTP engine as a Provider: submit through the gate, follow, download, classify.

:class:`HttpProvider` does everything an image API over HTTP needs except knowing the API. An
adapter subclass says which API it speaks (see :mod:`studio.providers.http`): its address, how
the key travels, its model table, and three hooks that build requests and read answers.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import random
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import httpx

from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import JobState
from studio.core.references import ReferenceReader
from studio.core.request import GenerationRequest
from studio.providers.base import (
    Clock,
    EventCallback,
    Failed,
    GenerationResult,
    ModelChoice,
    Provider,
    ProviderEvent,
    SendJournal,
    Submission,
    SystemClock,
)
from studio.providers.errors import (
    AuthenticationError,
    BadResponseError,
    MayHaveBeenBilledError,
    ProviderError,
    ProviderFailedError,
    Redactor,
    Secrets,
    WebPageError,
    provider_name,
)
from studio.providers.http.api import HttpApi
from studio.providers.http.download import Downloader
from studio.providers.http.exchange import (
    Auth,
    Deadlines,
)
from studio.providers.http.follow import Follow, JobStatus, Pacing, Polling
from studio.providers.http.following import JobFollower
from studio.providers.http.gate import SubmitGate
from studio.providers.http.references import (
    ReferenceFile,
    StagedReferences,
    recorded,
    reference_fields,
)
from studio.providers.http.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class Accepted:
    """What a submit answer said: the job's id, its first status and the links to follow it
    (None where the API gave none, or gave one the engine will not use), and the body sent
    (without the key)."""

    request_id: str
    status: JobStatus
    body: Mapping[str, Any] = field(default_factory=dict)
    poll_url: str | None = None
    result_url: str | None = None
    cancel_url: str | None = None


class HttpProvider(HttpApi, Provider):
    """An image API over HTTP. Subclasses are adapters: they fill the class attributes and
    the hooks below and call :meth:`call` for every request (:class:`HttpApi`, the requests
    and answers); following a job is its :class:`JobFollower`'s."""

    id: ClassVar[str]
    default_base_url: ClassVar[str]
    auth: ClassVar[Auth]
    default_concurrency: ClassVar[int] = 2
    default_deadlines: ClassVar[Deadlines] = Deadlines()
    pacing: ClassVar[Pacing] = Pacing()
    #: The API answers a submit only when the image exists (no job id before it).
    creates_blocking: ClassVar[bool] = False
    #: The models a scene sending reference images renders with when the stage's model
    #: takes none (None: every model of the API takes them, or none does).
    reference_defaults: ClassVar[ModelChoice | None] = None

    def __init__(
        self,
        *,
        api_key: str | Callable[[], str | None] | None,
        base_url: str | None = None,
        concurrency: int | None = None,
        price_per_image: float | None = None,
        preview_model: str | None = None,
        final_model: str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | None = None,
        deadlines: Deadlines | None = None,
        retry: RetryPolicy | None = None,
        job_deadline: float = 600.0,
        rate_limit_patience: float = 300.0,
        secrets: Secrets | None = None,
        rng: random.Random | None = None,
        references: ReferenceReader | None = None,
    ) -> None:
        # A callable is asked once, on first use: looking a key up in the OS keychain costs
        # tens of milliseconds, which providers a command never uses should not pay.
        self._key_source = api_key
        self._secrets = secrets
        self._concurrency = max(1, concurrency or self.default_concurrency)
        self.price_per_image = price_per_image
        self._preview_model = preview_model
        self._final_model = final_model
        # Fixed once built (the models, their profiles and the price come from the
        # constructor): kept, since a sheet of thousands of scenes asks for them per request.
        self._model_choice: ModelChoice | None = None
        self._text_choice: ModelChoice | None = None
        self._capabilities: dict[str, ModelCapabilities] = {}
        clock = clock or SystemClock()
        rng = rng or random.Random()
        super().__init__(
            self.id, base_url or self.default_base_url, auth=self.auth, key=self._require_key,
            deadlines=(deadlines or self.default_deadlines).overridden(timeout),
            transport=transport, max_connections=self._concurrency * 2 + 4,
            retry=retry or RetryPolicy(), clock=clock, rng=rng, redactor=lambda: self.redactor)
        self.job_deadline = job_deadline
        self.gate = SubmitGate(self.id, self.clock, patience=rate_limit_patience)
        self.downloader = Downloader(self.id, self.exchanger, self.retry, self.clock,
                                     lambda: self.redactor, rng)
        self.follower = JobFollower(self)
        #: Reference images made ready for this API, by hash (see :mod:`.references`).
        self.staged = StagedReferences(self.id, references)

    # ------------------------------------------------------------ adapter hooks

    @abstractmethod
    def default_models(self) -> ModelChoice: ...

    @abstractmethod
    def model_ids(self) -> tuple[str, ...]: ...

    @abstractmethod
    def model_capabilities(self, model: str) -> ModelCapabilities:
        """The built-in profile of ``model`` (unknown ids get a conservative one)."""

    @abstractmethod
    async def send_job(self, request: GenerationRequest) -> Accepted:
        """Send the adapted request once (``self.call(Phase.SUBMIT, ...)``) and read the answer;
        raise the ProviderError it means when the API did not take the job."""

    async def check_job(self, submission: Submission) -> JobStatus:
        """Ask once how the job stands (``self.call(Phase.POLL, ...)``)."""
        raise BadResponseError(self.id, "the job has no result and no way to ask for it")

    async def stop_job(self, submission: Submission) -> bool:
        """Ask the API to stop the job; False when it has no way to."""
        return False

    async def stage_reference(self, file: ReferenceFile) -> str:
        """What one reference image becomes for this API (an upload's URL, a data URI,
        base64), made once per image and provider; a ``data:`` URI by default."""
        return file.data_uri()

    def follow_with(self, submission: Submission) -> Follow:
        """How this provider learns where a job stands: polling :meth:`check_job` by default;
        an API that pushes events returns its own :class:`Follow`."""
        return Polling(self.id, self.check_job, self.pacing, self.clock,
                       garbled_tolerated=self.retry.attempts - 1)

    # ------------------------------------------------------------ engine services for adapters

    def reference_body(self, request: GenerationRequest) -> tuple[dict[str, Any],
                                                                  dict[str, Any]]:
        """The fields carrying the request's reference images as the model declares them:
        as sent (the staged URLs or data) and as recorded (``sha256:<hash>`` each)."""
        refs = request.references
        if not refs:
            return {}, {}
        support = self.capabilities(request.model).references
        strength = request.reference_strength
        return (reference_fields(support, strength, self.staged.values(refs)),
                reference_fields(support, strength, [recorded(r) for r in refs]))

    # ------------------------------------------------------------ configuration

    def models(self) -> ModelChoice:
        if self._model_choice is None:
            default = self.default_models()
            self._model_choice = ModelChoice(preview=self._preview_model or default.preview,
                                             final=self._final_model or default.final)
        return self._model_choice

    def reference_models(self) -> ModelChoice | None:
        return self.reference_defaults

    def text_models(self) -> ModelChoice:
        if self._text_choice is None:
            self._text_choice = self.default_models()
        return self._text_choice

    def capabilities(self, model: str) -> ModelCapabilities:
        caps = self._capabilities.get(model)
        if caps is None:
            caps = self.model_capabilities(model)
            if self.price_per_image is not None:
                caps = replace(caps, price_per_image=self.price_per_image)
            self._capabilities[model] = caps
        return caps

    @functools.cached_property
    def _key(self) -> str | None:
        source = self._key_source
        key = (source() if callable(source) else source) or None
        if self._secrets is not None:
            self._secrets.add(key)
        return key

    @functools.cached_property
    def redactor(self) -> Redactor:
        return Redactor([self._key])

    @property
    def configured(self) -> bool:
        return self._key is not None

    @property
    def concurrency(self) -> int:
        return self._concurrency

    @property
    def blocking_create(self) -> bool:
        return self.creates_blocking

    def refusal(self) -> ProviderError | None:
        return self.gate.refused

    def warm_up(self) -> None:
        self.exchanger.client  # noqa: B018 - built for its side effect
        if self.base_url.startswith("https://"):
            # Reading the TLS trust store is tens of milliseconds of the first request; an
            # API on plain http (a local server) has it read only if a download needs TLS.
            self.exchanger.tls.load_trust()
        # httpcore imports its network layer (anyio) during the first request; on a thread
        # of its own that import overlaps the library's disk work instead of holding the
        # first request back.
        with contextlib.suppress(ImportError):
            importlib.import_module("httpcore._backends.anyio")
            importlib.import_module("anyio._backends._asyncio")

    def _require_key(self) -> str:
        if self._key is None:
            env = f"STUDIO_{self.id.upper()}_API_KEY"
            raise AuthenticationError(
                self.id, f"no API key is configured (set {env} or add one in Settings)")
        return self._key

    async def aclose(self) -> None:
        await self.exchanger.aclose()

    # ------------------------------------------------------------ submit

    async def _submit(self, request: GenerationRequest) -> Submission:
        return await self.submit(request)

    async def submit(self, request: GenerationRequest,
                     on_event: EventCallback | None = None,
                     journal: SendJournal | None = None) -> Submission:
        emit = on_event or _ignore
        try:
            self._require_key()
            adapted, notes = self.prepare(request)
            started = self.clock.monotonic()
            refs = adapted.references

            async def stage() -> None:
                await self.staged.stage(refs, self.stage_reference)

            accepted = await self.gate.submit(lambda: self._send_checked(adapted), emit,
                                              journal, stage if refs else None)
            elapsed = self.clock.monotonic() - started
        except ProviderError as exc:
            raise self._logged(exc.redacted(self.redactor)) from None
        self._log.info("%s accepted job %s for model %s", provider_name(self.id),
                       accepted.request_id, adapted.model)
        status = accepted.status
        redact = self.redactor.data
        return Submission(
            provider=self.id, model=adapted.model, request_id=accepted.request_id,
            submitted_at=self.clock.wall(), submit_seconds=elapsed,
            request_body=redact(dict(accepted.body)), notes=notes, seed=adapted.seed,
            width=adapted.width, height=adapted.height,
            poll_url=self._usable(accepted.poll_url),
            result_url=self._usable(accepted.result_url),
            cancel_url=self._usable(accepted.cancel_url),
            outputs=tuple(redact(list(status.outputs))), eta=status.eta,
            info=redact({"state": status.state.value, "position": status.position,
                         **({"references": len(refs)} if refs else {}), **status.info}),
            seed_returned=status.seed,
        )

    async def _send_checked(self, request: GenerationRequest) -> Accepted:
        try:
            accepted = await self.send_job(request)
        except WebPageError:
            raise  # something other than the API answered: it took nothing
        except BadResponseError as exc:
            if exc.status_code is not None and not 200 <= exc.status_code < 300:
                raise
            # The API said yes in a way the studio cannot read: it may have taken the job.
            raise MayHaveBeenBilledError(
                self.id, f"its answer could not be used ({exc.message})") from None
        status = accepted.status
        if status.state is JobState.FAILED:
            raise status.error or ProviderFailedError(self.id, "the job was refused")
        if not accepted.request_id or self.redactor.contains(accepted.request_id):
            # Accepted, maybe billed, but its id cannot be kept: a job id carrying the key is
            # never stored, printed or followed.
            why = ("answered without a job id to follow" if not accepted.request_id else
                   "answered with a job id that carries the API key, which the studio "
                   "neither stores nor follows")
            raise MayHaveBeenBilledError(self.id, why)
        return accepted

    # ------------------------------------------------------------ follow

    async def _follow(self, submission: Submission,
                      on_event: EventCallback | None) -> GenerationResult:
        emit = on_event or _ignore
        if submission.provider != self.id:
            raise ValueError(f"a {submission.provider} job cannot be followed on {self.id}")
        try:
            return await self.follower.follow(submission, emit)
        except ProviderError as exc:
            error = self._logged(exc.redacted(self.redactor))
            if error.request_id is None:
                error.request_id = submission.request_id
            emit(Failed(error))
            raise error from None

    # ------------------------------------------------------------ cancel

    async def cancel(self, submission: Submission) -> bool:
        try:
            return await self.stop_job(submission)
        except ProviderError as exc:
            raise self._logged(exc.redacted(self.redactor)) from None

    def _logged(self, error: ProviderError) -> ProviderError:
        self._log.warning("%s: %s", type(error).__name__, self.redactor.text(str(error)))
        return error


def _ignore(event: ProviderEvent) -> None:
    pass
