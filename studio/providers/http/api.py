"""How an adapter talks to its API: one request under the retry policy and its phase's deadline,
and its answer read into a JSON object or the typed error it means.

:class:`HttpApi` is the side of :class:`~studio.providers.http.provider.HttpProvider` an adapter
calls (``self.call``, ``self.request_json``, ``self.poll_json``, ``self.json_of``,
``self.error_of``, ``self.classify``, ``self.url``); it owns the exchanger (the client, where
the key may go), the retry policy and its backoff. The provider's lifecycle (the key, the
gate, following a job, cancelling) is the provider's own.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from studio.providers.base import Clock, Submission
from studio.providers.errors import (
    BadResponseError,
    MayHaveBeenBilledError,
    ProviderError,
    ProviderTimeout,
    ProviderUnreachable,
    Redactor,
    WebPageError,
    provider_name,
)
from studio.providers.http.classify import classify, first_text, rate_limit_wait
from studio.providers.http.exchange import (
    Answer,
    Auth,
    Deadlines,
    ExchangeFailed,
    Exchanger,
    NotSent,
    Phase,
)
from studio.providers.http.retry import RetryPolicy

#: Where an error answer words its message, in the order the APIs use them.
_MESSAGE_FIELDS = ("detail", "message", "messege", "error")


class HttpApi:
    """One API's requests and answers, for the adapter of ``provider_id``; see the module
    docstring. ``key`` is asked for the key when a request needs it; ``redactor`` for what
    takes it out of a log line."""

    def __init__(self, provider_id: str, base_url: str, *, auth: Auth, key: Callable[[], str],
                 deadlines: Deadlines, transport: httpx.AsyncBaseTransport | None,
                 max_connections: int, retry: RetryPolicy, clock: Clock, rng: random.Random,
                 redactor: Callable[[], Redactor]) -> None:
        self.clock: Clock = clock
        self.retry = retry
        self.deadlines = deadlines
        self._rng = rng
        self._redactor = redactor
        self._log = logging.getLogger(f"studio.providers.{provider_id}")
        self._api_id = provider_id
        self.exchanger = Exchanger(provider_id, base_url, auth=auth, key=key,
                                   deadlines=deadlines, transport=transport,
                                   max_connections=max_connections)
        self.base_url = self.exchanger.base_url

    def url(self, path: str) -> str:
        return self.exchanger.url(path)

    def same_origin(self, url: str | None) -> bool:
        return self.exchanger.same_origin(url)

    def _usable(self, url: str | None) -> str | None:
        """A job link from the API, when the key may go there and it does not carry the key
        (otherwise the adapter builds its own from the job id)."""
        if url and self.same_origin(url) and not self._redactor().contains(url):
            return url
        return None

    async def call(self, phase: Phase, method: str, url: str, *, json_body: Any = None,
                   content: bytes | None = None,
                   files: Mapping[str, tuple[str, bytes, str]] | None = None,
                   headers: Mapping[str, str] | None = None, authed: bool = True) -> Answer:
        """One request under the retry policy and the phase's deadline; the key attached
        (``authed``) only on the API's origin. Exchange failures become ProviderErrors: a
        submit that may have reached the API is :class:`MayHaveBeenBilledError`."""
        attempt = 0
        limit = self.retry.attempts_for(phase)
        while True:
            attempt += 1
            try:
                answer = await self.exchanger.send(phase, method, url, json_body=json_body,
                                                   content=content, files=files,
                                                   headers=headers, authed=authed)
            except ExchangeFailed as failure:
                if attempt < limit and self.retry.may_resend(phase, failure):
                    await self._backoff(attempt, None, failure.reason)
                    continue
                raise self._exchange_error(phase, failure) from None
            if attempt < limit and self.retry.retry_status(phase, answer.status):
                data = answer.json()
                text = first_text(data, *_MESSAGE_FIELDS) if isinstance(data, Mapping) else ""
                wait = rate_limit_wait(answer.headers, data, text, self.clock.wall())
                if wait is None or wait <= self.retry.max_retry_after:
                    await self._backoff(attempt, wait, f"HTTP {answer.status}")
                    continue
            return answer

    def _exchange_error(self, phase: Phase, failure: ExchangeFailed) -> ProviderError:
        pid = self._api_id
        if phase is Phase.SUBMIT:
            if isinstance(failure, NotSent):
                return ProviderUnreachable(pid, f"{failure.reason}; nothing was sent")
            return MayHaveBeenBilledError(pid, f"{failure.reason}, so the studio never "
                                          "learned the job's id")
        what = {Phase.POLL: "a status check", Phase.DOWNLOAD: "the image download",
                Phase.CANCEL: "the cancel request",
                Phase.UPLOAD: "the upload of a reference image"}[phase]
        kind = ProviderTimeout if failure.timed_out else ProviderUnreachable
        return kind(pid, f"{what} failed: {failure.reason}")

    async def _backoff(self, attempt: int, wait: float | None, why: str) -> None:
        delay = wait if wait is not None else self.retry.backoff(attempt, self._rng)
        self._log.info("%s: %s; trying again in %.1f s", provider_name(self._api_id),
                       self._redactor().text(why), delay)
        await self.clock.sleep(delay)

    async def request_json(self, phase: Phase, method: str, url: str, *,
                           json_body: Any = None,
                           error_text: Callable[[Answer], str] | None = None,
                           ) -> dict[str, Any]:
        """:meth:`call`, then the answer's JSON object; an error status raises the error it
        means (its message read by ``error_text`` where the API words errors its own way)."""
        answer = await self.call(phase, method, url, json_body=json_body)
        if answer.status >= 400:
            raise self.error_of(answer, error_text(answer) if error_text else "")
        return self.json_of(answer)

    async def poll_json(self, submission: Submission, fallback: str, *, method: str = "GET",
                        error_text: Callable[[Answer], str] | None = None) -> dict[str, Any]:
        """One status check of an accepted job, as JSON: at the poll URL the API named on
        acceptance (when the engine kept it), else at ``fallback``, the adapter's own."""
        return await self.request_json(Phase.POLL, method, submission.poll_url or fallback,
                                       error_text=error_text)

    def json_of(self, answer: Answer) -> dict[str, Any]:
        """The JSON object of an answer; for an error status without one, the error it means;
        BadResponseError for HTML, truncation or non-objects."""
        if 300 <= answer.status < 400:
            raise self.error_of(answer)  # never followed: the key would go along
        data = answer.json()
        if isinstance(data, dict):
            return data
        if answer.status >= 400:
            raise self.error_of(answer)
        what = answer.describe() if data is None else "JSON but not an object"
        kind = WebPageError if what.startswith("a web page") else BadResponseError
        raise kind(self._api_id, f"{answer.host} sent {what} (HTTP {answer.status})",
                   status_code=answer.status)

    def error_of(self, answer: Answer, message: str = "") -> ProviderError:
        """The typed error for an answer with an error status."""
        data = answer.json()
        if not message and isinstance(data, Mapping):
            message = first_text(data, *_MESSAGE_FIELDS, "title")
        if not message:
            message = f"HTTP {answer.status}" if data is not None or not answer.body.strip() \
                else f"{answer.describe()} (HTTP {answer.status})"
        return self.classify(answer.status, message, retry_after=rate_limit_wait(
            answer.headers, data, message, self.clock.wall()))

    def classify(self, status: int | None, message: str, *,
                 retry_after: float | None = None) -> ProviderError:
        return classify(self._api_id, status, message, retry_after=retry_after)
