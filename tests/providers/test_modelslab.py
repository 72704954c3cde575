"""ModelsLab v6 against the fake server: every answer shape and failure the API is known for."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import time
from pathlib import Path

import pytest

from studio.core import codec
from studio.providers.base import Submission
from studio.providers.errors import (
    AuthenticationError,
    BadResponseError,
    InvalidRequestError,
    MayHaveBeenBilledError,
    OutOfCreditsError,
    ProviderFailedError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimitedError,
)
from studio.providers.http import Deadlines, RetryPolicy
from studio.providers.modelslab import ModelsLabProvider
from tests.fakes.fixtures import SECRET_KEY, assert_no_key
from tests.fakes.modelslab import FakeModelsLab
from tests.fakes.sample import sample_request
from tests.fakes.server import Reply, bomb_png, png_bytes

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]

SUBMIT = "/api/v6/realtime/text2img"  # flux-schnell's endpoint
FINAL_SUBMIT = "/api/v6/images/text2img"


def fetch_path(job: int | str) -> str:
    return f"/api/v6/realtime/fetch/{job}"


async def fail_with(provider, events, error_type):  # type: ignore[no-untyped-def]
    with pytest.raises(error_type) as info:
        await provider.generate(sample_request(), events)
    assert events.names[-1] == "Failed"
    assert events.items[-1].error is info.value
    assert_no_key(SECRET_KEY, info.value, *events.items)
    return info.value


# ---------------------------------------------------------------- success paths


async def test_processing_then_success_after_eta(
    modelslab_server, make_provider, events, fast_clock, api_key
):
    modelslab_server.eta = 12.5
    provider = make_provider(modelslab_server)
    result = await provider.generate(sample_request(), events)

    assert events.names == ["Submitted", "Processing", "Downloading", "Done"]
    assert events.items[1].eta == 12.5
    # Waited the announced eta (less the moment the acceptance took to record) before the
    # first poll.
    assert fast_clock.sleeps[0] == pytest.approx(12.5, abs=0.5)
    assert modelslab_server.submits() == 1
    assert modelslab_server.fetches() == 1
    assert result.format == "png" and (result.width, result.height) == (64, 48)
    assert result.seed_returned == 42  # the seed ModelsLab reports in meta
    assert result.request_id == "1000"
    assert "key" not in result.request_body  # the body as sent, without the key
    assert result.request_body["prompt"].startswith("30-year-old")
    # The key went to the API in the body of the submit and of the fetch, nowhere else.
    sent = modelslab_server.requests
    assert sent[0].json["key"] == api_key and sent[1].json == {"key": api_key}
    assert all("authorization" not in r.headers for r in sent)
    assert_no_key(api_key, result, events.items[0].submission)


async def test_first_poll_counts_the_eta_from_the_acceptance(
    modelslab_server, make_provider, events, fast_clock
):
    # Time spent after the acceptance (recording the job, a resume hours later) is not waited
    # again: the first status check comes when the announced eta has passed since then.
    modelslab_server.eta = 12.5
    provider = make_provider(modelslab_server)
    submission = await provider.submit(sample_request())
    fast_clock.offset += 10.0
    await provider.follow(submission, events)
    assert fast_clock.sleeps[-1] == pytest.approx(2.5, abs=0.5)
    assert modelslab_server.fetches() == 1

    late = await provider.submit(sample_request())
    fast_clock.offset += 60.0  # long past the eta: asked at once
    await provider.follow(late, events)
    assert fast_clock.sleeps[-1] == 0.0
    assert modelslab_server.fetches() == 2


async def test_long_eta_is_capped_before_first_poll(modelslab_server, make_provider, fast_clock):
    modelslab_server.eta = 146.5279869184
    modelslab_server.polls_before_success = 3
    provider = make_provider(modelslab_server)
    await provider.generate(sample_request())
    assert fast_clock.sleeps[0] == 30.0
    assert fast_clock.sleeps[1:] == [3.0, 4.5]  # then backs off
    assert modelslab_server.fetches() == 3


async def test_instant_success_needs_no_poll(modelslab_server, make_provider, events):
    modelslab_server.instant = True
    result = await make_provider(modelslab_server).generate(sample_request(), events)
    assert events.names == ["Submitted", "Downloading", "Done"]
    assert modelslab_server.fetches() == 0
    assert result.timings.queue == 0.0


async def test_models_use_their_endpoint_and_capabilities(modelslab_server, make_provider):
    modelslab_server.instant = True
    provider = make_provider(modelslab_server)
    preview = await provider.generate(sample_request(negative="blurry", guidance=3.5))
    final = await provider.generate(
        sample_request(model="fluxgram-v1", negative="cartoon", steps=30, guidance=7.5))
    first, second = (r for r in modelslab_server.requests if r.path.endswith("text2img"))
    assert first.path == SUBMIT and second.path == FINAL_SUBMIT
    assert "negative_prompt" not in first.json and "guidance_scale" not in first.json
    assert any("negative prompt was not sent" in n for n in preview.notes)
    assert second.json["model_id"] == "fluxgram-v1"
    assert second.json["negative_prompt"] == "cartoon"
    assert second.json["guidance_scale"] == 7.5
    assert second.json["num_inference_steps"] == 30
    assert second.json["enhance_prompt"] == "no"
    assert final.notes == ()


async def test_endpoint_per_model_is_configurable(modelslab_server, make_provider):
    modelslab_server.instant = True
    provider = make_provider(modelslab_server, endpoints={"fluxgram-v1": "realtime"})
    await provider.generate(sample_request(model="fluxgram-v1", steps=20, guidance=7))
    assert modelslab_server.count("POST", SUBMIT) == 1


async def test_steps_above_cap_are_clamped_with_note(modelslab_server, make_provider):
    modelslab_server.instant = True
    result = await make_provider(modelslab_server).generate(sample_request(steps=30))
    assert modelslab_server.requests[0].json["num_inference_steps"] == 8
    assert any("8 were used" in n for n in result.notes)


async def test_messege_spelling_in_error(modelslab_server, make_provider, events, api_key):
    modelslab_server.script("POST", SUBMIT, Reply(200, {
        "status": "error", "messege": "width must be between 256 and 1024"}))
    error = await fail_with(make_provider(modelslab_server), events, InvalidRequestError)
    assert "width must be between 256 and 1024" in str(error)
    assert events.names == ["Failed"]
    assert modelslab_server.submits() == 1
    assert_no_key(api_key, error)


async def test_output_empty_string_while_processing_and_proxy_links_object(
    modelslab_server, make_provider, events
):
    url = modelslab_server.add_image("proxy.png", png_bytes(32, 32))
    modelslab_server.script("POST", SUBMIT, Reply(200, {
        "status": "processing", "eta": 1, "id": 77, "output": "",
        "messege": "Request processing", "fetch_result": "{base}" + fetch_path(77)}))
    modelslab_server.script("POST", fetch_path(77), Reply(200, {
        "status": "success", "id": 77, "output": "", "proxy_links": {"0": url},
        "meta": {"seed": 9}}))
    result = await make_provider(modelslab_server).generate(sample_request(), events)
    assert events.names == ["Submitted", "Processing", "Downloading", "Done"]
    assert (result.width, result.height, result.seed_returned) == (32, 32, 9)


async def test_dead_output_link_falls_back_to_proxy_link(modelslab_server, make_provider):
    url = modelslab_server.add_image("proxy.png", png_bytes(16, 16))
    modelslab_server.script("POST", SUBMIT, Reply(200, {
        "status": "success", "id": 5, "output": ["{base}/files/gone.png"],
        "proxy_links": {"0": url}}))
    result = await make_provider(modelslab_server).generate(sample_request())
    assert result.width == 16


async def test_success_without_any_output(modelslab_server, make_provider, events):
    modelslab_server.script("POST", SUBMIT, Reply(200, {"status": "success", "id": 5,
                                                        "output": ""}))
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "without an image" in str(error)
    assert events.names == ["Submitted", "Failed"]


async def test_base64_outputs_are_accepted(modelslab_server, make_provider):
    image = png_bytes(20, 10)
    text_url = modelslab_server.add_image("b64.txt", base64.b64encode(image), "text/plain")
    data_uri = "data:image/png;base64," + base64.b64encode(image).decode()
    raw = base64.b64encode(png_bytes(10, 20)).decode()
    provider = make_provider(modelslab_server)
    for output, size in ((text_url, (20, 10)), (data_uri, (20, 10)), (raw, (10, 20))):
        modelslab_server.script("POST", SUBMIT, Reply(200, {"status": "success", "id": 5,
                                                            "output": [output]}))
        result = await provider.generate(sample_request())
        assert (result.width, result.height) == size


async def test_foreign_fetch_result_is_not_sent_the_key(modelslab_server, make_provider):
    """A fetch_result on another host is ignored: the key only goes to the configured API."""
    modelslab_server.script("POST", SUBMIT, Reply(200, {
        "status": "processing", "eta": 0, "id": 1000,
        "fetch_result": "https://stablediffusionapi.com/api/v3/fetch/1000"}))
    modelslab_server._jobs["1000"] = {"at": 0.0, "polls": 0, "seed": 1, "done": False}
    await make_provider(modelslab_server).generate(sample_request())
    assert modelslab_server.count("POST", fetch_path(1000)) == 1


# ---------------------------------------------------------------- errors


async def test_error_in_http_200_is_authentication(make_provider, events, api_key):
    with FakeModelsLab("a-different-key") as server:
        error = await fail_with(make_provider(server), events, AuthenticationError)
        assert server.submits() == 1
    assert "Invalid API key" in str(error)
    message = error.user_message("Headshot")
    assert "ModelsLab" in message and "Headshot" in message
    assert "STUDIO_MODELSLAB_API_KEY" in message
    assert_no_key(api_key, error)


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (401, {"status": "error", "message": "Invalid API key"}, AuthenticationError),
        (402, {"status": "error", "message": "Insufficient credits. Please add more credits "
                                             "to continue."}, OutOfCreditsError),
        (403, {"status": "error", "message": "This feature requires a premium subscription"},
         OutOfCreditsError),
        (422, {"status": "error", "message": "prompt is required"}, InvalidRequestError),
        (400, {"status": "error", "message": "Model not found: x"}, InvalidRequestError),
        (500, {"status": "error", "message": "Internal error"}, ProviderFailedError),
        (503, {"status": "error", "message": "Service unavailable"}, ProviderFailedError),
    ],
)
async def test_http_errors_on_submit(
    modelslab_server, make_provider, events, api_key, status, body, error_type
):
    # The server echoes the key back in its error text: it must still not leak.
    body = {**body, "message": f"{body['message']} (key {api_key})"}
    modelslab_server.script("POST", SUBMIT, Reply(status, body))
    error = await fail_with(make_provider(modelslab_server), events, error_type)
    assert modelslab_server.submits() == 1  # a submit is never retried on 5xx
    assert error.status_code == status
    assert "[redacted]" in str(error)
    assert_no_key(api_key, error)


async def test_429_with_body_retry_after_waits_and_retries(
    modelslab_server, make_provider, events, fast_clock
):
    modelslab_server.script("POST", SUBMIT, Reply(429, {
        "status": "error", "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
        "retry_after": 30}))
    result = await make_provider(modelslab_server).generate(sample_request(), events)
    assert fast_clock.sleeps[0] == pytest.approx(30, abs=0.5)
    assert modelslab_server.submits() == 2  # the first was refused, so nothing was billed
    assert events.names == ["Throttled", "Throttled", "Submitted", "Processing", "Downloading",
                            "Done"]
    assert events.items[0].fresh and events.items[0].hint == "resets in about 30 s"
    assert result.format == "png"


async def test_queue_full_in_http_200_is_retried(modelslab_server, make_provider, fast_clock):
    modelslab_server.script("POST", SUBMIT, Reply(200, {
        "status": "error", "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
        "retry_after": 7}))
    await make_provider(modelslab_server).generate(sample_request())
    assert fast_clock.sleeps[0] == pytest.approx(7, abs=0.5)
    assert modelslab_server.submits() == 2


async def test_429_with_http_date_retry_after(modelslab_server, make_provider, fast_clock):
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    modelslab_server.script("POST", SUBMIT, Reply(429, {"status": "error",
                                                        "message": "Too many requests"},
                                                  headers={"Retry-After": when}))
    await make_provider(modelslab_server).generate(sample_request())
    assert 15 < fast_clock.sleeps[0] <= 20


async def test_429_past_the_patience_gives_rate_limited(modelslab_server, make_provider,
                                                        events, fast_clock):
    refusal = Reply(429, {"status": "error", "message": "Rate limit exceeded", "retry_after": 5})
    modelslab_server.script("POST", SUBMIT, *[refusal] * 5)
    provider = make_provider(modelslab_server, rate_limit_patience=12)
    error = await fail_with(provider, events, RateLimitedError)
    assert error.retry_after == 5
    assert modelslab_server.submits() == 3  # at 0 s, 5 s, 10 s; the next wait would pass 12 s
    assert fast_clock.sleeps == [pytest.approx(5, abs=0.5)] * 2
    assert "nothing was sent" in str(error)
    assert "5 seconds" in error.user_message("Headshot")


async def test_html_instead_of_json(modelslab_server, make_provider, events):
    modelslab_server.script("POST", SUBMIT, Reply(
        200, body=b"<html><body>Cloudflare: bad gateway</body></html>",
        content_type="text/html"))
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "web page instead of JSON" in str(error)
    assert modelslab_server.submits() == 1


async def test_html_error_page_with_502(modelslab_server, make_provider, events):
    modelslab_server.script("POST", SUBMIT, Reply(502, body=b"<html>Bad Gateway</html>",
                                                  content_type="text/html"))
    await fail_with(make_provider(modelslab_server), events, ProviderFailedError)
    assert modelslab_server.submits() == 1


async def test_truncated_json_on_submit_may_have_been_billed(
    modelslab_server, make_provider, events
):
    modelslab_server.script("POST", SUBMIT, Reply(200, body=b'{"status": "processing", "et'))
    error = await fail_with(make_provider(modelslab_server), events, MayHaveBeenBilledError)
    assert "breaks off" in str(error)
    assert "may have accepted “Headshot” and billed it" in error.user_message("Headshot")
    assert "--resend-uncertain" in error.user_message("Headshot")
    assert modelslab_server.submits() == 1


async def test_truncated_json_on_fetch_is_polled_again(modelslab_server, make_provider, events):
    modelslab_server.script("POST", fetch_path(1000), Reply(200, body=b'{"status": "succ'))
    result = await make_provider(modelslab_server).generate(sample_request(), events)
    assert result.format == "png"
    assert modelslab_server.fetches() == 2
    assert modelslab_server.submits() == 1
    assert events.names == ["Submitted", "Processing", "Downloading", "Done"]


async def test_fetch_that_stays_broken_fails_without_resubmitting(
    modelslab_server, make_provider, events
):
    broken = Reply(200, body=b"<html>oops</html>", content_type="text/html")
    modelslab_server.script("POST", fetch_path(1000), *[broken] * 4)
    await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert modelslab_server.submits() == 1
    assert modelslab_server.fetches() == 4


async def test_503_on_fetch_is_retried(modelslab_server, make_provider, events, fast_clock):
    modelslab_server.script("POST", fetch_path(1000), Reply(503, {
        "status": "error", "message": "Service unavailable"}))
    await make_provider(modelslab_server).generate(sample_request(), events)
    assert modelslab_server.fetches() == 2 and modelslab_server.submits() == 1
    assert events.names == ["Submitted", "Processing", "Downloading", "Done"]


async def test_failed_status_is_terminal(modelslab_server, make_provider, events):
    modelslab_server.script("POST", fetch_path(1000), Reply(200, {
        "status": "failed", "id": 1000, "message": "Processing failed: Invalid input dimensions"}))
    error = await fail_with(make_provider(modelslab_server), events, ProviderFailedError)
    assert "Invalid input dimensions" in str(error)
    assert error.request_id == "1000"
    assert events.names == ["Submitted", "Processing", "Failed"]
    assert modelslab_server.fetches() == 1 and modelslab_server.submits() == 1


async def test_stalled_submit_is_uncertain_and_never_resent(
    modelslab_server, make_provider, events
):
    modelslab_server.script("POST", SUBMIT, Reply(stall=True))
    provider = make_provider(modelslab_server, deadlines=Deadlines(0.3, 0.3, 0.3))
    error = await fail_with(provider, events, MayHaveBeenBilledError)
    assert "within 0.3 seconds" in str(error)
    assert modelslab_server.submits() == 1


async def test_stalled_fetch_times_out(modelslab_server, make_provider, events):
    modelslab_server.script("POST", fetch_path(1000), *[Reply(stall=True)] * 4)
    provider = make_provider(modelslab_server, deadlines=Deadlines(submit=5, poll=0.2),
                             retry=RetryPolicy(attempts=2))
    error = await fail_with(provider, events, ProviderTimeout)
    assert error.resumable  # accepted: kept for `studio resume`
    assert modelslab_server.submits() == 1


async def test_deadline_while_processing(modelslab_server, make_provider, events, fast_clock):
    modelslab_server.polls_before_success = 10_000
    provider = make_provider(modelslab_server, job_deadline=120.0)
    error = await fail_with(provider, events, ProviderTimeout)
    assert "120 seconds" in str(error)
    assert sum(fast_clock.sleeps) <= 120
    assert modelslab_server.submits() == 1
    assert events.distinct() == ["Submitted", "Processing", "Failed"]


async def test_connection_refused_submit_is_retried_then_fails(make_provider, events, fast_clock):
    with FakeModelsLab() as server:
        base = server.base_url
    provider = make_provider(server, base_url=base)  # nothing listens there any more
    error = await fail_with(provider, events, ProviderUnreachable)
    assert "cannot connect" in str(error) and "nothing was sent" in str(error)
    assert len(fast_clock.sleeps) == 2  # three attempts: it never reached a server


# ---------------------------------------------------------------- downloads


def script_output(server: FakeModelsLab, url: str) -> None:
    server.script("POST", SUBMIT, Reply(200, {"status": "success", "id": 5, "output": [url]}))


async def test_image_url_404(modelslab_server, make_provider, events):
    script_output(modelslab_server, "{base}/files/expired.png")
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "gone (HTTP 404)" in str(error)
    assert events.names == ["Submitted", "Downloading", "Failed"]


async def test_corrupt_image_bytes(modelslab_server, make_provider, events):
    modelslab_server.add_image("bad.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 100)
    script_output(modelslab_server, "{base}/files/bad.png")
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "damaged" in str(error)


async def test_not_an_image_at_all(modelslab_server, make_provider, events):
    modelslab_server.add_image("page", b"<html>login</html>", "text/html")
    script_output(modelslab_server, "{base}/files/page")
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "text/html, not an image" in str(error)


async def test_decompression_bomb(modelslab_server, make_provider, events):
    modelslab_server.add_image("bomb.png", bomb_png())
    script_output(modelslab_server, "{base}/files/bomb.png")
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "decompression bomb" in str(error)


async def test_200_mb_body_is_cut_off_at_32_mb(modelslab_server, make_provider, events):
    modelslab_server.script("GET", "/files/huge.png", Reply(
        200, body=b"\x89PNG\r\n\x1a\n", content_type="image/png", stream_size=200 * 2**20))
    script_output(modelslab_server, "{base}/files/huge.png")
    started = time.monotonic()
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "larger than 32 MB" in str(error)
    assert time.monotonic() - started < 20


async def test_200_mb_content_length_is_refused_before_reading(
    modelslab_server, make_provider, events
):
    modelslab_server.script("GET", "/files/huge.png", Reply(
        200, body=b"\x89PNG\r\n\x1a\n", content_type="image/png", stream_size=200 * 2**20,
        content_length=200 * 2**20 + 8))
    script_output(modelslab_server, "{base}/files/huge.png")
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "larger than 32 MB" in str(error)


async def test_plain_http_image_off_loopback_is_refused(modelslab_server, make_provider, events):
    script_output(modelslab_server, "http://images.example.com/a.png")
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "plain http" in str(error)


async def test_image_server_500_is_retried(modelslab_server, make_provider):
    url = modelslab_server.add_image("flaky.png", png_bytes(8, 8))
    modelslab_server.script("GET", "/files/flaky.png", Reply(500, body=b"oops"))
    script_output(modelslab_server, url)
    result = await make_provider(modelslab_server).generate(sample_request())
    assert result.width == 8
    assert modelslab_server.count("GET", "/files/flaky.png") == 2


# ---------------------------------------------------------------- resume, cancel, limits


async def test_resume_from_serialised_submission(modelslab_server, make_provider, events, api_key):
    first = make_provider(modelslab_server)
    submission = await first.submit(sample_request())
    stored = codec.dumps(submission)
    await first.aclose()
    assert api_key not in stored

    second = make_provider(modelslab_server)  # a new process, in effect
    result = await second.follow(codec.loads(Submission, stored), events)
    assert result.request_id == submission.request_id
    assert modelslab_server.submits() == 1
    assert events.names == ["Processing", "Downloading", "Done"]


async def test_cancel_is_not_supported(modelslab_server, make_provider):
    provider = make_provider(modelslab_server)
    submission = await provider.submit(sample_request())
    assert await provider.cancel(submission) is False
    assert not provider.capabilities("flux-schnell").can_cancel


async def test_cancelling_the_task_stops_polling(modelslab_server, make_provider, events):
    modelslab_server.polls_before_success = 10_000
    provider = make_provider(modelslab_server)
    processing = asyncio.Event()

    def on_event(event: object) -> None:
        events(event)
        if type(event).__name__ == "Processing":
            processing.set()

    task = asyncio.ensure_future(provider.generate(sample_request(), on_event))
    await processing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "Failed" not in events.names


async def test_jobs_at_once_are_the_render_queues_business(modelslab_server, make_provider):
    """The provider only says how many jobs ModelsLab takes at once (its queued-request
    limit); the render queue's lanes hold to it (tests/render)."""
    modelslab_server.polls_before_success = 3
    provider = make_provider(modelslab_server)
    assert provider.concurrency == 5
    results = await asyncio.gather(*(provider.generate(sample_request(seed=i))
                                     for i in range(9)))
    assert [r.seed_returned for r in results] == list(range(9))
    assert modelslab_server.submits() == 9


