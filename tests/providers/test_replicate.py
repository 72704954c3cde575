"""Replicate flux-schnell against the fake predictions API."""

from __future__ import annotations

import pytest

from studio.core import codec
from studio.providers.base import Submission
from studio.providers.errors import (
    AuthenticationError,
    ContentFilteredError,
    InvalidRequestError,
    OutOfCreditsError,
    ProviderFailedError,
    RateLimitedError,
    RenderCancelled,
)
from studio.providers.replicate import SCHNELL
from tests.fakes.fixtures import SECRET_KEY, assert_no_key
from tests.fakes.replicate import FakeReplicate
from tests.fakes.sample import sample_request
from tests.fakes.server import Reply

pytestmark = pytest.mark.asyncio

CREATE = f"/v1/models/{SCHNELL}/predictions"


def request(**kw):  # type: ignore[no-untyped-def]
    kw.setdefault("model", SCHNELL)
    return sample_request(**kw)


async def fail_with(provider, events, error_type, **kw):  # type: ignore[no-untyped-def]
    with pytest.raises(error_type) as info:
        await provider.generate(request(**kw), events)
    assert events.names[-1] == "Failed"
    assert_no_key(SECRET_KEY, info.value, *events.items)
    return info.value


async def test_starting_processing_succeeded(replicate_server, make_provider, events, api_key):
    replicate_server.polls_before_success = 2
    result = await make_provider(replicate_server).generate(
        request(width=1024, height=768, negative="blurry"), events)
    assert events.names == ["Submitted", "Queued", "Processing", "Downloading", "Done"]
    assert replicate_server.submits() == 1
    sent = replicate_server.requests[0]
    assert sent.headers["authorization"] == f"Bearer {api_key}"
    # Never held open: the create answers at once with the id, recorded before polling.
    assert "prefer" not in sent.headers
    assert sent.json["input"]["aspect_ratio"] == "4:3"
    assert "negative_prompt" not in sent.json["input"]
    assert sent.json["input"]["seed"] == 42
    assert events.items[0].submission.seed_returned is None  # "starting": logs still empty
    assert result.seed_returned == 42  # "Using seed: 42" in the finished prediction's logs
    assert any("4:3" in n for n in result.notes)
    assert any("negative prompt was not sent" in n for n in result.notes)
    assert result.info["predict_time"] == 0.5
    # Image downloads never carry the key.
    downloads = [r for r in replicate_server.requests if r.path.startswith("/files/")]
    assert downloads and all("authorization" not in r.headers for r in downloads)
    assert_no_key(api_key, result, events.items[0].submission)


async def test_a_create_answered_finished_needs_no_poll_and_claims_no_seed(
    replicate_server, make_provider, events
):
    """The held-answer shape (processing with the output filled, empty logs) is read as done;
    its logs confirm no seed, so none is recorded."""
    replicate_server.sync = True
    result = await make_provider(replicate_server).generate(request(), events)
    assert events.names == ["Submitted", "Downloading", "Done"]
    assert events.items[1].source == "inline"
    assert replicate_server.count("GET", r"/v1/predictions/.*") == 0
    assert result.format == "png"
    assert result.seed_returned is None


async def test_seed_zero_is_replaced_and_the_replacement_recorded(replicate_server, make_provider):
    result = await make_provider(replicate_server).generate(request(seed=0))
    assert replicate_server.requests[0].json["input"]["seed"] == 0
    assert result.seed_returned not in (None, 0)  # what the logs say was used
    caps = make_provider(replicate_server).capabilities(SCHNELL)
    assert caps.replaced_seeds == (0,)


async def test_no_seed_line_in_the_logs_means_no_seed(replicate_server, make_provider):
    replicate_server.seed_in_logs = False
    result = await make_provider(replicate_server).generate(request(seed=77))
    assert result.seed_returned is None  # never a copy of the seed sent


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication "
                                                     "token", "status": 401},
         AuthenticationError),
        (402, {"title": "Billing required", "detail": "You need to set up billing to run this "
                                                      "model.", "status": 402},
         OutOfCreditsError),
        (422, {"title": "Input validation failed", "detail": "input.num_outputs: Must be less "
                                                            "than or equal to 4", "status": 422},
         InvalidRequestError),
        (500, {"title": "Internal Server Error", "detail": "oops", "status": 500},
         ProviderFailedError),
    ],
)
async def test_problem_json_errors(
    replicate_server, make_provider, events, api_key, status, body, error_type
):
    replicate_server.script("POST", CREATE, Reply(status, body,
                                                  content_type="application/problem+json"))
    error = await fail_with(make_provider(replicate_server), events, error_type)
    assert body["detail"] in str(error)
    assert replicate_server.submits() == 1
    assert_no_key(api_key, error)


async def test_wrong_key(make_provider, events, api_key):
    with FakeReplicate("another") as server:
        error = await fail_with(make_provider(server), events, AuthenticationError)
    assert "Replicate did not accept the API key" in error.user_message()
    assert_no_key(api_key, error)


