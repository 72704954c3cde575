"""Answers read whole and let go: an exchange leaves nothing for the cycle collector, which in
the window runs on the GUI thread (httpx's response holds itself in a cycle through its body
stream; studio.providers.bodies breaks it)."""

from __future__ import annotations

import contextlib
import gc
import weakref
from collections.abc import Iterator

import httpx
import pytest

from studio.providers.bodies import BodyTooLarge, read_whole
from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.fixtures import EventLog
from tests.fakes.modelslab import FakeModelsLab
from tests.fakes.sample import sample_request
from tests.fakes.server import FakeServer, Reply

pytestmark = pytest.mark.asyncio


@contextlib.contextmanager
def no_cycle_collector() -> Iterator[None]:
    """Only reference counting frees objects while it lasts."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def responses_alive() -> int:
    # By exact type: a dead weak proxy among the objects raises on isinstance.
    return sum(1 for o in gc.get_objects() if type(o) is httpx.Response)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


async def test_an_answer_read_whole_is_freed_by_reference_counting(server: FakeServer) -> None:
    server.script("GET", "/a", Reply(200, json={"status": "ok"}))
    async with httpx.AsyncClient() as client:
        with no_cycle_collector():
            response, body = await read_whole(client, client.build_request(
                "GET", f"{server.base_url}/a"), cap=1024)
            assert (response.status_code, body) == (200, b'{"status": "ok"}')
            gone = weakref.ref(response)
            del response
            assert gone() is None, "the answer waits for the cycle collector"


async def test_a_body_past_the_cap_is_refused_announced_or_streamed(server: FakeServer) -> None:
    server.script("GET", "/said", Reply(200, body=b"x", stream_size=4 * 2**20,
                                        content_length=4 * 2**20 + 1))
    server.script("GET", "/sent", Reply(200, body=b"x", stream_size=4 * 2**20))
    async with httpx.AsyncClient() as client:
        for path in ("/said", "/sent"):
            with pytest.raises(BodyTooLarge) as refused:
                await read_whole(client, client.build_request(
                    "GET", f"{server.base_url}{path}"), cap=2**20)
            assert (refused.value.cap, refused.value.status) == (2**20, 200)
            assert str(refused.value) == "the answer is larger than 1 MB"


async def test_a_hosted_render_leaves_no_answer_to_the_cycle_collector(
    modelslab_server: FakeModelsLab, make_provider, events: EventLog,  # type: ignore[no-untyped-def]
) -> None:
    modelslab_server.polls_before_success = 2
    provider = make_provider(modelslab_server)
    await provider.generate(sample_request(model="flux-schnell"), events)  # connections made
    with no_cycle_collector():
        before = responses_alive()
        await provider.generate(sample_request(model="flux-schnell"), events)
        assert len(modelslab_server.requests) >= 8  # submit, polls and download, twice
        assert responses_alive() == before


async def test_a_comfyui_render_leaves_no_answer_to_the_cycle_collector(
    comfyui_server: FakeComfyUI, make_comfyui, events: EventLog,  # type: ignore[no-untyped-def]
) -> None:
    provider = make_comfyui(comfyui_server)
    await provider.generate(sample_request(model="flux-schnell"), events)
    with no_cycle_collector():
        before = responses_alive()
        await provider.generate(sample_request(model="flux-schnell"), events)
        assert responses_alive() == before


async def test_a_body_of_many_pieces_is_read_whole_and_capped(server: FakeServer) -> None:
    """Read as the pieces that arrive, joined once (a growing buffer was copied again at each
    growth); the cap still counts every byte."""
    body = bytes(range(256)) * 12_000  # about 3 MB: many reads
    server.script("GET", "/big", Reply(200, body=body, content_type="image/png"))
    # Without a length announced: only the running count can stop it.
    server.script("GET", "/big", Reply(200, body=b"", stream_size=len(body),
                                       content_type="image/png"))
    async with httpx.AsyncClient() as client:
        response, data = await read_whole(client, client.build_request(
            "GET", f"{server.base_url}/big"), cap=len(body))
        assert (response.status_code, data) == (200, body)
        with pytest.raises(BodyTooLarge):
            await read_whole(client, client.build_request(
                "GET", f"{server.base_url}/big"), cap=len(body) - 1)
