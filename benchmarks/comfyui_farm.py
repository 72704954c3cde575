"""A sheet over a ComfyUI farm: 48 scenes on 4 fake servers that each render one prompt at a
time in 0.5 s, then the same with one server dying after its first job.

Starts the fakes of ``tests.fakes.comfyui`` in-process and renders through
``ComfyUIProvider.generate`` with as many jobs in flight as the provider's concurrency (what the
render queue does). Ideal wall time: scenes / servers * seconds. Prints JSON: wall time against
the ideal, jobs per server, how far the busiest server is above the mean, and how many prompts
were sent more than once.

    python -m benchmarks.comfyui_farm --scenes 48 --servers 4 --seconds 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any

from studio.core.request import GenerationRequest
from studio.providers.comfyui import ComfyUIProvider
from studio.providers.errors import ProviderError
from tests.fakes.comfyui import FakeComfyUI


async def render(scenes: int, servers: list[FakeComfyUI]) -> dict[str, Any]:
    provider = ComfyUIProvider(base_urls=[s.base_url for s in servers])
    slots = asyncio.Semaphore(provider.concurrency)

    async def one(i: int) -> str:
        async with slots:
            try:
                await provider.generate(GenerationRequest(
                    prompt=f"Mara, scene {i}", width=256, height=256, steps=4, guidance=0.0,
                    model="flux-schnell", seed=1000 + i))
                return "ok"
            except ProviderError as exc:
                return f"{exc.kind}: {exc}"

    try:
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(one(i) for i in range(scenes)))
        wall = time.perf_counter() - started
    finally:
        await provider.aclose()
    posts: Counter[str] = Counter()
    for server in servers:
        posts.update(server.posts)
    per_server = [len(set(s.completed)) for s in servers]
    mean = scenes / len(servers)
    return {
        "wall_s": round(wall, 3),
        "landed": outcomes.count("ok"),
        "failures": [o for o in outcomes if o != "ok"][:5],
        "rendered_per_server": per_server,
        "prompts_per_server": [sum(s.posts.values()) for s in servers],
        "max_above_mean": round(max(per_server) - mean, 2),
        "prompts_sent_twice": sum(1 for n in posts.values() if n > 1),
    }


async def run(scenes: int, count: int, seconds: float) -> dict[str, Any]:
    ideal = scenes / count * seconds
    servers = [FakeComfyUI(run_seconds=seconds).start() for _ in range(count)]
    try:
        even = await render(scenes, servers)
    finally:
        for server in servers:
            server.stop()
    even["ideal_s"] = ideal
    even["ratio_to_ideal"] = round(even["wall_s"] / ideal, 3)
    even["within_1_2x"] = even["ratio_to_ideal"] <= 1.2
    even["spread_ok"] = even["max_above_mean"] <= 2

    servers = [FakeComfyUI(run_seconds=seconds, die_after_jobs=1 if i == 0 else None).start()
               for i in range(count)]
    try:
        dying = await render(scenes, servers)
    finally:
        for server in servers:
            server.stop()
    dying["all_landed"] = dying["landed"] == scenes
    dying["at_most_one_twice"] = dying["prompts_sent_twice"] <= 1
    return {"scenes": scenes, "servers": count, "seconds_per_prompt": seconds,
            "even": even, "one_server_dies_after_its_first_job": dying}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenes", type=int, default=48)
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.scenes, args.servers, args.seconds)), indent=2))


if __name__ == "__main__":
    main()
