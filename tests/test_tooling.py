"""The layering of DESIGN.md, ruff and mypy are part of the test command, not only of CI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed; install the test extra: pip install -e '.[test]'")
    return found


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_import_linter_contracts_hold() -> None:
    proc = _run([_tool("lint-imports"), "--no-cache"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_is_clean() -> None:
    targets = [d for d in ("studio", "tests", "benchmarks", "packaging") if (ROOT / d).is_dir()]
    proc = _run([_tool("ruff"), "check", *targets])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean() -> None:
    proc = _run([sys.executable, "-m", "mypy", "studio"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_core_imports_nothing_heavy() -> None:
    """The domain loads without Qt, httpx, Pillow or sqlite3 (a fast, portable core)."""
    code = ("import sys; import studio.core.checks, studio.core.prompt, studio.core.sheet; "
            "bad = [m for m in ('PySide6', 'httpx', 'PIL', 'sqlite3') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = _run([sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stdout + proc.stderr
