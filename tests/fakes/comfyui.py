"""A fake ComfyUI server: HTTP and the ``/ws?clientId=`` WebSocket on one port of 127.0.0.1.

It runs on aiohttp (as ComfyUI itself does) in a thread with its own event loop, executes one
prompt at a time from a queue, and speaks the wire format of ComfyUI (PROVIDERS.md section 9):
``POST /prompt`` with the client's own ``prompt_id``, ``/history``, ``/view``, ``/interrupt``,
``/queue`` (GET and delete), ``/object_info`` with the installed models, ``/system_stats`` and
``/upload/image``. Graphs are validated against the catalogue the way the server does (node
classes, combo values, links), so a missing checkpoint is answered 400 with ``node_errors``.

Each accepted prompt runs one *behaviour*, taken from :meth:`FakeComfyUI.plan` (in order), from
:meth:`FakeComfyUI.when_prompt_has` (a word of its prompt text), else the default:

``success``       ``execution_start``, ``executing`` per node, ``progress`` steps, ``executed`` with
                  the saved image, ``execution_success``, ``executing`` with node null
``cached``        ``execution_cached`` with every node, no ``executed``; /history still lists the
                  image (newer servers keep cached outputs); ``cached_empty`` lists none
``error``         ``execution_error`` in the sampler, status ``error`` in /history
``hold``          runs until ``/interrupt`` (``execution_interrupted``) or :meth:`release`
``drop_socket``   closes the client's socket mid-run and refuses it until the prompt is done
``die``           the whole server dies mid-run (listener closed, sockets dropped)

:meth:`die` (``"close"`` or ``"hang"``: stop answering without closing), :meth:`forget` (a
restart: queue and history lost) and ``die_after_jobs`` (die as soon as that many images were
fetched, with whatever else is queued) script the rest. Every request is
recorded; :meth:`wait_until` blocks on a condition woken by every change (run it through
``asyncio.to_thread`` from async tests), never on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import struct
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

DEFAULT_CHECKPOINTS = ("flux1-schnell-fp8.safetensors", "flux1-dev-fp8.safetensors",
                       "sd_xl_base_1.0.safetensors")
SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m"]
SCHEDULERS = ["simple", "normal", "karras"]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class _Prompt:
    prompt_id: str
    number: int
    graph: dict[str, Any]
    client_id: str
    behaviour: str
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)


def _png(width: int, height: int, seed: int) -> bytes:
    from PIL import Image

    colour = (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)
    out = io.BytesIO()
    Image.new("RGB", (max(8, width), max(8, height)), colour).save(out, format="PNG")
    return out.getvalue()


def _combo(options: Iterable[str]) -> list[Any]:
    return [list(options), {}]


def object_info(checkpoints: Iterable[str], unets: Iterable[str] = (), clips: Iterable[str] = (),
                vaes: Iterable[str] = (), *, kontext: bool = False, redux: bool = False,
                style_models: Iterable[str] = ("flux1-redux-dev.safetensors",),
                clip_visions: Iterable[str] = ("sigclip_vision_patch14_384.safetensors",),
                ) -> dict[str, Any]:
    """An /object_info answer with the core nodes a FLUX graph uses and these model files."""
    def node(required: dict[str, Any], output: list[str], optional: dict[str, Any] | None = None,
             output_node: bool = False) -> dict[str, Any]:
        return {"input": {"required": required, "optional": optional or {}}, "output": output,
                "output_name": output, "output_node": output_node, "category": "fake"}

    clips = list(clips)
    info: dict[str, Any] = {
        "CheckpointLoaderSimple": node({"ckpt_name": _combo(checkpoints)},
                                       ["MODEL", "CLIP", "VAE"]),
        "UNETLoader": node({"unet_name": _combo(unets), "weight_dtype": _combo(
            ["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"])}, ["MODEL"]),
        "DualCLIPLoader": node({"clip_name1": _combo(clips), "clip_name2": _combo(clips),
                                "type": _combo(["sdxl", "sd3", "flux", "hunyuan_video"])},
                               ["CLIP"]),
        "VAELoader": node({"vae_name": _combo(vaes)}, ["VAE"]),
        "CLIPTextEncode": node({"text": ["STRING", {"multiline": True}], "clip": ["CLIP"]},
                               ["CONDITIONING"]),
        "FluxGuidance": node({"conditioning": ["CONDITIONING"], "guidance": [
            "FLOAT", {"default": 3.5, "min": 0.0, "max": 100.0}]}, ["CONDITIONING"]),
        "EmptySD3LatentImage": node({"width": ["INT", {"default": 1024, "step": 16}],
                                     "height": ["INT", {"default": 1024, "step": 16}],
                                     "batch_size": ["INT", {"default": 1}]}, ["LATENT"]),
        "KSampler": node({"model": ["MODEL"], "seed": ["INT", {}], "steps": ["INT", {}],
                          "cfg": ["FLOAT", {}], "sampler_name": _combo(SAMPLERS),
                          "scheduler": _combo(SCHEDULERS), "positive": ["CONDITIONING"],
                          "negative": ["CONDITIONING"], "latent_image": ["LATENT"],
                          "denoise": ["FLOAT", {}]}, ["LATENT"]),
        "VAEDecode": node({"samples": ["LATENT"], "vae": ["VAE"]}, ["IMAGE"]),
        "VAEEncode": node({"pixels": ["IMAGE"], "vae": ["VAE"]}, ["LATENT"]),
        "SaveImage": node({"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}, [],
                          output_node=True),
        "SaveImageWebsocket": node({"images": ["IMAGE"]}, [], output_node=True),
        "LoadImage": node({"image": [[], {"image_upload": True}]}, ["IMAGE", "MASK"]),
    }
    if kontext:
        info["FluxKontextImageScale"] = node({"image": ["IMAGE"]}, ["IMAGE"])
        info["ReferenceLatent"] = node({"conditioning": ["CONDITIONING"]}, ["CONDITIONING"],
                                       optional={"latent": ["LATENT"]})
    if redux:
        info["CLIPVisionLoader"] = node({"clip_name": _combo(clip_visions)}, ["CLIP_VISION"])
        info["CLIPVisionEncode"] = node({"clip_vision": ["CLIP_VISION"], "image": ["IMAGE"],
                                         "crop": _combo(["center", "none"])},
                                        ["CLIP_VISION_OUTPUT"])
        info["StyleModelLoader"] = node({"style_model_name": _combo(style_models)},
                                        ["STYLE_MODEL"])
        info["StyleModelApply"] = node({
            "conditioning": ["CONDITIONING"], "style_model": ["STYLE_MODEL"],
            "clip_vision_output": ["CLIP_VISION_OUTPUT"],
            "strength": ["FLOAT", {"default": 1.0}],
            "strength_type": _combo(["multiply", "attn_bias"])}, ["CONDITIONING"])
    return info


class FakeComfyUI:
    """One fake server; see the module docstring. ``start()``/``stop()`` or a context manager."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        run_seconds: float = 0.02,
        steps: int = 4,
        checkpoints: Iterable[str] = DEFAULT_CHECKPOINTS,
        unets: Iterable[str] = (),
        clips: Iterable[str] = (),
        vaes: Iterable[str] = (),
        kontext: bool = False,
        redux: bool = False,
        die_after_jobs: int | None = None,
        echo_prompt_id: bool = True,
        gpu: str = "NVIDIA GeForce RTX 4090",
    ) -> None:
        self.api_key = api_key
        self.run_seconds = run_seconds
        self.steps = steps
        self.catalogue = object_info(checkpoints, unets, clips, vaes, kontext=kontext,
                                     redux=redux)
        self.die_after_jobs = die_after_jobs
        self.echo_prompt_id = echo_prompt_id
        self.gpu = gpu
        self.default_behaviour = "success"
        #: Answer /view with a redirect to this URL (to check the key never follows it).
        self.view_redirect: str | None = None
        self.requests: list[Recorded] = []
        self.posts: Counter[str] = Counter()
        self.completed: list[str] = []
        self.started: list[str] = []
        self.dead = False
        self.views = 0
        self.hanging = False
        self._planned: deque[str] = deque()
        self._rules: list[tuple[str, str]] = []
        self._prompts: dict[str, _Prompt] = {}
        self._pending: list[_Prompt] = []
        self._running: _Prompt | None = None
        self._history: dict[str, dict[str, Any]] = {}
        self._files: dict[tuple[str, str, str], bytes] = {}
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._refused_sockets: set[str] = set()
        self._number = 0
        self._image_count = 0
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._work: asyncio.Event | None = None
        self._stopped: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeComfyUI:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="fake-comfyui",
                                        daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake ComfyUI server did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._open())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(self._close())
        loop.close()

    async def _open(self) -> None:
        self._work = asyncio.Event()
        self._stopped = asyncio.Event()
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 2**20)
        routes = [
            ("POST", "/prompt", self._post_prompt), ("GET", "/queue", self._get_queue),
            ("POST", "/queue", self._post_queue), ("GET", "/history/{prompt_id}",
                                                   self._get_history),
            ("GET", "/view", self._view), ("POST", "/interrupt", self._interrupt),
            ("GET", "/object_info", self._object_info),
            ("GET", "/system_stats", self._system_stats),
            ("POST", "/upload/image", self._upload), ("GET", "/ws", self._ws),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, "/api" + path, handler)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._worker = asyncio.get_running_loop().create_task(self._run_queue())

    async def _close(self) -> None:
        assert self._stopped is not None
        self._stopped.set()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for ws in list(self._sockets.values()):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeComfyUI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # ------------------------------------------------------------ scripting (any thread)

    def plan(self, *behaviours: str) -> None:
        """Behaviours for the next accepted prompts, in order."""
        self._call(lambda: self._planned.extend(behaviours))

    def when_prompt_has(self, word: str, behaviour: str) -> None:
        """Prompts whose text contains ``word`` (any case) get ``behaviour``."""
        self._call(lambda: self._rules.append((word.lower(), behaviour)))

    def release(self, prompt_id: str | None = None) -> None:
        """Let held prompts (or one) finish successfully."""
        def go() -> None:
            for prompt in self._prompts.values():
                if prompt_id in (None, prompt.prompt_id):
                    prompt.released.set()
        self._call(go)

    def die(self, mode: str = "close") -> None:
        """Stop answering: ``close`` the listener and every connection, or ``hang``."""
        done = threading.Event()

        async def go() -> None:
            await self._die(mode)
            done.set()

        self._call(lambda: self._spawn(go()))
        done.wait(10)

    def forget(self) -> None:
        """What a restart does: every queued, running and finished prompt is forgotten."""
        def go() -> None:
            self._pending.clear()
            self._history.clear()
            if self._running is not None:
                self._running.interrupted.set()
                self._running.behaviour = "forgotten"
            self._notify()
        self._call(go)

    def remove_model(self, name: str) -> None:
        """Delete a model file after discovery (the next prompt naming it is refused)."""
        def go() -> None:
            for spec in self.catalogue.values():
                for options in spec["input"]["required"].values():
                    if isinstance(options, list) and options and isinstance(options[0], list) \
                            and name in options[0]:
                        options[0].remove(name)
            self._notify()
        self._call(go)

    def wait_until(self, predicate: Callable[[FakeComfyUI], bool], timeout: float = 10) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), timeout):
                raise AssertionError("the fake ComfyUI server never reached the awaited state")

    async def until(self, predicate: Callable[[FakeComfyUI], bool], seconds: float = 10) -> None:
        await asyncio.to_thread(self.wait_until, predicate, seconds)

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in list(self.requests) if r.method == method and r.path == path)

    def prompt_bodies(self) -> list[dict[str, Any]]:
        return [r.json for r in list(self.requests) if r.method == "POST" and r.path == "/prompt"]

    def graph_of(self, prompt_id: str) -> dict[str, Any]:
        return self._prompts[prompt_id].graph

    def uploaded(self) -> dict[str, bytes]:
        return {name: data for (kind, sub, name), data in self._files.items() if kind == "input"}

    @property
    def running(self) -> str | None:
        return self._running.prompt_id if self._running else None

    @property
    def pending(self) -> list[str]:
        return [p.prompt_id for p in self._pending]

    def _call(self, func: Callable[[], Any]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(func)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------ dying

    async def _die(self, mode: str) -> None:
        self.dead = True
        if mode == "hang":
            self.hanging = True
            self._notify()
            return
        if self._worker is not None:
            self._worker.cancel()
        for ws in list(self._sockets.values()):
            with contextlib.suppress(Exception):
                await ws.close(code=1001)
        self._sockets.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._notify()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # A multipart body is left for the handler to parse (reading it here would use it up).
        body = b"" if request.content_type.startswith("multipart/") else await request.read()
        self.requests.append(Recorded(request.method, request.path.removeprefix("/api"),
                                      dict(request.query),
                                      {k.lower(): v for k, v in request.headers.items()}, body))
        self._notify()
        if self.hanging:
            assert self._stopped is not None
            await self._stopped.wait()
            raise web.HTTPServiceUnavailable()
        if self.api_key is not None and \
                request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": "unauthorized"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    # ------------------------------------------------------------ HTTP

    async def _post_prompt(self, request: web.Request) -> web.Response:
        try:
            data = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": {"type": "invalid_json", "message": "bad JSON"}},
                                     status=400)
        graph = data.get("prompt") if isinstance(data, dict) else None
        if not isinstance(graph, dict):
            return web.json_response({"error": {"type": "no_prompt", "message":
                                                "No prompt provided", "details": "",
                                                "extra_info": {}}, "node_errors": {}},
                                     status=400)
        errors = self._validate(graph)
        if errors:
            return web.json_response({"error": {
                "type": "prompt_outputs_failed_validation",
                "message": "Prompt outputs failed validation", "details": "",
                "extra_info": {}}, "node_errors": errors}, status=400)
        wanted = data.get("prompt_id")
        prompt_id = wanted if self.echo_prompt_id and isinstance(wanted, str) and wanted \
            else str(uuid.uuid4())
        self._number += 1
        prompt = _Prompt(prompt_id, self._number, graph, str(data.get("client_id") or ""),
                         self._behaviour_for(graph))
        self._prompts[prompt_id] = prompt
        self._pending.append(prompt)
        self.posts[prompt_id] += 1
        assert self._work is not None
        self._work.set()
        await self._broadcast_status()
        self._notify()
        return web.json_response({"prompt_id": prompt_id, "number": self._number,
                                  "node_errors": {}})

    def _behaviour_for(self, graph: dict[str, Any]) -> str:
        if self._planned:
            return self._planned.popleft()
        text = json.dumps(graph).lower()
        for word, behaviour in self._rules:
            if word in text:
                return behaviour
        return self.default_behaviour

    def _validate(self, graph: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        for node_id, node in graph.items():
            class_type = node.get("class_type") if isinstance(node, dict) else None
            spec = self.catalogue.get(class_type) if isinstance(class_type, str) else None
            problems: list[dict[str, Any]] = []
            if spec is None:
                problems.append({"type": "invalid_prompt", "message":
                                 f"Cannot execute because node {class_type} does not exist.",
                                 "details": f"Node ID '#{node_id}'", "extra_info": {}})
            else:
                inputs = node.get("inputs", {})
                required = spec["input"]["required"]
                for name, value in inputs.items():
                    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                        if value[0] not in graph:
                            problems.append({"type": "bad_linked_input", "message":
                                             "Bad linked input", "details": name,
                                             "extra_info": {}})
                        continue
                    options = required.get(name)
                    if class_type == "LoadImage" and name == "image":
                        if ("input", "", value) not in self._files:
                            problems.append({"type": "custom_validation_failed", "message":
                                             "Custom validation failed for node",
                                             "details": f"image - Invalid image file: {value}",
                                             "extra_info": {}})
                    elif isinstance(options, list) and options and isinstance(options[0], list) \
                            and value not in options[0]:
                        problems.append({"type": "value_not_in_list",
                                         "message": "Value not in list",
                                         "details": f"{name}: '{value}' not in {options[0]}",
                                         "extra_info": {"input_name": name}})
                for name in required:
                    if name not in inputs:
                        problems.append({"type": "required_input_missing", "message":
                                         "Required input is missing", "details": name,
                                         "extra_info": {}})
            if problems:
                errors[str(node_id)] = {"errors": problems, "dependent_outputs": [],
                                        "class_type": class_type}
        return errors

    def _queue_item(self, prompt: _Prompt) -> list[Any]:
        return [prompt.number, prompt.prompt_id, prompt.graph, {"client_id": prompt.client_id},
                []]

    async def _get_queue(self, request: web.Request) -> web.Response:
        running = [self._queue_item(self._running)] if self._running else []
        return web.json_response({"queue_running": running,
                                  "queue_pending": [self._queue_item(p) for p in self._pending]})

    async def _post_queue(self, request: web.Request) -> web.Response:
        data = json.loads(await request.read() or b"{}")
        if data.get("clear"):
            self._pending.clear()
        for prompt_id in data.get("delete", []):
            self._pending = [p for p in self._pending if p.prompt_id != prompt_id]
        await self._broadcast_status()
        self._notify()
        return web.Response(status=200)

    async def _get_history(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info["prompt_id"]
        entry = self._history.get(prompt_id)
        return web.json_response({prompt_id: entry} if entry is not None else {})

    async def _view(self, request: web.Request) -> web.Response:
        if self.view_redirect:
            raise web.HTTPFound(self.view_redirect)
        key = (request.query.get("type", "output"), request.query.get("subfolder", ""),
               request.query.get("filename", ""))
        data = self._files.get(key)
        if data is None:
            return web.Response(status=404, text="Not Found")
        response = web.Response(body=data, content_type="image/png")
        if key[0] == "output":
            self.views += 1
        if self.die_after_jobs is not None and self.views >= self.die_after_jobs:
            # The client has its image; then the server dies with whatever else it holds.
            await response.prepare(request)
            await response.write_eof()
            self._spawn(self._die("close"))
        return response

    async def _interrupt(self, request: web.Request) -> web.Response:
        raw = await request.read()
        data = json.loads(raw) if raw else {}
        wanted = data.get("prompt_id") if isinstance(data, dict) else None
        if self._running is not None and wanted in (None, self._running.prompt_id):
            self._running.interrupted.set()
        return web.Response(status=200)

    async def _object_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.catalogue)

    async def _system_stats(self, request: web.Request) -> web.Response:
        return web.json_response({
            "system": {"os": "posix", "comfyui_version": "0.3.60", "python_version": "3.12"},
            "devices": [{"name": f"cuda:0 {self.gpu}", "type": "cuda", "index": 0,
                         "vram_total": 24 * 2**30, "vram_free": 20 * 2**30}]})

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        image = form.get("image")
        if not isinstance(image, web.FileField):
            return web.Response(status=400)
        data = image.file.read()
        name = image.filename
        subfolder = str(form.get("subfolder") or "")
        stem, dot, ext = name.rpartition(".")
        n = 0
        while (existing := self._files.get(("input", subfolder, name))) is not None \
                and existing != data:
            n += 1
            name = f"{stem} ({n}){dot}{ext}"
        self._files[("input", subfolder, name)] = data
        self._notify()
        return web.json_response({"name": name, "subfolder": subfolder, "type": "input"})

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        client_id = request.query.get("clientId") or uuid.uuid4().hex
        if client_id in self._refused_sockets:
            return web.Response(status=503, text="try later")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        old = self._sockets.get(client_id)
        self._sockets[client_id] = ws
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()
        await self._send(ws, "status", {"status": {"exec_info": {
            "queue_remaining": self._queue_remaining()}}, "sid": client_id})
        running = self._running
        if running is not None and running.client_id == client_id:
            await self._send(ws, "executing", {"node": "5", "display_node": "5",
                                               "prompt_id": running.prompt_id})
        self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            if self._sockets.get(client_id) is ws:
                del self._sockets[client_id]
        return ws

    # ------------------------------------------------------------ execution

    def _queue_remaining(self) -> int:
        return len(self._pending) + (1 if self._running else 0)

    async def _send(self, ws: web.WebSocketResponse | None, kind: str, data: dict[str, Any]
                    ) -> None:
        if ws is None or ws.closed or self.hanging:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(json.dumps({"type": kind, "data": data}))

    async def _to_client(self, prompt: _Prompt, kind: str, data: dict[str, Any]) -> None:
        await self._send(self._sockets.get(prompt.client_id), kind,
                         {**data, "prompt_id": prompt.prompt_id})

    async def _broadcast(self, kind: str, data: dict[str, Any]) -> None:
        for ws in list(self._sockets.values()):
            await self._send(ws, kind, data)

    async def _broadcast_status(self) -> None:
        await self._broadcast("status", {"status": {"exec_info": {
            "queue_remaining": self._queue_remaining()}}})

    async def _run_queue(self) -> None:
        assert self._work is not None
        while True:
            while not self._pending:
                self._work.clear()
                await self._work.wait()
            self._pending.sort(key=lambda p: p.number)
            prompt = self._pending.pop(0)
            self._running = prompt
            self.started.append(prompt.prompt_id)
            self._notify()
            try:
                await self._execute(prompt)
            finally:
                self._running = None
                self._notify()

    def _sorted_nodes(self, graph: dict[str, Any]) -> list[str]:
        return sorted(graph, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))

    async def _execute(self, prompt: _Prompt) -> None:
        if self.hanging:
            assert self._stopped is not None
            await self._stopped.wait()
        await self._broadcast_status()
        await self._to_client(prompt, "execution_start", {"timestamp": 0})
        messages: list[Any] = [["execution_start", {"prompt_id": prompt.prompt_id}]]
        graph = prompt.graph
        nodes = self._sorted_nodes(graph)
        behaviour = prompt.behaviour
        if behaviour in ("cached", "cached_empty"):
            await self._to_client(prompt, "execution_cached", {"nodes": nodes, "timestamp": 0})
            messages.append(["execution_cached", {"nodes": nodes,
                                                  "prompt_id": prompt.prompt_id}])
            outputs = self._save_outputs(prompt) if behaviour == "cached" else {}
            await self._finish(prompt, "success", outputs, messages)
            return
        outputs: dict[str, Any] = {}
        for node_id in nodes:
            node = graph[node_id]
            await self._to_client(prompt, "executing", {"node": node_id,
                                                        "display_node": node_id})
            if node.get("class_type") != "KSampler":
                continue
            steps = int(node["inputs"].get("steps") or self.steps)
            shown = max(1, min(steps, self.steps))
            for step in range(1, shown + 1):
                if await self._interrupted(prompt, self.run_seconds / shown):
                    return await self._end_interrupted(prompt, node_id, messages)
                await self._to_client(prompt, "progress", {"value": step, "max": shown,
                                                           "node": node_id})
                if step == 1 and behaviour == "error":
                    error = {"prompt_id": prompt.prompt_id, "node_id": node_id,
                             "node_type": "KSampler", "executed": [],
                             "exception_message": "CUDA out of memory. Tried to allocate 2 GiB",
                             "exception_type": "torch.OutOfMemoryError", "traceback": [],
                             "current_inputs": {}, "current_outputs": {}, "timestamp": 0}
                    await self._to_client(prompt, "execution_error", error)
                    messages.append(["execution_error", error])
                    await self._finish(prompt, "error", {}, messages)
                    return None
                if step == 1 and behaviour == "drop_socket":
                    self._refused_sockets.add(prompt.client_id)
                    ws = self._sockets.pop(prompt.client_id, None)
                    if ws is not None:
                        await ws.close(code=1011)
                    self._notify()
                if step == 1 and behaviour == "die":
                    self._spawn(self._die("close"))
                    await asyncio.Event().wait()  # cancelled by the death
            if behaviour == "hold":
                while not prompt.released.is_set():
                    if await self._interrupted(prompt, 0.05):
                        return await self._end_interrupted(prompt, node_id, messages)
        outputs = self._save_outputs(prompt)
        for node_id, output in outputs.items():
            await self._to_client(prompt, "executed", {"node": node_id, "display_node": node_id,
                                                       "output": output})
        for node_id, node in graph.items():
            if node.get("class_type") == "SaveImageWebsocket":
                ws = self._sockets.get(prompt.client_id)
                if ws is not None and not ws.closed:
                    data = self._render(prompt)
                    meta = json.dumps({"prompt_id": prompt.prompt_id, "node_id": node_id,
                                       "image_type": "image/png"}).encode()
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await ws.send_bytes(struct.pack(">II", 4, len(meta)) + meta + data)
        await self._finish(prompt, "success", outputs, messages)
        return None

    async def _interrupted(self, prompt: _Prompt, wait: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(prompt.interrupted.wait(), wait)
        return prompt.interrupted.is_set()

    async def _end_interrupted(self, prompt: _Prompt, node_id: str, messages: list[Any]) -> None:
        if prompt.behaviour == "forgotten":
            await self._to_client(prompt, "executing", {"node": None})
            return
        data = {"prompt_id": prompt.prompt_id, "node_id": node_id, "node_type": "KSampler",
                "executed": [], "timestamp": 0}
        await self._broadcast("execution_interrupted", data)
        messages.append(["execution_interrupted", data])
        await self._finish(prompt, "error", {}, messages)

    def _render(self, prompt: _Prompt) -> bytes:
        width = height = 64
        seed = 0
        for node in prompt.graph.values():
            inputs = node.get("inputs", {})
            if node.get("class_type") in ("EmptySD3LatentImage", "EmptyLatentImage"):
                width, height = int(inputs["width"]), int(inputs["height"])
            if "seed" in inputs and isinstance(inputs["seed"], int):
                seed = inputs["seed"]
        return _png(width, height, seed)

    def _save_outputs(self, prompt: _Prompt) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for node_id, node in prompt.graph.items():
            if node.get("class_type") != "SaveImage":
                continue
            self._image_count += 1
            prefix = str(node["inputs"].get("filename_prefix") or "ComfyUI")
            subfolder, _, stem = prefix.rpartition("/")
            filename = f"{stem}_{self._image_count:05d}_.png"
            self._files[("output", subfolder, filename)] = self._render(prompt)
            outputs[node_id] = {"images": [{"filename": filename, "subfolder": subfolder,
                                            "type": "output"}]}
        return outputs

    async def _finish(self, prompt: _Prompt, status: str, outputs: dict[str, Any],
                      messages: list[Any]) -> None:
        if status == "success":
            success = {"prompt_id": prompt.prompt_id, "timestamp": 0}
            await self._to_client(prompt, "execution_success", {"timestamp": 0})
            messages.append(["execution_success", success])
        # History is written before the end is announced, as the server does.
        self._history[prompt.prompt_id] = {
            "prompt": [prompt.number, prompt.prompt_id, prompt.graph, {}, []],
            "outputs": outputs,
            "status": {"status_str": status, "completed": status == "success",
                       "messages": messages},
        }
        self._running = None
        self.completed.append(prompt.prompt_id)
        self._refused_sockets.discard(prompt.client_id)
        await self._to_client(prompt, "executing", {"node": None})
        await self._broadcast_status()
        self._notify()


def serve_many(count: int, **kw: Any) -> list[FakeComfyUI]:
    """``count`` started fakes with the same options (a farm)."""
    return [FakeComfyUI(**kw).start() for _ in range(count)]
