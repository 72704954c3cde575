from __future__ import annotations

import pytest

from studio.core.presets import PresetCatalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> PresetCatalog:
    return load_catalog()


@pytest.fixture
def emma(catalog: PresetCatalog):  # type: ignore[no-untyped-def]
    """The example sheet (Emma, four scenes)."""
    from pathlib import Path

    from studio.core.sheet import load_sheet

    return load_sheet(Path(__file__).resolve().parents[2] / "examples" / "emma.sheet.toml",
                      catalog)
