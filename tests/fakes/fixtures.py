"""pytest fixtures for the fake provider servers, shared by the provider and render tests.

Use them from a ``conftest.py`` with ``from tests.fakes.fixtures import *  # noqa: F403``.

* ``api_key``: the secret every fake expects; tests assert it never leaks.
* ``fast_clock``: a :class:`FakeClock`: sleeps return at once and advance virtual time, and the
  requested sleeps are recorded (``fast_clock.sleeps``).
* ``modelslab_server``, ``replicate_server``, ``fal_server``, ``imageapi_server``,
  ``onemin_server``, ``bfl_server`` (its samples on ``file_host``): started fakes on 127.0.0.1
  (stopped after the test); ``file_host``: a :class:`FakeFileHost` on an origin of its own.
* ``make_provider(server, **kw)``: the matching provider pointed at a server, with the fast clock,
  5-second exchange deadlines and ``kw`` passed to the constructor; closed after the test.
* ``events``: an :class:`EventLog` to pass as ``on_event``.
* ``comfyui_server``: a started :class:`~tests.fakes.comfyui.FakeComfyUI` (HTTP and WebSocket);
  ``comfyui_farm(n, **kw)`` starts ``n`` of them; ``make_comfyui(*servers, **kw)`` builds a
  :class:`ComfyUIProvider` for them with short check intervals, closed after the test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from studio.providers.base import ProviderEvent
from studio.providers.bfl import BflProvider
from studio.providers.comfyui import ComfyUIProvider
from studio.providers.fal import FalProvider
from studio.providers.http import Deadlines, HttpProvider
from studio.providers.imageapi import ImageApiProvider
from studio.providers.modelslab import ModelsLabProvider
from studio.providers.onemin import OneMinProvider
from studio.providers.replicate import ReplicateProvider
from tests.fakes.bfl import FakeBfl
from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.fal import FakeFal
from tests.fakes.files import FakeFileHost
from tests.fakes.imageapi import FakeImageApi
from tests.fakes.modelslab import FakeModelsLab
from tests.fakes.onemin import FakeOneMin
from tests.fakes.replicate import FakeReplicate
from tests.fakes.server import FakeServer

SECRET_KEY = "sk-TEST-9f8e7d6c5b4a-SECRET"

PROVIDER_FOR: dict[type[FakeServer], type[HttpProvider]] = {
    FakeModelsLab: ModelsLabProvider,
    FakeReplicate: ReplicateProvider,
    FakeFal: FalProvider,
    FakeImageApi: ImageApiProvider,
    FakeOneMin: OneMinProvider,
    FakeBfl: BflProvider,
}


class FakeClock:
    """Virtual time: ``sleep`` yields to the loop once and moves the clock forward."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def wall(self) -> float:
        return time.time() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += max(0.0, seconds)
        await asyncio.sleep(0)


class EventLog:
    """Collects provider events; ``names`` gives their class names in order."""

    def __init__(self) -> None:
        self.items: list[ProviderEvent] = []

    def __call__(self, event: ProviderEvent) -> None:
        self.items.append(event)

    @property
    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.items]

    def distinct(self) -> list[str]:
        """Names with consecutive repeats collapsed (Processing, Processing -> Processing)."""
        out: list[str] = []
        for name in self.names:
            if not out or out[-1] != name:
                out.append(name)
        return out


@pytest.fixture
def api_key() -> str:
    return SECRET_KEY


@pytest.fixture
def fast_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def events() -> EventLog:
    return EventLog()


def _serve(server: FakeServer) -> Iterator[Any]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def modelslab_server(api_key: str) -> Iterator[FakeModelsLab]:
    yield from _serve(FakeModelsLab(api_key))


@pytest.fixture
def replicate_server(api_key: str) -> Iterator[FakeReplicate]:
    yield from _serve(FakeReplicate(api_key))


@pytest.fixture
def fal_server(api_key: str) -> Iterator[FakeFal]:
    yield from _serve(FakeFal(api_key))


@pytest.fixture
def imageapi_server(api_key: str) -> Iterator[FakeImageApi]:
    yield from _serve(FakeImageApi(api_key))


@pytest.fixture
def onemin_server(api_key: str) -> Iterator[FakeOneMin]:
    yield from _serve(FakeOneMin(api_key))


@pytest.fixture
def file_host() -> Iterator[FakeFileHost]:
    """A file host on an origin of its own (upload URLs, CDN, delivery)."""
    yield from _serve(FakeFileHost())


@pytest.fixture
def bfl_server(api_key: str, file_host: FakeFileHost) -> Iterator[FakeBfl]:
    yield from _serve(FakeBfl(api_key, delivery=file_host))


@pytest.fixture
def comfyui_server() -> Iterator[FakeComfyUI]:
    server = FakeComfyUI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def comfyui_farm() -> Iterator[Callable[..., list[FakeComfyUI]]]:
    started: list[FakeComfyUI] = []

    def start(count: int, **kw: Any) -> list[FakeComfyUI]:
        servers = [FakeComfyUI(**kw).start() for _ in range(count)]
        started.extend(servers)
        return servers

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest_asyncio.fixture
async def make_comfyui() -> AsyncIterator[Callable[..., ComfyUIProvider]]:
    made: list[ComfyUIProvider] = []

    def make(*servers: FakeComfyUI, **kw: Any) -> ComfyUIProvider:
        kw.setdefault("base_urls", [s.base_url for s in servers])
        kw.setdefault("exchange_seconds", 5.0)
        kw.setdefault("check_interval", 1.0)
        kw.setdefault("poll_interval", 0.1)
        kw.setdefault("move_after", 0.3)
        kw.setdefault("gone_after", 60.0)
        kw.setdefault("deadline", 30.0)
        provider = ComfyUIProvider(**kw)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest_asyncio.fixture
async def make_provider(
    api_key: str, fast_clock: FakeClock
) -> AsyncIterator[Callable[..., Any]]:
    made: list[HttpProvider] = []

    def make(server: FakeServer, **kw: Any) -> Any:
        cls = next(PROVIDER_FOR[t] for t in type(server).__mro__ if t in PROVIDER_FOR)
        kw.setdefault("api_key", api_key)
        if "base_url" not in kw:
            kw["base_url"] = server.base_url
        kw.setdefault("clock", fast_clock)
        kw.setdefault("deadlines", Deadlines(submit=5.0, poll=5.0, download=5.0))
        provider = cls(**kw)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


def assert_no_key(key: str, *values: Any) -> None:
    """``key`` appears in none of ``values``: their str/repr, an error's user message, a
    submission's JSON, a result's stored request, dicts and lists taken apart."""
    import json as _json

    from studio.providers.base import GenerationResult, Submission
    from studio.providers.errors import ProviderError

    for value in values:
        texts = [str(value), repr(value)]
        if isinstance(value, ProviderError):
            texts += [value.user_message("Headshot"), value.message, str(value.args)]
        if isinstance(value, Submission):
            texts.append(_json.dumps(value.to_data()))
        if isinstance(value, GenerationResult):
            texts.append(_json.dumps(dict(value.request_body), default=str))
            texts.append(_json.dumps(dict(value.info), default=str))
            assert key.encode() not in value.image
        for text in texts:
            assert key not in text, f"the API key leaked into {type(value).__name__}: {text[:200]}"
