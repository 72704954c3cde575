"""A fake 1min.ai: ``POST /api/features`` (IMAGE_GENERATOR) and ``GET /api/results/{uuid}``.

Default: a call with ``"async": true`` answers ``PROCESSING`` with the record's ``uuid``, and the
result endpoint then ``SUCCESS``; a call without it blocks (synchronously) and answers an
``aiRecord`` with status ``SUCCESS``, storage keys in ``resultObject`` and a signed-looking
``temporaryUrl`` on this server. ``asynchronous=False`` makes the fake ignore ``async`` (always
synchronous), ``True`` always asynchronous. A wrong key gets 401 ``INVALID_AUTH_TOKEN``.

Holds: ``submit`` (after the record exists), ``poll``, ``download``. Key echoes: ``id``, ``url``
(in ``temporaryUrl``), ``header``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes


class FakeOneMin(FakeServer):
    name = "onemin"

    def __init__(self, api_key: str = "test-key", *, asynchronous: bool | None = None) -> None:
        super().__init__(api_key)
        self.asynchronous = asynchronous
        self.image = png_bytes(64, 64, (200, 30, 160))
        self._ids = itertools.count(1)
        self.prompts: dict[str, dict[str, Any]] = {}
        self.route("POST", r"/api/features", self._features)
        self.route("GET", r"/api/results/(?P<uuid>[\w-]+)", self._results)

    def submits(self) -> int:
        return self.count("POST", r"/api/features")

    def _bad_key(self, req: Recorded) -> Reply | None:
        if req.headers.get("api-key") != self.api_key:
            return Reply(401, {"errorCode": "INVALID_AUTH_TOKEN", "message": "Invalid API key"})
        return None

    def record(self, uuid: str, status: str) -> dict[str, Any]:
        key = f"images/2025_10_24_{uuid}.png"
        record: dict[str, Any] = {
            "uuid": self.echoed("id", uuid), "model": "black-forest-labs/flux-schnell-lora",
            "type": "IMAGE_GENERATOR", "status": status,
            "aiRecordDetail": {"promptObject": self.prompts.get(uuid, {}),
                               "resultObject": [key] if status == "SUCCESS" else [],
                               "responseObject": {}},
        }
        if status == "SUCCESS":
            url = self.add_image(f"om-{uuid}.png", self.image, job_id=uuid)
            record["temporaryUrl"] = self.echoed(
                "url", f"{url}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60")
        return record

    def _reply(self, data: dict[str, Any]) -> Reply:
        headers = {"X-Request-Note": self.api_key} if "header" in self.echo_key else {}
        return Reply(200, data, headers=headers)

    def _features(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        uuid = f"rec-{next(self._ids):04d}"
        body = req.json if isinstance(req.json, dict) else {}
        prompt = body.get("promptObject")
        self.prompts[uuid] = prompt if isinstance(prompt, dict) else {}
        self.accept(uuid, str(self.prompts[uuid].get("prompt", "")))
        self.hold_point("submit", uuid)
        asynchronous = body.get("async") is True if self.asynchronous is None \
            else self.asynchronous
        return self._reply({"aiRecord": self.record(uuid, "PROCESSING" if asynchronous
                                                    else "SUCCESS")})

    def _results(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        uuid = match["uuid"].split("-")[0] + "-" + match["uuid"].split("-")[1] \
            if match["uuid"].count("-") >= 1 else match["uuid"]
        self.hold_point("poll", uuid)
        if uuid not in self.prompts:
            return self._reply({"aiRecord": None})
        return self._reply({"aiRecord": self.record(uuid, "SUCCESS")})
