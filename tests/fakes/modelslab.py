"""A fake ModelsLab v6 API: text2img on both endpoint families, fetch, and the image files.

Default behaviour: every text2img answers ``processing`` (with ``eta``, ``fetch_result`` and
``output: ""``); a fetch of that id answers ``processing`` until both ``polls_before_success``
fetches were made and ``delay`` seconds have passed since the submit, then ``success`` with an
``output`` link to a real PNG on this server. ``instant=True`` answers ``success`` at once.
A wrong key gets HTTP 200 ``{"status": "error", "message": "Invalid API key"}`` like the real API.
Holds: ``submit`` (after the job is accepted), ``poll`` (fetch), ``download``. Key echoes:
``id`` (in the job id), ``url`` (in ``fetch_result``), ``message`` (in ``messege``/``tip``),
``logs`` (in ``meta``), ``header`` (an answer header).

Run it on its own (benchmarks, manual runs)::

    python -m tests.fakes.modelslab --port 8765 --delay 1.0 --key bench-key

then point the studio at it with ``STUDIO_MODELSLAB_BASE_URL=http://127.0.0.1:8765`` and
``STUDIO_MODELSLAB_API_KEY=bench-key``.
"""

from __future__ import annotations

import argparse
import itertools
import re
import threading
import time
from typing import Any

from tests.fakes.files import reference_bytes
from tests.fakes.server import FakeServer, Recorded, Reply, png_bytes


