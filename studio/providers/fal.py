"""fal queue API: ``fal-ai/flux/schnell`` and ``fal-ai/flux-lora`` (with ``loras``).

Submit to ``{queue}/{model}`` with ``Authorization: Key``; then use the ``status_url``,
``response_url`` and ``cancel_url`` the submit answer names (the subpath rule makes building them
error-prone). ``COMPLETED`` can carry an ``error``; 422 bodies carry a FastAPI ``detail`` list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import (
    BadResponseError,
    ContentFilteredError,
    ProviderTimeout,
    RenderCancelled,
)
from studio.providers.remote import (
    JobState,
    RemoteProvider,
    SubmitAnswer,
    as_int,
    first_text,
)

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


class FalProvider(RemoteProvider):
    id = "fal"
    default_base_url = "https://queue.fal.run"
    default_concurrency = 2  # new fal accounts run 2 requests at once
    poll_interval = 0.5
    poll_max_interval = 3.0

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

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._require_key()}"}

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

    def _endpoint_base(self, model: str) -> str:
        # Status/result/cancel drop the subpath: fal-ai/flux/schnell -> fal-ai/flux.
        parts = model.strip("/").split("/")
        return "/".join(parts[:2])

    async def _submit_http(
        self, request: GenerationRequest
    ) -> tuple[SubmitAnswer, dict[str, Any]]:
        body = self.body(request)
        response, raw = await self.request(
            "POST", self.url(request.model), json_body=body, headers=self._headers(), submit=True
        )
        if response.status_code >= 400:
            raise self.http_error(response, raw)
        data = self.parse_json(response, raw)
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise BadResponseError(self.id, "the queue answer has no request_id")
        base = self.url(f"{self._endpoint_base(request.model)}/requests/{request_id}")

        def pick(key: str, fallback: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) and self.same_host(value) else fallback

        state = JobState("queued", position=as_int(data.get("queue_position")))
        return SubmitAnswer(
            request_id=request_id,
            state=state,
            poll_url=pick("status_url", f"{base}/status"),
            result_url=pick("response_url", base),
            cancel_url=pick("cancel_url", f"{base}/cancel"),
        ), body

    async def _poll(self, submission: Submission) -> JobState:
        assert submission.poll_url is not None
        response, raw = await self.request("GET", submission.poll_url, headers=self._headers())
        if response.status_code >= 400 and response.status_code != 202:
            raise self.http_error(response, raw)
        data = self.parse_json(response, raw)
        status = str(data.get("status") or "").upper()
        if status == "IN_QUEUE":
            return JobState("queued", position=as_int(data.get("queue_position")))
        if status == "IN_PROGRESS":
            return JobState("processing")
        if status == "COMPLETED":
            error = first_text(data, "error")
            if error:
                error_type = str(data.get("error_type") or "")
                if "timeout" in error_type:
                    return JobState("failed", error=ProviderTimeout(self.id, error))
                return JobState("failed", error=self.classify(None, f"{error} ({error_type})"
                                                              if error_type else error))
            return await self._result(submission)
        if status in ("CANCELED", "CANCELLED"):
            return JobState(
                "cancelled", error=RenderCancelled(self.id, "the request was cancelled")
            )
        if status == "FAILED":
            return JobState("failed", error=self.classify(
                None, first_text(data, "error", "detail") or "the request failed"))
        raise BadResponseError(self.id, f"unknown queue status {status!r}")

    async def _result(self, submission: Submission) -> JobState:
        assert submission.result_url is not None
        response, raw = await self.request("GET", submission.result_url, headers=self._headers())
        if response.status_code >= 400:
            raise self.http_error(response, raw)
        data = self.parse_json(response, raw)
        images = data.get("images")
        outputs: list[str] = []
        if isinstance(images, list):
            for image in images:
                url = image.get("url") if isinstance(image, Mapping) else image
                if isinstance(url, str) and url:
                    outputs.append(url)
        flags = data.get("has_nsfw_concepts")
        if isinstance(flags, list) and flags and all(f is True for f in flags):
            return JobState("failed", error=ContentFilteredError(
                self.id, "every image was flagged as not safe for work"))
        if not outputs:
            return JobState("failed", error=BadResponseError(self.id, "the result has no image"))
        timings = data.get("timings")
        info = dict(timings) if isinstance(timings, Mapping) else {}
        return JobState("done", outputs=tuple(outputs), seed=as_int(data.get("seed")), info=info)

    async def cancel(self, submission: Submission) -> bool:
        url = submission.cancel_url or self.url(
            f"{self._endpoint_base(submission.model)}/requests/{submission.request_id}/cancel")
        response, raw = await self.request("PUT", url, headers=self._headers())
        if response.status_code >= 400:
            raise self.http_error(response, raw).redacted(self.redactor)
        data = self._try_json(raw)
        status = str(data.get("status") if isinstance(data, Mapping) else "").upper()
        return status in ("OK", "CANCELLATION_REQUESTED", "")
