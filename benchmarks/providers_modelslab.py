"""Throughput of the ModelsLab client against the fake server: N jobs that each take DELAY s.

Starts ``tests.fakes.modelslab`` in-process (each job answers ``processing`` with ``eta`` DELAY,
then ``success`` on fetch), renders N jobs through ``ModelsLabProvider.generate``, at most the
provider's concurrency (default 5) at once through a render lane (the render queue's limiter:
providers hold no slots of their own), and prints the figures as JSON. With no overhead the wall
time is ``ceil(N / concurrency) * DELAY``.

    python -m benchmarks.providers_modelslab --jobs 20 --delay 1.0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time

from studio.core.request import GenerationRequest
from studio.providers.modelslab import ModelsLabProvider
from studio.render.lanes import Lane
from tests.fakes.modelslab import FakeModelsLab


async def run(jobs: int, delay: float, concurrency: int | None) -> dict[str, float | int]:
    with FakeModelsLab("bench-key", eta=delay, delay=delay) as server:
        provider = ModelsLabProvider(api_key="bench-key", base_url=server.base_url,
                                     concurrency=concurrency)
        lane = Lane(provider.concurrency)

        async def one(i: int) -> object:
            await lane.acquire()
            try:
                return await provider.generate(GenerationRequest(
                    prompt=f"scene {i}", width=512, height=768, steps=4, guidance=0.0,
                    model="flux-schnell", seed=i))
            finally:
                lane.release()

        try:
            started = time.perf_counter()
            results = await asyncio.gather(*(one(i) for i in range(jobs)))
            wall = time.perf_counter() - started
        finally:
            await provider.aclose()
        ideal = math.ceil(jobs / provider.concurrency) * delay
        return {
            "jobs": jobs,
            "delay_s": delay,
            "concurrency": provider.concurrency,
            "wall_s": round(wall, 3),
            "ideal_s": ideal,
            "overhead_s": round(wall - ideal, 3),
            "max_queued_at_server": server.max_active,
            "submits": server.submits(),
            "fetches": server.fetches(),
            "images": len(results),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.jobs, args.delay, args.concurrency))))


if __name__ == "__main__":
    main()
