"""The library benchmark keeps running (a tiny library here; the figures come from the full run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_prints_its_figures_as_json(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "library_bench.py"),
            "--dir",
            str(tmp_path / "bench"),
            "--renders",
            "60",
            "--projects",
            "3",
            "--runs",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["renders"] == 60
    assert set(report["median_ms"]) >= {"open", "first_page", "search", "insert"}
