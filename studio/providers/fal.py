"""fal queue API: ``fal-ai/flux/schnell`` and ``fal-ai/flux-lora`` (with ``loras``).

Submit to ``{queue}/{model}`` with ``Authorization: Key``: the queue answers at once with the
request id. Then use the ``status_url``, ``response_url`` and ``cancel_url`` the submit answer
names (the subpath rule makes building them error-prone; they are built only when the answer's
are unusable). ``COMPLETED`` can carry an ``error``; 422 bodies carry a FastAPI ``detail``
list. The result's ``seed`` is the seed used (the one sent, or the random one picked).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import (
    BadResponseError,
    ContentFilteredError,
    ProviderTimeout,
    RenderCancelled,
)
from studio.providers.http import Accepted, Auth, JobStatus, Pacing, Phase
from studio.providers.http.classify import as_int, first_text
from studio.providers.http.provider import HttpProvider

SCHNELL = "fal-ai/flux/schnell"
LORA = "fal-ai/flux-lora"

MODELS: Mapping[str, ModelCapabilities] = {
    SCHNELL: ModelCapabilities(
        provider="fal", model=SCHNELL, label="FLUX.1 Schnell", steps_min=1, steps_max=12,
        steps_default=4, uses_guidance=False, supports_negative=False, max_side=2048,
        can_cancel=True,
    ),
    LORA: ModelCapabilities(
        provider="fal", model=LORA, label="FLUX.1 dev with LoRA", steps_min=1, steps_max=50,
        steps_default=28, uses_guidance=True, guidance_min=0.0, guidance_max=20.0,
        supports_negative=False, max_side=2048, supports_lora=True, can_cancel=True,
    ),
}


class FalProvider(HttpProvider):
    id = "fal"
    default_base_url = "https://queue.fal.run"
    auth = Auth.in_header("Authorization", "Key {key}")
    default_concurrency = 2  # new fal accounts run 2 requests at once
    pacing = Pacing(interval=0.5, max_interval=3.0)

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview=SCHNELL, final=LORA)

    def model_ids(self) -> tuple[str, ...]:
        return tuple(MODELS)

    def model_capabilities(self, model: str) -> ModelCapabilities:
        known = MODELS.get(model)
        if known is not None:
            return known
        base = MODELS[LORA] if "lora" in model else MODELS[SCHNELL]
        return replace(base, model=model, label=model)

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        caps = self.capabilities(request.model)
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "image_size": {"width": request.width, "height": request.height},
            "num_inference_steps": request.steps,
            "num_images": request.images,
            "output_format": "png",
            "enable_safety_checker": True,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if caps.uses_guidance:
            body["guidance_scale"] = request.guidance
        if request.loras:
            body["loras"] = [{"path": w.path, "scale": w.scale} for w in request.loras]
        body.update({k: v for k, v in request.extras.items() if k != "prompt"})
        return body

    def _base(self, model: str, request_id: str) -> str:
        # Status/result/cancel drop the subpath: fal-ai/flux/schnell -> fal-ai/flux.
        app = "/".join(model.strip("/").split("/")[:2])
        return self.url(f"{app}/requests/{request_id}")

    async def send_job(self, request: GenerationRequest) -> Accepted:
        body = self.body(request)
        answer = await self.call(Phase.SUBMIT, "POST", self.url(request.model), json_body=body)
        if answer.status >= 400:
            raise self.error_of(answer)
        data = self.json_of(answer)
        request_id = data.get("request_id")

        def link(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        return Accepted(
            request_id=request_id if isinstance(request_id, str) else "",
            status=JobStatus(JobState.SUBMITTED, position=as_int(data.get("queue_position"))),
            body=body, poll_url=link("status_url"), result_url=link("response_url"),
            cancel_url=link("cancel_url"),
        )

    async def check_job(self, submission: Submission) -> JobStatus:
        base = self._base(submission.model, submission.request_id)
        answer = await self.call(Phase.POLL, "GET", submission.poll_url or f"{base}/status")
        if answer.status >= 400:
            raise self.error_of(answer)
        data = self.json_of(answer)
        status = str(data.get("status") or "").upper()
        if status == "IN_QUEUE":
            return JobStatus(JobState.SUBMITTED, position=as_int(data.get("queue_position")))
        if status == "IN_PROGRESS":
            return JobStatus(JobState.PROCESSING)
        if status == "COMPLETED":
            error = first_text(data, "error")
            if error:
                error_type = str(data.get("error_type") or "")
                if "timeout" in error_type:
                    return JobStatus(JobState.FAILED, error=ProviderTimeout(self.id, error))
                return JobStatus(JobState.FAILED, error=self.classify(
                    None, f"{error} ({error_type})" if error_type else error))
            return await self._result(submission, submission.result_url or base)
        if status in ("CANCELED", "CANCELLED"):
            return JobStatus(JobState.CANCELLED,
                             error=RenderCancelled(self.id, "the request was cancelled"))
        if status == "FAILED":
            return JobStatus(JobState.FAILED, error=self.classify(
                None, first_text(data, "error", "detail") or "the request failed"))
        raise BadResponseError(self.id, f"unknown queue status {status!r}")

    async def _result(self, submission: Submission, url: str) -> JobStatus:
        answer = await self.call(Phase.POLL, "GET", url)
        if answer.status >= 400:
            raise self.error_of(answer)
        data = self.json_of(answer)
        images = data.get("images")
        outputs: list[str] = []
        if isinstance(images, list):
            for image in images:
                link = image.get("url") if isinstance(image, Mapping) else image
                if isinstance(link, str) and link:
                    outputs.append(link)
        flags = data.get("has_nsfw_concepts")
        if isinstance(flags, list) and flags and all(f is True for f in flags):
            return JobStatus(JobState.FAILED, error=ContentFilteredError(
                self.id, "every image was flagged as not safe for work"))
        if not outputs:
            return JobStatus(JobState.FAILED,
                             error=BadResponseError(self.id, "the result has no image"))
        timings = data.get("timings")
        info = dict(timings) if isinstance(timings, Mapping) else {}
        return JobStatus(JobState.DONE, outputs=tuple(outputs), seed=as_int(data.get("seed")),
                         info=info)

    async def stop_job(self, submission: Submission) -> bool:
        url = submission.cancel_url or (
            self._base(submission.model, submission.request_id) + "/cancel")
        answer = await self.call(Phase.CANCEL, "PUT", url)
        if answer.status >= 400:
            raise self.error_of(answer)
        data = answer.json()
        status = str(data.get("status") if isinstance(data, Mapping) else "").upper()
        return status in ("OK", "CANCELLATION_REQUESTED", "")
