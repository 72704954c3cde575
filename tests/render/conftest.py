"""Fixtures for the render tests: a library in tmp_path, the steerable ModelsLab fake, the four
scene sheet, and an event recorder the tests await instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from studio.core.presets import PresetCatalog, load_catalog
from studio.core.request import Stage
from studio.core.sheet import Sheet, load_sheet
from studio.library import Library
from studio.providers.base import Provider
from studio.providers.http import Deadlines
from studio.providers.modelslab import ModelsLabProvider
from studio.providers.offline import OfflineProvider
from studio.render import (
    RenderEvent,
    RenderQueue,
    SheetBinding,
    bind_sheet,
    choose_provider,
    plan_previews,
)
from studio.render.plan import RenderPlan
from tests.fakes.fixtures import *  # noqa: F403
from tests.render.fakes import SHEET, ScriptedModelsLab


@pytest.fixture(scope="session")
def catalog() -> PresetCatalog:
    return load_catalog()


@pytest.fixture
def sheet_path(tmp_path: Path) -> Path:
    path = tmp_path / "mara.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    return path


@pytest.fixture
def sheet(sheet_path: Path, catalog: PresetCatalog) -> Sheet:
    return load_sheet(sheet_path, catalog)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library.open(tmp_path / "data")
    yield lib
    lib.close()


@pytest.fixture
def ml_server(api_key: str) -> Iterator[ScriptedModelsLab]:
    server = ScriptedModelsLab(api_key)
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def providers(
    ml_server: ScriptedModelsLab, api_key: str
) -> AsyncIterator[Callable[..., dict[str, Provider]]]:
    """``providers(concurrency=4, **kw)``: ModelsLab on the fake (real clock) and offline."""
    made: list[Provider] = []

    def make(concurrency: int = 4, **kw: Any) -> dict[str, Provider]:
        kw.setdefault("deadlines", Deadlines(10.0, 10.0, 10.0))
        ml = ModelsLabProvider(api_key=api_key, base_url=ml_server.base_url,
                               concurrency=concurrency, **kw)
        made.append(ml)
        return {"modelslab": ml, "offline": OfflineProvider()}

    yield make
    for provider in made:
        await provider.aclose()


class Recorder:
    """Keeps every event; ``await until(predicate)`` wakes on each new event."""

    def __init__(self) -> None:
        self.events: list[RenderEvent] = []
        self._changed = asyncio.Event()
        self.hooks: list[Callable[[RenderEvent], None]] = []

    def __call__(self, event: RenderEvent) -> None:
        self.events.append(event)
        for hook in list(self.hooks):
            hook(event)
        self._changed.set()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def until(self, predicate: Callable[[], bool], limit: float = 30.0) -> None:
        """Wait for ``predicate`` to hold, woken by events; ``limit`` only bounds a hung test."""

        async def watch() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(watch(), limit)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def preview_plan(
    library: Library, sheet: Sheet, sheet_path: Path, catalog: PresetCatalog,
    providers: dict[str, Provider], **kw: Any,
) -> tuple[SheetBinding, RenderPlan]:
    binding = bind_sheet(library, sheet, sheet_path, catalog)
    choice = choose_provider(providers, Stage.PREVIEW, sheet.preview.provider,
                             sheet.preview.model, **kw)
    return binding, plan_previews(library, binding, sheet, catalog, choice)


@pytest_asyncio.fixture
async def queues() -> AsyncIterator[Callable[..., RenderQueue]]:
    """``queues(library, providers, **kw)``: queues closed after the test."""
    made: list[RenderQueue] = []

    def make(library: Library, providers: dict[str, Provider], **kw: Any) -> RenderQueue:
        queue = RenderQueue(library, providers, **kw)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.aclose()
