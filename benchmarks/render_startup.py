"""Start-up benchmark: from launching `studio render` to the first request reaching the provider.

A fake ModelsLab on 127.0.0.1 stamps the arrival of the first request; the clock starts just
before the process is spawned. Prints one JSON object with every run and the median.
Target: under 1 s.

    python benchmarks/render_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.modelslab import FakeModelsLab  # noqa: E402
from tests.fakes.server import Recorded, Reply  # noqa: E402

KEY = "bench-key"
SHEET = """\
format = 1
[character]
name = "Emma"
anchor = "Emma, 30-year-old woman, dark brown wavy hair, brown eyes"
seed = 42
[[scenes]]
name = "Headshot"
setting = "neutral grey studio backdrop, medium shot"
lighting = "soft-studio"
lens = "canon-ef-85"
"""


class StampingModelsLab(FakeModelsLab):
    """Notes when the first request arrives."""

    def __init__(self) -> None:
        super().__init__(KEY, instant=True)
        self.first_at: float | None = None
        self.first = threading.Event()

    def _dispatch(self, req: Recorded) -> Reply:
        if self.first_at is None:
            self.first_at = time.perf_counter()
            self.first.set()
        return super()._dispatch(req)


def one_run(tmp: Path, index: int) -> dict[str, float]:
    server = StampingModelsLab()
    server.start()
    try:
        sheet = tmp / f"startup{index}.sheet.toml"
        sheet.write_text(SHEET, encoding="utf-8")
        env = dict(os.environ)
        env.update({
            "STUDIO_DATA_DIR": str(tmp / f"data{index}"),
            "STUDIO_CONFIG_DIR": str(tmp / "config"),
            "STUDIO_MODELSLAB_BASE_URL": server.base_url,
            "STUDIO_MODELSLAB_API_KEY": KEY,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        })
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "studio", "render", str(sheet), "--stage", "preview",
             "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        ended = time.perf_counter()
        if proc.returncode != 0 or server.first_at is None:
            raise SystemExit(f"studio render failed ({proc.returncode}):\n{proc.stderr}")
        return {"first_request_seconds": round(server.first_at - started, 3),
                "process_seconds": round(ended - started, 3)}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        runs = [one_run(Path(tmp), i) for i in range(args.runs)]
    firsts = [r["first_request_seconds"] for r in runs]
    print(json.dumps({
        "benchmark": "render_startup",
        "median_first_request_seconds": round(statistics.median(firsts), 3),
        "max_first_request_seconds": max(firsts),
        "target_seconds": 1.0,
        "runs": runs,
    }, indent=2))


if __name__ == "__main__":
    main()
