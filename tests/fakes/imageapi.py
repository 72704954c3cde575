"""A fake imageapi.org: ``POST /api/v1/generate`` answers synchronously with an image URL.

The real answer's shape is undocumented; this fake uses ``{"success": true, "id", "image_url",
"seed"}`` and tests script the other plausible shapes. A wrong key gets 401.
"""

from __future__ import annotations

import itertools
import re

from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes


class FakeImageApi(FakeServer):
    name = "imageapi"

    def __init__(self, api_key: str = "test-key", *, seed: int = 99) -> None:
        super().__init__(api_key)
        self.seed = seed
        self.image = png_bytes(64, 64, (120, 120, 30))
        self._ids = itertools.count(1)
        self.route("POST", r"/api/v1/generate", self._generate)

    def submits(self) -> int:
        return self.count("POST", r"/api/v1/generate")

    def _generate(self, req: Recorded, match: re.Match[str]) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"error": "Invalid API key"})
        gid = f"img_{next(self._ids)}"
        seed = req.json.get("seed") if isinstance(req.json, dict) else None
        url = self.add_image(f"{gid}.png", self.image)
        return Reply(200, {"success": True, "id": gid, "image_url": url,
                           "seed": seed if isinstance(seed, int) else self.seed})
