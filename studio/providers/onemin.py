"""1min.ai: ``POST /api/features`` with an ``API-KEY`` header, type ``IMAGE_GENERATOR``.

Sent with ``"async": true`` so the call answers at once with the record's ``uuid`` and status
``PROCESSING`` (the default call is held until the image exists, and one cut off while held would
leave a billed job without an id); the record is then polled at ``/api/results/{uuid}``. A server
that answers synchronously anyway is read the same way. The image is downloaded from the signed
``aiRecord.temporaryUrl`` (``resultObject`` holds storage keys, not URLs). The sources disagree on
status names, so both sets are read. The record only echoes the seed sent in ``promptObject``: an
echo is not a confirmation, so no seed is recorded as returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import BadResponseError, InvalidRequestError
from studio.providers.http import Accepted, Answer, Auth, JobStatus, Pacing, Phase
from studio.providers.http.classify import first_text
from studio.providers.http.provider import HttpProvider
from studio.providers.http.status import StatusWords, aspect_ratio_name

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

#: A record with no status yet is being made too.
STATUS = StatusWords.of(done=["SUCCESS", "COMPLETED"], failed=["FAILURE", "FAILED", "ERROR"],
                        processing=["PROCESSING", "PENDING", "QUEUED", ""])
LORA_SCALE_MAX = 3.0


class OneMinProvider(HttpProvider):
    id = "onemin"
    default_base_url = "https://api.1min.ai"
    auth = Auth.in_header("API-KEY")
    default_concurrency = 2
    pacing = Pacing(interval=1.0, max_interval=5.0)

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

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        ratio = aspect_ratio_name(self.capabilities(request.model), request.width,
                                  request.height)
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
        return {"type": "IMAGE_GENERATOR", "model": request.model, "promptObject": prompt,
                "async": True}

    async def send_job(self, request: GenerationRequest) -> Accepted:
        body = self.body(request)
        answer = await self.call(Phase.SUBMIT, "POST", self.url("/api/features"),
                                 json_body=body)
        if answer.status >= 400:
            raise self.error_of(answer, self._error_text(answer))
        data = self.json_of(answer)
        record = data.get("aiRecord")
        if not isinstance(record, Mapping):
            message = self._error_text(answer)
            if message:
                raise self.classify(None, message)
            raise BadResponseError(self.id, "the answer has no aiRecord")
        uuid = record.get("uuid")
        request_id = uuid if isinstance(uuid, str) else ""
        return Accepted(request_id=request_id, status=self.status(record), body=body,
                        poll_url=self.url(f"/api/results/{request_id}"))

    async def check_job(self, submission: Submission) -> JobStatus:
        data = await self.poll_json(submission, self.url(f"/api/results/{submission.request_id}"),
                                    error_text=self._error_text)
        record = data.get("aiRecord")
        if not isinstance(record, Mapping):
            raise BadResponseError(self.id, "1min.ai no longer knows this job")
        return self.status(record)

    def _error_text(self, answer: Answer) -> str:
        data = answer.json()
        if not isinstance(data, Mapping):
            return ""
        text = first_text(data, "message", "error", "details")
        code = data.get("errorCode")
        detail = data.get("details")
        if isinstance(detail, str) and detail and detail not in text:
            text = f"{text}: {detail}" if text else detail
        return f"{text} ({code})" if isinstance(code, str) and text else text

    def status(self, record: Mapping[str, Any]) -> JobStatus:
        state = STATUS.state(self.id, record.get("status"), "record status")
        detail = record.get("aiRecordDetail")
        detail = detail if isinstance(detail, Mapping) else {}
        if state is JobState.FAILED:
            message = first_text(detail, "errorMessage") or first_text(
                record, "errorMessage") or "the generation failed"
            return JobStatus(JobState.FAILED, error=self.classify(None, message))
        if state is JobState.DONE:
            url = record.get("temporaryUrl")
            if not isinstance(url, str) or not url:
                return JobStatus(JobState.FAILED, error=BadResponseError(
                    self.id, "the finished record has no download link"))
            return JobStatus(JobState.DONE, outputs=(url,))
        return JobStatus(JobState.PROCESSING)
