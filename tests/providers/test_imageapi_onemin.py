"""imageapi.org (a blocking API) and 1min.ai (asked for its asynchronous mode) against their
fakes."""

from __future__ import annotations

import base64

import pytest

from studio.core.request import LoraWeight
from studio.providers.errors import (
    AuthenticationError,
    BadResponseError,
    ContentFilteredError,
    InvalidRequestError,
    MayHaveBeenBilledError,
    OutOfCreditsError,
    ProviderFailedError,
    RateLimitedError,
)
from studio.providers.onemin import SCHNELL_LORA
from tests.fakes.fixtures import SECRET_KEY, assert_no_key
from tests.fakes.imageapi import FakeImageApi
from tests.fakes.onemin import FakeOneMin
from tests.fakes.sample import sample_request
from tests.fakes.server import Reply, png_bytes

pytestmark = pytest.mark.asyncio


async def fail_with(provider, events, error_type, request):  # type: ignore[no-untyped-def]
    with pytest.raises(error_type) as info:
        await provider.generate(request, events)
    assert events.names[-1] == "Failed"
    assert_no_key(SECRET_KEY, info.value, *events.items)
    return info.value


# ---------------------------------------------------------------- imageapi.org


async def test_imageapi_success_caps_steps_and_drops_negative(
    imageapi_server, make_provider, events, api_key
):
    result = await make_provider(imageapi_server).generate(
        sample_request(steps=20, negative="blurry"), events)
    assert events.names == ["Submitted", "Downloading", "Done"]
    sent = imageapi_server.requests[0]
    assert sent.headers["authorization"] == f"Bearer {api_key}"
    assert sent.json == {"prompt": sample_request().prompt, "model": "flux-schnell",
                         "width": 512, "height": 768, "num_inference_steps": 8, "seed": 42}
    assert any("8 were used" in n for n in result.notes)
    assert any("negative prompt" in n for n in result.notes)
    assert result.seed_returned == 42 and result.request_id == "img_1"
    assert imageapi_server.submits() == 1
    assert_no_key(api_key, result)


@pytest.mark.parametrize(
    "answer",
    [
        {"images": [{"url": "{base}/files/alt.png"}]},
        {"data": [{"b64_json": base64.b64encode(png_bytes(10, 10)).decode()}]},
        {"image": "data:image/png;base64," + base64.b64encode(png_bytes(10, 10)).decode()},
        {"output": ["{base}/files/alt.png"], "status": "success"},
    ],
)
async def test_imageapi_answer_shapes(imageapi_server, make_provider, answer):
    imageapi_server.add_image("alt.png", png_bytes(10, 10))
    imageapi_server.script("POST", "/api/v1/generate", Reply(200, answer))
    result = await make_provider(imageapi_server).generate(sample_request())
    assert (result.width, result.height) == (10, 10)


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (402, {"error": "Insufficient balance"}, OutOfCreditsError),
        (400, {"error": {"message": "width must be a multiple of 8"}}, InvalidRequestError),
        (200, {"success": False, "error": "Generation failed upstream"}, ProviderFailedError),
        # A held call that ends "yes" without an image: it may have been made, and billed.
        (200, {"success": True}, MayHaveBeenBilledError),
        (200, {"success": True, "image_url": "{base}/files/x.png"}, BadResponseError),
    ],
)
async def test_imageapi_errors(
    imageapi_server, make_provider, events, api_key, status, body, error_type
):
    imageapi_server.script("POST", "/api/v1/generate", Reply(status, body))
    error = await fail_with(make_provider(imageapi_server), events, error_type, sample_request())
    assert imageapi_server.submits() == 1
    assert_no_key(api_key, error)


async def test_imageapi_throttled_without_retry_after_backs_off_then_renders(
    imageapi_server, make_provider, events, fast_clock
):
    throttled = Reply(429, {"error": "Too many requests"})
    imageapi_server.script("POST", "/api/v1/generate", throttled, throttled)
    result = await make_provider(imageapi_server).generate(sample_request(), events)
    assert result.format == "png" and imageapi_server.submits() == 3
    # No hint in the answer: a backoff from 10 s, growing.
    assert fast_clock.sleeps == [pytest.approx(10, abs=0.5), pytest.approx(20, abs=0.5)]


async def test_imageapi_throttled_past_the_patience(imageapi_server, make_provider, events):
    imageapi_server.script("POST", "/api/v1/generate",
                           *[Reply(429, {"error": "Too many requests"})] * 3)
    provider = make_provider(imageapi_server, rate_limit_patience=25)
    error = await fail_with(provider, events, RateLimitedError, sample_request())
    assert imageapi_server.submits() == 2 and "nothing was sent" in str(error)


async def test_imageapi_without_a_seed_in_the_answer_confirms_none(imageapi_server,
                                                                   make_provider):
    imageapi_server.report_seed = False
    result = await make_provider(imageapi_server).generate(sample_request(seed=42))
    assert result.seed_returned is None


