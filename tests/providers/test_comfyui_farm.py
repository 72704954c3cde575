"""A farm of fake ComfyUI servers: jobs spread by queue length, a server dying with work on
it, a restarted server that lost its queue, resume after a move, and the farm's state."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from studio.core import codec
from studio.core.resources import resource_path
from studio.providers.base import Submission
from studio.providers.comfyui import ComfyUIProvider
from studio.providers.errors import ProviderFailedError, ProviderTimeout
from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.sample import sample_request

Make = Callable[..., ComfyUIProvider]
Start = Callable[..., list[FakeComfyUI]]
pytestmark = pytest.mark.asyncio


def where(servers: list[FakeComfyUI], prompt_id: str) -> list[int]:
    """How often each server was sent ``prompt_id``."""
    return [s.posts[prompt_id] for s in servers]


async def test_twelve_jobs_spread_evenly_over_three_servers(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    # Servers as fast as each other, made so by finishing their jobs in turn: each freed slot
    # is refilled on the server that freed it, whatever the machine's speed (a timed run left
    # one server with 5 and another with 3 on a busy machine).
    servers = comfyui_farm(3)
    for server in servers:
        server.plan(*["hold"] * 4)
    provider = make_comfyui(*servers)
    assert provider.concurrency == 6 and provider.configured
    jobs = asyncio.gather(*(provider.generate(sample_request(seed=i)) for i in range(12)))
    for server in servers:
        await server.until(lambda s: s.count("POST", "/prompt") == 2)
    for turn in range(6):
        server = servers[turn % 3]
        posted = server.count("POST", "/prompt")
        running = server.running
        assert running is not None
        server.release(running)
        await server.until(lambda s, n=posted: s.count("POST", "/prompt") == n + 1)
    for server in servers:
        server.release()
    results = await jobs
    assert sorted(r.seed_returned for r in results) == list(range(12))
    assert [s.count("POST", "/prompt") for s in servers] == [4, 4, 4]
    assert all(max(s.posts.values()) == 1 for s in servers)
    assert {r.info["server"] for r in results} == {s.base_url for s in servers}


async def test_work_queued_by_someone_else_counts_as_queue(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    busy, idle = comfyui_farm(2)
    busy.plan("hold", "hold", "hold")
    idle.plan("hold", "hold")
    graph = json.loads(resource_path("comfyui/preview.json").read_text(encoding="utf-8"))
    async with httpx.AsyncClient() as other_user:
        for _ in range(3):
            answer = await other_user.post(f"{busy.base_url}/prompt", json={"prompt": graph})
            assert answer.status_code == 200
    await busy.until(lambda s: s.running is not None and len(s.pending) == 2)
    provider = make_comfyui(busy, idle)
    first = await provider.submit(sample_request(seed=1))
    second = await provider.submit(sample_request(seed=2))
    assert first.info["server"] == second.info["server"] == idle.base_url
    assert busy.count("POST", "/prompt") == 3  # only the other user's
    status = await provider.check_servers()
    assert status.sentence() == "2 servers, 2 up, 5 queued"
    busy.release()
    idle.release()
    await asyncio.gather(provider.follow(first), provider.follow(second))


async def test_a_dying_server_hands_its_waiting_job_over_and_keeps_the_started_one(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    dying, healthy = comfyui_farm(2)
    dying.plan("hold", "hold")
    provider = make_comfyui(dying, healthy, deadline=4.0)
    subs = [await provider.submit(sample_request(seed=i)) for i in range(4)]
    on_dying = [s for s in subs if s.info["server"] == dying.base_url]
    assert len(on_dying) == 2
    running, waiting = on_dying
    follows = [asyncio.ensure_future(provider.follow(s)) for s in subs]
    await dying.until(lambda s: s.running == running.request_id
                      and s.pending == [waiting.request_id])
    dying.die("close")
    outcomes = await asyncio.gather(*follows, return_exceptions=True)
    by_id = {s.request_id: o for s, o in zip(subs, outcomes, strict=True)}

    moved = by_id[waiting.request_id]
    assert not isinstance(moved, BaseException), moved
    assert moved.info["server"] == healthy.base_url and moved.info["moves"] == 1
    assert where([dying, healthy], waiting.request_id) == [1, 1]  # the one duplicate

    stuck = by_id[running.request_id]
    assert isinstance(stuck, ProviderTimeout)
    assert "stopped answering while it had the job" in str(stuck)
    assert where([dying, healthy], running.request_id) == [1, 0]  # it started: never resent
    assert provider.farm_status().sentence() == "2 servers, 1 up, 0 queued"


async def test_a_gone_server_hands_over_even_its_started_job(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    gone, healthy = comfyui_farm(2)
    gone.plan("hold", "hold")
    provider = make_comfyui(gone, healthy, gone_after=0.5)
    subs = [await provider.submit(sample_request(seed=i)) for i in range(4)]
    running, waiting = (s for s in subs if s.info["server"] == gone.base_url)
    follows = [asyncio.ensure_future(provider.follow(s)) for s in subs]
    await gone.until(lambda s: s.running == running.request_id)
    gone.die("close")  # nothing listens there any more: its memory of both prompts is gone
    results = await asyncio.gather(*follows)
    assert {r.info["server"] for r in results[:2]} | {r.info["server"] for r in results} \
        == {healthy.base_url}
    for sub in (running, waiting):
        assert where([gone, healthy], sub.request_id) == [1, 1]


async def test_a_hung_server_keeps_its_started_job_however_long(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    hung, healthy = comfyui_farm(2)
    hung.plan("hold")
    provider = make_comfyui(hung, healthy, gone_after=0.2, deadline=2.0, exchange_seconds=0.3)
    submission = await provider.submit(sample_request())
    assert submission.info["server"] == hung.base_url
    follow = asyncio.ensure_future(provider.follow(submission))
    await hung.until(lambda s: s.running == submission.request_id)
    hung.die("hang")  # still listening, never answering: it may yet finish
    with pytest.raises(ProviderTimeout, match="stopped answering while it had the job"):
        await follow
    assert where([hung, healthy], submission.request_id) == [1, 0]


async def test_a_restarted_server_that_lost_the_prompt_gets_it_again_once(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    first, second = comfyui_farm(2)
    first.plan("hold", "hold")
    second.plan("hold", "hold")
    provider = make_comfyui(first, second)
    subs = [await provider.submit(sample_request(seed=i)) for i in range(4)]
    victim = next(s for s in subs if s.info["server"] == first.base_url
                  and first.running != s.request_id)
    follow = asyncio.ensure_future(provider.follow(victim))
    await first.until(lambda s: victim.request_id in s.pending)
    first.forget()  # restarted: queue and history are gone
    await first.until(lambda s: s.posts[victim.request_id] + second.posts[victim.request_id]
                      == 2)
    first.release()
    second.release()
    result = await follow
    assert result.request_id == victim.request_id and result.info["moves"] == 1
    assert sum(where([first, second], victim.request_id)) == 2


async def test_a_socket_drop_on_a_live_server_never_resends(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    first, second = comfyui_farm(2)
    first.plan("drop_socket")
    provider = make_comfyui(first, second)
    submission = await provider.submit(sample_request())
    assert submission.info["server"] == first.base_url
    result = await provider.follow(submission)
    assert result.info["server"] == first.base_url and result.info["moves"] == 0
    assert second.count("POST", "/prompt") == 0


async def test_resume_finds_a_job_an_earlier_run_moved_to_another_server(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    dead, alive = comfyui_farm(2)
    dead.plan("hold", "hold")
    earlier = make_comfyui(dead, alive, deadline=3.0)
    subs = [await earlier.submit(sample_request(seed=i)) for i in range(4)]
    waiting = [s for s in subs if s.info["server"] == dead.base_url][1]
    stored = codec.dumps(waiting)
    follows = [asyncio.ensure_future(earlier.follow(s)) for s in subs]
    await dead.until(lambda s: waiting.request_id in s.pending)
    dead.die("close")
    # The waiting job moves and finishes on the other server; the running one times out.
    await asyncio.gather(*follows, return_exceptions=True)
    await earlier.aclose()

    later = make_comfyui(dead, alive)
    result = await later.follow(codec.loads(Submission, stored))
    assert result.info["server"] == alive.base_url
    assert where([dead, alive], waiting.request_id) == [1, 1]


async def test_no_server_answering_is_a_sentence_and_nothing_is_sent(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    servers = comfyui_farm(2)
    for server in servers:
        server.die("close")
    provider = make_comfyui(*servers)
    with pytest.raises(ProviderFailedError) as caught:
        await provider.generate(sample_request())
    text = caught.value.user_message("Headshot")
    assert "none of the 2 ComfyUI servers answers" in text
    assert "STUDIO_COMFYUI_BASE_URL" in text
    assert provider.farm_status().sentence() == "2 servers, 0 up, 0 queued"
