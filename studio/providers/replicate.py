"""Replicate predictions API for ``black-forest-labs/flux-schnell`` (official-model route).

``POST /v1/models/{owner}/{name}/predictions`` with a Bearer key and **no** ``Prefer: wait``:
the create answers at once with the prediction's id (``starting``), which is recorded before the
prediction is polled at ``urls.get`` with short, backing-off checks. (A held ``Prefer: wait``
call cut off would leave a billed prediction whose id the studio never learned.) File outputs may
already be complete while the status still says ``processing``; they come as URLs or ``data:``
URIs. Errors are problem+json; a 429 carries no ``Retry-After`` but says "resets in ~30s".

The seed used reaches the client only in the logs (``Using seed: N``), read once the prediction
has finished; the model replaces seed 0 by a random one (with ``go_fast`` off, which the studio
sends so that a seed reproduces an image). NSFW-flagged images are dropped by the model; when all
are, the prediction fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import BadResponseError, RenderCancelled
from studio.providers.http import Accepted, Auth, Deadlines, JobStatus, Pacing, Phase
from studio.providers.http.classify import as_float, first_text
from studio.providers.http.provider import HttpProvider

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
        # cog-flux, go_fast off: ``if not seed: seed = random`` replaces seed 0.
        replaced_seeds=(0,),
    ),
}

_SEED_RE = re.compile(r"Using seed:\s*(\d{1,20})")
_TERMINAL_FAIL = {"failed"}
_TERMINAL_CANCEL = {"canceled", "cancelled", "aborted"}


class ReplicateProvider(HttpProvider):
    id = "replicate"
    default_base_url = "https://api.replicate.com"
    auth = Auth.in_header("Authorization", "Bearer {key}")
    default_concurrency = 4
    default_deadlines = Deadlines(submit=30.0, poll=30.0, download=120.0)
    pacing = Pacing(interval=0.5, max_interval=5.0)

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview=SCHNELL, final=SCHNELL)

    def model_ids(self) -> tuple[str, ...]:
        return tuple(MODELS)

    def model_capabilities(self, model: str) -> ModelCapabilities:
        return MODELS.get(model) or replace(MODELS[SCHNELL], model=model, label=model)

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

    async def send_job(self, request: GenerationRequest) -> Accepted:
        owner_name = request.model.strip("/")
        body = self.body(request)
        answer = await self.call(Phase.SUBMIT, "POST",
                                 self.url(f"/v1/models/{owner_name}/predictions"),
                                 json_body=body)
        if answer.status >= 400:
            raise self.error_of(answer)
        data = self.json_of(answer)
        request_id = data.get("id")
        urls = data.get("urls")
        urls = urls if isinstance(urls, Mapping) else {}
        get_url, cancel_url = urls.get("get"), urls.get("cancel")
        return Accepted(
            request_id=request_id if isinstance(request_id, str) else "",
            status=self.status(data), body=body,
            poll_url=get_url if isinstance(get_url, str) else None,
            cancel_url=cancel_url if isinstance(cancel_url, str) else None,
        )

    async def check_job(self, submission: Submission) -> JobStatus:
        url = submission.poll_url or self.url(f"/v1/predictions/{submission.request_id}")
        answer = await self.call(Phase.POLL, "GET", url)
        if answer.status >= 400:
            raise self.error_of(answer)
        return self.status(self.json_of(answer))

    async def stop_job(self, submission: Submission) -> bool:
        url = submission.cancel_url or self.url(
            f"/v1/predictions/{submission.request_id}/cancel")
        answer = await self.call(Phase.CANCEL, "POST", url)
        if answer.status >= 400:
            raise self.error_of(answer)
        return True

    def status(self, data: Mapping[str, Any]) -> JobStatus:
        status = str(data.get("status") or "").lower()
        output = data.get("output")
        outputs: tuple[str, ...] = ()
        if isinstance(output, list):
            outputs = tuple(o for o in output if isinstance(o, str) and o)
        elif isinstance(output, str) and output:
            outputs = (output,)
        metrics = data.get("metrics")
        info = {"predict_time": as_float(metrics.get("predict_time"))} if isinstance(
            metrics, Mapping) else {}
        if status in _TERMINAL_FAIL:
            message = first_text(data, "error") or "the prediction failed"
            return JobStatus(JobState.FAILED, error=self.classify(None, message))
        if status in _TERMINAL_CANCEL:
            return JobStatus(JobState.CANCELLED, error=RenderCancelled(
                self.id, f"the prediction was {status}"))
        if status == "succeeded":
            if not outputs:
                # Every image was flagged and dropped, or the output was removed (1 h retention).
                return JobStatus(JobState.FAILED, error=self.classify(
                    None, "the prediction succeeded but returned no image (NSFW filter)"))
            return JobStatus(JobState.DONE, outputs=outputs, seed=_logged_seed(data),
                             info=info)
        if status == "processing" and outputs:
            # File outputs arrive only once all are written: already complete (the logs may
            # not hold the seed yet, so none is claimed unless they do).
            return JobStatus(JobState.DONE, outputs=outputs, seed=_logged_seed(data),
                             info=info)
        if status == "starting":
            return JobStatus(JobState.SUBMITTED)
        if status == "processing":
            return JobStatus(JobState.PROCESSING)
        raise BadResponseError(self.id, f"unknown prediction status {status!r}")


def _logged_seed(data: Mapping[str, Any]) -> int | None:
    """The seed the model printed ("Using seed: N"); None when the logs do not say."""
    logs = data.get("logs")
    match = _SEED_RE.search(logs) if isinstance(logs, str) else None
    return int(match.group(1)) if match else None
