"""A fake Black Forest Labs API: FLUX.2 [pro], FLUX.2 [klein] 4B and FLUX.1 Kontext [pro].

Default: ``POST /v1/<model>`` with ``x-key`` answers ``{"id", "polling_url", "cost",
"input_mp", "output_mp"}`` (cost in credits: the model's first megapixel plus each input
megapixel at its rate); ``GET /v1/get_result?id=`` answers ``Pending`` for ``pending_polls``
checks, then ``outcome`` (``Ready`` with ``result.sample`` on ``delivery``, another origin, and
``result.seed``; or ``Error``, ``Request Moderated``, ``Content Moderated``, ``Task not found``).
A wrong key gets 403 ``{"detail": "Not authenticated"}``; more input images than the model takes
get 422 with a FastAPI ``detail`` list. The reference bytes each task received (base64 decoded)
are kept in ``references[task id]``, its body (images named by size) in ``job_bodies``.

Holds: ``submit``, ``poll``, ``download``. Key echoes: ``id``, ``url`` (the polling URL).
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any

from tests.fakes.files import reference_bytes
from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes

#: Per model: how many input images it takes, and its price in credits (first megapixel and
#: each further or input megapixel).
MODELS: dict[str, tuple[int, float, float]] = {
    "flux-2-pro": (8, 3.0, 1.5),
    "flux-2-klein-4b": (4, 1.4, 0.1),
    "flux-kontext-pro": (4, 4.0, 0.0),
}


class FakeBfl(FakeServer):
    name = "bfl"

    def __init__(self, api_key: str = "test-key", *, delivery: FakeServer | None = None,
                 pending_polls: int = 1, outcome: str = "Ready", seed: int = 31337) -> None:
        super().__init__(api_key)
        self.delivery = delivery
        self.pending_polls = pending_polls
        self.outcome = outcome
        self.seed = seed
        self.image = png_bytes(64, 64, (120, 40, 160))
        self._ids = itertools.count(1)
        self._lock2 = threading.Lock()
        self._polls: dict[str, int] = {}
        self.references: dict[str, list[bytes]] = {}
        self.job_bodies: dict[str, dict[str, Any]] = {}
        self.seeds: dict[str, int] = {}
        models = "|".join(re.escape(m) for m in MODELS)
        self.route("POST", rf"/v1/(?P<model>{models})", self._submit)
        self.route("GET", r"/v1/get_result", self._result)

    def submits(self) -> int:
        return self.count("POST", r"/v1/.+")

    def polls(self) -> int:
        return self.count("GET", r"/v1/get_result")

    def _bad_key(self, req: Recorded) -> Reply | None:
        if req.headers.get("x-key") != self.api_key:
            return Reply(403, {"detail": "Not authenticated"})
        return None

    def _submit(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        body = req.json if isinstance(req.json, dict) else {}
        most, first, per_mp = MODELS[match["model"]]
        fields = sorted((k for k in body if re.fullmatch(r"input_image(_\d)?", k)),
                        key=lambda k: int(k.rsplit("_", 1)[-1]) if k[-1].isdigit() else 1)
        if len(fields) > most or any(f != ("input_image" if i == 0 else f"input_image_{i + 1}")
                                     for i, f in enumerate(fields)):
            return Reply(422, {"detail": [{"loc": ["body", fields[-1]], "msg":
                                           "unexpected input image", "type": "extra"}]})
        refs = [reference_bytes(body[f]) for f in fields]
        if any(r is None for r in refs) or any(str(body[f]).startswith("http") for f in fields):
            return Reply(422, {"detail": [{"loc": ["body", "input_image"],
                                           "msg": "not base64", "type": "value_error"}]})
        tid = f"task-{next(self._ids):04d}"
        self.references[tid] = [r for r in refs if r is not None]
        self.job_bodies[tid] = {k: (f"<{len(v)} chars>" if k in fields else v)
                            for k, v in body.items()}
        seed = body.get("seed")
        self.seeds[tid] = seed if isinstance(seed, int) else self.seed
        self.accept(tid, str(body.get("prompt", "")))
        self.hold_point("submit", tid)
        public = self.echoed("id", tid)
        polling = self.echoed("url", f"{self.base_url}/v1/get_result?id={public}")
        return Reply(200, {"id": public, "polling_url": polling,
                           "cost": first + per_mp * len(refs), "input_mp": float(len(refs)),
                           "output_mp": 1.0})

    def _result(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        tid = (req.query.get("id") or [""])[0].split("-" + self.api_key)[0]
        if tid not in self.seeds:
            return Reply(200, {"id": tid, "status": "Task not found", "result": None})
        self.hold_point("poll", tid)
        with self._lock2:
            n = self._polls.get(tid, 0)
            self._polls[tid] = n + 1
        if n < self.pending_polls:
            return Reply(200, {"id": tid, "status": "Pending", "result": None,
                               "progress": 0.5})
        if self.outcome != "Ready":
            details = {"Moderation Reasons": ["Derivative Works"]} \
                if "Moderated" in self.outcome else {"error": "GPU fault"}
            return Reply(200, {"id": tid, "status": self.outcome, "result": None,
                               "details": details})
        host = self.delivery or self
        name = f"bfl-{tid}.png"
        host.add_image(name, self.image, job_id=tid)
        sample = f"{host.base_url}/files/{name}?se=2030&sig=signed"
        return Reply(200, {"id": tid, "status": "Ready", "progress": None, "details": None,
                           "result": {"sample": sample, "seed": self.seeds[tid],
                                      "prompt": "...", "start_time": 1.0, "end_time": 2.0}})
