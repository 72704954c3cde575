"""A fake imageapi.org: ``POST /api/v1/generate`` answers synchronously with an image URL.

The real answer's shape is undocumented; this fake uses ``{"success": true, "id", "image_url",
"seed"}`` and tests script the other plausible shapes (``report_seed=False`` leaves the seed out).
A wrong key gets 401.

Holds: ``submit`` (the blocking call, after the job is accepted), ``download``. Key echoes:
``id``, ``url`` (in the image link), ``header``.
"""

from __future__ import annotations

import itertools
import re

from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes


class FakeImageApi(FakeServer):
    name = "imageapi"

    def __init__(self, api_key: str = "test-key", *, seed: int = 99,
                 report_seed: bool = True) -> None:
        super().__init__(api_key)
        self.seed = seed
        self.report_seed = report_seed
        self.image = png_bytes(64, 64, (120, 120, 30))
        self._ids = itertools.count(1)
        self.route("POST", r"/api/v1/generate", self._generate)

    def submits(self) -> int:
        return self.count("POST", r"/api/v1/generate")

    def _generate(self, req: Recorded, match: re.Match[str]) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"error": "Invalid API key"})
        gid = f"img_{next(self._ids)}"
        body = req.json if isinstance(req.json, dict) else {}
        seed = body.get("seed")
        self.accept(gid, str(body.get("prompt", "")))
        self.hold_point("submit", gid)
        url = self.add_image(f"{gid}.png", self.image, job_id=gid)
        answer: dict[str, object] = {"success": True, "id": self.echoed("id", gid),
                                     "image_url": self.echoed("url", url)}
        if self.report_seed:
            answer["seed"] = seed if isinstance(seed, int) else self.seed
        headers = {"X-Request-Note": self.api_key} if "header" in self.echo_key else {}
        return Reply(200, answer, headers=headers)
