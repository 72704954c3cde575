"""Sending jobs to the farm: choosing a server with room, discovering what it has (cached per
server), building the graph for it, opening the job's socket and posting the prompt.

The studio chooses each prompt id, so a ``POST /prompt`` whose answer was lost is settled by
asking the server whether it has that id, never by sending it blindly again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from studio.providers.comfyui.client import ComfyClient, ServerAnswer, ServerUnreachable
from studio.providers.comfyui.farm import Farm, FarmStatus, Server
from studio.providers.comfyui.jobs import PROVIDER, BuiltGraph, JobSpec, build_graph
from studio.providers.comfyui.wire import parse_history, prompt_body, refusal_text
from studio.providers.comfyui.workflows import Workflow, WorkflowError
from studio.providers.errors import (
    AuthenticationError,
    InvalidRequestError,
    ProviderFailedError,
    ProviderTimeout,
)

log = logging.getLogger("studio.providers.comfyui")

#: How long a server that stopped answering is left alone before it is asked again.
PROBE_INTERVAL = 2.0
SOCKET_OPEN_SECONDS = 5.0


class NotAccepted(Exception):
    """The server certainly did not take the prompt; another server may be tried."""


class NoServer(Exception):
    """No configured server answers; the message lists why."""


@dataclass(frozen=True, slots=True)
class Sent:
    """A prompt a server accepted."""

    server: Server
    prompt_id: str
    client_id: str
    body: dict[str, Any]
    built: BuiltGraph
    socket_open: bool


@dataclass
class Dispatcher:
    """The farm's shared state for one provider: clients, sockets opened for jobs about to be
    followed, cached catalogues, and a signal for "a slot or a server changed"."""

    farm: Farm
    make_client: Callable[[Server], ComfyClient]
    workflow_for: Callable[[JobSpec], Workflow]
    exchange_seconds: float = 30.0
    _clients: dict[int, ComfyClient] = field(default_factory=dict)
    _sockets: dict[str, Any] = field(default_factory=dict)
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    _changed: asyncio.Event | None = None
    #: Prompts the user cancelled: gone from a queue because we deleted them, not lost.
    cancelled: set[str] = field(default_factory=set)
    _closing: set[asyncio.Future[None]] = field(default_factory=set)

    # ------------------------------------------------------------ plumbing

    def client(self, server: Server) -> ComfyClient:
        client = self._clients.get(id(server))
        if client is None:
            client = self._clients[id(server)] = self.make_client(server)
        return client

    def notify(self) -> None:
        """Wake everyone waiting for a slot or a server to change."""
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, seconds: float) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), max(0.0, seconds))

    def has_socket(self, prompt_id: str) -> bool:
        return prompt_id in self._sockets

    def take_socket(self, prompt_id: str) -> Any:
        return self._sockets.pop(prompt_id, None)

    def release(self, prompt_id: str) -> None:
        """The studio no longer has ``prompt_id`` in flight anywhere."""
        for server in self.farm.servers:
            server.in_flight.discard(prompt_id)
        socket = self._sockets.pop(prompt_id, None)
        if socket is not None:
            task = asyncio.ensure_future(_close(socket))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self.notify()

    async def aclose(self) -> None:
        sockets, self._sockets = list(self._sockets.values()), {}
        await asyncio.gather(*(_close(s) for s in sockets), *self._closing)

    # ------------------------------------------------------------ what servers have

    async def catalogue_of(self, server: Server) -> Any:
        """The server's node catalogue, fetched once and kept (with its system stats)."""
        lock = self._locks.setdefault(id(server), asyncio.Lock())
        async with lock:
            if server.catalogue is None:
                client = self.client(server)
                try:
                    server.catalogue = await client.object_info()
                    server.answered()
                    with contextlib.suppress(ServerUnreachable, ServerAnswer):
                        server.system = await client.system_stats()
                except (ServerUnreachable, ServerAnswer) as exc:
                    self.failed(server, exc)
                    raise
            return server.catalogue

    def failed(self, server: Server, exc: Exception) -> None:
        was = server.state
        server.failed(time.monotonic(), str(exc),
                      refused=isinstance(exc, ServerUnreachable) and exc.refused)
        server.checked_at = time.monotonic()
        if was != "down":
            log.warning("ComfyUI server %s stopped answering: %s", server.public_url, exc)
            self.notify()

    async def probe(self, server: Server, seconds: float | None = None) -> bool:
        """Ask the server for its queue; True when it answered."""
        server.checked_at = time.monotonic()
        try:
            snapshot = await self.client(server).queue() if seconds is None else \
                await asyncio.wait_for(self.client(server).queue(), seconds)
        except ServerAnswer as exc:
            if exc.status in (401, 403):
                # It is there; only the key is wrong, which the job itself will say.
                server.answered()
                server.last_error = str(exc)
                return False
            self.failed(server, exc)
            return False
        except (ServerUnreachable, TimeoutError) as exc:
            self.failed(server, exc if not isinstance(exc, TimeoutError)
                        else ServerUnreachable("no answer in time", sent=True))
            return False
        was = server.state
        server.answered()
        server.report_queue(len(snapshot))
        if was != "up":
            self.notify()
        return True

    async def check_servers(self, seconds: float = 5.0) -> FarmStatus:
        """Ask every server at once how it is (queue, models, GPU); the farm's status."""
        async def one(server: Server) -> None:
            if await self.probe(server, seconds):
                with contextlib.suppress(ServerUnreachable, ServerAnswer, TimeoutError):
                    await asyncio.wait_for(self.catalogue_of(server), seconds)

        await asyncio.gather(*(one(s) for s in self.farm.servers))
        return self.farm.status()

    # ------------------------------------------------------------ choosing

    async def pick(self, prompt_id: str, exclude: Iterable[Server] = (), *, until: float,
                   fail_when_none_answers: bool = True) -> Server:
        """The server for ``prompt_id``, its slot taken at once (so jobs picking together
        spread), waiting for a free slot; NoServer when none of the servers (other than
        ``exclude``) answers, or ProviderTimeout past ``until``. Servers never heard from are
        asked for their queue first, so work already queued there by others counts."""
        skip = list(exclude)
        unheard = [s for s in self.farm.servers
                   if s not in skip and s.state == "unknown" and s.checked_at is None]
        if unheard:
            await asyncio.gather(*(self.probe(s, SOCKET_OPEN_SECONDS) for s in unheard))
        while True:
            server = self.farm.choose(skip)
            if server is not None:
                server.in_flight.add(prompt_id)
                return server
            others = [s for s in self.farm.servers if s not in skip]
            now = time.monotonic()
            stale = [s for s in others if s.state == "down"
                     and (s.checked_at is None or now - s.checked_at >= PROBE_INTERVAL)]
            if stale:
                await asyncio.gather(*(self.probe(s, SOCKET_OPEN_SECONDS) for s in stale))
                if (server := self.farm.choose(skip)) is not None:
                    server.in_flight.add(prompt_id)
                    return server
            if fail_when_none_answers and all(s.state == "down" for s in others):
                raise NoServer(self._why_none())
            if time.monotonic() >= until:
                raise ProviderTimeout(PROVIDER, "no ComfyUI server had room for the job in time")
            await self.wait_changed(min(PROBE_INTERVAL, until - time.monotonic()))

    def _why_none(self) -> str:
        servers = self.farm.servers
        reasons = "; ".join(f"{s.public_url}: {s.last_error or 'not tried'}"
                            for s in servers[:3])
        if len(servers) == 1:
            return (f"the ComfyUI server does not answer ({reasons}); start it or check "
                    "STUDIO_COMFYUI_BASE_URL")
        return (f"none of the {len(servers)} ComfyUI servers answers ({reasons}); start them "
                "or check STUDIO_COMFYUI_BASE_URL")

    # ------------------------------------------------------------ sending

    async def send(self, spec: JobSpec, server: Server, prompt_id: str,
                   client_id: str) -> Sent:
        """Post the prompt to ``server`` (picked for it) once. NotAccepted when it certainly
        did not take it; a ProviderError when it refused it or may have taken it without saying
        so. Either way the slot taken by :meth:`pick` is given back."""
        try:
            return await self._send(spec, server, prompt_id, client_id)
        except BaseException:
            server.in_flight.discard(prompt_id)
            self.notify()
            raise

    async def _send(self, spec: JobSpec, server: Server, prompt_id: str,
                    client_id: str) -> Sent:
        client = self.client(server)
        try:
            catalogue = await self.catalogue_of(server)
        except ServerAnswer as exc:
            if exc.status in (401, 403):
                raise AuthenticationError(PROVIDER, str(exc), status_code=exc.status) from None
            raise NotAccepted(str(exc)) from None
        except ServerUnreachable as exc:
            raise NotAccepted(str(exc)) from None
        try:
            built = build_graph(spec, self.workflow_for(spec), catalogue, prompt_id,
                                server.public_url)
        except WorkflowError as exc:
            raise InvalidRequestError(PROVIDER, str(exc)) from None
        socket = None
        # The socket comes first so not one message about the prompt is missed.
        with contextlib.suppress(ServerUnreachable):
            socket = await client.open_socket(client_id, min(SOCKET_OPEN_SECONDS,
                                                             self.exchange_seconds))
        body = prompt_body(built.graph, prompt_id, client_id)
        try:
            _status, data = await self._post(server, body, prompt_id)
        except BaseException:
            if socket is not None:
                await _close(socket)
            raise
        accepted = data.get("prompt_id") if isinstance(data, dict) else None
        accepted = accepted if isinstance(accepted, str) and accepted else prompt_id
        server.answered()
        server.in_flight.discard(prompt_id)
        server.in_flight.add(accepted)
        server.assigned += 1
        if socket is not None:
            self._sockets[accepted] = socket
        return Sent(server, accepted, client_id, body, built, socket is not None)

    async def _post(self, server: Server, body: dict[str, Any],
                    prompt_id: str) -> tuple[int, Any]:
        client = self.client(server)
        try:
            status, data = await client.post_prompt(body)
        except ServerUnreachable as exc:
            if not exc.sent:
                self.failed(server, exc)
                raise NotAccepted(str(exc)) from None
            return await self._settle_lost_answer(server, prompt_id, exc)
        except ServerAnswer as exc:
            if exc.status in (401, 403):
                raise AuthenticationError(PROVIDER, str(exc), status_code=exc.status) from None
            if exc.status is not None and exc.status >= 500:
                # A proxy in front of a server that is down answers 502/503.
                self.failed(server, exc)
                raise NotAccepted(str(exc)) from None
            raise ProviderFailedError(PROVIDER, str(exc)) from None
        if status == 400:
            server.catalogue = None  # what it has changed since we looked
            text = refusal_text(data if isinstance(data, dict) else {})
            raise InvalidRequestError(
                PROVIDER, f"the ComfyUI server {server.public_url} refused the workflow: {text}",
                status_code=400)
        if status >= 400:
            raise ProviderFailedError(
                PROVIDER, f"the ComfyUI server {server.public_url} answered HTTP {status}",
                status_code=status)
        return status, data

    async def _settle_lost_answer(self, server: Server, prompt_id: str,
                                  exc: ServerUnreachable) -> tuple[int, Any]:
        """The prompt went out but no answer came: ask whether the server has our id."""
        client = self.client(server)
        try:
            snapshot = await client.queue()
            if prompt_id in snapshot.running or prompt_id in snapshot.pending:
                return 200, {"prompt_id": prompt_id}
            if parse_history(await client.history(prompt_id), prompt_id) is not None:
                return 200, {"prompt_id": prompt_id}
        except (ServerUnreachable, ServerAnswer):
            self.failed(server, exc)
            raise ProviderTimeout(
                PROVIDER, f"the ComfyUI server {server.public_url} did not answer the prompt "
                f"in time ({exc}); it may still run it") from None
        raise NotAccepted(str(exc))


async def _close(socket: Any) -> None:
    with contextlib.suppress(Exception):
        await socket.close()
