"""Fixtures for the export tests: the example sheet as an export document (see sheets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.presets import PresetCatalog, load_catalog
from studio.core.request import Stage
from studio.core.sheet import Sheet, load_sheet
from studio.export.model import SheetDocument
from tests.export.sheets import document


@pytest.fixture(scope="session")
def catalog() -> PresetCatalog:
    return load_catalog()


@pytest.fixture(scope="session")
def emma(catalog: PresetCatalog) -> Sheet:
    return load_sheet(Path(__file__).resolve().parents[2] / "examples" / "emma.sheet.toml",
                      catalog)


@pytest.fixture(scope="session")
def emma_doc(emma: Sheet, catalog: PresetCatalog) -> SheetDocument:
    """Finals for three scenes; the third scene has only a preview (it stands in, marked)."""
    return document(emma, catalog, {2: Stage.PREVIEW})


@pytest.fixture(scope="session")
def emma_doc_mixed(emma: Sheet, catalog: PresetCatalog) -> SheetDocument:
    """A final, a preview stand-in, a scene never rendered and an out-of-date final."""
    return document(emma, catalog, {1: Stage.PREVIEW, 2: None}, stale=frozenset({3}))


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder to export into (tmp_path also holds the redirected home folder)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder
