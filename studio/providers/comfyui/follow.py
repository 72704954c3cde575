"""Following one prompt to its image: the job's WebSocket for progress, ``/queue`` then
``/history`` for the truth, ``/view`` for the file, and the farm's rule for moving a job whose
server was lost (:func:`~studio.providers.comfyui.farm.may_move`).

The socket is opened before anything is read (so nothing finishes unseen) and re-opened with the
same client id when it drops; every drop, every end message and a slow timer lead to a check of
``/queue`` and then ``/history`` — in that order, because the server moves a finished prompt from
its queue to its history in one step, so a prompt in neither is really gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from studio.core.lifecycle import Timings
from studio.providers.base import (
    Downloading,
    EventCallback,
    GenerationResult,
    Processing,
    ProviderEvent,
    Queued,
)
from studio.providers.comfyui.client import ServerAnswer, ServerUnreachable
from studio.providers.comfyui.dispatch import Dispatcher, NoServer, NotAccepted
from studio.providers.comfyui.farm import PromptState, Server, may_move
from studio.providers.comfyui.jobs import PROVIDER, JobSpec
from studio.providers.comfyui.wire import (
    Executing,
    ExecutionCached,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
    HistoryEntry,
    ImageFrame,
    Progress,
    Status,
    parse_binary,
    parse_history,
    parse_message,
)
from studio.providers.errors import (
    BadResponseError,
    ProviderError,
    ProviderFailedError,
    ProviderTimeout,
    RenderCancelled,
)
from studio.providers.images import ImageRejected, VerifiedImage, verify_image

log = logging.getLogger("studio.providers.comfyui")

MAX_MOVES = 3


@dataclass
class Tracked:
    """A prompt being followed, wherever it is now."""

    prompt_id: str
    client_id: str
    server: Server
    spec: JobSpec
    model: str
    state: PromptState
    submit_seconds: float = 0.0
    moves: int = 0
    frames: list[ImageFrame] = field(default_factory=list)
    websocket_nodes: frozenset[str] = frozenset()
    processing_since: float | None = None
    #: Whether the other servers were asked for it since its server stopped answering.
    searched: bool = False
    first_progress: float | None = None
    last_event: ProviderEvent | None = None


@dataclass(frozen=True, slots=True)
class _Finished:
    entry: HistoryEntry


_Outcome = _Finished | Literal["lost", "unreachable", "search"]


@dataclass
class Follower:
    dispatcher: Dispatcher
    deadline: float = 1800.0
    check_interval: float = 5.0
    poll_interval: float = 0.5
    move_after: float = 3.0
    gone_after: float = 15.0

    async def run(self, job: Tracked, emit: EventCallback) -> GenerationResult:
        started = time.monotonic()
        until = started + self.deadline
        job.server.in_flight.add(job.prompt_id)
        try:
            while True:
                outcome = await self._watch(job, emit, until)
                if isinstance(outcome, _Finished):
                    return await self._result(job, outcome.entry, emit, started)
                if outcome == "search":
                    # An earlier run may have moved it; never resend on a silent server's word.
                    job.searched = True
                    await self._found_elsewhere(job)
                    continue
                await self._move(job, outcome, until)
        finally:
            self.dispatcher.release(job.prompt_id)

    # ------------------------------------------------------------ watching one server

    def _emit(self, job: Tracked, emit: EventCallback, event: ProviderEvent) -> None:
        if event != job.last_event:
            job.last_event = event
            emit(event)

    def _started(self, job: Tracked, emit: EventCallback, eta: float | None = None) -> None:
        job.state = "started"
        if job.processing_since is None:
            job.processing_since = time.monotonic()
        self._emit(job, emit, Processing(eta))

    async def _watch(self, job: Tracked, emit: EventCallback, until: float) -> _Outcome:
        server = job.server
        client = self.dispatcher.client(server)
        socket = self.dispatcher.take_socket(job.prompt_id)
        now = time.monotonic()
        check_at = now + self.check_interval if socket is not None else now
        reconnect_at, backoff = now, 0.2
        try:
            while True:
                now = time.monotonic()
                if now >= until:
                    raise self._timeout(job)
                if socket is None and now >= reconnect_at:
                    try:
                        socket = await client.open_socket(job.client_id, min(
                            5.0, self.dispatcher.exchange_seconds))
                        backoff, check_at = 0.2, time.monotonic()  # what did we miss?
                    except ServerUnreachable:
                        reconnect_at = time.monotonic() + backoff
                        backoff = min(backoff * 2, 5.0)
                if time.monotonic() >= check_at:
                    outcome = await self._check(job, emit)
                    if outcome == "unreachable":
                        if may_move(job.state, server, time.monotonic(), self.move_after,
                                    self.gone_after):
                            return "unreachable"
                        if not job.searched:
                            return "search"
                        check_at = time.monotonic() + self.poll_interval
                    elif outcome is not None:
                        return outcome
                    else:
                        check_at = time.monotonic() + (self.check_interval if socket
                                                       else self.poll_interval)
                wake = min(check_at, until, reconnect_at if socket is None else until)
                wait = max(0.0, wake - time.monotonic())
                if socket is None:
                    await asyncio.sleep(wait)
                    continue
                try:
                    frame = await asyncio.wait_for(socket.recv(), wait)
                except TimeoutError:
                    continue
                except Exception:  # the socket closed or broke: reconnect, then look
                    await _close(socket)
                    socket = None
                    reconnect_at = time.monotonic()
                    continue
                if self._on_frame(job, frame, emit):
                    check_at = time.monotonic()
        finally:
            if socket is not None:
                await _close(socket)

    def _on_frame(self, job: Tracked, frame: str | bytes, emit: EventCallback) -> bool:
        """Handle one socket message; True when the prompt has ended (look at /history)."""
        if isinstance(frame, bytes):
            image = parse_binary(frame)
            if image is not None and image.format == "png" and (
                    (image.prompt_id == job.prompt_id and image.node_id in job.websocket_nodes)
                    or (image.prompt_id is None and job.websocket_nodes
                        and job.state == "started")):
                job.frames[:] = [image]  # the last image is the result; keep no more
            return False
        message = parse_message(frame)
        if isinstance(message, Status):
            if message.queue_remaining is not None:
                job.server.report_queue(message.queue_remaining)
            return False
        if message is None or message.prompt_id != job.prompt_id:
            return False
        if isinstance(message, Executing) and message.node is None:
            return True
        if isinstance(message, ExecutionSuccess | ExecutionError | ExecutionInterrupted):
            return False  # "executing" with node null follows; /history has the details
        if isinstance(message, Progress):
            now = time.monotonic()
            if job.first_progress is None or message.value <= 1:
                job.first_progress = now
                eta = None
            else:
                per_step = (now - job.first_progress) / max(1, message.value - 1)
                eta = float(round(per_step * max(0, message.max - message.value)))
            self._started(job, emit, eta)
        elif isinstance(message, ExecutionStart | ExecutionCached | Executing):
            self._started(job, emit)
        return False

    async def _check(self, job: Tracked, emit: EventCallback) -> _Outcome | None:
        """/queue, then /history: None while the prompt waits or runs."""
        server = job.server
        client = self.dispatcher.client(server)
        try:
            snapshot = await client.queue()
            server.answered()
            server.report_queue(len(snapshot))
            if job.prompt_id in snapshot.running:
                self._started(job, emit)
                return None
            position = snapshot.position(job.prompt_id)
            if position is not None:
                job.state = "pending"
                self._emit(job, emit, Queued(position))
                return None
            entry = parse_history(await client.history(job.prompt_id), job.prompt_id)
        except (ServerUnreachable, ServerAnswer) as exc:
            self.dispatcher.failed(server, exc)
            return "unreachable"
        if entry is None and job.prompt_id in self.dispatcher.cancelled:
            raise RenderCancelled(PROVIDER, "the job was cancelled", request_id=job.prompt_id)
        if entry is None:
            log.info("ComfyUI server %s no longer has prompt %s", server.public_url,
                     job.prompt_id)
            return "lost"
        return _Finished(entry)

    def _timeout(self, job: Tracked) -> ProviderError:
        server = job.server
        if server.state == "down":
            message = (f"the ComfyUI server {server.public_url} stopped answering while it had "
                       f"the job ({server.last_error}); the job may still finish there")
        else:
            message = f"the job was not finished after {round(self.deadline)} seconds"
        return ProviderTimeout(PROVIDER, message, request_id=job.prompt_id)

    # ------------------------------------------------------------ moving

    async def _move(self, job: Tracked, why: str, until: float) -> None:
        """Send a lost prompt, or one that never started on a silent server, elsewhere."""
        old = job.server
        if job.moves >= MAX_MOVES:
            raise ProviderFailedError(
                PROVIDER, f"the job was lost by ComfyUI servers {job.moves + 1} times",
                request_id=job.prompt_id)
        if await self._found_elsewhere(job):
            return
        old.in_flight.discard(job.prompt_id)
        while True:
            try:
                # A silent server is skipped while it is down; back up, it may take it again.
                server = await self.dispatcher.pick(job.prompt_id, until=until,
                                                    fail_when_none_answers=False)
                sent = await self.dispatcher.send(job.spec, server, job.prompt_id,
                                                  job.client_id)
            except NotAccepted:
                continue  # that server failed; pick looks again
            except NoServer:
                continue
            break
        log.warning("ComfyUI prompt %s was %s on %s; sent again to %s", job.prompt_id,
                    "lost" if why == "lost" else "waiting on a silent server", old.public_url,
                    sent.server.public_url)
        job.server = sent.server
        job.prompt_id = sent.prompt_id
        job.state = "pending" if sent.socket_open else "unknown"
        job.moves += 1
        job.websocket_nodes = websocket_nodes(sent.body["prompt"])

    async def _found_elsewhere(self, job: Tracked) -> bool:
        """Whether another answering server has the prompt (moved there by an earlier run)."""
        for server in self.dispatcher.farm.servers:
            if server is job.server or server.state == "down":
                continue
            client = self.dispatcher.client(server)
            try:
                snapshot = await client.queue()
                here = job.prompt_id in snapshot.running or job.prompt_id in snapshot.pending \
                    or parse_history(await client.history(job.prompt_id),
                                     job.prompt_id) is not None
            except (ServerUnreachable, ServerAnswer):
                continue
            if here:
                job.server.in_flight.discard(job.prompt_id)
                job.server = server
                server.in_flight.add(job.prompt_id)
                job.state = "unknown"
                return True
        return False

    # ------------------------------------------------------------ the image

    async def _result(self, job: Tracked, entry: HistoryEntry, emit: EventCallback,
                      started: float) -> GenerationResult:
        server = job.server
        if entry.interrupted:
            raise RenderCancelled(PROVIDER, f"the render was interrupted on the ComfyUI server "
                                  f"{server.public_url}", request_id=job.prompt_id)
        if entry.status == "error" or entry.error:
            raise ProviderFailedError(
                PROVIDER, f"the ComfyUI server {server.public_url} stopped with an error at "
                f"{entry.error or 'an unknown node'}", request_id=job.prompt_id)
        ready = time.monotonic()
        image = await self._download(job, entry, emit)
        finished = time.monotonic()
        since = job.processing_since or ready
        return GenerationResult(
            provider=PROVIDER, model=job.model, request_id=job.prompt_id, image=image.data,
            format=image.format, width=image.width, height=image.height,
            seed_returned=job.spec.seed,
            timings=Timings(submit=job.submit_seconds, queue=max(0.0, since - started),
                            processing=max(0.0, ready - since), download=finished - ready),
            request_body={}, cost=0.0,
            info={"server": server.public_url, "prompt_id": job.prompt_id,
                  "moves": job.moves, "cached_nodes": len(entry.cached_nodes)},
        )

    async def _download(self, job: Tracked, entry: HistoryEntry,
                        emit: EventCallback) -> VerifiedImage:
        server = job.server
        if entry.images:
            self._emit(job, emit, Downloading(server.public_url))
            client = self.dispatcher.client(server)
            error: Exception | None = None
            for ref in entry.images:
                try:
                    data = await client.view(ref)
                    return await asyncio.to_thread(verify_image, data)
                except (ServerUnreachable, ServerAnswer, ImageRejected) as exc:
                    error = exc
            raise BadResponseError(PROVIDER, f"the image could not be fetched from "
                                   f"{server.public_url} ({error})", request_id=job.prompt_id)
        if job.frames:
            self._emit(job, emit, Downloading("inline"))
            try:
                return await asyncio.to_thread(verify_image, job.frames[-1].data)
            except ImageRejected as exc:
                raise BadResponseError(PROVIDER, str(exc), request_id=job.prompt_id) from None
        what = ("served the whole workflow from its cache and saved no new image"
                if entry.cached_nodes else "finished without saving an image")
        raise BadResponseError(
            PROVIDER, f"the ComfyUI server {server.public_url} {what}; render the scene again "
            "(with another seed if it happens again), or check that the workflow has a "
            "SaveImage node", request_id=job.prompt_id)


def websocket_nodes(graph: Any) -> frozenset[str]:
    """The ids of SaveImageWebsocket nodes (their images come over the socket, not as files)."""
    if not isinstance(graph, dict):
        return frozenset()
    return frozenset(str(k) for k, v in graph.items()
                     if isinstance(v, dict) and v.get("class_type") == "SaveImageWebsocket")


def new_client_id() -> str:
    return uuid.uuid4().hex


async def _close(socket: Any) -> None:
    with contextlib.suppress(Exception):
        await socket.close()
