"""The ``comfyui`` provider: the studio's jobs on one ComfyUI server or a farm of them.

``submit`` picks the least busy server with room, builds the graph for what that server has,
opens the job's socket and posts the prompt with a studio-made prompt id; the Submission records
the server, the prompt id and the client id. ``follow`` watches it there (and moves it only by
the farm's rule), from this process or from a Submission read back after a crash — it never
posts a prompt its server still has. ``cancel`` interrupts it and deletes it from the queue.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import httpx

from studio.core.capabilities import ModelCapabilities
from studio.core.request import GenerationRequest, Stage
from studio.core.resources import resource_path
from studio.providers.base import (
    Clock,
    Done,
    EventCallback,
    Failed,
    GenerationResult,
    ModelChoice,
    Provider,
    Submission,
    SystemClock,
)
from studio.providers.comfyui.client import ComfyClient, ServerAnswer, ServerUnreachable
from studio.providers.comfyui.dispatch import Dispatcher, NoServer, NotAccepted
from studio.providers.comfyui.farm import Farm, FarmStatus, Server
from studio.providers.comfyui.follow import Follower, Tracked, new_client_id, websocket_nodes
from studio.providers.comfyui.jobs import (
    DEV,
    PROVIDER,
    SCHNELL,
    WORKFLOW_PREFIX,
    JobSpec,
    family,
    model_capabilities,
)
from studio.providers.comfyui.references import attach_references
from studio.providers.comfyui.wire import Graph
from studio.providers.comfyui.workflows import (
    Workflow,
    WorkflowError,
    builtin_workflow,
    load_workflow,
)
from studio.providers.errors import (
    InvalidRequestError,
    ProviderError,
    ProviderFailedError,
    Redactor,
)

log = logging.getLogger("studio.providers.comfyui")


class ComfyUIProvider(Provider):
    """Your own GPUs through ComfyUI; see the module docstring."""

    id: ClassVar[str] = PROVIDER
    default_concurrency: ClassVar[int] = 2  # one running, one waiting: the GPU never idles

    def __init__(
        self,
        *,
        base_urls: Sequence[str] = (),
        api_key: str | Callable[[], str | None] | None = None,
        concurrency: int | None = None,
        price_per_image: float | None = None,
        preview_model: str | None = None,
        final_model: str | None = None,
        workflow_preview: Path | None = None,
        workflow_final: Path | None = None,
        clock: Clock | None = None,
        exchange_seconds: float = 30.0,
        deadline: float = 1800.0,
        check_interval: float = 5.0,
        poll_interval: float = 0.5,
        move_after: float = 3.0,
        gone_after: float = 15.0,
    ) -> None:
        self._key_source = api_key
        self.farm = Farm(list(base_urls), concurrency or self.default_concurrency)
        self.base_url = ", ".join(s.public_url for s in self.farm.servers)
        self.price_per_image = price_per_image
        self._preview_model = preview_model
        self._final_model = final_model
        self._workflow_paths = {Stage.PREVIEW: workflow_preview, Stage.FINAL: workflow_final}
        self.clock: Clock = clock or SystemClock()
        self.exchange_seconds = exchange_seconds
        self._http: httpx.AsyncClient | None = None
        self.dispatcher = Dispatcher(self.farm, self._make_client, self.workflow_for,
                                     exchange_seconds)
        self.follower = Follower(self.dispatcher, deadline, check_interval, poll_interval,
                                 move_after, gone_after)
        self._located: dict[str, Tracked] = {}

    # ------------------------------------------------------------ configuration

    @functools.cached_property
    def _key(self) -> str | None:
        source = self._key_source
        return (source() if callable(source) else source) or None

    @functools.cached_property
    def redactor(self) -> Redactor:
        return Redactor([self._key])

    @property
    def configured(self) -> bool:
        return len(self.farm) > 0

    @property
    def concurrency(self) -> int:
        return max(1, self.farm.capacity)

    def _workflow_name(self, stage: Stage) -> str | None:
        path = self._workflow_paths[stage]
        return f"{WORKFLOW_PREFIX}{path.name}" if path is not None else None

    def models(self) -> ModelChoice:
        return ModelChoice(
            preview=self._preview_model or self._workflow_name(Stage.PREVIEW) or SCHNELL,
            final=self._final_model or self._workflow_name(Stage.FINAL) or DEV,
        )

    def model_ids(self) -> tuple[str, ...]:
        ids = [SCHNELL, DEV]
        ids += [name for stage in Stage if (name := self._workflow_name(stage))]
        return tuple(dict.fromkeys(ids))

    def capabilities(self, model: str) -> ModelCapabilities:
        workflow = None
        if model.startswith(WORKFLOW_PREFIX):
            try:
                workflow = self._user_workflow(model)
            except WorkflowError:
                workflow = None  # reported as a sentence when the job is prepared
        caps = model_capabilities(model, workflow)
        if self.price_per_image is not None:
            caps = replace(caps, price_per_image=self.price_per_image)
        return caps

    @functools.cache  # noqa: B019 - one provider per process; workflows are small
    def _builtin(self, name: str) -> Workflow:
        return builtin_workflow(resource_path(f"comfyui/{name}.json"))

    @functools.cache  # noqa: B019
    def _load_user(self, path: Path) -> Workflow:
        return load_workflow(path)

    def _user_workflow(self, model: str) -> Workflow:
        name = model.removeprefix(WORKFLOW_PREFIX)
        for path in self._workflow_paths.values():
            if path is not None and path.name == name:
                return self._load_user(path)
        env = "STUDIO_COMFYUI_WORKFLOW_PREVIEW or STUDIO_COMFYUI_WORKFLOW_FINAL"
        raise WorkflowError(f"no ComfyUI workflow file named {name} is set ({env})")

    def workflow_for(self, spec: JobSpec) -> Workflow:
        """The graph a job runs in (WorkflowError when a user's file cannot be used)."""
        if spec.model.startswith(WORKFLOW_PREFIX):
            return self._user_workflow(spec.model)
        return self._builtin("preview" if family(spec.model) == "schnell" else "final")

    # ------------------------------------------------------------ plumbing

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            per_server = max(s.concurrency for s in self.farm.servers) if self.farm.servers \
                else 1
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.exchange_seconds),
                limits=httpx.Limits(max_connections=len(self.farm) * (per_server * 2 + 4) + 4),
                follow_redirects=False, trust_env=False,
                headers={"User-Agent": "character-sheet-studio"},
            )
        return self._http

    def _make_client(self, server: Server) -> ComfyClient:
        return ComfyClient(server.url, self.http, api_key=self._key,
                           exchange_seconds=self.exchange_seconds)

    async def aclose(self) -> None:
        await self.dispatcher.aclose()
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def _error(self, exc: ProviderError) -> ProviderError:
        error = exc.redacted(self.redactor)
        log.warning("%s: %s", type(error).__name__, error)
        return error

    # ------------------------------------------------------------ submit

    async def _submit(self, request: GenerationRequest) -> Submission:
        try:
            if not self.configured:
                raise ProviderFailedError(PROVIDER, "no ComfyUI server is configured (set "
                                          "STUDIO_COMFYUI_BASE_URL)")
            adapted, notes = self.prepare(request)
            spec = JobSpec.from_request(adapted)
            try:
                self.workflow_for(spec)
            except WorkflowError as exc:
                raise InvalidRequestError(PROVIDER, str(exc)) from None
            return await self._send_new(spec, notes)
        except ProviderError as exc:
            raise self._error(exc) from None

    async def _send_new(self, spec: JobSpec, notes: tuple[str, ...]) -> Submission:
        started = time.monotonic()
        until = started + self.follower.deadline
        prompt_id, client_id = str(uuid.uuid4()), new_client_id()
        tried: list[Server] = []
        while True:
            try:
                server = await self.dispatcher.pick(prompt_id, tried, until=until)
            except NoServer as exc:
                raise ProviderFailedError(PROVIDER, str(exc)) from None
            try:
                sent = await self.dispatcher.send(spec, server, prompt_id, client_id)
                break
            except NotAccepted as exc:
                log.info("ComfyUI server %s did not take the prompt (%s); trying another",
                         server.public_url, exc)
                tried.append(server)
        log.info("ComfyUI server %s accepted prompt %s", sent.server.public_url, sent.prompt_id)
        # A workflow without a seed slot keeps its own seed: then no seed is claimed.
        seed = spec.seed if self.workflow_for(spec).has("seed") else None
        return Submission(
            provider=PROVIDER,
            model=spec.model,
            request_id=sent.prompt_id,
            submitted_at=self.clock.wall(),
            submit_seconds=time.monotonic() - started,
            request_body=self.redactor.data(sent.body),
            notes=(*notes, *sent.built.notes),
            seed=seed,
            width=spec.width,
            height=spec.height,
            poll_url=f"{sent.server.public_url}/history/{sent.prompt_id}",
            info={"server": sent.server.public_url, "client_id": sent.client_id,
                  "job": spec.to_dict(), "model_file": sent.built.model_file,
                  "state": "pending" if sent.socket_open else "unknown", "phase": "queued"},
        )

    # ------------------------------------------------------------ follow and cancel

    def _tracked(self, submission: Submission) -> Tracked:
        if submission.provider != PROVIDER:
            raise ValueError(f"a {submission.provider} job cannot be followed on {PROVIDER}")
        info = submission.info
        url = str(info.get("server") or "")
        server = self.farm.find(url)
        if server is None:
            raise ProviderFailedError(
                PROVIDER, f"the job was sent to the ComfyUI server {url or '(unknown)'}, which "
                "is no longer in STUDIO_COMFYUI_BASE_URL; render the scene again (or put the "
                "server back in the list before resuming)", request_id=submission.request_id)
        job = info.get("job")
        try:
            spec = JobSpec.from_dict(job) if isinstance(job, dict) else None
        except (KeyError, TypeError, ValueError):
            spec = None
        if spec is None:
            raise ProviderFailedError(PROVIDER, "the stored job has no request to follow",
                                      request_id=submission.request_id)
        state = info.get("state")
        return Tracked(
            prompt_id=submission.request_id, client_id=str(info.get("client_id") or
                                                           new_client_id()),
            server=server, spec=spec, model=submission.model,
            # Only this process saw it pending; after a restart nobody knows.
            state="pending" if state == "pending" and self.dispatcher.has_socket(
                submission.request_id) else "unknown",
            submit_seconds=submission.submit_seconds,
            websocket_nodes=websocket_nodes(submission.request_body.get("prompt")),
        )

    async def _follow(self, submission: Submission,
                      on_event: EventCallback | None) -> GenerationResult:
        emit = on_event or _ignore
        try:
            job = self._tracked(submission)
            self._located[submission.request_id] = job
            result = await self.follower.run(job, emit)
            self._located.pop(submission.request_id, None)
        except ProviderError as exc:
            error = self._error(exc)
            if error.request_id is None:
                error.request_id = submission.request_id
            emit(Failed(error))
            raise error from None
        # The seed is the one in the seed slot of the graph this server ran (a graph runs as it
        # was sent); None when the workflow has no seed slot.
        result = replace(result, seed_returned=submission.seed,
                         request_body=submission.request_body,
                         notes=submission.notes,
                         cost=self.capabilities(submission.model).price_per_image)
        emit(Done(result))
        return result

    async def cancel(self, submission: Submission) -> bool:
        """Interrupt the prompt if it runs and delete it from the queue if it waits."""
        # Where the job is now: it may have moved since it was recorded.
        tracked = self._located.pop(submission.request_id, None)
        server = tracked.server if tracked is not None else self.farm.find(
            str(submission.info.get("server") or ""))
        prompt_id = tracked.prompt_id if tracked is not None else submission.request_id
        if server is None:
            return False
        client = self.dispatcher.client(server)
        self.dispatcher.cancelled.add(prompt_id)
        try:
            interrupted = await client.interrupt(prompt_id)
            deleted = await client.delete_queued([prompt_id])
        except (ServerUnreachable, ServerAnswer) as exc:
            log.info("could not cancel prompt %s on %s: %s", prompt_id, server.public_url, exc)
            return False
        finally:
            self.dispatcher.release(prompt_id)
        return interrupted and deleted

    # ------------------------------------------------------------ farm state

    def farm_status(self) -> FarmStatus:
        """Each server as last seen (no network): for Settings and ``studio providers``."""
        return self.farm.status()

    async def check_servers(self, seconds: float = 5.0) -> FarmStatus:
        """Ask every server how it is now (queue, models, GPU), at once, within ``seconds``."""
        return await self.dispatcher.check_servers(seconds)

    # ------------------------------------------------------------ references

    async def attach_references(self, graph: Graph, spec: JobSpec, server: Server,
                                references: Sequence[tuple[str, bytes]]) -> Graph:
        """Upload ``references`` to ``server`` and wire them into ``graph`` (see
        :mod:`~studio.providers.comfyui.references`); the request type does not carry
        references yet, so nothing calls this during a render."""
        catalogue = await self.dispatcher.catalogue_of(server)
        client = self.dispatcher.client(server)
        try:
            wired, _mode = await attach_references(
                client.upload_image, graph, self.workflow_for(spec), catalogue, references,
                model=spec.model, server=server.public_url)
        except WorkflowError as exc:
            raise InvalidRequestError(PROVIDER, str(exc)) from None
        return wired


def _ignore(event: Any) -> None:
    pass
