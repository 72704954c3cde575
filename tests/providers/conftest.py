"""Fixtures for the provider tests: the fake servers and fixtures of tests/fakes.

Every test here also checks that the API key never reached a log record, at any level.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.fakes.fixtures import *  # noqa: F403
from tests.fakes.fixtures import SECRET_KEY


@pytest.fixture(autouse=True)
def _no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    # As the studio runs them (studio.runtime.LoggingSession): httpcore's debug lines repeat
    # raw response headers, which a hostile server can fill with the key.
    caplog.set_level(logging.WARNING, logger="httpcore")
    yield
    # caplog.records holds only the current phase (teardown here): look at the test's own.
    for record in (*caplog.get_records("setup"), *caplog.get_records("call")):
        assert SECRET_KEY not in record.getMessage(), f"key logged by {record.name}"
