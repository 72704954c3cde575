"""One HTTP exchange, bounded as a whole: the client factory and its limits, per-phase deadlines,
where the key may travel, and what became of a request that got no answer.

Per-read timeouts cannot stop a server that sends one byte every few seconds, so every exchange
(connect, send, every read of the body) runs under one deadline for its phase. When it fails,
the caller learns whether the request certainly never reached the server (:class:`NotSent`: a
connection that was never made) or may have (:class:`NoAnswer`): only the first may ever be sent
again as a submit.

The API key goes only to the configured API origin (scheme, host and port) and the few origins
an adapter declares as the API's own (fal's storage API), only on requests that ask for it, and
never across a redirect (redirects are not followed here).
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import httpx

from studio.providers.bodies import BodyTooLarge, read_whole
from studio.providers.errors import BadResponseError, ProviderFailedError
from studio.providers.http.tls import TrustOnFirstUse

#: The largest JSON answer read from any API (a sync answer may inline a base64 image).
MAX_JSON_BYTES = 48 * 1024 * 1024
USER_AGENT = "character-sheet-studio"


class Phase(StrEnum):
    """What an exchange is for; each has its own deadline and retry rule."""

    SUBMIT = "submit"
    POLL = "poll"
    DOWNLOAD = "download"
    CANCEL = "cancel"
    #: Putting a reference image where the API can read it (bills nothing; safe to repeat).
    UPLOAD = "upload"


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Seconds one whole exchange (connect, send and every read) may take, per phase."""

    submit: float = 30.0
    poll: float = 30.0
    download: float = 120.0

    def of(self, phase: Phase) -> float:
        if phase is Phase.SUBMIT:
            return self.submit
        if phase in (Phase.DOWNLOAD, Phase.UPLOAD):
            return self.download
        return self.poll

    def overridden(self, seconds: float | None) -> Deadlines:
        """Every phase bounded by ``seconds`` (``STUDIO_<ID>_TIMEOUT`` or Settings), if given."""
        if seconds is None:
            return self
        return replace(self, submit=seconds, poll=seconds, download=seconds)


