"""Black Forest Labs' own API: FLUX.2 [pro], FLUX.2 [klein] 4B and FLUX.1 Kontext [pro].

Always asynchronous: ``POST /v1/<model>`` with the key in an ``x-key`` header answers at once
with the task's ``id``, a ``polling_url`` and the ``cost`` in credits (1 credit = 0.01 USD); the
task is then polled at that URL (``GET``, with the key) until its ``status`` is ``Ready``, and the
``result.sample`` URL (signed, on a delivery host, expiring after ten minutes) is downloaded at
once, without the key. ``Pending`` means still working; ``Error``, ``Request Moderated`` and
``Content Moderated`` end the task (moderated tasks are not charged); ``Task not found`` just
after the submit is taken for a task not yet visible. There is no cancel.

Reference images go in the request itself as base64, in ``input_image``, ``input_image_2`` …
(eight on FLUX.2 [pro], four on [klein]; Kontext takes one here). FLUX.2 bills input
megapixels too, which the estimate counts. The seed used is ``result.seed``.

A ``polling_url`` off the configured address is followed only when it is another
``*.bfl.ai`` host over HTTPS and the configured address is BFL's own (a regional server);
otherwise the task is polled at ``{base}/v1/get_result?id=<id>``, so the key never goes
elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from studio.core.capabilities import KONTEXT_ASPECT_RATIOS, ModelCapabilities, reference_support
from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.providers.base import ModelChoice, Submission
from studio.providers.errors import ContentFilteredError, ProviderError, ProviderFailedError
from studio.providers.http import Accepted, Auth, JobStatus, Pacing, Phase
from studio.providers.http.classify import as_float, as_int, first_text
from studio.providers.http.provider import HttpProvider
from studio.providers.http.references import ReferenceFile
from studio.providers.http.status import StatusWords, aspect_ratio_name

FLUX2_PRO = "flux-2-pro"
FLUX2_KLEIN = "flux-2-klein-4b"
KONTEXT_PRO = "flux-kontext-pro"
#: What one credit costs (BFL's pricing page: 1 credit = $0.01).
CREDIT = 0.01
#: Seconds after the submit during which "Task not found" means "not visible yet".
NOT_FOUND_GRACE = 10.0
_BFL_DOMAIN = "bfl.ai"


def _flux2(model: str, label: str, price: float) -> ModelCapabilities:
    # Width and height in steps of 16, at least 64, at most 4 megapixels in all.
    return ModelCapabilities(
        provider="bfl", model=model, label=label, uses_guidance=False, supports_negative=False,
        min_side=64, max_side=2048, size_multiple=16, price_per_image=price,
        references=reference_support("bfl", model))


MODELS: Mapping[str, ModelCapabilities] = {
    FLUX2_PRO: _flux2(FLUX2_PRO, "FLUX.2 [pro]", 0.03),
    FLUX2_KLEIN: _flux2(FLUX2_KLEIN, "FLUX.2 [klein] 4B", 0.014),
    KONTEXT_PRO: ModelCapabilities(
        provider="bfl", model=KONTEXT_PRO, label="FLUX.1 Kontext [pro]", uses_guidance=False,
        supports_negative=False, aspect_ratios=dict(KONTEXT_ASPECT_RATIOS),
        price_per_image=0.04, references=reference_support("bfl", KONTEXT_PRO)),
}

_MODERATED = ("request moderated", "content moderated")
#: Pending, or a word this client does not know: still working, until the job's deadline says
#: otherwise. "Task not found" just after the submit: not visible yet (see NOT_FOUND_GRACE).
STATUS = StatusWords.of(done=["Ready"], failed=[*_MODERATED, "Error", "Failed"],
                        queued=["Task not found"], processing=["Pending"],
                        unknown=JobState.PROCESSING)


class BflProvider(HttpProvider):
    id = "bfl"
    default_base_url = "https://api.bfl.ai"
    auth = Auth.in_header("x-key")
    # Accounts run 24 tasks at once by default; a few at a time keeps a sheet's order.
    default_concurrency = 4
    # BFL's own examples start at half a second and back off to a few seconds.
    pacing = Pacing(interval=0.5, max_interval=5.0)

    def default_models(self) -> ModelChoice:
        return ModelChoice(preview=FLUX2_KLEIN, final=FLUX2_PRO)

    def model_ids(self) -> tuple[str, ...]:
        return tuple(MODELS)

    def model_capabilities(self, model: str) -> ModelCapabilities:
        known = MODELS.get(model)
        if known is not None:
            return known
        base = MODELS[KONTEXT_PRO] if "kontext" in model else MODELS[FLUX2_PRO]
        return replace(base, model=model, label=model, price_per_image=None,
                       references=replace(base.references, price_per_reference=None))

    # ------------------------------------------------------------ wire format

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        """The submit body as recorded (references named by hash)."""
        return self._body(request, self.reference_body(request)[1])

    def _body(self, request: GenerationRequest, references: dict[str, Any]) -> dict[str, Any]:
        caps = self.capabilities(request.model)
        body: dict[str, Any] = {"prompt": request.prompt}
        if caps.takes_aspect_ratio:
            body["aspect_ratio"] = aspect_ratio_name(caps, request.width, request.height)
            body["prompt_upsampling"] = False  # the prompt is the anchor: never rewritten
        else:
            body["width"], body["height"] = request.width, request.height
        if request.seed is not None:
            body["seed"] = request.seed
        body["safety_tolerance"] = 2
        body["output_format"] = "png"
        body.update(references)
        body.update({k: v for k, v in request.extras.items() if k != "prompt"})
        return body

    async def stage_reference(self, file: ReferenceFile) -> str:
        # Base64 in the body itself (a data: prefix is not documented as accepted).
        return file.base64()

    async def send_job(self, request: GenerationRequest) -> Accepted:
        sent, kept = self.reference_body(request)
        body = self._body(request, kept)
        data = await self.request_json(Phase.SUBMIT, "POST", self.url(f"/v1/{request.model}"),
                                       json_body=self._body(request, sent))
        task = data.get("id")
        polling = data.get("polling_url")
        info: dict[str, Any] = {}
        credits = as_float(data.get("cost"))
        if credits is not None and credits >= 0:
            info["cost"] = round(credits * CREDIT, 6)
        if isinstance(polling, str) and self._regional(polling):
            info["polling_url"] = polling
        return Accepted(
            request_id=task if isinstance(task, str) else "",
            status=JobStatus(JobState.SUBMITTED, info=info), body=body,
            poll_url=polling if isinstance(polling, str) else None)

    def _regional(self, url: str) -> bool:
        """Whether ``url`` is another of BFL's own API hosts (HTTPS, under bfl.ai) while the
        configured address is BFL's own too: the key may follow the task there."""
        try:
            target, base = httpx.URL(url), httpx.URL(self.base_url)
        except (httpx.InvalidURL, TypeError):
            return False

        def ours(host: str) -> bool:
            return host == _BFL_DOMAIN or host.endswith("." + _BFL_DOMAIN)

        return (target.scheme == "https" and base.scheme == "https" and ours(target.host)
                and ours(base.host) and not self.same_origin(url))

    def _poll_url(self, submission: Submission) -> str:
        if submission.poll_url:
            return submission.poll_url
        regional = submission.info.get("polling_url")
        if isinstance(regional, str) and self._regional(regional) \
                and not self.redactor.contains(regional):
            self.exchanger.trust(regional)
            return regional
        return str(httpx.URL(self.url("/v1/get_result"), params={"id": submission.request_id}))

    async def check_job(self, submission: Submission) -> JobStatus:
        data = await self.poll_json(submission, self._poll_url(submission))
        status = str(data.get("status") or "").strip()
        state = STATUS.state(self.id, status, "task status")
        why = _details(data.get("details")) or first_text(data, "error", "message", "detail")
        if state is JobState.DONE:
            result = data.get("result")
            result = result if isinstance(result, Mapping) else {}
            sample = result.get("sample")
            if not (isinstance(sample, str) and sample):
                return JobStatus(JobState.FAILED, error=ProviderFailedError(
                    self.id, "the task was ready without an image"))
            return JobStatus(JobState.DONE, outputs=(sample,), seed=as_int(result.get("seed")))
        if state is JobState.FAILED:
            return JobStatus(JobState.FAILED, error=self._failure(status, why))
        if state is JobState.SUBMITTED:  # not found: not visible yet, or gone
            if self.clock.wall() - submission.submitted_at < NOT_FOUND_GRACE:
                return JobStatus(JobState.SUBMITTED)
            return JobStatus(JobState.FAILED, error=ProviderFailedError(
                self.id, "the task does not exist or has expired"))
        progress = as_float(data.get("progress"))
        return JobStatus(JobState.PROCESSING,
                         info={} if progress is None else {"progress": progress})

    def _failure(self, status: str, why: str) -> ProviderError:
        if status.lower() in _MODERATED:
            what = "the prompt or a reference image" if status.lower().startswith("request") \
                else "the image made"
            return ContentFilteredError(
                self.id, f"{status}: {what} was flagged by moderation (not charged)"
                + (f" ({why})" if why else ""))
        return ProviderFailedError(
            self.id, f"the task ended with {status}" + (f": {why}" if why else ""))


def _details(value: Any) -> str:
    """Moderation reasons or error details as a short text."""
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            if isinstance(item, list):
                item = ", ".join(str(i) for i in item[:5])
            if isinstance(item, str | int | float) and str(item).strip():
                parts.append(f"{key}: {str(item)[:200]}")
        return "; ".join(parts[:4])
    if isinstance(value, str):
        return value[:300]
    return ""
