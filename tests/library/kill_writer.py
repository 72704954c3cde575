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

from studio.core.request import Stage
from studio.library import Library, RenderDraft, RenderResult


def main() -> None:
    data_dir, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    library = Library.open(data_dir, if_busy="wait", wait_seconds=30)
    project = library.ensure_project(f"project {rng.randrange(3)}")
    mine: list[int] = []
    for n in range(10_000):
        image = Image.new("RGB", (64, 48), (rng.randrange(256), rng.randrange(256), n % 256))
        image.putpixel((n % 64, 0), (seed % 256, n // 256 % 256, 7))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        draft = RenderDraft(
            project_id=project.id,
            stage=Stage.PREVIEW,
            provider="offline",
            model="flux-schnell",
            prompt=f"kill test {seed} {n}",
            width=64,
            height=48,
            steps=4,
            guidance=3.5,
            seed_requested=n,
        )
        if n % 2:
            job = library.create_job(draft, {"n": n})
            library.mark_submitted(job.id, provider_request_id=f"r{n}")
            render = library.complete_job(job.id, buffer.getvalue(), RenderResult(seed_returned=n))
        else:
            render = library.record_render(draft, buffer.getvalue())
        print(f"done {render.id}", flush=True)
        mine.append(render.id)
        if n % 5 == 4:
            victim = mine.pop(0)
            print(f"trashing {victim}", flush=True)
            library.trash([victim])
            library.empty_trash()
            print(f"gone {victim}", flush=True)


if __name__ == "__main__":
    main()
