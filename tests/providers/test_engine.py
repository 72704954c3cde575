"""The HTTP engine the five APIs share, held to its promises against every fake: a drip in any
phase ends by its deadline; a request that may have been taken is never sent again; a wrong key
costs one request; keys echoed by a server end up nowhere; a seed is only what was confirmed;
throttling is waited out; and a pushed follow fits where polling does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from studio.core.lifecycle import JobState
from studio.core.request import GenerationRequest
from studio.core.settings import ProviderSettings, Settings
from studio.providers.base import Submission
from studio.providers.errors import (
    AuthenticationError,
    BadResponseError,
    KeyRefusedError,
    MayHaveBeenBilledError,
    ProviderFailedError,
    ProviderTimeout,
    RateLimitedError,
    Redactor,
)
from studio.providers.http import Deadlines, JobStatus, Phase, RetryPolicy
from studio.providers.keys import no_keychain
from studio.providers.modelslab import ModelsLabProvider
from studio.providers.registry import build_providers
from studio.runtime import provider_envs
from tests.fakes.fal import FakeFal
from tests.fakes.fixtures import SECRET_KEY, FakeClock, assert_no_key
from tests.fakes.imageapi import FakeImageApi
from tests.fakes.modelslab import FakeModelsLab
from tests.fakes.onemin import FakeOneMin
from tests.fakes.replicate import THROTTLED, FakeReplicate
from tests.fakes.sample import sample_request
from tests.fakes.server import FakeServer, Reply, png_bytes

pytestmark = pytest.mark.asyncio


@dataclass(frozen=True)
class Api:
    """Where each phase of the first job goes on one fake."""

    fake: type[FakeServer]
    model: str
    submit: tuple[str, str]
    poll: tuple[str, str] | None
    download: str


APIS = {
    "modelslab": Api(FakeModelsLab, "flux-schnell", ("POST", "/api/v6/realtime/text2img"),
                     ("POST", "/api/v6/realtime/fetch/1000"), "/files/ml-1000.png"),
    "replicate": Api(FakeReplicate, "black-forest-labs/flux-schnell",
                     ("POST", "/v1/models/black-forest-labs/flux-schnell/predictions"),
                     ("GET", "/v1/predictions/pred0001x"), "/files/rep-pred0001x.png"),
    "fal": Api(FakeFal, "fal-ai/flux/schnell", ("POST", "/fal-ai/flux/schnell"),
               ("GET", "/fal-ai/flux/requests/req-0001/status"), "/files/fal-req-0001.png"),
    "imageapi": Api(FakeImageApi, "flux-schnell", ("POST", "/api/v1/generate"), None,
                    "/files/img_1.png"),
    "onemin": Api(FakeOneMin, "black-forest-labs/flux-schnell-lora", ("POST", "/api/features"),
                  ("GET", "/api/results/rec-0001"), "/files/om-rec-0001.png"),
}
PHASES = [(pid, phase) for pid, api in APIS.items() for phase in ("submit", "poll", "download")
          if phase != "poll" or api.poll is not None]


@pytest.fixture
def served(request: pytest.FixtureRequest, api_key: str) -> Any:
    """``served(provider_id, key=api_key)``: that provider's fake, started (stopped after)."""
    started: list[FakeServer] = []

    def serve(pid: str, key: str = api_key) -> FakeServer:
        server = APIS[pid].fake(key)
        server.start()
        started.append(server)
        return server

    yield serve
    for server in started:
        server.stop()


def ask(pid: str, **changes: Any) -> GenerationRequest:
    return sample_request(model=APIS[pid].model, **changes)


def no_key_anywhere(key: str, *texts: str) -> None:
    redactor = Redactor([key])
    for text in texts:
        assert not redactor.contains(text), f"the key (or a run of it) leaked: {text[:300]}"


# ---------------------------------------------------------------- deadlines


@pytest.mark.parametrize(("pid", "phase"), PHASES)
async def test_a_drip_in_every_phase_ends_by_its_deadline(
    served, make_provider, events, pid: str, phase: str
) -> None:
    server = served(pid)
    api = APIS[pid]
    method, path = (api.submit if phase == "submit" else api.poll if phase == "poll"
                    else ("GET", api.download))
    body = png_bytes(8, 8) if phase == "download" else b'{"status": "processing", "id": 1}'
    # Headers at once, then one byte every 50 ms: each read is quick, the whole never ends.
    server.script(method, path, *[Reply(200, body=body, content_type="image/png"
                                        if phase == "download" else "application/json",
                                        drip=0.05)] * 3)
    short = {"submit": 5.0, "poll": 5.0, "download": 5.0, phase: 0.3}
    provider = make_provider(server, deadlines=Deadlines(**short),
                             retry=RetryPolicy(attempts=2))
    expected = MayHaveBeenBilledError if phase == "submit" else ProviderTimeout
    with pytest.raises(expected) as info:
        await provider.generate(ask(pid), events)
    assert "within 0.3 seconds" in str(info.value)
    if phase == "submit":
        assert "may have accepted" in info.value.user_message("Headshot")
    else:
        assert info.value.resumable  # accepted: kept for `studio resume`
    assert server.count(*api.submit) == 1  # never sent twice


async def test_the_timeout_setting_bounds_every_phase() -> None:
    envs = provider_envs({"STUDIO_FAL_TIMEOUT": "12", "STUDIO_FAL_API_KEY": "k",
                          "STUDIO_REPLICATE_API_KEY": "k", "STUDIO_IMAGEAPI_API_KEY": "k"})
    settings = Settings(providers={"replicate": ProviderSettings(timeout=40.0),
                                   "fal": ProviderSettings(timeout=99.0)})
    providers = build_providers(envs, settings, keychain=no_keychain)
    assert providers["fal"].deadlines == Deadlines(12, 12, 12)  # type: ignore[attr-defined]
    assert providers["replicate"].deadlines == Deadlines(40, 40, 40)  # type: ignore[attr-defined]
    # Built-in defaults: a blocking call may be held while the image is made.
    assert providers["imageapi"].deadlines.submit == 180  # type: ignore[attr-defined]
    assert providers["modelslab"].deadlines == Deadlines()  # type: ignore[attr-defined]


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize("pid", list(APIS))
async def test_a_wrong_key_costs_one_request_per_provider(served, make_provider,
                                                          pid: str) -> None:
    server = served(pid, key="the-right-key-0000")
    provider = make_provider(server)
    outcomes = await asyncio.gather(*(provider.submit(ask(pid, seed=i)) for i in range(4)),
                                    return_exceptions=True)
    kinds = sorted(type(o).__name__ for o in outcomes)
    assert kinds == ["AuthenticationError", "KeyRefusedError", "KeyRefusedError",
                     "KeyRefusedError"]
    assert len(server.requests) == 1
    assert isinstance(provider.refusal(), AuthenticationError)
    refused = next(o for o in outcomes if isinstance(o, KeyRefusedError))
    message = refused.user_message("Rooftop")
    assert message.startswith("Not sent: the key was refused.") and "“Rooftop”" in message
    assert "studio resume" in message
    with pytest.raises(KeyRefusedError):
        await provider.submit(ask(pid))
    assert len(server.requests) == 1


@pytest.mark.parametrize("pid", list(APIS))
async def test_a_job_id_carrying_the_key_is_neither_kept_nor_followed(
    served, make_provider, events, api_key, caplog, pid: str
) -> None:
    server = served(pid)
    server.echo_key = {"id", "header"}
    with pytest.raises(MayHaveBeenBilledError) as info:
        await make_provider(server).generate(ask(pid), events)
    assert "carries the API key" in str(info.value)
    assert server.count(*APIS[pid].submit) == 1 and len(server.accepted) == 1
    assert_no_key(api_key, info.value, *events.items)
    no_key_anywhere(api_key, info.value.user_message("Headshot"),
                    *(r.getMessage() for r in caplog.records))


@pytest.mark.parametrize("pid", list(APIS))
async def test_keys_echoed_into_links_logs_and_headers_end_up_nowhere(
    served, make_provider, events, api_key, caplog, pid: str
) -> None:
    server = served(pid)
    server.echo_key = {"url", "logs", "message", "header"}
    provider = make_provider(server)
    try:
        result = await provider.generate(ask(pid), events)
    except BadResponseError as exc:
        # Its only image link carries the key: never fetched, so the key goes nowhere.
        assert pid in ("imageapi", "onemin") and "carries the API key" in str(exc)
        outcome: Any = exc
    else:
        assert pid in ("modelslab", "replicate", "fal")
        outcome = result
    submission = next((e.submission for e in events.items if hasattr(e, "submission")), None)
    assert_no_key(api_key, outcome, *events.items)
    no_key_anywhere(api_key, repr(outcome), repr(submission),
                    *(repr(e) for e in events.items), *(r.getMessage() for r in caplog.records))
    # The key only ever went to the API, where it belongs: never in a path, never to /files.
    for sent in server.requests:
        no_key_anywhere(api_key, sent.path, repr(sent.query))
        if sent.path.startswith("/files/"):
            assert api_key not in repr(sent.headers) + sent.body.decode(errors="replace")


async def test_the_key_never_goes_to_another_origin(modelslab_server, make_provider) -> None:
    provider = make_provider(modelslab_server)
    with pytest.raises(ProviderFailedError, match="refused to send the API key"):
        await provider.call(Phase.POLL, "POST", "http://127.0.0.2:9/api/v6/images/fetch/1")
    # A redirect is never followed with the key.
    modelslab_server.script("POST", APIS["modelslab"].submit[1], Reply(
        307, body=b"", headers={"Location": "http://127.0.0.2:9/elsewhere"}))
    with pytest.raises(BadResponseError, match="redirect"):
        await provider.submit(sample_request())
    assert modelslab_server.submits() == 1


