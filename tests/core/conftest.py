from __future__ import annotations

import pytest

from studio.core.presets import PresetCatalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> PresetCatalog:
    return load_catalog()
