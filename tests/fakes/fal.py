"""A fake fal queue API for ``fal-ai/flux/schnell`` and ``fal-ai/flux-lora``, with image files.

Default: submit answers ``IN_QUEUE`` (position 0) with status/response/cancel URLs on this server
(without the ``/schnell`` subpath, as fal documents); status answers ``IN_QUEUE`` (position 1),
then ``IN_PROGRESS``, then ``COMPLETED``; the response URL gives ``images[0].url`` and the seed.
A wrong key gets 401 ``{"detail": "Unauthorized"}``.

Holds: ``submit`` (after the request is queued), ``poll`` (status checks), ``download``. Key
echoes: ``id``, ``url`` (in the status/response/cancel URLs), ``header``.
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes


class FakeFal(FakeServer):
    name = "fal"

    #: The status sequence every request walks through (the last one repeats).
    STATUSES: tuple[dict[str, Any], ...] = (
        {"status": "IN_QUEUE", "queue_position": 1},
        {"status": "IN_PROGRESS", "logs": None},
        {"status": "COMPLETED", "logs": None, "metrics": {"inference_time": 0.4}},
    )

    def __init__(self, api_key: str = "test-key", *, seed: int = 777) -> None:
        super().__init__(api_key)
        self.seed = seed
        self.image = png_bytes(48, 64, (20, 160, 90))
        self._ids = itertools.count(1)
        self._polls: dict[str, int] = {}
        self._lock2 = threading.Lock()
        self.seeds: dict[str, int] = {}
        self.route("POST", r"/fal-ai/(?P<app>flux/schnell|flux-lora)", self._submit)
        self.route("GET", r"/fal-ai/(?P<app>flux|flux-lora)/requests/(?P<id>req-\d+)[^/]*/status",
                   self._status)
        self.route("GET", r"/fal-ai/(?P<app>flux|flux-lora)/requests/(?P<id>req-\d+)[^/]*",
                   self._result)
        self.route("PUT", r"/fal-ai/(?P<app>flux|flux-lora)/requests/(?P<id>req-\d+)[^/]*/cancel",
                   self._cancel)

    def submits(self) -> int:
        return self.count("POST", r"/fal-ai/(flux/schnell|flux-lora)")

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
        rid = f"req-{next(self._ids):04d}"
        body = req.json if isinstance(req.json, dict) else {}
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
