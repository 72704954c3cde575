"""ModelsLab API v6: community ``/api/v6/images/text2img`` and ``/api/v6/realtime/text2img``,
and ``/api/v6/images/img2img`` with ``model_id`` ``flux-kontext-dev`` for reference images.

The key travels in the JSON body of every call, fetches included (the engine adds it, and only
towards the configured host). The body's ``status`` is authoritative whatever the HTTP code
(errors arrive in HTTP 200 too, "queue full" among them); ``message`` may be spelt
``messege``; ``output`` may be ``""``; ``proxy_links`` may be a list or an object. A
``processing`` answer is the non-blocking path: it carries the job id, and the job is polled at
its ``fetch_result`` URL (or ``/fetch/{id}``) after the announced ``eta``. The realtime endpoint
is asked for that answer at once (``instant_response``). There is no cancel for v6 image jobs.
The seed confirmed is ``meta.seed`` of the success answer.

Kontext takes up to two reference images as URLs (``init_image``, ``init_image_2``) and a
``strength`` (0 keeps the input, 1 ignores it); each image is turned into a URL once through
``/api/v6/image_editing/base64_to_url`` (a data URI in, ``output[0]`` out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from studio.core.capabilities import ModelCapabilities, reference_support
from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import BadResponseError, ProviderError, ProviderFailedError
from studio.providers.http import Accepted, Answer, Auth, JobStatus, Pacing, Phase
from studio.providers.http.classify import as_float, as_int, first_text, rate_limit_wait
from studio.providers.http.provider import HttpProvider
from studio.providers.http.references import ReferenceFile

Endpoint = Literal["images", "realtime"]
KONTEXT = "flux-kontext-dev"


@dataclass(frozen=True, slots=True)
class ModelsLabModel:
    """A model id, the endpoint family it is served on, and what it can do."""

    model_id: str
    endpoint: Endpoint
    capabilities: ModelCapabilities
    #: The call under the endpoint family: ``text2img``, or ``img2img`` (reference images).
    action: str = "text2img"


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
    KONTEXT: ModelsLabModel(
        KONTEXT,
        "images",
        _caps(KONTEXT, "FLUX.1 Kontext [dev]", steps_min=1, steps_max=50, steps_default=28,
              guidance_min=0.0, guidance_max=20.0, supports_negative=False,
              references=reference_support("modelslab", KONTEXT)),
        action="img2img",
    ),
}


class ModelsLabProvider(HttpProvider):
    id = "modelslab"
    default_base_url = "https://modelslab.com"
    auth = Auth.in_body("key")
    default_concurrency = 5  # ModelsLab counts queued requests per account
    pacing = Pacing(interval=3.0, max_interval=10.0, first_cap=30.0)

    terminal_errors: ClassVar[frozenset[str]] = frozenset({"error", "failed"})
    reference_defaults = ModelChoice(preview=KONTEXT, final=KONTEXT)

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
            self.profiles[model] = replace(self.profile(model), endpoint=endpoint)

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview="flux-schnell", final="fluxgram-v1")

    def model_ids(self) -> tuple[str, ...]:
        return tuple(self.profiles)

    def profile(self, model: str) -> ModelsLabModel:
        known = self.profiles.get(model)
        if known is not None:
            return known
        # A model id the user typed: the community endpoint takes any model_id.
        base = DEFAULT_MODELS["flux-schnell" if "schnell" in model else "fluxgram-v1"]
        return ModelsLabModel(model, "images",
                              replace(base.capabilities, model=model, label=model))

    def model_capabilities(self, model: str) -> ModelCapabilities:
        return self.profile(model).capabilities

    # ------------------------------------------------------------ wire format

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        """The text2img (or img2img) body, without the key (the engine adds it), as recorded
        (references named by hash)."""
        return self._body(request, self.reference_body(request)[1])

    def _body(self, request: GenerationRequest, references: dict[str, Any]) -> dict[str, Any]:
        profile = self.profile(request.model)
        caps = profile.capabilities
        body: dict[str, Any] = {
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
            # Kontext names it "guidance" (the docs' FluxKontextImageToImageRequest).
            body["guidance" if profile.action == "img2img" else "guidance_scale"] = \
                request.guidance
        body.update(references)
        if profile.action == "img2img":
            body["enhance_prompt"] = False
        elif profile.endpoint == "images":
            # The prompt is the character anchor: never let the service rewrite it.
            body["enhance_prompt"] = "no"
        else:
            # Answer with the job id at once instead of holding the call until the image
            # exists: a call cut off while held would leave a billed job with no id.
            body["instant_response"] = True
        body.update({k: v for k, v in request.extras.items() if k not in ("key", "prompt")})
        return body

    async def stage_reference(self, file: ReferenceFile) -> str:
        """The image turned into a URL by ModelsLab's base64-to-URL endpoint."""
        answer = await self.call(Phase.UPLOAD, "POST",
                                 self.url("/api/v6/image_editing/base64_to_url"),
                                 json_body={"init_image": file.data_uri()})
        data = self._answer(answer)
        status = str(data.get("status") or "").lower()
        links = _links(data.get("output"))
        if status != "success" or answer.status >= 400:
            message = first_text(data, "message", "messege", "error", "detail")
            raise self.classify(answer.status if answer.status >= 400 else None,
                                message or "the reference image could not be turned into a URL")
        if not links or not links[0].startswith(("https://", "http://")):
            raise BadResponseError(self.id, "the base64-to-URL answer has no URL")
        return links[0]

    async def send_job(self, request: GenerationRequest) -> Accepted:
        profile = self.profile(request.model)
        sent, kept = self.reference_body(request)
        body = self._body(request, kept)
        answer = await self.call(Phase.SUBMIT, "POST",
                                 self.url(f"/api/v6/{profile.endpoint}/{profile.action}"),
                                 json_body=self._body(request, sent))
        data = self._answer(answer)
        status = self.status(data, answer.status, answer.headers)
        request_id = str(data.get("id") or "")
        fetch = status.info.get("fetch_result")
        fallback = self.url(f"/api/v6/{profile.endpoint}/fetch/{request_id}")
        usable = self._usable(fetch) if isinstance(fetch, str) else None
        return Accepted(request_id=request_id, status=status, body=body,
                        poll_url=usable or fallback)

    async def check_job(self, submission: Submission) -> JobStatus:
        url = submission.poll_url or self.url(f"/api/v6/images/fetch/{submission.request_id}")
        answer = await self.call(Phase.POLL, "POST", url)
        if answer.status == 429 or answer.status >= 500:
            # Busy or broken right now, not a verdict on the job.
            raise self.error_of(answer)
        return self.status(self._answer(answer), answer.status, answer.headers)

    def _answer(self, answer: Answer) -> dict[str, Any]:
        try:
            return self.json_of(answer)
        except BadResponseError:
            if answer.status >= 400:
                raise self.error_of(answer) from None
            raise

    def status(self, data: Mapping[str, Any], http_status: int,
               headers: Mapping[str, str] | None = None) -> JobStatus:
        """One answer (submit or fetch) in the lifecycle's words."""
        status = str(data.get("status") or "").lower()
        message = first_text(data, "message", "messege", "error", "detail")
        if status == "failed" and http_status < 400:
            # The job was accepted and then failed while generating.
            return JobStatus(JobState.FAILED, error=ProviderFailedError(
                self.id, message or "the job failed"))
        if status in self.terminal_errors or (http_status >= 400 and status != "success"):
            error: ProviderError = self.classify(
                http_status if http_status >= 400 else None,
                message or f"the job {status or 'failed'}",
                retry_after=rate_limit_wait(headers or {}, data, message, self.clock.wall()),
            )
            return JobStatus(JobState.FAILED, error=error)
        if status == "processing":
            info: dict[str, Any] = {}
            if isinstance(data.get("fetch_result"), str):
                info["fetch_result"] = data["fetch_result"]
            return JobStatus(JobState.PROCESSING, eta=as_float(data.get("eta")), info=info)
        if status == "success":
            outputs = _links(data.get("output")) + _links(data.get("proxy_links"))
            meta = data.get("meta")
            seed = as_int(meta.get("seed")) if isinstance(meta, Mapping) else None
            info = {"generation_time": as_float(data.get("generationTime"))}
            return JobStatus(JobState.DONE, outputs=tuple(dict.fromkeys(outputs)), seed=seed,
                             info=info)
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
