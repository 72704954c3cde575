"""Black Forest Labs against the fake: submit, polling_url until Ready, the sample downloaded
without the key, base64 references, credits as cost, errors, and resume by the task's id."""

from __future__ import annotations

import pytest

from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.providers.base import Submission
from studio.providers.bfl import FLUX2_KLEIN, FLUX2_PRO, KONTEXT_PRO, BflProvider
from studio.providers.errors import (
    AuthenticationError,
    ContentFilteredError,
    OutOfCreditsError,
    ProviderFailedError,
)
from tests.fakes.files import MemoryReferences
from tests.fakes.fixtures import SECRET_KEY, assert_no_key
from tests.fakes.sample import sample_request
from tests.fakes.server import Reply, png_bytes

FACE = png_bytes(40, 40, (220, 180, 150))
BODY = png_bytes(30, 60, (90, 140, 60), fmt="JPEG")


def request(**kw):  # type: ignore[no-untyped-def]
    kw.setdefault("model", FLUX2_PRO)
    return sample_request(**kw)


def with_refs(reader: MemoryReferences, model: str = FLUX2_PRO,
              strength: ReferenceStrength = ReferenceStrength.STRONG, **kw):  # type: ignore[no-untyped-def]
    images = (ReferenceImage(reader.add(FACE), ReferenceRole.FACE),
              ReferenceImage(reader.add(BODY), ReferenceRole.FULL_BODY))
    return request(model=model, references=images, reference_strength=strength, **kw)


def no_key_at(server, key: str) -> bool:  # type: ignore[no-untyped-def]
    return not any(key in str(r.headers) or key.encode() in r.body for r in server.requests)


@pytest.mark.asyncio
async def test_submit_poll_ready_and_the_sample_downloaded_without_the_key(
        bfl_server, file_host, make_provider, events, api_key):
    reader = MemoryReferences()
    provider = make_provider(bfl_server, references=reader)
    result = await provider.generate(with_refs(reader), events)
    assert events.distinct() == ["Submitted", "Queued", "Processing", "Downloading", "Done"]
    submit = bfl_server.requests[0]
    assert submit.path == "/v1/flux-2-pro" and submit.headers["x-key"] == api_key
    body = submit.json
    assert (body["width"], body["height"]) == (512, 768) and body["seed"] == 42
    assert body["output_format"] == "png" and body["safety_tolerance"] == 2
    assert "input_image_3" not in body and "prompt_upsampling" not in body
    (task,) = bfl_server.references
    assert bfl_server.references[task] == [FACE, BODY]  # base64 that decodes to the files
    polls = [r for r in bfl_server.requests if r.path == "/v1/get_result"]
    assert len(polls) == 2 and all(r.headers["x-key"] == api_key for r in polls)
    assert polls[0].query["id"] == [task]
    # The sample lives on the delivery host: fetched at once, never with the key.
    assert file_host.count("GET", r"/files/.+") == 1 and no_key_at(file_host, api_key)
    assert result.seed_returned == 42 and result.model == FLUX2_PRO
    # The submit answer's credits are the cost: 3 + 1.5 per input megapixel, at $0.01.
    assert result.cost == pytest.approx(0.06)
    assert result.request_body["input_image"] == f"sha256:{reader.add(FACE)}"
    assert_no_key(api_key, result, *events.items)


@pytest.mark.asyncio
@pytest.mark.parametrize(("strength", "count"), [(ReferenceStrength.LIGHT, 1),
                                                 (ReferenceStrength.STRONG, 2)])
async def test_klein_light_strength_sends_fewer_images(bfl_server, make_provider, strength,
                                                       count):
    reader = MemoryReferences()
    await make_provider(bfl_server, references=reader).generate(
        with_refs(reader, FLUX2_KLEIN, strength))
    (task,) = bfl_server.references
    assert bfl_server.references[task] == [FACE, BODY][:count]
    assert bfl_server.requests[0].path == "/v1/flux-2-klein-4b"


@pytest.mark.asyncio
async def test_kontext_takes_one_image_and_an_aspect_ratio(bfl_server, make_provider):
    reader = MemoryReferences()
    result = await make_provider(bfl_server, references=reader).generate(
        with_refs(reader, KONTEXT_PRO, width=1024, height=1024))
    body = bfl_server.requests[0].json
    assert body["aspect_ratio"] == "1:1" and body["prompt_upsampling"] is False
    assert "width" not in body and "input_image_2" not in body
    assert any("at most one reference image" in n for n in result.notes)


@pytest.mark.asyncio
async def test_text_to_image_sends_no_input_image(bfl_server, make_provider):
    result = await make_provider(bfl_server).generate(request(model=FLUX2_KLEIN))
    assert not [k for k in bfl_server.requests[0].json if k.startswith("input_image")]
    assert result.cost == pytest.approx(0.014)


