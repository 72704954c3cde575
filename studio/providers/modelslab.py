"""ModelsLab API v6: community ``/api/v6/images/text2img`` and ``/api/v6/realtime/text2img``.

The key travels in the JSON body of every call, fetches included, so it is only ever sent to the
configured host. The body's ``status`` is authoritative whatever the HTTP code (errors arrive in
HTTP 200 too); ``message`` may be spelt ``messege``; ``output`` may be ``""``; ``proxy_links``
may be a list or an object. A ``processing`` answer is polled at its ``fetch_result`` URL (or
``/fetch/{id}``) after the announced ``eta``. There is no cancel for v6 image jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from studio.core.capabilities import ModelCapabilities
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import (
    BadResponseError,
    ProviderError,
    ProviderFailedError,
    RateLimitedError,
)
from studio.providers.remote import (
    JobState,
    RemoteProvider,
    SubmitAnswer,
    as_float,
    as_int,
    first_text,
)

Endpoint = Literal["images", "realtime"]


@dataclass(frozen=True, slots=True)
class ModelsLabModel:
    """A model id, the endpoint family it is served on, and what it can do."""

    model_id: str
    endpoint: Endpoint
    capabilities: ModelCapabilities


def _caps(model: str, label: str, **kw: Any) -> ModelCapabilities:
    return ModelCapabilities(provider="modelslab", model=model, label=label, **kw)


DEFAULT_MODELS: Mapping[str, ModelsLabModel] = {
    "flux-schnell": ModelsLabModel(
        "flux-schnell",
        "realtime",
        _caps("flux-schnell", "FLUX.1 Schnell", steps_min=1, steps_max=8, steps_default=4,
              uses_guidance=False, supports_negative=False),
    ),
    "fluxgram-v1": ModelsLabModel(
        "fluxgram-v1",
        "images",
        _caps("fluxgram-v1", "Fluxgram V1.0", steps_min=1, steps_max=50, steps_default=30,
              guidance_min=1.0, guidance_max=20.0),
    ),
}


class ModelsLabProvider(RemoteProvider):
    id = "modelslab"
    default_base_url = "https://modelslab.com"
    default_concurrency = 5  # ModelsLab counts queued requests per account
    first_poll_cap = 30.0
    poll_interval = 3.0
    poll_max_interval = 10.0

    terminal_errors: ClassVar[frozenset[str]] = frozenset({"error", "failed"})

    def __init__(
        self,
        *,
        profiles: Mapping[str, ModelsLabModel] | None = None,
        endpoints: Mapping[str, Endpoint] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.profiles: dict[str, ModelsLabModel] = dict(profiles or DEFAULT_MODELS)
        for model, endpoint in (endpoints or {}).items():
            self.profiles[model] = ModelsLabModel(model, endpoint, self.profile(model).capabilities)

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview="flux-schnell", final="fluxgram-v1")

    def model_ids(self) -> tuple[str, ...]:
        return tuple(self.profiles)

    def profile(self, model: str) -> ModelsLabModel:
        known = self.profiles.get(model)
        if known is not None:
            return known
        # A model id the user typed: the community endpoint takes any model_id.
        if "schnell" in model:
            base = DEFAULT_MODELS["flux-schnell"].capabilities
        else:
            base = DEFAULT_MODELS["fluxgram-v1"].capabilities
        return ModelsLabModel(model, "images", replace(base, model=model, label=model))

    def model_capabilities(self, model: str) -> ModelCapabilities:
        return self.profile(model).capabilities

    # ------------------------------------------------------------ wire format

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        profile = self.profile(request.model)
        caps = profile.capabilities
        body: dict[str, Any] = {
            "key": self._require_key(),
            "model_id": request.model,
            "prompt": request.prompt,
            "width": request.width,
            "height": request.height,
            "samples": request.images,
            "num_inference_steps": request.steps,
            "seed": request.seed,
        }
        if caps.supports_negative:
            body["negative_prompt"] = request.negative or None
        if caps.uses_guidance:
            body["guidance_scale"] = request.guidance
        if profile.endpoint == "images":
            # The prompt is the character anchor: never let the service rewrite it.
            body["enhance_prompt"] = "no"
        else:
            body["instant_response"] = False
        body.update({k: v for k, v in request.extras.items() if k not in ("key", "prompt")})
        return body

    async def _submit_http(
        self, request: GenerationRequest
    ) -> tuple[SubmitAnswer, dict[str, Any]]:
        profile = self.profile(request.model)
        body = self.body(request)
        url = self.url(f"/api/v6/{profile.endpoint}/text2img")
        attempt = 0
        while True:
            attempt += 1
            response, raw = await self.request("POST", url, json_body=body, submit=True)
            data = self._answer(response, raw)
            state = self.state(data, response.status_code)
            error = state.error
            # "Queue full" can come as HTTP 200 with status error: the job was not taken.
            if isinstance(error, RateLimitedError) and response.status_code == 200 \
                    and attempt < self.retry.submit_attempts \
                    and (error.retry_after or 0) <= self.retry.max_retry_after:
                await self._backoff(attempt, error.retry_after, "queue full")
                continue
            break
        request_id = str(data.get("id") or "")
        if state.phase != "failed" and not request_id and state.phase != "done":
            raise BadResponseError(self.id, "the answer has no job id to follow")
        fetch = state.info.get("fetch_result")
        poll_url = fetch if isinstance(fetch, str) and self.same_host(fetch) else (
            self.url(f"/api/v6/{profile.endpoint}/fetch/{request_id}") if request_id else None
        )
        return SubmitAnswer(request_id=request_id or "-", state=state, poll_url=poll_url), body

    async def _poll(self, submission: Submission) -> JobState:
        url = submission.poll_url or self.url(f"/api/v6/images/fetch/{submission.request_id}")
        response, raw = await self.request("POST", url, json_body={"key": self._require_key()})
        if response.status_code == 429 or response.status_code >= 500:
            # Busy or broken right now, not a verdict on the job: the follow loop asks again.
            raise self.http_error(response, raw)
        return self.state(self._answer(response, raw), response.status_code)

    def _answer(self, response: Any, raw: bytes) -> dict[str, Any]:
        try:
            return self.parse_json(response, raw)
        except BadResponseError:
            if response.status_code >= 400:
                raise self.http_error(response, raw) from None
            raise

    def state(self, data: Mapping[str, Any], http_status: int) -> JobState:
        """One answer (submit or fetch) in the shared vocabulary."""
        status = str(data.get("status") or "").lower()
        message = first_text(data, "message", "messege", "error", "detail")
        if status == "failed" and http_status < 400:
            # The job was accepted and then failed while generating.
            return JobState("failed", error=ProviderFailedError(
                self.id, message or "the job failed"))
        if status in self.terminal_errors or (http_status >= 400 and status != "success"):
            error: ProviderError = self.classify(
                http_status if http_status >= 400 else None,
                message or f"the job {status or 'failed'}",
                retry_after=as_float(data.get("retry_after")),
            )
            return JobState("failed", error=error)
        if status == "processing":
            info: dict[str, Any] = {}
            if isinstance(data.get("fetch_result"), str):
                info["fetch_result"] = data["fetch_result"]
            return JobState("processing", eta=as_float(data.get("eta")), info=info)
        if status == "success":
            outputs = _links(data.get("output")) + _links(data.get("proxy_links"))
            meta = data.get("meta")
            seed = as_int(meta.get("seed")) if isinstance(meta, Mapping) else None
            info = {"generation_time": as_float(data.get("generationTime"))}
            return JobState("done", outputs=tuple(dict.fromkeys(outputs)), seed=seed, info=info)
        raise BadResponseError(
            self.id, f"unknown job status {status!r}" if status else "the answer has no status"
        )


def _links(value: Any) -> list[str]:
    """Output links from a list, an object keyed "0", "1", … or a lone string (``""``: none)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Mapping):
        items = [value[k] for k in sorted(value, key=lambda k: (as_int(k) is None, str(k)))]
    elif isinstance(value, list):
        items = value
    else:
        return []
    return [v for v in items if isinstance(v, str) and v.strip()]
