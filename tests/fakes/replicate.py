"""A fake Replicate predictions API (official-model route) with image files.

Default: create answers 201 ``starting`` (empty logs) with ``urls.get``/``urls.cancel`` on this
server; each GET answers ``processing`` ``polls_before_success - 1`` times, then ``succeeded`` with
an output URL and ``Using seed: N`` in the logs, N being the seed sent (a missing seed or seed 0 is
replaced by a random one, as cog-flux does with ``go_fast`` off). ``sync=True`` answers the create
with a finished prediction (``status: processing`` and ``output`` already filled with a ``data:``
URI, like the real ``Prefer: wait`` answer, and empty logs). ``seed_in_logs=False`` leaves the logs
empty. Cancel answers ``canceled``. A wrong key gets a problem+json 401.

Holds: ``submit`` (after the prediction exists), ``poll`` (GET), ``download``. Key echoes: ``id``,
``url`` (in ``urls.get``), ``logs``, ``header``.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import random
import re
import threading
from typing import Any

from tests.fakes.files import reference_bytes
from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes

THROTTLED = {"detail": "Request was throttled. Your rate limit resets in ~30s."}


#: The reference models: their reference field, whether it is a list, and whether it is needed.
REFERENCE_FIELDS: dict[str, tuple[str, bool]] = {
    "black-forest-labs/flux-kontext-pro": ("input_image", False),
    "black-forest-labs/flux-2-pro": ("input_images", True),
}


def _multipart_files(req: Recorded) -> dict[str, tuple[str, bytes, str]]:
    """The file parts of a multipart/form-data body: {part: (file name, bytes, type)}."""
    ctype = req.headers.get("content-type", "")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + req.body)
    out: dict[str, tuple[str, bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(data, bytes):
            out[name] = (part.get_filename() or "", data, part.get_content_type())
    return out


class FakeReplicate(FakeServer):
    name = "replicate"

    def __init__(self, api_key: str = "test-key", *, polls_before_success: int = 1,
                 sync: bool = False, seed: int = 4242, seed_in_logs: bool = True) -> None:
        super().__init__(api_key)
        self.polls_before_success = polls_before_success
        self.sync = sync
        self.seed = seed
        self.seed_in_logs = seed_in_logs
        self.image = png_bytes(64, 64, (30, 90, 200))
        self._ids = itertools.count(1)
        self._polls: dict[str, int] = {}
        self._seeds: dict[str, int] = {}
        self._lock2 = threading.Lock()
        self._rng = random.Random(7)
        #: Per prediction: the model, the reference bytes it got (in order) and its input.
        self.models: dict[str, str] = {}
        self.references: dict[str, list[bytes]] = {}
        self.inputs: dict[str, dict[str, Any]] = {}
        self.route("POST", r"/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions", self._create)
        self.route("POST", r"/v1/files", self._upload)
        self.route("GET", r"/v1/predictions/(?P<id>[^/]+)", self._get)
        self.route("POST", r"/v1/predictions/(?P<id>[^/]+)/cancel", self._cancel)

    def submits(self) -> int:
        return self.count("POST", r"/v1/models/.+/predictions")

    def uploads(self) -> int:
        return self.count("POST", r"/v1/files")

    def _upload(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        parts = _multipart_files(req)
        if "content" not in parts:
            return Reply(400, {"title": "Bad request", "detail": "content is required",
                               "status": 400}, content_type="application/problem+json")
        name, data, ctype = parts["content"]
        fid = f"file{next(self._ids):04d}"
        self.images[fid] = (data, ctype)
        return Reply(201, {"id": fid, "name": name, "content_type": ctype, "size": len(data),
                           "urls": {"get": f"{self.base_url}/v1/files/{fid}"}})

    def _references(self, model: str, model_input: dict[str, Any]) -> list[bytes] | Reply:
        field, is_list = REFERENCE_FIELDS[model]
        value = model_input.get(field)
        values = value if is_list and isinstance(value, list) else [value]
        found = [reference_bytes(v, self) for v in values if v is not None]
        if any(d is None for d in found):
            return Reply(422, {"title": "Input validation failed", "status": 422,
                               "detail": f"- input.{field}: cannot read the file",
                               "invalid_fields": [{"type": "uri", "field": f"input.{field}",
                                                   "description": "cannot read the file"}]},
                         content_type="application/problem+json")
        return [d for d in found if d is not None]

    def _bad_key(self, req: Recorded) -> Reply | None:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"title": "Unauthenticated",
                               "detail": "You did not pass a valid authentication token",
                               "status": 401}, content_type="application/problem+json")
        return None

    def prediction(self, pid: str, status: str, output: Any = None, **extra: Any) -> dict[str, Any]:
        public = self.echoed("id", pid)
        logs = ""
        if status in ("succeeded", "processing") and self.seed_in_logs and not self.sync:
            logs = f"Using seed: {self._seeds.get(pid, self.seed)}\n"
        return {
            "id": public, "model": "black-forest-labs/flux-schnell", "version": "hidden",
            "input": {}, "logs": self.echoed("logs", logs), "output": output,
            "data_removed": False, "error": None, "status": status,
            "created_at": "2024-10-04T18:13:29.957Z",
            "urls": {"get": self.echoed("url", f"{self.base_url}/v1/predictions/{public}"),
                     "cancel": f"{self.base_url}/v1/predictions/{public}/cancel"},
            **extra,
        }

    def output_url(self, pid: str) -> str:
        return self.add_image(f"rep-{pid}.png", self.image, job_id=pid)

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.image).decode()

    def _reply(self, status: int, data: dict[str, Any]) -> Reply:
        headers = {"X-Request-Note": self.api_key} if "header" in self.echo_key else {}
        return Reply(status, data, headers=headers)

    def _create(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        body = req.json if isinstance(req.json, dict) else {}
        model_input = body.get("input") if isinstance(body.get("input"), dict) else {}
        model = f"{match['owner']}/{match['name']}"
        refs: list[bytes] = []
        if model in REFERENCE_FIELDS:
            checked = self._references(model, model_input)
            if isinstance(checked, Reply):
                return checked
            refs = checked
        pid = f"pred{next(self._ids):04d}x"
        self.models[pid], self.references[pid], self.inputs[pid] = model, refs, model_input
        seed = model_input.get("seed")
        with self._lock2:
            # cog-flux with go_fast off: ``if not seed: seed = random``.
            self._seeds[pid] = seed if isinstance(seed, int) and seed else \
                self._rng.randrange(1, 2 ** 16)
        self.accept(pid, str(model_input.get("prompt", "")))
        self.hold_point("submit", pid)
        if self.sync:
            return self._reply(201, self.prediction(pid, "processing", [self.data_uri()]))
        return self._reply(201, self.prediction(pid, "starting"))

    def _pid(self, match: re.Match[str]) -> str:
        return match["id"].split("-")[0]  # an echoed key rides after the id

    def _get(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        pid = self._pid(match)
        self.hold_point("poll", pid)
        with self._lock2:
            self._polls[pid] = self._polls.get(pid, 0) + 1
            polls = self._polls[pid]
        if polls < self.polls_before_success:
            return self._reply(200, self.prediction(pid, "processing"))
        # The BFL models answer one URI string, not a list.
        output: Any = self.output_url(pid) if self.models.get(pid) in REFERENCE_FIELDS \
            else [self.output_url(pid)]
        return self._reply(200, self.prediction(pid, "succeeded", output,
                                                metrics={"predict_time": 0.5,
                                                         "total_time": 0.7}))

    def _cancel(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        return self._reply(200, self.prediction(self._pid(match), "canceled"))