@pytest.mark.asyncio
@pytest.mark.parametrize(("outcome", "error"), [
    ("Content Moderated", ContentFilteredError), ("Request Moderated", ContentFilteredError),
    ("Error", ProviderFailedError)])
async def test_terminal_statuses_fail_with_a_sentence(bfl_server, make_provider, events,
                                                      outcome, error):
    bfl_server.outcome = outcome
    with pytest.raises(error) as info:
        await make_provider(bfl_server).generate(request(), events)
    sentence = info.value.user_message("Headshot")
    assert outcome in sentence and "Headshot" in sentence
    assert ("not charged" in sentence) == ("Moderated" in outcome)
    assert bfl_server.submits() == 1 and events.names[-1] == "Failed"


@pytest.mark.asyncio
async def test_out_of_credits_and_a_refused_key(bfl_server, make_provider, api_key):
    bfl_server.script("POST", "/v1/flux-2-pro", Reply(402, {"detail": "Insufficient credits"}))
    provider = make_provider(bfl_server)
    with pytest.raises(OutOfCreditsError):
        await provider.generate(request())
    wrong = make_provider(bfl_server, api_key="not-the-key")
    with pytest.raises(AuthenticationError):
        await wrong.generate(request())
    assert bfl_server.accepted == []


@pytest.mark.asyncio
async def test_a_429_waits_and_sends_once(bfl_server, make_provider, fast_clock):
    bfl_server.script("POST", "/v1/flux-2-pro", Reply(429, {
        "error": "rate_limit_exceeded", "message": "Too many concurrent requests",
        "retry_after": 5}))
    result = await make_provider(bfl_server).generate(request())
    assert result.image and bfl_server.submits() == 2 and len(bfl_server.accepted) == 1
    assert any(abs(s - 5) < 0.1 for s in fast_clock.sleeps)  # the body's retry_after


@pytest.mark.asyncio
async def test_task_not_found_just_after_submit_is_asked_again(bfl_server, make_provider):
    bfl_server.script("GET", "/v1/get_result", Reply(200, {"status": "Task not found"}))
    result = await make_provider(bfl_server).generate(request())
    assert result.image and bfl_server.polls() == 3


@pytest.mark.asyncio
async def test_resume_follows_the_task_by_its_id_and_never_submits_again(
        bfl_server, make_provider, api_key):
    reader = MemoryReferences()
    first = make_provider(bfl_server, references=reader)
    submission = await first.submit(with_refs(reader))
    await first.aclose()  # the process dies here; the journal kept the submission
    kept = Submission.from_data(submission.to_data())
    assert kept.poll_url and kept.poll_url.startswith(bfl_server.base_url)
    assert_no_key(api_key, kept)
    again = make_provider(bfl_server)  # a new process: no reference reader needed to follow
    result = await again.follow(kept)
    assert result.image and bfl_server.submits() == 1 and len(bfl_server.accepted) == 1
    # Without the polling URL (an older journal), the task is found by its id.
    bare = Submission.from_data({**kept.to_data(), "poll_url": None})
    bfl_server.pending_polls = 0
    assert (await again.follow(bare)).image and bfl_server.submits() == 1


@pytest.mark.asyncio
async def test_a_polling_url_off_the_api_never_gets_the_key(bfl_server, file_host,
                                                            make_provider, api_key):
    bfl_server.script("POST", "/v1/flux-2-pro", Reply(200, {
        "id": "task-0001", "polling_url": f"{file_host.base_url}/v1/get_result?id=task-0001",
        "cost": 3.0}))
    bfl_server.accept("task-0001", "x")
    bfl_server.seeds["task-0001"] = 9
    result = await make_provider(bfl_server).generate(request())
    # Polled at the configured address instead, by the task's id.
    assert result.seed_returned == 9 and bfl_server.polls() >= 1
    assert file_host.count("GET", "/v1/get_result") == 0 and no_key_at(file_host, api_key)


def test_regional_hosts_are_followed_only_from_bfls_own_address():
    official = BflProvider(api_key=SECRET_KEY)
    assert official._regional("https://api.eu2.bfl.ai/v1/get_result?id=1")
    assert not official._regional("http://api.eu2.bfl.ai/v1/get_result?id=1")
    assert not official._regional("https://bfl.ai.evil.example/v1/get_result?id=1")
    proxy = BflProvider(api_key=SECRET_KEY, base_url="https://proxy.example")
    assert not proxy._regional("https://api.eu2.bfl.ai/v1/get_result?id=1")


def test_fake_prices_match_the_capabilities():
    from tests.fakes.bfl import MODELS

    provider = BflProvider(api_key="k")
    for model, (most, first, per_mp) in MODELS.items():
        caps = provider.capabilities(model)
        assert caps.price_per_image == pytest.approx(first / 100)
        if model != KONTEXT_PRO:
            assert caps.references.max_images == most
            assert caps.references.price_per_reference == pytest.approx(per_mp / 100)
