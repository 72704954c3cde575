"""imageapi.org: ``POST /api/v1/generate`` with a Bearer key, model ``flux-schnell``.

Synchronous: the answer carries the image. Its exact shape is undocumented, so the image is
looked for leniently (a URL, a ``data:`` URI or base64 under the usual keys). FLUX.1 Schnell here
caps steps at 8 and takes no negative prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice
from studio.providers.errors import BadResponseError
from studio.providers.remote import JobState, RemoteProvider, SubmitAnswer, as_int, first_text

SCHNELL = "flux-schnell"

MODELS: Mapping[str, ModelCapabilities] = {
    SCHNELL: ModelCapabilities(
        provider="imageapi", model=SCHNELL, label="FLUX.1 Schnell", steps_min=1, steps_max=8,
        steps_default=4, uses_guidance=False, supports_negative=False, max_side=1440,
    ),
}

_IMAGE_KEYS = ("images", "image", "image_url", "url", "output", "data", "result", "b64_json",
               "base64")


def find_images(value: Any, depth: int = 0) -> list[str]:
    """Image references anywhere under the usual keys of an answer."""
    if depth > 4:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [ref for item in value for ref in find_images(item, depth + 1)]
    if isinstance(value, Mapping):
        return [ref for key in _IMAGE_KEYS if key in value
                for ref in find_images(value[key], depth + 1)]
    return []


class ImageApiProvider(RemoteProvider):
    id = "imageapi"
    default_base_url = "https://imageapi.org"
    default_concurrency = 2
    read_timeout = 120.0  # the call blocks until the image is made

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview=SCHNELL, final=SCHNELL)

    def model_ids(self) -> tuple[str, ...]:
        return tuple(MODELS)

    def model_capabilities(self, model: str) -> ModelCapabilities:
        return MODELS.get(model) or replace(MODELS[SCHNELL], model=model, label=model)

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "model": request.model,
            "width": request.width,
            "height": request.height,
            "num_inference_steps": request.steps,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        body.update({k: v for k, v in request.extras.items() if k != "prompt"})
        return body

    async def _submit_http(
        self, request: GenerationRequest
    ) -> tuple[SubmitAnswer, dict[str, Any]]:
        body = self.body(request)
        response, raw = await self.request(
            "POST", self.url("/api/v1/generate"), json_body=body,
            headers={"Authorization": f"Bearer {self._require_key()}"}, submit=True,
        )
        if response.status_code >= 400:
            raise self.http_error(response, raw)
        data = self.parse_json(response, raw)
        if data.get("success") is False or str(data.get("status", "")).lower() in (
                "error", "failed"):
            message = first_text(data, "error", "message", "detail") or "the generation failed"
            raise self.classify(None, message)
        outputs = [ref for ref in find_images(data) if ref.startswith(("http", "data:"))
                   or len(ref) > 64]
        if not outputs:
            raise BadResponseError(self.id, "the answer carries no image")
        request_id = str(data.get("id") or data.get("request_id") or response.headers.get(
            "x-request-id") or "-")
        seed = as_int(data.get("seed"))
        return SubmitAnswer(
            request_id=request_id, state=JobState("done", outputs=tuple(outputs), seed=seed),
        ), body
