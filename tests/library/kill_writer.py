"""A writer the kill test runs as a separate process and SIGKILLs at random points.

It loops forever: record a render with a fresh image (directly, or through a job), print
``done <id>`` once the record is committed, and now and then trash and empty a render,
printing ``trashing <id>`` before and ``gone <id>`` once the trash is emptied.

Usage: kill_writer.py DATA_DIR SEED
"""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

from PIL import Image

from studio.core.request import GenerationRequest, Stage
from studio.library import Library, Outcome, RenderDraft


def main() -> None:
    data_dir, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    library = Library.open(data_dir, if_busy="wait", wait_seconds=30)
    project = library.projects.ensure(f"project {rng.randrange(3)}")
    mine: list[int] = []
    for n in range(10_000):
        image = Image.new("RGB", (64, 48), (rng.randrange(256), rng.randrange(256), n % 256))
        image.putpixel((n % 64, 0), (seed % 256, n // 256 % 256, 7))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        draft = RenderDraft(
            request=GenerationRequest(prompt=f"kill test {seed} {n}", width=64, height=48,
                                      steps=4, guidance=3.5, model="flux-schnell", seed=n,
                                      stage=Stage.PREVIEW, provider="offline"),
            project_id=project.id,
        )
        if n % 2:
            job = library.jobs.create(draft)
            library.jobs.mark_submitted(job.id, provider_request_id=f"r{n}")
            render = library.jobs.complete(job.id, buffer.getvalue(), Outcome(seed_returned=n))
        else:
            render = library.renders.record(draft, buffer.getvalue())
        print(f"done {render.id}", flush=True)
        mine.append(render.id)
        if n % 5 == 4:
            victim = mine.pop(0)
            print(f"trashing {victim}", flush=True)
            library.renders.trash([victim])
            library.renders.empty_trash()
            print(f"gone {victim}", flush=True)


if __name__ == "__main__":
    main()
