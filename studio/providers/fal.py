"""fal queue API: ``fal-ai/flux/schnell`` and ``fal-ai/flux-lora`` (with ``loras``), and the
models that take reference images: FLUX.2 [klein] 4B edit (previews) and FLUX.2 [pro] edit
(finals) with ``image_urls``, FLUX.1 Kontext [pro] (``image_url``) and Kontext multi, and PuLID
(``reference_image_url`` with ``id_weight``) as a photoreal face lock.

Submit to ``{queue}/{model}`` with ``Authorization: Key``: the queue answers at once with the
request id. Then use the ``status_url``, ``response_url`` and ``cancel_url`` the submit answer
names (the subpath rule makes building them error-prone; they are built only when the answer's
are unusable). ``COMPLETED`` can carry an ``error``; 422 bodies carry a FastAPI ``detail``
list. The result's ``seed`` is the seed used (the one sent, or the random one picked).

Reference images go up once through fal's storage API (``POST {storage}/storage/upload/initiate``
with the key, then ``PUT`` of the bytes to the ``upload_url`` it names, **without** the key) and
are sent as the ``file_url`` it gave. The storage API is ``https://rest.fal.ai``, or the
configured base URL when one is set (a proxy or a test server serves both), or
``STUDIO_FAL_STORAGE_URL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import (
    KONTEXT_ASPECT_RATIOS,
    ModelCapabilities,
    ReferenceSupport,
    reference_support,
)
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
from studio.providers.http.references import ReferenceFile
from studio.providers.http.status import StatusWords, aspect_ratio_name

SCHNELL = "fal-ai/flux/schnell"
LORA = "fal-ai/flux-lora"
KLEIN_EDIT = "fal-ai/flux-2/klein/4b/edit"
PRO_EDIT = "fal-ai/flux-2-pro/edit"
KONTEXT = "fal-ai/flux-pro/kontext"
KONTEXT_MULTI = "fal-ai/flux-pro/kontext/multi"
PULID = "fal-ai/flux-pulid"
DEFAULT_STORAGE_URL = "https://rest.fal.ai"

#: Models with no steps in their input (FLUX.2 [pro] and Kontext decide them).
_NO_STEPS = frozenset({PRO_EDIT, KONTEXT, KONTEXT_MULTI})
#: Models that take ``safety_tolerance`` (a string "1".."5"/"6"; "2" is the default).
_TOLERANCE = frozenset({PRO_EDIT, KONTEXT, KONTEXT_MULTI})
#: The queue's status words (COMPLETED also ends a request that failed: its ``error`` says).
STATUS = StatusWords.of(queued=["IN_QUEUE"], processing=["IN_PROGRESS"], done=["COMPLETED"],
                        cancelled=["CANCELED", "CANCELLED"], failed=["FAILED"])


def _refs(model: str) -> ReferenceSupport:
    return reference_support("fal", model)

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
    KLEIN_EDIT: ModelCapabilities(
        provider="fal", model=KLEIN_EDIT, label="FLUX.2 [klein] 4B edit", steps_min=1,
        steps_max=50, steps_default=4, uses_guidance=False, supports_negative=False,
        max_side=2048, size_multiple=16, can_cancel=True, price_per_image=0.014,
        references=_refs(KLEIN_EDIT),
    ),
    PRO_EDIT: ModelCapabilities(
        provider="fal", model=PRO_EDIT, label="FLUX.2 [pro] edit",
        uses_guidance=False, supports_negative=False, max_side=2048, size_multiple=16,
        can_cancel=True, references=_refs(PRO_EDIT),
    ),
    KONTEXT: ModelCapabilities(
        provider="fal", model=KONTEXT, label="FLUX.1 Kontext [pro]",
        guidance_min=1.0, guidance_max=20.0, supports_negative=False,
        aspect_ratios=dict(KONTEXT_ASPECT_RATIOS), can_cancel=True, price_per_image=0.04,
        references=_refs(KONTEXT),
    ),
    KONTEXT_MULTI: ModelCapabilities(
        provider="fal", model=KONTEXT_MULTI, label="FLUX.1 Kontext [pro] multi",
        guidance_min=1.0, guidance_max=20.0, supports_negative=False,
        aspect_ratios=dict(KONTEXT_ASPECT_RATIOS), can_cancel=True, references=_refs(KONTEXT_MULTI),
    ),
    PULID: ModelCapabilities(
        provider="fal", model=PULID, label="FLUX PuLID face lock", steps_min=1, steps_max=50,
        steps_default=20, guidance_min=0.0, guidance_max=20.0, max_side=2048,
        can_cancel=True, references=_refs(PULID),
    ),
}


class FalProvider(HttpProvider):
    id = "fal"
    default_base_url = "https://queue.fal.run"
    auth = Auth.in_header("Authorization", "Key {key}")
    default_concurrency = 2  # new fal accounts run 2 requests at once
    pacing = Pacing(interval=0.5, max_interval=3.0)
    reference_defaults = ModelChoice(preview=KLEIN_EDIT, final=PRO_EDIT)

    def __init__(self, *, storage_url: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        custom = self.base_url != self.default_base_url.rstrip("/")
        self.storage_url = (storage_url or (self.base_url if custom else DEFAULT_STORAGE_URL)
                            ).rstrip("/")
        # The storage API is fal's own (it takes the key); the hosts it uploads to are not.
        self.exchanger.trust(self.storage_url)

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
        """The submit body as recorded (references named by hash); :meth:`send_job` sends
        their staged URLs instead."""
        return self._body(request, self.reference_body(request)[1])

    def _body(self, request: GenerationRequest, references: dict[str, Any]) -> dict[str, Any]:
        caps = self.capabilities(request.model)
        model = request.model
        body: dict[str, Any] = {"prompt": request.prompt}
        if caps.takes_aspect_ratio:
            body["aspect_ratio"] = aspect_ratio_name(caps, request.width, request.height)
        else:
            body["image_size"] = {"width": request.width, "height": request.height}
        if model not in _NO_STEPS:
            body["num_inference_steps"] = request.steps
        if model != PRO_EDIT:  # FLUX.2 [pro] makes one image and has no such field
            body["num_images"] = request.images
        body["output_format"] = "png"
        if model not in (KONTEXT, KONTEXT_MULTI):
            body["enable_safety_checker"] = True
        if model in _TOLERANCE:
            body["safety_tolerance"] = "2"
        if request.seed is not None:
            body["seed"] = request.seed
        if caps.uses_guidance:
            body["guidance_scale"] = request.guidance
        if caps.supports_negative and request.negative:
            body["negative_prompt"] = request.negative
        if request.loras:
            body["loras"] = [{"path": w.path, "scale": w.scale} for w in request.loras]
        body.update(references)
        body.update({k: v for k, v in request.extras.items() if k != "prompt"})
        return body

    async def stage_reference(self, file: ReferenceFile) -> str:
        """Upload one reference image to fal's storage; its ``file_url``."""
        answer = await self.call(
            Phase.UPLOAD, "POST",
            f"{self.storage_url}/storage/upload/initiate?storage_type=fal-cdn-v3",
            json_body={"content_type": file.mime, "file_name": file.file_name},
            # Kept a week: long enough for any batch, not for ever (CDN links are public).
            headers={"X-Fal-Object-Lifecycle": '{"expiration_duration_seconds": 604800}'})
        if answer.status >= 400:
            raise self.error_of(answer)
        data = self.json_of(answer)
        upload_url, file_url = data.get("upload_url"), data.get("file_url")
        if not (isinstance(upload_url, str) and upload_url.startswith(("https://", "http://"))
                and isinstance(file_url, str) and file_url.startswith(("https://", "http://"))):
            raise BadResponseError(self.id, "the storage API named no upload address")
        put = await self.call(Phase.UPLOAD, "PUT", upload_url, content=file.data,
                              headers={"Content-Type": file.mime}, authed=False)
        if not 200 <= put.status < 300:
            raise BadResponseError(
                self.id, f"the upload of a reference image to {put.host} was refused "
                f"(HTTP {put.status})", status_code=put.status)
        return file_url

    def _base(self, model: str, request_id: str) -> str:
        # Status/result/cancel drop the subpath: fal-ai/flux/schnell -> fal-ai/flux.
        app = "/".join(model.strip("/").split("/")[:2])
        return self.url(f"{app}/requests/{request_id}")

    async def send_job(self, request: GenerationRequest) -> Accepted:
        sent, kept = self.reference_body(request)
        body = self._body(request, kept)
        data = await self.request_json(Phase.SUBMIT, "POST", self.url(request.model),
                                       json_body=self._body(request, sent))
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
        data = await self.poll_json(submission, f"{base}/status")
        state = STATUS.state(self.id, data.get("status"), "queue status")
        if state is JobState.SUBMITTED:
            return JobStatus(JobState.SUBMITTED, position=as_int(data.get("queue_position")))
        if state is JobState.DONE:
            error = first_text(data, "error")
            if error:
                error_type = str(data.get("error_type") or "")
                if "timeout" in error_type:
                    return JobStatus(JobState.FAILED, error=ProviderTimeout(self.id, error))
                return JobStatus(JobState.FAILED, error=self.classify(
                    None, f"{error} ({error_type})" if error_type else error))
            return await self._result(submission, submission.result_url or base)
        if state is JobState.CANCELLED:
            return JobStatus(JobState.CANCELLED,
                             error=RenderCancelled(self.id, "the request was cancelled"))
        if state is JobState.FAILED:
            return JobStatus(JobState.FAILED, error=self.classify(
                None, first_text(data, "error", "detail") or "the request failed"))
        return JobStatus(JobState.PROCESSING)

    async def _result(self, submission: Submission, url: str) -> JobStatus:
        data = await self.request_json(Phase.POLL, "GET", url)
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
