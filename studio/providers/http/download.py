"""The one download path: image references (links, ``data:`` URIs, base64) to verified images.

A link is fetched without the key (whatever host it names), over HTTPS unless it is on loopback
or on the API's own plain-HTTP address, with each redirect hop checked like the first; a link
that carries the key is never fetched. Each hop runs under the download deadline; server
trouble is retried by the policy; the body is capped, then decoded in a worker thread under
the pixel limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Callable, Sequence

import httpx

from studio.providers.base import Clock
from studio.providers.errors import (
    REDACTED,
    BadResponseError,
    ProviderError,
    ProviderFailedError,
    ProviderTimeout,
    ProviderUnreachable,
    Redactor,
)
from studio.providers.http.classify import parse_retry_after
from studio.providers.http.exchange import Answer, ExchangeFailed, Exchanger, Phase, host_of
from studio.providers.http.retry import RetryPolicy
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

MAX_REDIRECTS = 5
_IMAGE_TYPES = ("image/", "application/octet-stream", "binary/octet-stream", "text/plain")
_REDIRECTS = (301, 302, 303, 307, 308)


def _image_cap(response: httpx.Response) -> int:
    ctype = response.headers.get("content-type", "").lower()
    # Base64 text (ModelsLab's base64 output links) is 4/3 the size of the image it carries.
    return MAX_IMAGE_BYTES * 4 // 3 + 1024 if ctype.startswith("text/") else MAX_IMAGE_BYTES


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def source_label(ref: str) -> str:
    """Where an image comes from, for progress: its host, or ``inline``."""
    if is_data_uri(ref) or not ref.startswith(("http://", "https://")):
        return "inline"
    return host_of(ref)


class Downloader:
    """Fetches and verifies a job's image."""

    def __init__(self, provider: str, exchanger: Exchanger, policy: RetryPolicy, clock: Clock,
                 redactor: Callable[[], Redactor], rng: random.Random) -> None:
        self.provider = provider
        self.exchanger = exchanger
        self.policy = policy
        self.clock = clock
        self._redactor = redactor
        self._rng = rng

    async def first_image(self, refs: Sequence[str]) -> VerifiedImage:
        """The first reference that yields a valid image; the last error otherwise."""
        error: ProviderError | None = None
        for ref in refs:
            try:
                data = await self.fetch(ref)
                return await asyncio.to_thread(self._verify, data)
            except ProviderError as exc:
                error = exc
        if error is None:
            raise BadResponseError(self.provider, "the finished job names no image")
        raise error

    def _verify(self, data: bytes) -> VerifiedImage:
        try:
            return verify_image(unwrap(data))
        except ImageRejected as exc:
            raise BadResponseError(self.provider, str(exc)) from None

    async def fetch(self, ref: str) -> bytes:
        try:
            if is_data_uri(ref):
                return decode_data_uri(ref)
            if not ref.startswith(("http://", "https://")):
                raw = ref.encode("ascii", "ignore")
                if looks_like_base64(raw):
                    return b64decode(raw)
                raise BadResponseError(self.provider,
                                       "the image reference is neither a link nor image data")
        except ImageRejected as exc:
            raise BadResponseError(self.provider, str(exc)) from None
        if REDACTED in ref or self._redactor().contains(ref):
            raise BadResponseError(
                self.provider, "the image link carries the API key, so the studio did not "
                "fetch it (the key never leaves for another address)")
        url = httpx.URL(ref)
        for _hop in range(MAX_REDIRECTS + 1):
            self._check_url(url)
            answer = await self._get(url)
            location = answer.headers.get("location")
            if answer.status in _REDIRECTS and location:
                url = url.join(location)
                if self._redactor().contains(str(url)):
                    raise BadResponseError(self.provider, "the image link redirects to an "
                                           "address carrying the API key; not followed")
                continue
            return answer.body
        raise BadResponseError(self.provider, "the image link redirects too many times")

    def _check_url(self, url: httpx.URL) -> None:
        if url.scheme not in ("https", "http") or (
                url.scheme == "http" and not self._plain_http_allowed(url)):
            raise BadResponseError(
                self.provider,
                f"refused to download the image over plain {url.scheme} from {url.host}")

    def _plain_http_allowed(self, url: httpx.URL) -> bool:
        return is_loopback(url.host) or self.exchanger.same_origin(str(url))

    async def _get(self, url: httpx.URL) -> Answer:
        """One hop, with the policy's retries for server trouble and broken exchanges."""
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = await self.exchanger.send(
                    Phase.DOWNLOAD, "GET", str(url), cap=_image_cap, check=self._check_answer,
                    too_large=f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
            except ExchangeFailed as failure:
                if attempt >= self.policy.attempts:
                    kind = ProviderTimeout if failure.timed_out else ProviderUnreachable
                    raise kind(self.provider, f"the image download failed: {failure.reason}") \
                        from None
                await self._backoff(attempt, None)
                continue
            if answer.status in _REDIRECTS:
                return answer
            if answer.status == 429 or answer.status >= 500:
                wait = parse_retry_after(answer.headers.get("retry-after"), self.clock.wall())
                if attempt >= self.policy.attempts or (
                        wait is not None and wait > self.policy.max_retry_after):
                    raise ProviderFailedError(
                        self.provider, f"the image server {answer.host} answered HTTP "
                        f"{answer.status}", status_code=answer.status)
                await self._backoff(attempt, wait)
                continue
            return answer

    def _check_answer(self, response: httpx.Response) -> None:
        """Refuse an answer that cannot be an image before reading its body."""
        status, host = response.status_code, response.url.host
        if status in _REDIRECTS or status == 429 or status >= 500:
            return
        if status in (404, 410):
            raise BadResponseError(self.provider, f"the image link on {host} is gone (HTTP "
                                   f"{status}); it may have expired", status_code=status)
        if status != 200:
            raise BadResponseError(self.provider, f"the image link on {host} answered HTTP "
                                   f"{status}", status_code=status)
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and not ctype.startswith(_IMAGE_TYPES):
            raise BadResponseError(self.provider,
                                   f"the image link on {host} returned {ctype}, not an image")


    async def _backoff(self, attempt: int, wait: float | None) -> None:
        await self.clock.sleep(wait if wait is not None else self.policy.backoff(attempt,
                                                                                 self._rng))
