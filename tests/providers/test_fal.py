"""fal queue API against the fake: schnell and flux-lora."""

from __future__ import annotations

import pytest

from studio.core import codec
from studio.core.request import LoraWeight
from studio.providers.base import Submission
from studio.providers.errors import (
    AuthenticationError,
    ContentFilteredError,
    InvalidRequestError,
    ProviderFailedError,
    ProviderTimeout,
    RenderCancelled,
)
from studio.providers.fal import LORA, SCHNELL
from tests.fakes.fal import FakeFal
from tests.fakes.fixtures import SECRET_KEY, assert_no_key
from tests.fakes.sample import sample_request
from tests.fakes.server import Reply

pytestmark = pytest.mark.asyncio

STATUS = "/fal-ai/flux/requests/req-0001/status"
RESULT = "/fal-ai/flux/requests/req-0001"


def request(**kw):  # type: ignore[no-untyped-def]
    kw.setdefault("model", SCHNELL)
    return sample_request(**kw)


async def fail_with(provider, events, error_type, **kw):  # type: ignore[no-untyped-def]
    with pytest.raises(error_type) as info:
        await provider.generate(request(**kw), events)
    assert events.names[-1] == "Failed"
    assert_no_key(SECRET_KEY, info.value, *events.items)
    return info.value


async def test_queue_progress_to_result(fal_server, make_provider, events, api_key):
    result = await make_provider(fal_server).generate(request(), events)
    assert events.names == ["Submitted", "Queued", "Queued", "Processing", "Downloading", "Done"]
    assert [e.position for e in events.items[1:3]] == [0, 1]
    assert fal_server.submits() == 1
    sent = fal_server.requests[0]
    assert sent.path == "/fal-ai/flux/schnell"
    assert sent.headers["authorization"] == f"Key {api_key}"
    assert sent.json["image_size"] == {"width": 512, "height": 768}
    assert sent.json["num_inference_steps"] == 4
    assert "guidance_scale" not in sent.json
    # Status and result on the app path without the /schnell subpath.
    assert fal_server.count("GET", STATUS) == 3 and fal_server.count("GET", RESULT) == 1
    assert result.seed_returned == 42 and (result.width, result.height) == (48, 64)
    assert result.info == {"inference": 0.4}
    assert_no_key(api_key, result)


async def test_flux_lora_sends_loras_and_guidance(fal_server, make_provider):
    provider = make_provider(fal_server)
    assert provider.models().final == LORA
    await provider.generate(request(
        model=LORA, steps=28, guidance=3.5,
        loras=(LoraWeight("https://huggingface.co/x/emma.safetensors", 0.9),)))
    sent = fal_server.requests[0]
    assert sent.path == "/fal-ai/flux-lora"
    assert sent.json["loras"] == [{"path": "https://huggingface.co/x/emma.safetensors",
                                   "scale": 0.9}]
    assert sent.json["guidance_scale"] == 3.5
    assert fal_server.count("GET", "/fal-ai/flux-lora/requests/req-0001") == 1


async def test_lora_on_schnell_is_refused_before_sending(fal_server, make_provider, events):
    error = await fail_with(make_provider(fal_server), events, InvalidRequestError,
                            loras=(LoraWeight("x"),))
    assert "does not take LoRA" in str(error)
    assert fal_server.requests == []
    assert events.names == ["Failed"]


@pytest.mark.parametrize(
    ("error", "error_type", "expected_type"),
    [
        ("Runner disconnected", "runner_disconnected", ProviderFailedError),
        ("Request timed out", "request_timeout", ProviderTimeout),
    ],
)
async def test_completed_with_error(
    fal_server, make_provider, events, error, error_type, expected_type
):
    fal_server.script("GET", STATUS, Reply(200, {
        "status": "COMPLETED", "logs": [], "metrics": {}, "error": error,
        "error_type": error_type}))
    failure = await fail_with(make_provider(fal_server), events, expected_type)
    assert error in str(failure)
    assert fal_server.count("GET", RESULT) == 0
    assert events.names == ["Submitted", "Queued", "Failed"]
    assert fal_server.submits() == 1


async def test_422_detail_list(fal_server, make_provider, events, api_key):
    fal_server.script("POST", "/fal-ai/flux/schnell", Reply(422, {"detail": [
        {"loc": ["body", "num_inference_steps"], "msg": "ensure this value is less than or "
                                                        "equal to 12",
         "type": "value_error.number.not_le"}]}, headers={"X-Fal-Retryable": "false"}))
    error = await fail_with(make_provider(fal_server), events, InvalidRequestError)
    assert "num_inference_steps: ensure this value is less than or equal to 12" in str(error)
    assert fal_server.submits() == 1
    assert_no_key(api_key, error)


async def test_wrong_key(make_provider, events):
    with FakeFal("other") as server:
        error = await fail_with(make_provider(server), events, AuthenticationError)
        assert server.submits() == 1
    assert "Unauthorized" in str(error)


async def test_result_error_status(fal_server, make_provider, events):
    fal_server.script("GET", RESULT, Reply(500, {"detail": "Internal error",
                                                 "error_type": "internal"}),
                      *[Reply(500, {"detail": "Internal error"})] * 20)
    await fail_with(make_provider(fal_server), events, ProviderFailedError)
    assert fal_server.submits() == 1


async def test_all_images_flagged(fal_server, make_provider, events):
    fal_server.script("GET", RESULT, Reply(200, {"images": [{"url": "{base}/files/x.png"}],
                                                 "seed": 1, "has_nsfw_concepts": [True]}))
    await fail_with(make_provider(fal_server), events, ContentFilteredError)


async def test_cancelled_status(fal_server, make_provider, events):
    fal_server.script("GET", STATUS, Reply(200, {"status": "CANCELLED"}))
    await fail_with(make_provider(fal_server), events, RenderCancelled)


async def test_cancel_uses_cancel_url(fal_server, make_provider):
    provider = make_provider(fal_server)
    submission = await provider.submit(request())
    assert submission.cancel_url == f"{fal_server.base_url}{RESULT}/cancel"
    assert await provider.cancel(submission) is True
    assert fal_server.count("PUT", f"{RESULT}/cancel") == 1


async def test_sync_mode_data_uri_result(fal_server, make_provider):
    import base64

    uri = "data:image/png;base64," + base64.b64encode(fal_server.image).decode()
    fal_server.script("GET", RESULT, Reply(200, {"images": [{"url": uri}], "seed": 5}))
    result = await make_provider(fal_server).generate(request())
    assert result.seed_returned == 5


async def test_resume(fal_server, make_provider, events):
    first = make_provider(fal_server)
    stored = codec.dumps(await first.submit(request()))
    await first.aclose()
    result = await make_provider(fal_server).follow(codec.loads(Submission, stored), events)
    assert result.request_id == "req-0001"
    assert fal_server.submits() == 1
    assert events.names[-2:] == ["Downloading", "Done"]


async def test_concurrency_default_is_two(fal_server, make_provider):
    assert make_provider(fal_server).concurrency == 2
