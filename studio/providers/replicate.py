"""Replicate predictions API for ``black-forest-labs/flux-schnell`` (official-model route), and
the models that take reference images: ``black-forest-labs/flux-kontext-pro`` (``input_image``)
and ``black-forest-labs/flux-2-pro`` (``input_images``).

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

A reference image goes in as a ``data:`` URI when it is small (Replicate recommends data URLs
of at most 256 kB), else it is uploaded once to the files API (``POST /v1/files``, multipart
part ``content``) and its ``urls.get`` is sent. The BFL models answer one URI string, not a list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from studio.core.capabilities import ModelCapabilities, reference_support
from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import BadResponseError, RenderCancelled
from studio.providers.http import Accepted, Auth, Deadlines, JobStatus, Pacing, Phase
from studio.providers.http.classify import as_float, first_text
from studio.providers.http.provider import HttpProvider
from studio.providers.http.references import ReferenceFile
from studio.providers.http.status import StatusWords, aspect_ratio_name

SCHNELL = "black-forest-labs/flux-schnell"
KONTEXT_PRO = "black-forest-labs/flux-kontext-pro"
FLUX2_PRO = "black-forest-labs/flux-2-pro"
#: Replicate recommends data URLs of at most 256 kB; larger files go through the files API.
DATA_URI_MAX = 256 * 1024

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
    # Its aspect ratios besides match_input_image are not captured; schnell's names are sent.
    KONTEXT_PRO: ModelCapabilities(
        provider="replicate", model=KONTEXT_PRO, label="FLUX.1 Kontext [pro]",
        uses_guidance=False, supports_negative=False, aspect_ratios=SCHNELL_ASPECT_RATIOS,
        can_cancel=True, price_per_image=0.04,
        references=reference_support("replicate", KONTEXT_PRO),
    ),
    FLUX2_PRO: ModelCapabilities(
        provider="replicate", model=FLUX2_PRO, label="FLUX.2 [pro]", uses_guidance=False,
        supports_negative=False, min_side=256, max_side=2048, size_multiple=32,
        can_cancel=True, references=reference_support("replicate", FLUX2_PRO),
    ),
}

_SEED_RE = re.compile(r"Using seed:\s*(\d{1,20})")
STATUS = StatusWords.of(queued=["starting"], processing=["processing"], done=["succeeded"],
                        failed=["failed"], cancelled=["canceled", "cancelled", "aborted"])


class ReplicateProvider(HttpProvider):
    id = "replicate"
    default_base_url = "https://api.replicate.com"
    auth = Auth.in_header("Authorization", "Bearer {key}")
    default_concurrency = 4
    default_deadlines = Deadlines(submit=30.0, poll=30.0, download=120.0)
    pacing = Pacing(interval=0.5, max_interval=5.0)
    reference_defaults = ModelChoice(preview=KONTEXT_PRO, final=FLUX2_PRO)

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview=SCHNELL, final=SCHNELL)

    def model_ids(self) -> tuple[str, ...]:
        return tuple(MODELS)

    def model_capabilities(self, model: str) -> ModelCapabilities:
        return MODELS.get(model) or replace(MODELS[SCHNELL], model=model, label=model)

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        """The create body as recorded (references named by hash)."""
        return self._body(request, self.reference_body(request)[1])

    def _body(self, request: GenerationRequest, references: dict[str, Any]) -> dict[str, Any]:
        caps = self.capabilities(request.model)
        model_input: dict[str, Any] = {"prompt": request.prompt}
        if caps.takes_aspect_ratio:
            model_input["aspect_ratio"] = aspect_ratio_name(caps, request.width,
                                                            request.height)
        if request.model in (KONTEXT_PRO, FLUX2_PRO):
            if request.model == FLUX2_PRO:
                model_input.update(aspect_ratio="custom", width=request.width,
                                   height=request.height)
            else:
                model_input["prompt_upsampling"] = False  # the prompt is the anchor
            # 2 is the most permissive value Kontext allows with an input image.
            model_input.update(output_format="png", safety_tolerance=2)
        else:
            model_input.update({
                "num_outputs": request.images,
                "num_inference_steps": request.steps,
                "output_format": "png",
                "megapixels": "1",
                # go_fast makes outputs non-deterministic even with a seed; sheets need it.
                "go_fast": False,
            })
        if request.seed is not None:
            model_input["seed"] = request.seed
        model_input.update(references)
        model_input.update({k: v for k, v in request.extras.items() if k != "prompt"})
        return {"input": model_input}

    async def stage_reference(self, file: ReferenceFile) -> str:
        """A data URI for a small image; else the image uploaded to the files API."""
        if len(file.data_uri()) <= DATA_URI_MAX:
            return file.data_uri()
        answer = await self.call(Phase.UPLOAD, "POST", self.url("/v1/files"),
                                 files={"content": (file.file_name, file.data, file.mime)})
        if answer.status >= 400:
            raise self.error_of(answer)
        urls = self.json_of(answer).get("urls")
        link = urls.get("get") if isinstance(urls, Mapping) else None
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            raise BadResponseError(self.id, "the files API named no address for the upload")
        return link

    async def send_job(self, request: GenerationRequest) -> Accepted:
        owner_name = request.model.strip("/")
        sent, kept = self.reference_body(request)
        body = self._body(request, kept)
        data = await self.request_json(Phase.SUBMIT, "POST",
                                       self.url(f"/v1/models/{owner_name}/predictions"),
                                       json_body=self._body(request, sent))
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
        return self.status(await self.poll_json(
            submission, self.url(f"/v1/predictions/{submission.request_id}")))

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
        state = STATUS.state(self.id, status, "prediction status")
        if state is JobState.FAILED:
            message = first_text(data, "error") or "the prediction failed"
            return JobStatus(JobState.FAILED, error=self.classify(None, message))
        if state is JobState.CANCELLED:
            return JobStatus(JobState.CANCELLED, error=RenderCancelled(
                self.id, f"the prediction was {status}"))
        if state is JobState.DONE and not outputs:
            # Every image was flagged and dropped, or the output was removed (1 h retention).
            return JobStatus(JobState.FAILED, error=self.classify(
                None, "the prediction succeeded but returned no image (NSFW filter)"))
        if state is JobState.DONE or (state is JobState.PROCESSING and outputs):
            # File outputs arrive only once all are written: a processing prediction with
            # outputs is already complete (the logs may not hold the seed yet, so none is
            # claimed unless they do).
            return JobStatus(JobState.DONE, outputs=outputs, seed=_logged_seed(data),
                             info=info)
        return JobStatus(state)


def _logged_seed(data: Mapping[str, Any]) -> int | None:
    """The seed the model printed ("Using seed: N"); None when the logs do not say."""
    logs = data.get("logs")
    match = _SEED_RE.search(logs) if isinstance(logs, str) else None
    return int(match.group(1)) if match else None
