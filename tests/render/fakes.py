"""A ModelsLab fake the render tests can steer per scene and wait on.

Each job is matched to a scene by a marker word in its prompt (the scenes of :data:`SHEET` have
one each). A held marker keeps answering ``processing``; a failing one answers an error on fetch.
(``hold`` here names markers; the base fake's job-number holds are :meth:`FakeServer.hold_point`
based and unused by these tests.) :meth:`FakeServer.wait_until` blocks until a condition on the
recorded requests holds, woken by each request (never by a timer).
"""

from __future__ import annotations

import re

from tests.fakes.modelslab import FakeModelsLab
from tests.fakes.server import Recorded, Reply

MARKERS = ("rooftop", "library", "harbour", "studio")

SHEET = """\
format = 1
title = "Mara"

[character]
name = "Mara"
anchor = "Mara, 28-year-old woman, short copper hair, freckles, green eyes"
seed = 77
negative = "cartoon, anime, painting"

[preview]
provider = "modelslab"
model = "flux-schnell"

[final]
provider = "modelslab"
model = "fluxgram-v1"
steps = 30
guidance = 7.5

[[scenes]]
name = "Rooftop"
setting = "rooftop at dusk, city lights behind"
lighting = "golden-hour"
lens = "canon-ef-85"
framing = "portrait"

[[scenes]]
name = "Library"
setting = "old library aisle, dusty shelves"
lighting = "overcast-window"
lens = "sigma-35"
framing = "portrait"

[[scenes]]
name = "Harbour"
setting = "harbour pier in the rain"
lighting = "overcast-window"
lens = "sigma-35"
framing = "portrait"
seed = 9001

[[scenes]]
name = "Studio"
setting = "neutral grey studio backdrop, medium shot"
lighting = "soft-studio"
lens = "canon-ef-85"
framing = "portrait"
"""


class ScriptedModelsLab(FakeModelsLab):
    def __init__(self, api_key: str = "test-key", **kw: object) -> None:
        super().__init__(api_key, **kw)  # type: ignore[arg-type]
        self.hold: set[str] = set()  # markers (the base fake holds by job number)
        self.fail: dict[str, str] = {}
        self.prompts: dict[str, str] = {}

    # ------------------------------------------------------------ steering

    def marker_of(self, job_id: str) -> str:
        prompt = self.prompts.get(job_id, "")
        return next((m for m in MARKERS if m in prompt.lower()), "")

    def release(self, *markers: str) -> None:
        with self._jobs_lock:
            self.hold.difference_update(markers or set(self.hold))

    def submit_bodies(self) -> list[dict[str, object]]:
        rx = re.compile(r"/api/v6/(images|realtime)/text2img")
        return [r.json for r in list(self.requests) if r.method == "POST" and rx.fullmatch(r.path)]

    def fetched_ids(self) -> set[str]:
        rx = re.compile(r"/api/v6/(?:.*/)?fetch/(\d+)")
        found = set()
        for r in list(self.requests):
            m = rx.fullmatch(r.path)
            if m:
                found.add(m.group(1))
        return found

    # ------------------------------------------------------------ behaviour

    def _text2img(self, req: Recorded, match: re.Match[str]) -> Reply:
        reply = super()._text2img(req, match)
        if isinstance(reply.json, dict) and reply.json.get("id") is not None:
            body = req.json if isinstance(req.json, dict) else {}
            self.prompts[str(reply.json["id"])] = str(body.get("prompt", ""))
        return reply

    def _fetch(self, req: Recorded, match: re.Match[str]) -> Reply:
        marker = self.marker_of(match["id"])
        if marker in self.fail:
            return Reply(200, {"status": "failed", "message": self.fail[marker]})
        with self._jobs_lock:
            held = marker in self.hold
        if held:
            with self._jobs_lock:
                self._jobs[match["id"]]["polls"] += 1
            return Reply(200, self.processing(match["id"]))
        return super()._fetch(req, match)