async def test_429_retry_after_header(replicate_server, make_provider, events, fast_clock):
    replicate_server.script("POST", CREATE, Reply(
        429, {"detail": "Request was throttled. Your rate limit resets in ~9s."},
        headers={"Retry-After": "2"}))
    await make_provider(replicate_server).generate(request(), events)
    assert fast_clock.sleeps[0] == pytest.approx(2.0, abs=0.5)  # the header wins
    assert replicate_server.submits() == 2
    assert events.distinct()[:2] == ["Throttled", "Submitted"]


async def test_429_without_retry_after_waits_the_reset_the_body_names(
    replicate_server, make_provider, events, fast_clock
):
    throttled = Reply(429, {"detail": "Request was throttled. Your rate limit resets in ~30s."})
    replicate_server.script("POST", CREATE, throttled, throttled)
    result = await make_provider(replicate_server).generate(request(), events)
    assert result.format == "png"
    assert fast_clock.sleeps[:2] == [pytest.approx(30, abs=0.5)] * 2
    assert replicate_server.submits() == 3
    assert events.items[0].hint == "resets in about 30 s"


async def test_429_too_long_to_wait(replicate_server, make_provider, events, fast_clock):
    replicate_server.script("POST", CREATE, Reply(
        429, {"detail": "Request was throttled."}, headers={"Retry-After": "3600"}))
    error = await fail_with(make_provider(replicate_server), events, RateLimitedError)
    assert error.retry_after == 3600
    assert replicate_server.submits() == 1
    assert fast_clock.sleeps == []


async def test_nsfw_failure_is_content_filtered(replicate_server, make_provider, events):
    replicate_server.script("GET", "/v1/predictions/pred0001x", Reply(200, {
        **replicate_server.prediction("pred0001x", "failed"),
        "error": "All generated images contained NSFW content. Try running it again with a "
                 "different prompt."}))
    error = await fail_with(make_provider(replicate_server), events, ContentFilteredError)
    assert "Reword the prompt" in error.user_message("Beach")
    assert events.names == ["Submitted", "Queued", "Failed"]


async def test_model_failure(replicate_server, make_provider, events):
    replicate_server.script("GET", "/v1/predictions/pred0001x", Reply(200, {
        **replicate_server.prediction("pred0001x", "failed"), "error": "CUDA out of memory"}))
    error = await fail_with(make_provider(replicate_server), events, ProviderFailedError)
    assert "CUDA out of memory" in str(error)


@pytest.mark.parametrize("status", ["canceled", "aborted"])
async def test_cancelled_and_aborted(replicate_server, make_provider, events, status):
    replicate_server.script("GET", "/v1/predictions/pred0001x", Reply(
        200, replicate_server.prediction("pred0001x", status)))
    await fail_with(make_provider(replicate_server), events, RenderCancelled)


async def test_cancel_uses_urls_cancel(replicate_server, make_provider):
    provider = make_provider(replicate_server)
    submission = await provider.submit(request())
    assert await provider.cancel(submission) is True
    assert replicate_server.count("POST", "/v1/predictions/pred0001x/cancel") == 1


async def test_poll_503_is_retried(replicate_server, make_provider, events):
    replicate_server.script("GET", "/v1/predictions/pred0001x", Reply(
        503, {"detail": "unavailable"}, headers={"Retry-After": "2"}))
    await make_provider(replicate_server).generate(request(), events)
    assert replicate_server.submits() == 1
    assert events.names[-1] == "Done"


async def test_resume(replicate_server, make_provider, events):
    first = make_provider(replicate_server)
    stored = codec.dumps(await first.submit(request()))
    await first.aclose()
    result = await make_provider(replicate_server).follow(codec.loads(Submission, stored), events)
    assert result.request_id == "pred0001x"
    assert replicate_server.submits() == 1
    assert events.names == ["Queued", "Downloading", "Done"]


async def test_output_links_are_downloaded_even_when_urls_point_elsewhere(
    replicate_server, make_provider
):
    """urls.get on a foreign host is not sent the Bearer key; the id is polled on the API."""
    prediction = replicate_server.prediction("pred0001x", "starting")
    prediction["urls"] = {"get": "https://evil.example/p", "cancel": "https://evil.example/c"}
    replicate_server.script("POST", CREATE, Reply(201, prediction))
    provider = make_provider(replicate_server)
    submission = await provider.submit(request())
    assert submission.poll_url is None and submission.cancel_url is None
    result = await provider.follow(submission)
    assert result.format == "png"
    assert replicate_server.count("GET", "/v1/predictions/pred0001x") == 1


async def test_throttled_polls_wait_the_reset_the_body_names(replicate_server, make_provider,
                                                             fast_clock):
    """Accounts without a payment method may make 6 requests a minute, polls included: a
    throttled status check waits the announced reset instead of burning quick retries."""
    throttled = Reply(429, {"detail": "Request was throttled. Your rate limit resets in ~8s."})
    replicate_server.script("GET", "/v1/predictions/pred0001x", throttled, throttled)
    result = await make_provider(replicate_server).generate(request())
    assert result.format == "png"
    assert [round(s) for s in fast_clock.sleeps if s > 1] == [8, 8]
