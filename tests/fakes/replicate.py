"""A fake Replicate predictions API (official-model route) with image files.

Default: create answers 201 ``starting`` with ``urls.get``/``urls.cancel`` on this server; each GET
answers ``processing`` ``polls_before_success - 1`` times, then ``succeeded`` with an output URL
and ``Using seed: N`` in the logs. ``sync=True`` answers the create with a finished prediction
(``status: processing`` and ``output`` already filled with a ``data:`` URI, like the real
``Prefer: wait`` answer). Cancel answers ``canceled``. A wrong key gets a problem+json 401.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes


class FakeReplicate(FakeServer):
    name = "replicate"

    def __init__(self, api_key: str = "test-key", *, polls_before_success: int = 1,
                 sync: bool = False, seed: int = 4242) -> None:
        super().__init__(api_key)
        self.polls_before_success = polls_before_success
        self.sync = sync
        self.seed = seed
        self.image = png_bytes(64, 64, (30, 90, 200))
        self._ids = itertools.count(1)
        self._polls: dict[str, int] = {}
        self._lock2 = threading.Lock()
        self.route("POST", r"/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions", self._create)
        self.route("GET", r"/v1/predictions/(?P<id>[a-z0-9]+)", self._get)
        self.route("POST", r"/v1/predictions/(?P<id>[a-z0-9]+)/cancel", self._cancel)

    def submits(self) -> int:
        return self.count("POST", r"/v1/models/.+/predictions")

    def _bad_key(self, req: Recorded) -> Reply | None:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"title": "Unauthenticated",
                               "detail": "You did not pass a valid authentication token",
                               "status": 401}, content_type="application/problem+json")
        return None

    def prediction(self, pid: str, status: str, output: Any = None, **extra: Any) -> dict[str, Any]:
        return {
            "id": pid, "model": "black-forest-labs/flux-schnell", "version": "hidden",
            "input": {}, "logs": f"Using seed: {self.seed}\n", "output": output,
            "data_removed": False, "error": None, "status": status,
            "created_at": "2024-10-04T18:13:29.957Z",
            "urls": {"get": f"{self.base_url}/v1/predictions/{pid}",
                     "cancel": f"{self.base_url}/v1/predictions/{pid}/cancel"},
            **extra,
        }

    def output_url(self, pid: str) -> str:
        return self.add_image(f"rep-{pid}.png", self.image)

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.image).decode()

    def _create(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        pid = f"pred{next(self._ids):04d}x"
        if self.sync:
            return Reply(201, self.prediction(pid, "processing", [self.data_uri()]),
                         headers={"Preference-Applied": "wait"})
        return Reply(201, self.prediction(pid, "starting"))

    def _get(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        pid = match["id"]
        with self._lock2:
            self._polls[pid] = self._polls.get(pid, 0) + 1
            polls = self._polls[pid]
        if polls < self.polls_before_success:
            return Reply(200, self.prediction(pid, "processing"))
        return Reply(200, self.prediction(pid, "succeeded", [self.output_url(pid)],
                                          metrics={"predict_time": 0.5, "total_time": 0.7}))

    def _cancel(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        return Reply(200, self.prediction(match["id"], "canceled"))