# ---------------------------------------------------------------- seeds


@pytest.mark.parametrize(("pid", "confirmed"), [
    ("modelslab", True), ("replicate", True), ("fal", True), ("imageapi", True),
    ("onemin", False)])
async def test_a_seed_is_what_the_provider_confirmed_or_none(
    served, make_provider, pid: str, confirmed: bool
) -> None:
    server = served(pid)
    result = await make_provider(server).generate(ask(pid, seed=1234))
    assert result.seed_returned == (1234 if confirmed else None)
    # Where the provider says nothing, nothing is claimed.
    if isinstance(server, FakeReplicate):
        server.seed_in_logs = False
    elif isinstance(server, FakeImageApi):
        server.report_seed = False
    else:
        return
    again = await make_provider(server).generate(ask(pid, seed=1234))
    assert again.seed_returned is None


# ---------------------------------------------------------------- rate limits


async def test_a_429_storm_without_retry_after_is_waited_out_together(
    replicate_server, make_provider, fast_clock
) -> None:
    create = APIS["replicate"].submit
    replicate_server.script(*create, *[Reply(429, THROTTLED)] * 6)
    provider = make_provider(replicate_server)
    heard: list[Any] = []
    results = await asyncio.gather(*(provider.generate(ask("replicate", seed=i), heard.append)
                                     for i in range(10, 14)))
    assert sorted(r.seed_returned for r in results) == [10, 11, 12, 13]
    assert len(replicate_server.accepted) == 4  # each job taken once
    assert replicate_server.count(*create) == 4 + 6  # one try per reset, no burst
    fresh = [e for e in heard if type(e).__name__ == "Throttled" and e.fresh]
    assert len(fresh) == 6 and {e.hint for e in fresh} == {"resets in about 30 s"}
    # The waits are the reset the body named: no quick retries in between.
    assert sum(1 for s in fast_clock.sleeps if s > 25) >= 6
    assert not [s for s in fast_clock.sleeps if 1 < s < 25]


async def test_patience_runs_out_for_a_limit_that_resets_in_an_hour(
    replicate_server, make_provider, fast_clock
) -> None:
    replicate_server.script(*APIS["replicate"].submit, Reply(429, {
        "detail": "Request was throttled. Your rate limit resets in ~3600s."}))
    with pytest.raises(RateLimitedError) as info:
        await make_provider(replicate_server).submit(sample_request(
            model=APIS["replicate"].model))
    assert "nothing was sent" in str(info.value) and fast_clock.sleeps == []
    assert "60 min" in str(info.value) or "3600" in info.value.user_message()


# ---------------------------------------------------------------- a pushed follow


class Pushed:
    """A follow fed by events (a WebSocket in a real provider), here an asyncio queue."""

    def __init__(self, feed: asyncio.Queue[JobStatus]) -> None:
        self.feed = feed

    async def statuses(self, submission: Submission, first: JobStatus,
                       until: float) -> AsyncIterator[JobStatus]:
        yield first
        while True:
            status = await self.feed.get()
            yield status
            if status.terminal:
                return


class PushedModelsLab(ModelsLabProvider):
    feed: asyncio.Queue[JobStatus]

    def follow_with(self, submission: Submission) -> Pushed:
        return Pushed(self.feed)


async def test_a_pushed_follow_plugs_in_where_polling_does(
    modelslab_server, events, api_key
) -> None:
    provider = PushedModelsLab(api_key=api_key, base_url=modelslab_server.base_url,
                               clock=FakeClock())
    provider.feed = asyncio.Queue()
    url = modelslab_server.add_image("pushed.png", png_bytes(24, 24))
    for status in (JobStatus(JobState.PROCESSING, eta=3.0),
                   JobStatus(JobState.DONE, outputs=(url,), seed=7)):
        provider.feed.put_nowait(status)
    try:
        result = await provider.generate(sample_request(), events)
    finally:
        await provider.aclose()
    assert events.distinct() == ["Submitted", "Processing", "Downloading", "Done"]
    assert [e.eta for e in events.items if type(e).__name__ == "Processing"] == [0.05, 3.0]
    assert (result.width, result.seed_returned) == (24, 7)
    assert modelslab_server.fetches() == 0  # nothing polled


async def test_logs_of_a_failed_run_carry_no_key(
    make_provider, events, api_key, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeModelsLab("another-key-value") as server:
        server.script("POST", APIS["modelslab"].submit[1], Reply(200, {
            "status": "error", "message": f"Invalid API key {api_key.upper()} "
                                          f"({api_key[2:14]})"}))
        with contextlib.suppress(AuthenticationError):
            await make_provider(server).generate(sample_request(), events)
    no_key_anywhere(api_key, *(r.getMessage() for r in caplog.records),
                    *(str(e) for e in events.items))
    assert api_key == SECRET_KEY
