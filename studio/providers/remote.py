"""What every HTTP provider shares: the client, concurrency slots, retries, polling, downloads.

Retries never double-bill: a submit POST is retried only when the provider certainly did not
take it (HTTP 429, or the connection was never made); polls and downloads retry on 5xx and
network errors with backoff and jitter. A job that has a provider request id is never sent
again: :meth:`RemoteProvider.follow` only polls and downloads.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import json
import logging
import random
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

import httpx

from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import Timings
from studio.core.request import GenerationRequest
from studio.providers.base import (
    Clock,
    Done,
    Downloading,
    EventCallback,
    Failed,
    GenerationResult,
    ModelChoice,
    Processing,
    Provider,
    ProviderEvent,
    Queued,
    Submission,
    SystemClock,
)
from studio.providers.errors import (
    AuthenticationError,
    BadResponseError,
    ContentFilteredError,
    InvalidRequestError,
    OutOfCreditsError,
    ProviderError,
    ProviderFailedError,
    ProviderTimeout,
    RateLimitedError,
    Redactor,
    RenderCancelled,
    provider_name,
)
from studio.providers.images import (
    MAX_IMAGE_BYTES,
    ImageRejected,
    VerifiedImage,
    b64decode,
    decode_data_uri,
    is_data_uri,
    looks_like_base64,
    unwrap,
    verify_image,
)

log = logging.getLogger("studio.providers")

MAX_JSON_BYTES = 48 * 1024 * 1024
MAX_REDIRECTS = 5  # sync answers may inline a data: URI image
_IMAGE_CONTENT_TYPES = ("image/", "application/octet-stream", "binary/octet-stream", "text/plain")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. ``max_retry_after`` bounds a server-requested wait."""

    attempts: int = 4
    submit_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter for retry ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class JobState:
    """A provider's answer about a job, in the shared vocabulary."""

    phase: Literal["queued", "processing", "done", "failed", "cancelled"]
    position: int | None = None
    eta: float | None = None
    outputs: tuple[str, ...] = ()
    seed: int | None = None
    error: ProviderError | None = None
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubmitAnswer:
    """What a provider's submit returned, before it becomes a :class:`Submission`."""

    request_id: str
    state: JobState
    poll_url: str | None = None
    result_url: str | None = None
    cancel_url: str | None = None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def first_text(data: Mapping[str, Any], *keys: str) -> str:
    """The first non-empty string (or a string inside a ``{"message": ...}``) under ``keys``."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, Mapping):
            value = value.get("message") or value.get("detail")
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value:
            return "; ".join(_detail_item(v) for v in value)
    return ""


def _detail_item(item: Any) -> str:
    if isinstance(item, Mapping):
        loc = item.get("loc")
        where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
        msg = str(item.get("msg") or item.get("message") or item)
        return f"{where}: {msg}" if where else msg
    return str(item)


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


class RemoteProvider(Provider):
    """An HTTP image API. Subclasses supply the wire format through the ``_`` hooks."""

    id: ClassVar[str]
    default_base_url: ClassVar[str]
    default_concurrency: ClassVar[int] = 2
    #: Longest wait before the first poll, whatever ETA the provider announces.
    first_poll_cap: ClassVar[float] = 30.0
    poll_interval: ClassVar[float] = 1.0
    poll_max_interval: ClassVar[float] = 10.0
    read_timeout: ClassVar[float] = 60.0

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
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        deadline: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        # A callable is asked once, on first use: looking a key up in the OS keychain costs
        # tens of milliseconds, which providers a command never uses should not pay.
        self._key_source = api_key
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self._base_host = httpx.URL(self.base_url).host
        self._concurrency = max(1, concurrency or self.default_concurrency)
        self._slots = asyncio.Semaphore(self._concurrency)
        self.price_per_image = price_per_image
        self._preview_model = preview_model
        self._final_model = final_model
        self.clock: Clock = clock or SystemClock()
        self._transport = transport
        self._timeout = timeout or httpx.Timeout(
            connect=15.0, read=self.read_timeout, write=30.0, pool=None
        )
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None
        self._log = logging.getLogger(f"studio.providers.{self.id}")

    # ------------------------------------------------------------ subclass hooks

    @abstractmethod
    def default_models(self) -> ModelChoice: ...

    @abstractmethod
    def model_ids(self) -> tuple[str, ...]: ...

    @abstractmethod
    def model_capabilities(self, model: str) -> ModelCapabilities:
        """The built-in profile of ``model`` (unknown ids get a conservative one)."""

    def capabilities(self, model: str) -> ModelCapabilities:
        caps = self.model_capabilities(model)
        if self.price_per_image is not None:
            caps = replace(caps, price_per_image=self.price_per_image)
        return caps

    @abstractmethod
    async def _submit_http(self, request: GenerationRequest) -> tuple[SubmitAnswer, dict[str, Any]]:
        """Send the adapted request once; return the answer and the body sent (with key)."""

    async def _poll(self, submission: Submission) -> JobState:
        """Ask how the job is doing. Providers that answer synchronously never get here."""
        raise BadResponseError(self.id, "the job has no result and no way to ask for it")

    # ------------------------------------------------------------ the interface

    def models(self) -> ModelChoice:
        default = self.default_models()
        return ModelChoice(
            preview=self._preview_model or default.preview,
            final=self._final_model or default.final,
        )

    @functools.cached_property
    def _key(self) -> str | None:
        source = self._key_source
        return (source() if callable(source) else source) or None

    @functools.cached_property
    def redactor(self) -> Redactor:
        return Redactor([self._key])

    @property
    def configured(self) -> bool:
        return self._key is not None

    @property
    def concurrency(self) -> int:
        return self._concurrency

    def _slot(self) -> asyncio.Semaphore:
        return self._slots

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # ------------------------------------------------------------ submit / follow

    def _require_key(self) -> str:
        if self._key is None:
            env = f"STUDIO_{self.id.upper()}_API_KEY"
            raise AuthenticationError(
                self.id, f"no API key is configured (set {env} or add one in Settings)"
            )
        return self._key

    async def _submit(self, request: GenerationRequest) -> Submission:
        try:
            self._require_key()
            adapted, notes = self.prepare(request)
            started = self.clock.monotonic()
            answer, body = await self._submit_http(adapted)
            elapsed = self.clock.monotonic() - started
        except ProviderError as exc:
            raise self._logged(exc.redacted(self.redactor)) from None
        state = answer.state
        if state.phase == "failed" and state.error is not None:
            raise self._logged(state.error.redacted(self.redactor))
        self._log.info(
            "%s accepted job %s for model %s", provider_name(self.id), answer.request_id,
            adapted.model,
        )
        return Submission(
            provider=self.id,
            model=adapted.model,
            request_id=answer.request_id,
            submitted_at=self.clock.wall(),
            submit_seconds=elapsed,
            request_body=self.redactor.data(body),
            notes=notes,
            seed=state.seed if state.seed is not None else adapted.seed,
            width=adapted.width,
            height=adapted.height,
            poll_url=answer.poll_url,
            result_url=answer.result_url,
            cancel_url=answer.cancel_url,
            outputs=state.outputs,
            eta=state.eta,
            info=self.redactor.data({"phase": state.phase, "position": state.position,
                                     **state.info}),
        )

    def _initial_state(self, submission: Submission) -> JobState:
        if submission.outputs:
            return JobState("done", outputs=submission.outputs, seed=submission.seed)
        phase = submission.info.get("phase")
        if phase == "done":
            return JobState("done")  # finished without an image: reported as such
        if phase == "queued":
            return JobState("queued", position=as_int(submission.info.get("position")))
        return JobState("processing", eta=submission.eta)

    async def _follow(
        self, submission: Submission, on_event: EventCallback | None
    ) -> GenerationResult:
        emit = on_event or _ignore
        if submission.provider != self.id:
            raise ValueError(f"a {submission.provider} job cannot be followed on {self.id}")
        try:
            return await self._follow_inner(submission, emit)
        except ProviderError as exc:
            error = self._logged(exc.redacted(self.redactor))
            if error.request_id is None:
                error.request_id = submission.request_id
            emit(Failed(error))
            raise error from None

    async def _follow_inner(
        self, submission: Submission, emit: EventCallback
    ) -> GenerationResult:
        clock = self.clock
        start = clock.monotonic()
        deadline = start + self.deadline
        processing_since: float | None = None
        last: ProviderEvent | None = None
        interval = self.poll_interval
        first = True
        failures = 0
        state = self._initial_state(submission)
        while True:
            event: ProviderEvent | None = None
            if state.phase == "queued":
                event = Queued(state.position)
            elif state.phase == "processing":
                event = Processing(state.eta)
                if processing_since is None:
                    processing_since = clock.monotonic()
            elif state.phase == "failed":
                raise state.error or ProviderFailedError(self.id, "the job failed")
            elif state.phase == "cancelled":
                raise state.error or RenderCancelled(self.id, "the job was cancelled")
            elif state.phase == "done":
                if state.outputs:
                    break
                raise BadResponseError(self.id, "the job finished without an image")
            if event is not None and event != last:
                emit(event)
                last = event
            if first and state.eta is not None:
                delay = min(max(state.eta, 0.0), self.first_poll_cap)
            else:
                delay = interval
                interval = min(interval * 1.5, self.poll_max_interval)
            first = False
            if clock.monotonic() + delay > deadline:
                raise ProviderTimeout(
                    self.id,
                    f"the job was not finished after {round(self.deadline)} seconds",
                    request_id=submission.request_id,
                )
            await clock.sleep(delay)
            try:
                state = await self._poll(submission)
                failures = 0
            except (BadResponseError, ProviderFailedError, ProviderTimeout,
                    RateLimitedError) as exc:
                # The job is accepted and may well finish: a garbled or failed status check is
                # worth a few more tries before the render is given up.
                failures += 1
                if failures >= self.retry.attempts:
                    raise
                self._log.info("%s: status check failed (%s); trying again",
                               provider_name(self.id), self.redactor.text(str(exc)))

        ready = clock.monotonic()
        emit(Downloading(self._source_label(state.outputs[0])))
        image = await self._download_first(state.outputs)
        finished = clock.monotonic()
        if processing_since is None:
            queue, processing = 0.0, ready - start
        else:
            queue, processing = processing_since - start, ready - processing_since
        price = self.capabilities(submission.model).price_per_image
        result = GenerationResult(
            provider=self.id,
            model=submission.model,
            request_id=submission.request_id,
            image=image.data,
            format=image.format,
            width=image.width,
            height=image.height,
            seed=state.seed if state.seed is not None else submission.seed,
            timings=Timings(
                submit=submission.submit_seconds,
                queue=queue,
                processing=processing,
                download=finished - ready,
            ),
            request_body=submission.request_body,
            notes=submission.notes,
            cost=price,
            info=self.redactor.data(dict(state.info)),
        )
        emit(Done(result))
        self._log.info(
            "%s job %s done: %dx%d %s", provider_name(self.id), submission.request_id,
            image.width, image.height, image.format,
        )
        return result

    def _logged(self, error: ProviderError) -> ProviderError:
        self._log.warning("%s: %s", type(error).__name__, self.redactor.text(str(error)))
        return error

    # ------------------------------------------------------------ HTTP

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                limits=httpx.Limits(
                    max_connections=self._concurrency * 2 + 4,
                    max_keepalive_connections=self._concurrency + 2,
                ),
                transport=self._transport,
                follow_redirects=False,
                headers={"User-Agent": "character-sheet-studio"},
            )
        return self._client

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def same_host(self, url: str | None) -> bool:
        """Whether ``url`` points at the configured API host (safe to send the key to)."""
        if not url:
            return False
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            return False
        return parsed.host == self._base_host and parsed.scheme in ("https", "http") and (
            parsed.scheme == "https" or self.base_url.startswith("http://")
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        submit: bool = False,
    ) -> tuple[httpx.Response, bytes]:
        """Send with the retry rules above; returns the final response and its body."""
        attempts = self.retry.submit_attempts if submit else self.retry.attempts
        attempt = 0
        what = "the request" if submit else "a status check"
        while True:
            attempt += 1
            try:
                response, body = await self._send_once(method, url, json_body, headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # The request never left: safe to send again, even a submit.
                if attempt < attempts:
                    await self._backoff(attempt, None, f"cannot connect ({type(exc).__name__})")
                    continue
                raise ProviderFailedError(
                    self.id, f"cannot connect to {self._host_of(url)} ({self._exc_text(exc)})"
                ) from None
            except httpx.TimeoutException:
                if submit or attempt >= attempts:
                    extra = " (the job may still have been accepted)" if submit else ""
                    raise ProviderTimeout(
                        self.id, f"no answer to {what} in time{extra}"
                    ) from None
                await self._backoff(attempt, None, "timed out")
                continue
            except httpx.TransportError as exc:
                if submit or attempt >= attempts:
                    extra = "; the job may still have been accepted" if submit else ""
                    raise ProviderFailedError(
                        self.id,
                        f"the connection broke during {what} ({self._exc_text(exc)}){extra}",
                    ) from None
                await self._backoff(attempt, None, type(exc).__name__)
                continue
            status = response.status_code
            if status == 429 or (status >= 500 and not submit):
                wait = self.retry_after(response, body)
                if attempt < attempts and (wait is None or wait <= self.retry.max_retry_after):
                    await self._backoff(attempt, wait, f"HTTP {status}")
                    continue
            return response, body

    async def _send_once(
        self,
        method: str,
        url: str,
        json_body: Any,
        headers: Mapping[str, str] | None,
    ) -> tuple[httpx.Response, bytes]:
        request = self.client.build_request(
            method, url, json=json_body, headers=dict(headers or {})
        )
        response = await self.client.send(request, stream=True)
        try:
            body = await self._read_capped(response, MAX_JSON_BYTES,
                                           "the answer is far too large")
            return response, body
        finally:
            await response.aclose()

    async def _backoff(self, attempt: int, wait: float | None, why: str) -> None:
        delay = wait if wait is not None else self.retry.backoff(attempt, self._rng)
        self._log.info("%s: %s; retrying in %.1f s", provider_name(self.id), why, delay)
        await self.clock.sleep(delay)

    def retry_after(self, response: httpx.Response, body: bytes) -> float | None:
        """The wait a response asks for: Retry-After header, else a ``retry_after`` body field."""
        wait = parse_retry_after(response.headers.get("retry-after"), self.clock.wall())
        if wait is not None:
            return wait
        data = self._try_json(body)
        if isinstance(data, Mapping):
            return as_float(data.get("retry_after"))
        return None

    @staticmethod
    def _try_json(body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError:
            return None

    def parse_json(self, response: httpx.Response, body: bytes) -> dict[str, Any]:
        """The JSON object in a response; BadResponseError for HTML, truncation or non-objects."""
        ctype = response.headers.get("content-type", "").lower()
        try:
            data = json.loads(body)
        except ValueError:
            if "html" in ctype or body.lstrip()[:1] == b"<":
                what = "a web page instead of JSON"
            elif not body.strip():
                what = "an empty answer"
            else:
                what = "JSON that breaks off or is malformed"
            raise BadResponseError(
                self.id,
                f"{self._host_of(str(response.request.url))} sent {what} "
                f"(HTTP {response.status_code})",
                status_code=response.status_code,
            ) from None
        if not isinstance(data, dict):
            raise BadResponseError(
                self.id, f"the answer was JSON but not an object (HTTP {response.status_code})",
                status_code=response.status_code,
            )
        return data

    def http_error(
        self, response: httpx.Response, body: bytes, message: str = ""
    ) -> ProviderError:
        """The typed error for an HTTP error status (used when the body has no better signal)."""
        status = response.status_code
        data = self._try_json(body)
        if not message and isinstance(data, Mapping):
            message = first_text(data, "detail", "message", "messege", "error", "title")
        if not message:
            message = f"HTTP {status}"
        return self.classify(status, message, retry_after=self.retry_after(response, body))

    def classify(
        self, status: int | None, message: str, *, retry_after: float | None = None
    ) -> ProviderError:
        """A typed error from an HTTP status and/or the provider's message text."""
        lower = message.lower()
        pid = self.id
        if status == 429 or "rate limit" in lower or "too many requests" in lower \
                or "throttled" in lower:
            return RateLimitedError(pid, message, retry_after=retry_after, status_code=status)
        if status == 402 or "credit" in lower or "billing" in lower or "balance" in lower \
                or "subscription" in lower or "quota" in lower:
            return OutOfCreditsError(pid, message, status_code=status)
        if status in (401, 403) or "api key" in lower or "unauthori" in lower \
                or "unauthenticated" in lower or "auth token" in lower:
            return AuthenticationError(pid, message, status_code=status)
        if "nsfw" in lower or "safety" in lower or "content policy" in lower:
            return ContentFilteredError(pid, message, status_code=status)
        if status in (400, 404, 413, 422) or (status is None and _looks_invalid(lower)):
            return InvalidRequestError(pid, message, status_code=status)
        if status is not None and 300 <= status < 400:
            return BadResponseError(pid, f"unexpected redirect (HTTP {status})",
                                    status_code=status)
        if status is not None and status >= 500:
            return ProviderFailedError(pid, f"{message} (HTTP {status})", status_code=status)
        return ProviderFailedError(pid, message, status_code=status)

    @staticmethod
    def _host_of(url: str) -> str:
        try:
            return httpx.URL(url).host or url
        except (httpx.InvalidURL, TypeError):
            return "the provider"

    def _exc_text(self, exc: BaseException) -> str:
        return self.redactor.text(str(exc) or type(exc).__name__)

    # ------------------------------------------------------------ downloads

    def _source_label(self, ref: str) -> str:
        if is_data_uri(ref) or not ref.startswith(("http://", "https://")):
            return "inline"
        return self._host_of(ref)

    def _plain_http_allowed(self, host: str) -> bool:
        return is_loopback(host) or (host == self._base_host and self.base_url.startswith("http:"))

    async def _download_first(self, refs: Sequence[str]) -> VerifiedImage:
        """The first reference that yields a valid image; the last error otherwise."""
        error: ProviderError | None = None
        for ref in refs:
            try:
                data = await self._fetch(ref)
                return await asyncio.to_thread(self._verify, data)
            except ProviderError as exc:
                error = exc
        assert error is not None
        raise error

    def _verify(self, data: bytes) -> VerifiedImage:
        try:
            return verify_image(unwrap(data))
        except ImageRejected as exc:
            raise BadResponseError(self.id, str(exc)) from None

    async def _fetch(self, ref: str) -> bytes:
        try:
            if is_data_uri(ref):
                return decode_data_uri(ref)
            if not ref.startswith(("http://", "https://")):
                raw = ref.encode("ascii", "ignore")
                if looks_like_base64(raw):
                    return b64decode(raw)
                raise BadResponseError(self.id, "the image reference is neither a link nor data")
        except ImageRejected as exc:
            raise BadResponseError(self.id, str(exc)) from None
        url = httpx.URL(ref)
        self._check_download_url(url)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._stream_image(url)
            except _Retryable as exc:
                if attempt >= self.retry.attempts:
                    raise exc.error from None
                await self._backoff(attempt, exc.wait, str(exc.error))
            except httpx.TimeoutException:
                if attempt >= self.retry.attempts:
                    raise ProviderTimeout(self.id, "the image download took too long") from None
                await self._backoff(attempt, None, "download timed out")
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts:
                    raise ProviderFailedError(
                        self.id, f"the image download broke off ({self._exc_text(exc)})"
                    ) from None
                await self._backoff(attempt, None, type(exc).__name__)

    def _check_download_url(self, url: httpx.URL) -> None:
        if url.scheme not in ("https", "http") or (
            url.scheme == "http" and not self._plain_http_allowed(url.host)
        ):
            raise BadResponseError(
                self.id, f"refused to download the image over plain {url.scheme} from {url.host}"
            )

    async def _stream_image(self, url: httpx.URL) -> bytes:
        # CDNs and signed storage links redirect; every hop is checked like the first.
        for _hop in range(MAX_REDIRECTS + 1):
            async with self.client.stream("GET", url) as response:  # never with the key
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    url = url.join(location)
                    self._check_download_url(url)
                    continue
                return await self._read_image(url.host, response)
        raise BadResponseError(self.id, "the image link redirects too many times")

    async def _read_image(self, host: str, response: httpx.Response) -> bytes:
        status = response.status_code
        if status >= 500 or status == 429:
            raise _Retryable(
                ProviderFailedError(self.id, f"the image server {host} answered HTTP {status}"),
                parse_retry_after(response.headers.get("retry-after"), self.clock.wall()),
            )
        if status in (404, 410):
            raise BadResponseError(
                self.id, f"the image link on {host} is gone (HTTP {status}); it may have "
                "expired", status_code=status,
            )
        if status != 200:
            raise BadResponseError(
                self.id, f"the image link on {host} answered HTTP {status}", status_code=status,
            )
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and not ctype.startswith(_IMAGE_CONTENT_TYPES):
            raise BadResponseError(
                self.id, f"the image link on {host} returned {ctype}, not an image"
            )
        # Base64 text (ModelsLab's base64 output links) is 4/3 the size of the image it carries.
        cap = MAX_IMAGE_BYTES * 4 // 3 + 1024 if ctype.startswith("text/") else MAX_IMAGE_BYTES
        return await self._read_capped(response, cap, "the image is larger than 32 MB")

    async def _read_capped(self, response: httpx.Response, cap: int, too_large: str) -> bytes:
        """The streamed body, refused as soon as it (or its announced length) passes ``cap``."""
        length = as_int(response.headers.get("content-length"))
        if length is not None and length > cap:
            raise BadResponseError(self.id, too_large)
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > cap:
                raise BadResponseError(self.id, too_large)
        return bytes(data)


_INVALID_WORDS = ("must be", "is required", "invalid", "not found", "not supported",
                  "unsupported", "out of range", "too long", "too large")


def _looks_invalid(message: str) -> bool:
    """Whether an error text in an HTTP 200 body is about the request itself."""
    return any(word in message for word in _INVALID_WORDS)


class _Retryable(Exception):
    def __init__(self, error: ProviderError, wait: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


def _ignore(event: ProviderEvent) -> None:
    pass
