"""Every test runs with its user directories redirected into tmp_path and no provider keys, so
nothing a developer has configured leaks in and nothing a test does leaks out."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# GUI tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SHEET = ROOT / "examples" / "emma.sheet.toml"


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    # Never touch the developer's real keychain.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    for name in list(os.environ):
        if name.startswith("STUDIO_") and name.endswith((
                "_API_KEY", "_BASE_URL", "_CONCURRENCY", "_TIMEOUT", "_WORKFLOW_PREVIEW",
                "_WORKFLOW_FINAL")):
            monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture
def example_sheet_path() -> Path:
    return EXAMPLE_SHEET


class _ErrorLog(logging.Handler):
    """Keeps every record at ERROR or above that a test makes."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def logged_errors_fail_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """An error logged during a test fails it (qutebrowser's logfail): errors the studio logs are
    either bugs or states a test must expect. A test that expects one takes ``caplog`` (and looks
    at it) or is marked ``logs_errors``."""
    handler = _ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if (handler.records and "caplog" not in request.fixturenames
            and request.node.get_closest_marker("logs_errors") is None):
        lines = "\n".join(f"  {r.name}: {r.getMessage()}" for r in handler.records[:5])
        pytest.fail(f"the test logged {len(handler.records)} error(s) it did not expect:\n{lines}",
                    pytrace=False)
