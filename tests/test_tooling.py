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


QT_ABSENT = """
import importlib.abc
import sys


class NoQt(importlib.abc.MetaPathFinder):
    # Every Qt import fails, as on a machine without PySide6.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "qasync", "pytestqt"):
            raise ImportError(f"{name} is not installed here")
        return None


sys.meta_path.insert(0, NoQt())
import pytest

# Without pytest-qt its ini options are unknown: keep strict markers, drop strict config.
sys.exit(pytest.main(["-p", "no:pytest-qt", "-p", "no:cacheprovider", "-q", "-x",
                      "-o", "addopts=", "--strict-markers",
                      "-W", "ignore::pytest.PytestConfigWarning", *sys.argv[1:]]))
"""

@pytest.mark.slow
def test_the_layers_below_the_window_run_without_qt() -> None:
    """DESIGN.md: no Qt below the UI, proven by running those suites with Qt made unimportable,
    not only by the import contracts."""
    # The crash and benchmark subprocess tests of the library prove other things, slowly.
    suites = ["tests/core", "tests/library", "tests/render", "tests/identity",
              "--ignore=tests/library/test_reliability.py",
              "--ignore=tests/library/test_benchmark.py"]
    proc = subprocess.run([sys.executable, "-c", QT_ABSENT, *suites], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
