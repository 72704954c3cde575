"""Talking to one ComfyUI server: HTTP through httpx, the WebSocket through ``websockets``.

This is the transport glue, kept apart from the ComfyUI knowledge (``wire``, ``discovery``,
``workflows``, ``farm``) so it can move onto a shared HTTP engine later. Every exchange is bounded
as a whole (connect, send, read the body) by one deadline; bodies are read with a cap; redirects
are never followed; the optional API key goes only to this server's own URLs as a Bearer token.

Failures come out as two kinds: :class:`ServerUnreachable` (no usable answer: refused, reset,
timed out; ``sent`` says whether the request may have reached the server) and
:class:`ServerAnswer` (an answer we cannot use: a web page, a 5xx, a redirect, broken JSON).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from studio.core import limits
from studio.providers.bodies import BodyTooLarge, read_whole
from studio.providers.comfyui.discovery import (
    Catalogue,
    SystemInfo,
    parse_object_info,
    parse_system_stats,
)
from studio.providers.comfyui.wire import ImageRef, QueueSnapshot, parse_queue

# /object_info of a server with many custom nodes runs to tens of MB: more than other answers.
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_IMAGE_BYTES = limits.IMAGE_FILE_MAX_BYTES
MAX_FRAME_BYTES = 40 * 1024 * 1024  # one WebSocket message: an image sent by SaveImageWebsocket

log = logging.getLogger("studio.providers.comfyui")


class ServerUnreachable(Exception):
    """The server gave no answer. ``sent``: the request may have reached it; ``refused``:
    nothing listens at its address (its process has ended, or the tunnel to it is down)."""

    def __init__(self, message: str, *, sent: bool, refused: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        self.refused = refused


class ServerAnswer(Exception):
    """The server answered something unusable; the message says what, in plain words."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def server_label(base_url: str) -> str:
    """``host:port`` of a base URL, without any user name or password it carries."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError):
        return "the server"
    port = f":{url.port}" if url.port else ""
    return f"{url.host}{port}" if url.host else "the server"


class ComfyClient:
    """One server's endpoints. The httpx client is shared by every server of a farm."""

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        exchange_seconds: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.label = server_label(self.base_url)
        self._http = http
        self._key = api_key
        self.exchange_seconds = exchange_seconds

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}/{path.lstrip('/')}{query}"

    def _headers(self) -> dict[str, str]:
        # Only ever attached to URLs built from this server's base URL (redirects are never
        # followed), so the key cannot reach another host.
        return {"Authorization": f"Bearer {self._key}"} if self._key else {}

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        cap: int = MAX_JSON_BYTES,
        seconds: float | None = None,
    ) -> tuple[int, str, bytes]:
        """Status, content type and body of one request, bounded by one deadline."""
        limit = seconds or self.exchange_seconds
        try:
            async with asyncio.timeout(limit):
                request = self._http.build_request(
                    method, self.url(path, params), json=json_body, files=files, data=data,
                    headers=self._headers())
                response, body = await read_whole(self._http, request, cap)
        except BodyTooLarge as exc:
            raise ServerAnswer(str(exc)) from None
        except TimeoutError:
            raise ServerUnreachable(f"{self.label} gave no answer within {limit:g} seconds",
                                    sent=True) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachable(f"cannot connect to {self.label} ({_why(exc)})",
                                    sent=False, refused=_refused(exc)) from None
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"the connection to {self.label} broke ({_why(exc)})",
                                    sent=True) from None
        status = response.status_code
        if 300 <= status < 400:
            raise ServerAnswer(f"{self.label} answered with a redirect (HTTP {status}); point "
                               "the studio at the server's own address", status)
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return status, ctype, body

    async def json(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        status, ctype, body = await self.exchange(method, path, **kw)
        if status >= 500:
            raise ServerAnswer(f"{self.label} failed with HTTP {status}", status)
        if status in (401, 403):
            raise ServerAnswer(f"{self.label} refused the request (HTTP {status}); check "
                               "STUDIO_COMFYUI_API_KEY for its proxy", status)
        if not body.strip():
            return status, None
        try:
            return status, json.loads(body)
        except (ValueError, RecursionError):
            what = "a web page" if "html" in ctype or body.lstrip()[:1] == b"<" else \
                "broken JSON"
            raise ServerAnswer(f"{self.label} sent {what} instead of a ComfyUI answer "
                               f"(HTTP {status}); is it a ComfyUI server?", status) from None

    # ------------------------------------------------------------ endpoints

    async def post_prompt(self, body: Mapping[str, Any]) -> tuple[int, Any]:
        return await self.json("POST", "/prompt", json_body=dict(body))

    async def history(self, prompt_id: str) -> Any:
        status, data = await self.json("GET", f"/history/{prompt_id}")
        if status >= 400:
            raise ServerAnswer(f"{self.label} answered /history with HTTP {status}", status)
        return data

    async def queue(self) -> QueueSnapshot:
        status, data = await self.json("GET", "/queue")
        snapshot = parse_queue(data) if status < 400 else None
        if snapshot is None:
            raise ServerAnswer(f"{self.label} sent an unreadable queue (HTTP {status})", status)
        return snapshot

    async def view(self, ref: ImageRef) -> bytes:
        status, _ctype, body = await self.exchange("GET", "/view", params=ref.view_params(),
                                                  cap=MAX_IMAGE_BYTES)
        if status != 200:
            raise ServerAnswer(f"{self.label} could not send the image {ref.filename} "
                               f"(HTTP {status})", status)
        return body

    async def interrupt(self, prompt_id: str) -> bool:
        status, _ctype, _body = await self.exchange("POST", "/interrupt",
                                                    json_body={"prompt_id": prompt_id})
        return status < 300

    async def delete_queued(self, prompt_ids: list[str]) -> bool:
        status, _ctype, _body = await self.exchange("POST", "/queue",
                                                    json_body={"delete": prompt_ids})
        return status < 300

    async def object_info(self) -> Catalogue:
        status, data = await self.json("GET", "/object_info")
        if status >= 400 or not isinstance(data, Mapping) or not data:
            raise ServerAnswer(f"{self.label} sent no node catalogue (HTTP {status})", status)
        return parse_object_info(data)

    async def system_stats(self) -> SystemInfo:
        status, data = await self.json("GET", "/system_stats")
        return parse_system_stats(data) if status < 400 else SystemInfo()

    async def upload_image(self, name: str, data: bytes) -> str:
        """Put one image in the server's input folder; the name to use in ``LoadImage``."""
        status, answer = await self.json(
            "POST", "/upload/image", files={"image": (name, data, _mime(name))},
            data={"overwrite": "false", "type": "input"})
        if status >= 400 or not isinstance(answer, Mapping) or \
                not isinstance(answer.get("name"), str):
            raise ServerAnswer(f"{self.label} did not take the reference image {name} "
                               f"(HTTP {status})", status)
        subfolder = answer.get("subfolder")
        stored = str(answer["name"])
        return f"{subfolder}/{stored}" if isinstance(subfolder, str) and subfolder else stored

    # ------------------------------------------------------------ WebSocket

    def socket_url(self, client_id: str) -> str:
        url = httpx.URL(self.base_url)
        scheme = "wss" if url.scheme == "https" else "ws"
        port = f":{url.port}" if url.port else ""
        path = url.path.rstrip("/")
        return f"{scheme}://{url.host}{port}{path}/ws?{urlencode({'clientId': client_id})}"

    async def open_socket(self, client_id: str, seconds: float | None = None) -> Any:
        """A connected WebSocket for ``client_id`` (ServerUnreachable when it cannot be)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidURI

        class _Direct(connect):
            # Never follow a redirect: the socket belongs to this server alone.
            def process_redirect(self, exc: Exception) -> Exception | str:
                return exc

        limit = seconds or self.exchange_seconds
        try:
            socket = await _Direct(
                self.socket_url(client_id), additional_headers=self._headers() or None,
                open_timeout=limit, max_size=MAX_FRAME_BYTES, ping_interval=20,
                ping_timeout=20, close_timeout=2, proxy=None,
                user_agent_header="character-sheet-studio",
                logger=_RedactingLog(logging.getLogger("websockets.client"), self._key),
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise ServerUnreachable(f"no WebSocket to {self.label} ({_why(exc)})",
                                    sent=False, refused=_refused(exc)) from None
        try:
            # Ask for images with their prompt id (newer servers); older ones ignore it.
            await socket.send(json.dumps({"type": "feature_flags",
                                          "data": {"supports_preview_metadata": True}}))
        except Exception as exc:  # the socket closed at once: same as never opened
            await socket.close()
            raise ServerUnreachable(f"the WebSocket to {self.label} closed at once "
                                    f"({_why(exc)})", sent=False) from None
        return socket


class _RedactingLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The websockets library logs the handshake headers at debug level: never the key."""

    def __init__(self, logger: logging.Logger, key: str | None) -> None:
        super().__init__(logger, {})
        self._key = key

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self._key and self.isEnabledFor(level):
            args = tuple(str(a).replace(self._key, "[redacted]") if isinstance(a, str | bytes)
                         else a for a in args)
            msg = str(msg).replace(self._key, "[redacted]")
        super().log(level, msg, *args, **kwargs)


def _refused(exc: BaseException) -> bool:
    """Whether a failed connect means nothing listens there (not a timeout or a DNS error)."""
    seen: BaseException | None = exc
    for _ in range(6):  # httpx and anyio wrap the OSError a few levels deep
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or (
                isinstance(seen, OSError) and seen.errno == errno.ECONNREFUSED):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _mime(name: str) -> str:
    low = name.lower()
    if low.endswith((".jpg", ".jpeg")):
        return "image/jpeg"
    if low.endswith(".webp"):
        return "image/webp"
    return "image/png"


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]
