"""Replicate predictions API for ``black-forest-labs/flux-schnell`` (official-model route).

``POST /v1/models/{owner}/{name}/predictions`` with a Bearer key and ``Prefer: wait``; an
unfinished prediction is polled at ``urls.get``. File outputs may already be complete while the
status still says ``processing``, and come as URLs or ``data:`` URIs. Errors are problem+json.
NSFW-flagged images are dropped by the model; when all are, the prediction fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import BadResponseError, RenderCancelled
from studio.providers.remote import JobState, RemoteProvider, SubmitAnswer, as_float, first_text

SCHNELL = "black-forest-labs/flux-schnell"

#: cog-flux ASPECT_RATIOS at megapixels "1".
SCHNELL_ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "21:9": (1536, 640),
    "3:2": (1216, 832),
    "2:3": (832, 1216),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
    "3:4": (896, 1152),
    "4:3": (1152, 896),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}

MODELS: Mapping[str, ModelCapabilities] = {
    SCHNELL: ModelCapabilities(
        provider="replicate", model=SCHNELL, label="FLUX.1 Schnell", steps_min=1, steps_max=4,
        steps_default=4, uses_guidance=False, supports_negative=False,
        aspect_ratios=SCHNELL_ASPECT_RATIOS, can_cancel=True,
    ),
}

_SEED_RE = re.compile(r"Using seed:\s*(\d+)")
_TERMINAL_FAIL = {"failed"}
_TERMINAL_CANCEL = {"canceled", "cancelled", "aborted"}


class ReplicateProvider(RemoteProvider):
    id = "replicate"
    default_base_url = "https://api.replicate.com"
    default_concurrency = 4
    poll_interval = 0.5
    poll_max_interval = 5.0
    read_timeout = 75.0  # Prefer: wait holds the request up to 60 s

    def __init__(self, *, prefer_wait: int = 60, **kw: Any) -> None:
        super().__init__(**kw)
        self.prefer_wait = max(1, min(60, prefer_wait))

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview=SCHNELL, final=SCHNELL)

    def model_ids(self) -> tuple[str, ...]:
        return tuple(MODELS)

    def model_capabilities(self, model: str) -> ModelCapabilities:
        return MODELS.get(model) or replace(MODELS[SCHNELL], model=model, label=model)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._require_key()}"}

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        caps = self.capabilities(request.model)
        ratio = next(
            (name for name, size in caps.aspect_ratios.items()
             if size == (request.width, request.height)),
            "1:1",
        )
        model_input: dict[str, Any] = {
            "prompt": request.prompt,
            "aspect_ratio": ratio,
            "num_outputs": request.images,
            "num_inference_steps": request.steps,
            "output_format": "png",
            "megapixels": "1",
            # go_fast makes outputs non-deterministic even with a seed; sheets need the seed.
            "go_fast": False,
        }
        if request.seed is not None:
            model_input["seed"] = request.seed
        model_input.update({k: v for k, v in request.extras.items() if k != "prompt"})
        return {"input": model_input}

    async def _submit_http(
        self, request: GenerationRequest
    ) -> tuple[SubmitAnswer, dict[str, Any]]:
        owner_name = request.model.strip("/")
        body = self.body(request)
        headers = {**self._headers(), "Prefer": f"wait={self.prefer_wait}"}
        response, raw = await self.request(
            "POST", self.url(f"/v1/models/{owner_name}/predictions"), json_body=body,
            headers=headers, submit=True,
        )
        if response.status_code >= 400:
            raise self.http_error(response, raw)
        data = self.parse_json(response, raw)
        request_id = data.get("id")
        if not isinstance(request_id, str) or not request_id:
            raise BadResponseError(self.id, "the prediction has no id")
        urls = data.get("urls") if isinstance(data.get("urls"), Mapping) else {}
        assert isinstance(urls, Mapping)
        get_url = urls.get("get")
        cancel_url = urls.get("cancel")
        return SubmitAnswer(
            request_id=request_id,
            state=self.state(data),
            poll_url=get_url if self.same_host(get_url) else self.url(
                f"/v1/predictions/{request_id}"),
            cancel_url=cancel_url if self.same_host(cancel_url) else self.url(
                f"/v1/predictions/{request_id}/cancel"),
        ), body

    async def _poll(self, submission: Submission) -> JobState:
        url = submission.poll_url or self.url(f"/v1/predictions/{submission.request_id}")
        response, raw = await self.request("GET", url, headers=self._headers())
        if response.status_code >= 400:
            raise self.http_error(response, raw)
        return self.state(self.parse_json(response, raw))

    async def cancel(self, submission: Submission) -> bool:
        url = submission.cancel_url or self.url(f"/v1/predictions/{submission.request_id}/cancel")
        response, raw = await self.request("POST", url, headers=self._headers())
        if response.status_code >= 400:
            raise self.http_error(response, raw).redacted(self.redactor)
        return True

    def state(self, data: Mapping[str, Any]) -> JobState:
        status = str(data.get("status") or "").lower()
        output = data.get("output")
        outputs: tuple[str, ...] = ()
        if isinstance(output, list):
            outputs = tuple(o for o in output if isinstance(o, str) and o)
        elif isinstance(output, str) and output:
            outputs = (output,)
        logs = data.get("logs")
        seed_match = _SEED_RE.search(logs) if isinstance(logs, str) else None
        seed = int(seed_match.group(1)) if seed_match else None
        metrics = data.get("metrics")
        info = {"predict_time": as_float(metrics.get("predict_time"))} if isinstance(
            metrics, Mapping) else {}
        if status in _TERMINAL_FAIL:
            message = first_text(data, "error") or "the prediction failed"
            return JobState("failed", error=self.classify(None, message))
        if status in _TERMINAL_CANCEL:
            return JobState("cancelled", error=RenderCancelled(
                self.id, f"the prediction was {status}"))
        if status == "succeeded":
            if not outputs:
                # Every image was flagged and dropped, or the output was removed (1 h retention).
                return JobState("failed", error=self.classify(
                    None, "the prediction succeeded but returned no image (NSFW filter)"))
            return JobState("done", outputs=outputs, seed=seed, info=info)
        if status == "processing" and outputs:
            # File outputs arrive only once all are written: already complete.
            return JobState("done", outputs=outputs, seed=seed, info=info)
        if status == "starting":
            return JobState("queued")
        if status == "processing":
            return JobState("processing")
        raise BadResponseError(self.id, f"unknown prediction status {status!r}")