class FakeModelsLab(FakeServer):
    name = "modelslab"

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        eta: float = 0.05,
        delay: float = 0.0,
        polls_before_success: int = 1,
        instant: bool = False,
        seed: int = 1234,
        port: int = 0,
    ) -> None:
        super().__init__(api_key)
        self.eta = eta
        self.delay = delay
        self.polls_before_success = polls_before_success
        self.instant = instant
        self.seed = seed
        self._fixed_port = port
        self._ids = itertools.count(1000)
        self._jobs: dict[str, dict[str, Any]] = {}
        self._jobs_lock = threading.Lock()
        #: Jobs submitted and not yet reported finished, now and at most (queue-limit checks).
        self.active = 0
        self.max_active = 0
        self.image = png_bytes(64, 48)
        #: Per job: the reference bytes its img2img call named (init_image, init_image_2).
        self.references: dict[str, list[bytes]] = {}
        self.job_bodies: dict[str, dict[str, Any]] = {}
        self._converted = itertools.count(1)
        self.route("POST", r"/api/v6/(?P<ep>images|realtime)/text2img", self._text2img)
        self.route("POST", r"/api/v6/(?P<ep>images)/img2img", self._text2img)
        self.route("POST", r"/api/v6/image_editing/base64_to_url", self._base64_to_url)
        self.route("POST", r"/api/v6/(?P<ep>images|realtime)/fetch/(?P<id>\d+[^/]*)",
                   self._fetch)
        self.route("POST", r"/api/v6/fetch/(?P<id>\d+[^/]*)", self._fetch)

    def _port(self) -> int:
        return self._fixed_port

    def submits(self) -> int:
        """How many text2img/img2img POSTs reached the server (the number of jobs paid for)."""
        return self.count("POST", r"/api/v6/(images|realtime)/(text2img|img2img)")

    def conversions(self) -> int:
        return self.count("POST", r"/api/v6/image_editing/base64_to_url")

    def _base64_to_url(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        data = reference_bytes(str(req.json.get("init_image") or "").replace(", ", ",", 1))
        if data is None:
            return Reply(200, {"status": "error", "message": "init_image must be base64"})
        name = f"b64-{next(self._converted)}.png"
        self.images[name] = (data, "image/png")
        return self._reply({"status": "success", "id": 5, "output": [
            f"{self.base_url}/files/{name}"]})

    def _img2img_references(self, body: dict[str, Any]) -> list[bytes] | Reply:
        if body.get("model_id") != "flux-kontext-dev":
            return Reply(200, {"status": "error", "message": "model_id must be flux-kontext-dev"})
        found = []
        for field in ("init_image", "init_image_2"):
            if body.get(field) is None:
                continue
            data = reference_bytes(body[field], self)
            if data is None:
                return Reply(200, {"status": "error",
                                   "message": "Unable to fetch image from provided URL"})
            found.append(data)
        if not found:
            return Reply(200, {"status": "error", "message": "init_image is required"})
        return found

    def fetches(self) -> int:
        return self.count("POST", r"/api/v6/(.*/)?fetch/\d+")

    def _bad_key(self, req: Recorded) -> Reply | None:
        body = req.json
        if not isinstance(body, dict) or body.get("key") != self.api_key:
            return Reply(200, {"status": "error", "message": "Invalid API key"})
        return None

    def _public_id(self, job_id: str) -> Any:
        # The real API sends an integer id; an echoing server sends text carrying the key.
        return self.echoed("id", job_id) if "id" in self.echo_key else int(job_id)

    def success(self, job_id: str, *, seed: int | None = None) -> dict[str, Any]:
        name = f"ml-{job_id}.png"
        self.images.setdefault(name, (self.image, "image/png"))
        self.file_jobs[name] = job_id
        return {
            "status": "success",
            "generationTime": 0.01,
            "id": self._public_id(job_id),
            "output": [f"{self.base_url}/files/{name}"],
            "proxy_links": [f"{self.base_url}/files/{name}"],
            "meta": {"seed": self.seed if seed is None else seed, "W": 64, "H": 48,
                     "note": self.echoed("logs", "meta")},
            "tip": self.echoed("message", "done"),
        }

    def processing(self, job_id: str, endpoint: str = "images") -> dict[str, Any]:
        fetch = f"{self.base_url}/api/v6/{endpoint}/fetch/{job_id}"
        return {
            "status": "processing",
            "tip": self.echoed("message", "for faster speed, keep resolution upto 512x512"),
            "eta": self.eta,
            "messege": "Try to fetch request after given estimated time",
            "fetch_result": self.echoed("url", fetch),
            "id": self._public_id(job_id),
            "output": "",
            "future_links": [f"{self.base_url}/files/ml-{job_id}.png"],
            "meta": {"note": self.echoed("logs", "meta")},
        }

    def _reply(self, data: dict[str, Any]) -> Reply:
        headers = {"X-Request-Note": self.api_key} if "header" in self.echo_key else {}
        return Reply(200, data, headers=headers)

    def _text2img(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        refs: list[bytes] = []
        if req.path.endswith("/img2img"):
            checked = self._img2img_references(req.json)
            if isinstance(checked, Reply):
                return checked
            refs = checked
        job_id = str(next(self._ids))
        self.references[job_id] = refs
        self.job_bodies[job_id] = {k: v for k, v in req.json.items() if k != "key"}
        seed = req.json.get("seed")
        with self._jobs_lock:
            self._jobs[job_id] = {"at": time.monotonic(), "polls": 0, "done": self.instant,
                                  "seed": seed if isinstance(seed, int) else self.seed}
            if not self.instant:
                self.active += 1
                self.max_active = max(self.max_active, self.active)
        self.accept(job_id, str(req.json.get("prompt", "")))
        self.hold_point("submit", job_id)
        if self.instant:
            return self._reply(self.success(job_id, seed=self._jobs[job_id]["seed"]))
        return self._reply(self.processing(job_id, match["ep"]))

    def _fetch(self, req: Recorded, match: re.Match[str]) -> Reply:
        if (bad := self._bad_key(req)) is not None:
            return bad
        job_id = match["id"].split("-")[0]  # an echoed key rides after the number
        self.hold_point("poll", job_id)
        with self._jobs_lock:
            job = self._jobs.get(job_id)
            if job is None:
                return Reply(200, {"status": "error", "message": "Request not found"})
            job["polls"] += 1
            ready = job["polls"] >= self.polls_before_success and (
                time.monotonic() - job["at"] >= self.delay)
            if ready and not job["done"]:
                job["done"] = True
                self.active -= 1
        if ready:
            return self._reply(self.success(job_id, seed=job["seed"]))
        return self._reply(self.processing(job_id))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=1.0,
                        help="seconds from submit until a fetch succeeds")
    parser.add_argument("--eta", type=float, default=None,
                        help="eta announced in the processing answer (default: --delay)")
    parser.add_argument("--key", default="bench-key")
    args = parser.parse_args(argv)
    server = FakeModelsLab(args.key, eta=args.delay if args.eta is None else args.eta,
                           delay=args.delay, port=args.port)
    server.start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