@dataclass(frozen=True, slots=True)
class Auth:
    """How an API takes its key: a header (``template`` holds ``{key}``) or a JSON body field."""

    header: str = ""
    template: str = "{key}"
    body_field: str = ""

    @classmethod
    def in_header(cls, name: str, template: str = "{key}") -> Auth:
        return cls(header=name, template=template)

    @classmethod
    def in_body(cls, field: str) -> Auth:
        return cls(body_field=field)


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete HTTP answer: status, headers (lower-case names) and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    @property
    def host(self) -> str:
        return host_of(self.url)

    def json(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None

    def describe(self) -> str:
        """What the body is, for a sentence: "a web page instead of JSON" and the like."""
        ctype = self.headers.get("content-type", "").lower()
        if "html" in ctype or self.body.lstrip()[:1] == b"<":
            return "a web page instead of JSON"
        if not self.body.strip():
            return "an empty answer"
        return "JSON that breaks off or is malformed"


class ExchangeFailed(Exception):
    """An exchange ended without a complete answer; ``reason`` says how, in plain words."""

    def __init__(self, phase: Phase, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.phase = phase
        self.reason = reason
        self.timed_out = timed_out


class NotSent(ExchangeFailed):
    """The request certainly never reached the server (no connection was made)."""


class NoAnswer(ExchangeFailed):
    """The request was (or may have been) sent, but no complete answer came back."""


def host_of(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except (httpx.InvalidURL, TypeError):
        return "the provider"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"https": 443, "http": 80}.get(url.scheme)
    return url.scheme, url.host, url.port or default


@functools.lru_cache(maxsize=512)
def _origin_of(url: str) -> tuple[str, str, int | None]:
    """The origin of ``url`` as httpx reads it (the one it would connect to); a job's links
    are checked more than once (kept on acceptance, then keyed on each status check).
    Raises httpx.InvalidURL or TypeError for one that is not a URL."""
    return _origin(httpx.URL(url))


class Exchanger:
    """The provider's HTTP client and the rules every request of it follows."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        auth: Auth,
        key: Callable[[], str],
        deadlines: Deadlines,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 16,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._base = httpx.URL(self.base_url)
        self.auth = auth
        self._key = key
        self.deadlines = deadlines
        self._transport = transport
        self._max_connections = max_connections
        self._client: httpx.AsyncClient | None = None
        self._client_lock = threading.Lock()
        self._also: set[tuple[str, str, int | None]] = set()
        #: Read its trust store only if a TLS connection is made (or warm-up asks).
        self.tls = TrustOnFirstUse()

    def trust(self, url: str) -> None:
        """Count ``url``'s origin as the API's own too (an adapter's second API host, such as
        fal's storage API): the key may go there."""
        self._also.add(_origin(httpx.URL(url)))

    @property
    def client(self) -> httpx.AsyncClient:
        client = self._client
        if client is None:
            # The warm-up thread may be building it right now: the first request waits for
            # that one rather than building a second.
            with self._client_lock:
                if self._client is None:
                    self._client = self._new_client()
                client = self._client
        return client

    def _new_client(self) -> httpx.AsyncClient:
        longest = max(self.deadlines.submit, self.deadlines.poll, self.deadlines.download)
        return httpx.AsyncClient(
            # The deadline of each exchange is what bounds it; these only stop a stuck
            # connect early and keep httpx from its own 5 s default.
            timeout=httpx.Timeout(longest, connect=min(15.0, longest)),
            limits=httpx.Limits(max_connections=self._max_connections,
                                max_keepalive_connections=self._max_connections),
            transport=self._transport,
            verify=self.tls,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def same_origin(self, url: str | None) -> bool:
        """Whether ``url`` is on the configured API origin (the only place the key may go)."""
        if not url:
            return False
        try:
            origin = _origin_of(url)
        except (httpx.InvalidURL, TypeError):
            return False
        return origin == _origin(self._base) or origin in self._also

    def _with_key(self, url: str, json_body: Any, headers: dict[str, str]) -> Any:
        if not self.same_origin(url):
            raise ProviderFailedError(
                self.provider, f"the studio refused to send the API key to {host_of(url)}, "
                "which is not the configured address of the API; nothing was sent")
        key = self._key()
        if self.auth.header:
            headers[self.auth.header] = self.auth.template.format(key=key)
        if self.auth.body_field:
            json_body = {self.auth.body_field: key, **(json_body or {})}
        return json_body

    async def send(
        self,
        phase: Phase,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        authed: bool = False,
        cap: int | Callable[[httpx.Response], int] = MAX_JSON_BYTES,
        check: Callable[[httpx.Response], None] | None = None,
        too_large: str | None = None,
    ) -> Answer:
        """Send once and read the whole answer within the phase's deadline.

        ``content`` sends raw bytes instead of JSON (an upload); ``files`` sends a multipart
        form of ``{part: (file name, bytes, content type)}``. ``authed`` attaches the key
        (refused off the API origin). ``check`` may look at the
        status and headers before the body is read and raise a ProviderError; ``cap`` (bytes,
        or a function of the response) bounds the body, ``too_large`` is the sentence when it
        passes. Raises :class:`NotSent` or :class:`NoAnswer`; never retries.
        """
        all_headers = dict(headers or {})
        if authed:
            json_body = self._with_key(url, json_body, all_headers)
        sent = False

        async def trace(event: str, info: Mapping[str, Any]) -> None:
            nonlocal sent
            # Once the request line goes out, the server may act on it.
            if ".send_request_headers." in event:
                sent = True

        deadline = self.deadlines.of(phase)
        try:
            async with asyncio.timeout(deadline):
                request = self.client.build_request(
                    method, url, json=json_body if content is None and files is None else None,
                    content=content, files=files, headers=all_headers,
                    extensions={"trace": trace})
                try:
                    response, body = await read_whole(self.client, request, cap, check)
                except BodyTooLarge as exc:
                    raise BadResponseError(self.provider, too_large or (
                        f"{host_of(url)} sent more than {exc.cap // (1024 * 1024)} MB; the "
                        "answer was not read"), status_code=exc.status) from None
        except TimeoutError:
            failure = NoAnswer if sent else NotSent
            raise failure(phase, f"no complete answer from {host_of(url)} within "
                                 f"{_seconds(deadline)}", timed_out=True) from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(phase, f"cannot connect to {host_of(url)} ({type(exc).__name__})",
                          timed_out=isinstance(exc, httpx.TimeoutException)) from None
        except httpx.TimeoutException:
            failure = NoAnswer if sent else NotSent
            raise failure(phase, f"{host_of(url)} stopped answering", timed_out=True) from None
        except httpx.TransportError as exc:
            failure = NoAnswer if sent else NotSent
            raise failure(phase, f"the connection to {host_of(url)} broke off "
                                 f"({type(exc).__name__})") from None
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                      body, str(response.url))


def _seconds(value: float) -> str:
    return f"{value:g} seconds" if value != 1 else "1 second"

