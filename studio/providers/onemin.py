"""1min.ai: ``POST /api/features`` with an ``API-KEY`` header, type ``IMAGE_GENERATOR``.

The default call blocks until the record is ``SUCCESS``; the image is downloaded from the signed
``aiRecord.temporaryUrl`` (``resultObject`` holds storage keys, not URLs). A ``PROCESSING`` record
is polled at ``/api/results/{uuid}``. The sources disagree on status names, so both sets are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import BadResponseError, InvalidRequestError
from studio.providers.remote import JobState, RemoteProvider, SubmitAnswer, as_int, first_text

SCHNELL_LORA = "black-forest-labs/flux-schnell-lora"

ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "9:16": (768, 1344),
    "3:2": (1216, 832),
    "2:3": (832, 1216),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
}

MODELS: Mapping[str, ModelCapabilities] = {
    SCHNELL_LORA: ModelCapabilities(
        provider="onemin", model=SCHNELL_LORA, label="FLUX.1 Schnell LoRA", steps_min=1,
        steps_max=4, steps_default=4, uses_guidance=False, supports_negative=False,
        aspect_ratios=ASPECT_RATIOS, supports_lora=True,
    ),
}

_DONE = {"SUCCESS", "COMPLETED"}
_FAILED = {"FAILURE", "FAILED", "ERROR"}
LORA_SCALE_MAX = 3.0


class OneMinProvider(RemoteProvider):
    id = "onemin"
    default_base_url = "https://api.1min.ai"
    default_concurrency = 2
    poll_interval = 1.0
    poll_max_interval = 5.0
    read_timeout = 180.0  # the call blocks until the record is finished

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview=SCHNELL_LORA, final=SCHNELL_LORA)

    def model_ids(self) -> tuple[str, ...]:
        return tuple(MODELS)

    def model_capabilities(self, model: str) -> ModelCapabilities:
        return MODELS.get(model) or replace(MODELS[SCHNELL_LORA], model=model, label=model)

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, tuple[str, ...]]:
        adapted, notes = super().prepare(request)
        if len(adapted.loras) > 1:
            raise InvalidRequestError(
                self.id, "1min.ai takes a single LoRA per image; keep one and render again")
        if adapted.loras and not 0 <= adapted.loras[0].scale <= LORA_SCALE_MAX:
            lora = adapted.loras[0]
            scale = min(max(lora.scale, 0.0), LORA_SCALE_MAX)
            adapted = adapted.with_changes(loras=(replace(lora, scale=scale),))
            notes += (f"LoRA scale {lora.scale:g} is outside 1min.ai's 0–3; {scale:g} was used.",)
        return adapted, notes

    def _headers(self) -> dict[str, str]:
        return {"API-KEY": self._require_key()}

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        caps = self.capabilities(request.model)
        ratio = next((name for name, size in caps.aspect_ratios.items()
                      if size == (request.width, request.height)), "1:1")
        prompt: dict[str, Any] = {
            "prompt": request.prompt,
            "aspect_ratio": ratio,
            "num_inference_steps": request.steps,
            "megapixels": "1",
            "go_fast": False,
            "output_quality": 100,
        }
        if request.seed is not None:
            prompt["seed"] = request.seed
        if request.loras:
            prompt["lora_weights"] = request.loras[0].path
            prompt["lora_scale"] = request.loras[0].scale
        prompt.update({k: v for k, v in request.extras.items() if k != "prompt"})
        return {"type": "IMAGE_GENERATOR", "model": request.model, "promptObject": prompt}

    async def _submit_http(
        self, request: GenerationRequest
    ) -> tuple[SubmitAnswer, dict[str, Any]]:
        body = self.body(request)
        response, raw = await self.request(
            "POST", self.url("/api/features"), json_body=body, headers=self._headers(),
            submit=True,
        )
        if response.status_code >= 400:
            raise self.http_error(response, raw, self._error_text(raw))
        data = self.parse_json(response, raw)
        record = data.get("aiRecord")
        if not isinstance(record, Mapping):
            message = self._error_text(raw)
            if message:
                raise self.classify(None, message)
            raise BadResponseError(self.id, "the answer has no aiRecord")
        request_id = str(record.get("uuid") or "-")
        return SubmitAnswer(
            request_id=request_id, state=self.state(record),
            poll_url=self.url(f"/api/results/{request_id}"),
        ), body

    async def _poll(self, submission: Submission) -> JobState:
        assert submission.poll_url is not None
        response, raw = await self.request("GET", submission.poll_url, headers=self._headers())
        if response.status_code >= 400:
            raise self.http_error(response, raw, self._error_text(raw))
        record = self.parse_json(response, raw).get("aiRecord")
        if not isinstance(record, Mapping):
            raise BadResponseError(self.id, "1min.ai no longer knows this job")
        return self.state(record)

    def _error_text(self, raw: bytes) -> str:
        data = self._try_json(raw)
        if not isinstance(data, Mapping):
            return ""
        text = first_text(data, "message", "error", "details")
        code = data.get("errorCode")
        detail = data.get("details")
        if isinstance(detail, str) and detail and detail not in text:
            text = f"{text}: {detail}" if text else detail
        return f"{text} ({code})" if isinstance(code, str) and text else text

    def state(self, record: Mapping[str, Any]) -> JobState:
        status = str(record.get("status") or "").upper()
        detail = record.get("aiRecordDetail")
        detail = detail if isinstance(detail, Mapping) else {}
        if status in _FAILED:
            message = first_text(detail, "errorMessage") or first_text(
                record, "errorMessage") or "the generation failed"
            return JobState("failed", error=self.classify(None, message))
        if status in _DONE:
            url = record.get("temporaryUrl")
            if not isinstance(url, str) or not url:
                return JobState("failed", error=BadResponseError(
                    self.id, "the finished record has no download link"))
            prompt = detail.get("promptObject")
            seed = as_int(prompt.get("seed")) if isinstance(prompt, Mapping) else None
            return JobState("done", outputs=(url,), seed=seed)
        if status in ("PROCESSING", "PENDING", "QUEUED", ""):
            return JobState("processing")
        raise BadResponseError(self.id, f"unknown record status {status!r}")
