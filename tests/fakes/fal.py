"""A fake fal queue API for ``fal-ai/flux/schnell``, ``fal-ai/flux-lora`` and the reference
models (FLUX.2 klein/pro edit, Kontext, Kontext multi, PuLID), with fal's storage upload and
image files.

Default: submit answers ``IN_QUEUE`` (position 0) with status/response/cancel URLs on this server
(without the ``/schnell`` subpath, as fal documents); status answers ``IN_QUEUE`` (position 1),
then ``IN_PROGRESS``, then ``COMPLETED``; the response URL gives ``images[0].url`` and the seed.
A wrong key gets 401 ``{"detail": "Unauthorized"}``.

Storage: ``POST /storage/upload/initiate`` (key checked) answers an ``upload_url`` and a
``file_url`` on ``files`` (a :class:`~tests.fakes.files.FakeFileHost`, another origin) or on this
server. A reference model's submit checks its reference field like the runner would (each URL
must name an uploaded file, data URIs decode): else 422 with a ``detail`` list. What each job
received is kept in ``references[request id]`` (bytes, in order) and ``job_bodies[request id]``.

Holds: ``submit`` (after the request is queued), ``poll`` (status checks), ``download``. Key
echoes: ``id``, ``url`` (in the status/response/cancel URLs), ``header``.
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any

from tests.fakes.files import reference_bytes, serve_uploads
from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes

#: Reference models: the field their images come in, and whether it is a list.
REFERENCE_FIELDS: dict[str, tuple[str, bool]] = {
    "flux-2/klein/4b/edit": ("image_urls", True),
    "flux-2-pro/edit": ("image_urls", True),
    "flux-pro/kontext": ("image_url", False),
    "flux-pro/kontext/multi": ("image_urls", True),
    "flux-pulid": ("reference_image_url", False),
}
_MODELS = "|".join(re.escape(m) for m in ("flux/schnell", "flux-lora", *REFERENCE_FIELDS))


class FakeFal(FakeServer):
    name = "fal"

    #: The status sequence every request walks through (the last one repeats).
    STATUSES: tuple[dict[str, Any], ...] = (
        {"status": "IN_QUEUE", "queue_position": 1},
        {"status": "IN_PROGRESS", "logs": None},
        {"status": "COMPLETED", "logs": None, "metrics": {"inference_time": 0.4}},
    )

    def __init__(self, api_key: str = "test-key", *, seed: int = 777,
                 files: FakeServer | None = None) -> None:
        super().__init__(api_key)
        self.files = files
        self.references: dict[str, list[bytes]] = {}
        self.job_bodies: dict[str, dict[str, Any]] = {}
        self._uploads = itertools.count(1)
        serve_uploads(self)
        self.route("POST", r"/storage/upload/initiate", self._initiate)
        self.seed = seed
        self.image = png_bytes(48, 64, (20, 160, 90))
        self._ids = itertools.count(1)
        self._polls: dict[str, int] = {}
        self._lock2 = threading.Lock()
        self.seeds: dict[str, int] = {}
        self.route("POST", rf"/fal-ai/(?P<app>{_MODELS})", self._submit)
        self.route("GET", r"/fal-ai/(?P<app>[\w.-]+)/requests/(?P<id>req-\d+)[^/]*/status",
                   self._status)
        self.route("GET", r"/fal-ai/(?P<app>[\w.-]+)/requests/(?P<id>req-\d+)[^/]*",
                   self._result)
        self.route("PUT", r"/fal-ai/(?P<app>[\w.-]+)/requests/(?P<id>req-\d+)[^/]*/cancel",
                   self._cancel)

    def submits(self) -> int:
        return self.count("POST", rf"/fal-ai/({_MODELS})")

    def initiations(self) -> int:
        return self.count("POST", r"/storage/upload/initiate")

    def _initiate(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        body = req.json if isinstance(req.json, dict) else {}
        if not isinstance(body.get("content_type"), str) or not body.get("file_name"):
            return Reply(422, {"detail": [{"loc": ["body", "content_type"],
                                           "msg": "field required", "type": "missing"}]})
        host = self.files or self
        name = f"up{next(self._uploads)}-{body['file_name']}"
        return Reply(200, {"upload_url": f"{host.base_url}/upload/{name}?sig=signed",
                           "file_url": f"{host.base_url}/files/{name}"})

    def _check_references(self, model: str, body: dict[str, Any]) -> list[bytes] | Reply:
        field, is_list = REFERENCE_FIELDS[model]
        value = body.get(field)
        values = value if is_list and isinstance(value, list) else [value]
        if not values or values == [None] or (not is_list and not isinstance(value, str)):
            return Reply(422, {"detail": [{"loc": ["body", field], "msg": "field required",
                                           "type": "missing"}]})
        found = []
        for item in values:
            data = reference_bytes(item, self, *(s for s in (self.files,) if s is not None))
            if data is None:
                return Reply(422, {"detail": [{"loc": ["body", field],
                                               "msg": "Could not download file",
                                               "type": "file_download_error"}]})
            found.append(data)
        return found

    def _bad_key(self, req: Recorded) -> Reply | None:
        if req.headers.get("authorization") != f"Key {self.api_key}":
            return Reply(401, {"detail": "Unauthorized"})
        return None

    def urls(self, app: str, rid: str) -> dict[str, str]:
        base = self.echoed("url", f"{self.base_url}/fal-ai/{app}/requests/{rid}")
        return {"status_url": f"{base}/status", "response_url": base,
                "cancel_url": f"{base}/cancel"}

    def _reply(self, status: int, data: dict[str, Any]) -> Reply:
        headers = {"X-Fal-Request-Note": self.api_key} if "header" in self.echo_key else {}
        return Reply(status, data, headers=headers)

    def _submit(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        body = req.json if isinstance(req.json, dict) else {}
        refs: list[bytes] = []
        if match["app"] in REFERENCE_FIELDS:
            checked = self._check_references(match["app"], body)
            if isinstance(checked, Reply):
                return checked
            refs = checked
        rid = f"req-{next(self._ids):04d}"
        self.references[rid] = refs
        self.job_bodies[rid] = body
        seed = body.get("seed")
        self.seeds[rid] = seed if isinstance(seed, int) else self.seed
        app = match["app"].split("/")[0]
        self.accept(rid, str(body.get("prompt", "")))
        self.hold_point("submit", rid)
        return self._reply(200, {"request_id": self.echoed("id", rid), "status": "IN_QUEUE",
                                 "queue_position": 0, **self.urls(app, rid)})

    def _status(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        rid = match["id"]
        self.hold_point("poll", rid)
        with self._lock2:
            n = self._polls.get(rid, 0)
            self._polls[rid] = n + 1
        status = dict(self.STATUSES[min(n, len(self.STATUSES) - 1)])
        status["response_url"] = self.urls(match["app"], rid)["response_url"]
        return self._reply(200, status)

    def _result(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        rid = match["id"]
        url = self.add_image(f"fal-{rid}.png", self.image, job_id=rid)
        return self._reply(200, {"images": [{"url": url, "width": 48, "height": 64,
                                             "content_type": "image/png"}],
                                 "timings": {"inference": 0.4},
                                 "seed": self.seeds.get(rid, self.seed),
                                 "has_nsfw_concepts": [False], "prompt": "..."})

    def _cancel(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        return self._reply(202, {"status": "CANCELLATION_REQUESTED"})