async def test_imageapi_wrong_key(make_provider, events):
    with FakeImageApi("other") as server:
        error = await fail_with(make_provider(server), events, AuthenticationError,
                                sample_request())
    assert "imageapi.org" in error.user_message("Headshot")


# ---------------------------------------------------------------- 1min.ai


def om_request(**kw):  # type: ignore[no-untyped-def]
    kw.setdefault("model", SCHNELL_LORA)
    return sample_request(**kw)


async def test_onemin_success_with_lora(onemin_server, make_provider, events, api_key):
    result = await make_provider(onemin_server).generate(
        om_request(width=832, height=1216, loras=(LoraWeight("fofr/flux-black-light", 0.8),)),
        events)
    # Asked for the asynchronous mode: the id comes back at once, then the record is polled.
    assert events.names == ["Submitted", "Processing", "Downloading", "Done"]
    sent = onemin_server.requests[0]
    assert sent.headers["api-key"] == api_key
    assert sent.json["type"] == "IMAGE_GENERATOR" and sent.json["async"] is True
    assert sent.json["model"] == SCHNELL_LORA
    prompt = sent.json["promptObject"]
    assert prompt["aspect_ratio"] == "2:3"
    assert prompt["lora_weights"] == "fofr/flux-black-light" and prompt["lora_scale"] == 0.8
    assert prompt["seed"] == 42 and prompt["num_inference_steps"] == 4
    # The record only echoes the seed sent: an echo confirms nothing.
    assert result.seed_returned is None and result.request_id == "rec-0001"
    assert onemin_server.requests[1].path == "/api/results/rec-0001"
    download = onemin_server.requests[2]
    assert download.path == "/files/om-rec-0001.png" and "api-key" not in download.headers
    assert_no_key(api_key, result)


async def test_onemin_two_loras_refused_before_sending(onemin_server, make_provider, events):
    error = await fail_with(make_provider(onemin_server), events, InvalidRequestError,
                            om_request(loras=(LoraWeight("a"), LoraWeight("b"))))
    assert "single LoRA" in str(error)
    assert onemin_server.requests == []


async def test_onemin_lora_scale_clamped(onemin_server, make_provider):
    result = await make_provider(onemin_server).generate(
        om_request(loras=(LoraWeight("a", 5.0),)))
    assert onemin_server.requests[0].json["promptObject"]["lora_scale"] == 3.0
    assert any("LoRA scale" in n for n in result.notes)


async def test_onemin_answering_synchronously_anyway_is_read_too(onemin_server, make_provider,
                                                                 events):
    onemin_server.asynchronous = False  # a server that ignores "async"
    await make_provider(onemin_server).generate(om_request(), events)
    assert events.names == ["Submitted", "Downloading", "Done"]
    assert onemin_server.count("GET", "/api/results/rec-0001") == 0
    assert onemin_server.submits() == 1


async def test_onemin_failure_record(onemin_server, make_provider, events):
    onemin_server.script("POST", "/api/features", Reply(200, {"aiRecord": {
        "uuid": "r1", "status": "FAILURE",
        "aiRecordDetail": {"errorMessage": "Upstream model crashed"}}}))
    error = await fail_with(make_provider(onemin_server), events, ProviderFailedError,
                            om_request())
    assert "Upstream model crashed" in str(error)


@pytest.mark.parametrize(
    ("status", "body", "error_type", "text"),
    [
        (400, {"errorCode": "UNSUPPORTED_MODEL",
               "message": "Model x is not supported for feature IMAGE_GENERATOR"},
         InvalidRequestError, "UNSUPPORTED_MODEL"),
        (400, {"errorCode": "EXTERNAL_API_RESPONSE_WITH_ERROR", "message": "Upstream error",
               "details": "NSFW content detected"}, ContentFilteredError, "NSFW"),
        (200, {"success": False, "error": {"code": 402, "message": "Not enough credits"}},
         OutOfCreditsError, "credits"),
        (522, {"message": "Origin timeout"}, ProviderFailedError, "522"),
    ],
)
async def test_onemin_errors(
    onemin_server, make_provider, events, api_key, status, body, error_type, text
):
    onemin_server.script("POST", "/api/features", Reply(status, body))
    error = await fail_with(make_provider(onemin_server), events, error_type, om_request())
    assert text in str(error)
    assert onemin_server.submits() == 1
    assert_no_key(api_key, error)


async def test_onemin_wrong_key(make_provider, events):
    with FakeOneMin("other") as server:
        error = await fail_with(make_provider(server), events, AuthenticationError, om_request())
    assert "INVALID_AUTH_TOKEN" in str(error)


async def test_onemin_unknown_record_on_poll(onemin_server, make_provider, events):
    onemin_server.asynchronous = True
    onemin_server.script("GET", "/api/results/rec-0001", *[Reply(200, {"aiRecord": None})] * 4)
    error = await fail_with(make_provider(onemin_server), events, BadResponseError, om_request())
    assert "no longer knows" in str(error)
