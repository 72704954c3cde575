"""Grid benchmark: `studio render` of N scenes against a fake ModelsLab that answers each job
after 1.0 s (``processing`` at submit, then a fetch that succeeds), concurrency limit 12.

Prints one JSON object: per case the wall time of the `studio render` process and the render's
own ``wall_seconds``, each divided by the ideal (ceil(N / limit) x 1.0 s), and the fetch
requests per job. Targets: within 1.3x of ideal; one fetch per job.

    python benchmarks/render_grid.py [--delay 1.0] [--concurrency 12] [--scenes 12 48]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.modelslab import FakeModelsLab  # noqa: E402

KEY = "bench-key"


def sheet_text(scenes: int) -> str:
    lines = [
        "format = 1", "[character]", 'name = "Emma"',
        'anchor = "Emma, 30-year-old woman, dark brown wavy hair, brown eyes"', "seed = 42",
        "[preview]", 'provider = "modelslab"', 'model = "flux-schnell"',
    ]
    for i in range(scenes):
        lines += ["[[scenes]]", f'name = "Scene {i + 1:02d}"',
                  f'setting = "street corner number {i + 1}, medium shot"',
                  'lighting = "soft-studio"', 'lens = "canon-ef-85"', 'framing = "portrait"']
    return "\n".join(lines) + "\n"


def run_case(scenes: int, concurrency: int, delay: float) -> dict[str, object]:
    server = FakeModelsLab(KEY, eta=delay, delay=delay)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sheet = Path(tmp) / f"grid{scenes}.sheet.toml"
            sheet.write_text(sheet_text(scenes), encoding="utf-8")
            env = dict(os.environ)
            env.update({
                "STUDIO_DATA_DIR": str(Path(tmp) / "data"),
                "STUDIO_CONFIG_DIR": str(Path(tmp) / "config"),
                "STUDIO_MODELSLAB_BASE_URL": server.base_url,
                "STUDIO_MODELSLAB_API_KEY": KEY,
                "STUDIO_MODELSLAB_CONCURRENCY": str(concurrency),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            })
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "studio", "render", str(sheet), "--stage", "preview",
                 "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"studio render failed ({proc.returncode}):\n{proc.stderr}")
        summary = json.loads(proc.stdout)
        ok = sum(1 for r in summary["results"] if r["status"] == "ok")
        ideal = math.ceil(scenes / concurrency) * delay
        return {
            "scenes": scenes,
            "concurrency": concurrency,
            "ideal_seconds": ideal,
            "process_wall_seconds": round(wall, 3),
            "process_ratio": round(wall / ideal, 3),
            "render_wall_seconds": summary["wall_seconds"],
            "render_ratio": round(summary["wall_seconds"] / ideal, 3),
            "rendered": ok,
            "submits": server.submits(),
            "fetches": server.fetches(),
            "fetches_per_job": round(server.fetches() / scenes, 3),
            "target_ratio": 1.3,
        }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--scenes", type=int, nargs="+", default=[12, 48])
    args = parser.parse_args(argv)
    cases = [run_case(n, args.concurrency, args.delay) for n in args.scenes]
    print(json.dumps({"benchmark": "render_grid", "delay_seconds": args.delay,
                      "cases": cases}, indent=2))


if __name__ == "__main__":
    main()
