"""imageapi.org: ``POST /api/v1/generate`` with a Bearer key, model ``flux-schnell``.

Blocking: the call is held until the image exists and its answer carries the image; there is no
job id before that and no way to look a job up. A call cut off while held is therefore
*uncertain* (it may have been billed) and is never sent again on its own. Its answer's exact
shape is undocumented, so the image is looked for leniently (a URL, a ``data:`` URI or base64
under the usual keys) and so is a seed (top level or inside a ``data[]`` entry); none found means
none confirmed. FLUX.1 Schnell here caps steps at 8 and takes no negative prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice
from studio.providers.errors import BadResponseError
from studio.providers.http import Accepted, Auth, Deadlines, JobStatus, Phase
from studio.providers.http.classify import as_int, first_text
from studio.providers.http.provider import HttpProvider

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
        return [ref for item in value[:16] for ref in find_images(item, depth + 1)]
    if isinstance(value, Mapping):
        return [ref for key in _IMAGE_KEYS if key in value
                for ref in find_images(value[key], depth + 1)]
    return []


def find_seed(data: Mapping[str, Any]) -> int | None:
    """A seed the answer reports, at the top level or in its first ``data`` entry."""
    seed = as_int(data.get("seed"))
    if seed is None and isinstance(data.get("data"), list) and data["data"]:
        first = data["data"][0]
        seed = as_int(first.get("seed")) if isinstance(first, Mapping) else None
    return seed


class ImageApiProvider(HttpProvider):
    id = "imageapi"
    default_base_url = "https://imageapi.org"
    auth = Auth.in_header("Authorization", "Bearer {key}")
    default_concurrency = 2
    # The call is held until the image is made (the docs' own example waits 120 s).
    default_deadlines = Deadlines(submit=180.0, poll=30.0, download=120.0)
    creates_blocking = True

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

    async def send_job(self, request: GenerationRequest) -> Accepted:
        body = self.body(request)
        answer = await self.call(Phase.SUBMIT, "POST", self.url("/api/v1/generate"),
                                 json_body=body)
        if answer.status >= 400:
            raise self.error_of(answer)
        data = self.json_of(answer)
        if data.get("success") is False or str(data.get("status", "")).lower() in (
                "error", "failed"):
            message = first_text(data, "error", "message", "detail") or "the generation failed"
            raise self.classify(None, message)
        outputs = [ref for ref in find_images(data) if ref.startswith(("http", "data:"))
                   or len(ref) > 64]
        if not outputs:
            raise BadResponseError(self.id, "the answer carries no image")
        request_id = str(data.get("id") or data.get("request_id")
                         or answer.headers.get("x-request-id") or "")
        return Accepted(
            # A finished image with no id of its own is still this request's image.
            request_id=request_id or "imageapi-unnamed",
            status=JobStatus(JobState.DONE, outputs=tuple(outputs), seed=find_seed(data)),
            body=body,
        )