async def test_missing_key_refuses_before_sending(modelslab_server, make_provider, events):
    provider: ModelsLabProvider = make_provider(modelslab_server, api_key=None)
    assert not provider.configured
    error = await fail_with(provider, events, AuthenticationError)
    assert "no API key" in str(error)
    assert modelslab_server.requests == []


async def test_price_gives_cost(modelslab_server, make_provider):
    modelslab_server.instant = True
    provider = make_provider(modelslab_server, price_per_image=0.002)
    assert provider.capabilities("fluxgram-v1").price_per_image == 0.002
    result = await provider.generate(sample_request())
    assert result.cost == 0.002


async def test_download_follows_checked_redirects(modelslab_server, make_provider, events):
    url = modelslab_server.add_image("real.png", png_bytes(12, 12))
    modelslab_server.script("GET", "/files/signed.png", Reply(302, body=b"",
                                                              headers={"Location": url}))
    script_output(modelslab_server, "{base}/files/signed.png")
    result = await make_provider(modelslab_server).generate(sample_request())
    assert result.width == 12

    modelslab_server.script("GET", "/files/signed.png", Reply(
        302, body=b"", headers={"Location": "http://cdn.example.com/a.png"}))
    script_output(modelslab_server, "{base}/files/signed.png")
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "plain http" in str(error)


async def test_redirect_loop(modelslab_server, make_provider, events):
    modelslab_server.route("GET", "/files/loop.png", lambda req, m: Reply(
        302, body=b"", headers={"Location": "{base}/files/loop.png"}))
    script_output(modelslab_server, "{base}/files/loop.png")
    error = await fail_with(make_provider(modelslab_server), events, BadResponseError)
    assert "redirects too many times" in str(error)


async def test_fake_starts_from_the_command_line(api_key):
    """The documented entry point for benchmarks: python -m tests.fakes.modelslab."""
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.modelslab", "--port", "0", "--delay", "0",
        "--key", api_key, stdout=asyncio.subprocess.PIPE,
        cwd=ROOT)
    try:
        assert proc.stdout is not None
        base_url = (await proc.stdout.readline()).decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        provider = ModelsLabProvider(api_key=api_key, base_url=base_url)
        try:
            result = await provider.generate(sample_request())
        finally:
            await provider.aclose()
        assert result.format == "png"
    finally:
        proc.terminate()
        await proc.wait()


async def test_rate_limited_polls_do_not_lose_the_job(modelslab_server, make_provider, events):
    busy = Reply(429, {"status": "error", "message": "Too many requests", "retry_after": 1})
    modelslab_server.script("POST", fetch_path(1000), *[busy] * 4)
    result = await make_provider(modelslab_server).generate(sample_request(), events)
    assert result.format == "png"
    assert modelslab_server.submits() == 1 and modelslab_server.fetches() == 5


async def test_a_job_is_followed_only_by_its_provider(modelslab_server, make_provider):
    from studio.providers.offline import OfflineProvider

    submission = await OfflineProvider().submit(sample_request())
    with pytest.raises(ValueError, match="offline job cannot be followed on modelslab"):
        await make_provider(modelslab_server).follow(submission)
