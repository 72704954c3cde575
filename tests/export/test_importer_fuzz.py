"""Fuzzing bundle manifests and settings rows: whatever they hold (numbers of any size, NaN and
infinities, text where numbers belong, nesting, unknown keys, garbage), an import either
succeeds whole or ends in a sentence and leaves nothing behind; never a traceback, never a
partial write."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.presets import load_catalog
from studio.export.bundle import BundleError
from studio.export.bundle_writer import BundleImage
from studio.export.import_rows import ROW_NUMBERS
from studio.export.importer import import_bundle
from studio.export.model import ExportError
from studio.library import Library, LibraryError
from tests.export.test_importer_hostile import (
    assert_nothing_left,
    good_images,
    make_bundle,
    rewrite,
)

CATALOG = load_catalog()
IMAGES: list[BundleImage] = good_images()[:3]
FILES = [f"images/{image.file}" for image in IMAGES]
KNOWN_KEYS = ["scene", "stage", "approval", "star", "tags", "fingerprint", "anchor", "prompt",
              "negative", "model", "provider", "notes", "request_id", "character"]

json_leaves = (st.none() | st.booleans()
               | st.integers(min_value=-(2**80), max_value=2**80)
               | st.floats(allow_nan=True, allow_infinity=True)
               | st.text(max_size=12)
               | st.sampled_from(["preview", "final", "approved", "rejected", *FILES]))
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12)
#: Numbers as a hostile bundle would write them: beyond 64 bits, NaN, infinities, negatives.
numbers = (st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([2**63, 2**64 - 1, -1, 10**30, 1e300, float("nan"), float("inf")]))
rows = st.lists(
    st.fixed_dictionaries(
        {"file": st.sampled_from(FILES)},
        optional={**{key: numbers | json_values for key in ROW_NUMBERS},
                  **{key: json_values for key in KNOWN_KEYS if key not in ROW_NUMBERS},
                  "timings": st.dictionaries(st.sampled_from(["queue", "processing"]),
                                             numbers | json_values, max_size=2)},
    ) | st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    max_size=4)
manifests = st.fixed_dictionaries(
    {"kind": st.just("character-sheet-studio-bundle") | json_values},
    optional={"format": numbers | json_values, "sheet": json_values, "files": json_values,
              "producer": json_values},
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle each example alters: three images with their settings."""
    return make_bundle(tmp_path_factory.mktemp("fuzz") / "base.zip", IMAGES)


class QuickWriter:
    """Image files written without fsync: durability is tested elsewhere, and fuzzing many
    imports should not wait on the disk."""

    def write_new(self, path: Path, data: bytes) -> None:
        with path.open("xb") as fh:
            fh.write(data)


def _import_all_or_nothing(bundle: Path, folder: Path) -> None:
    target = folder / "target"
    with Library.open(folder / "library", file_writer=QuickWriter()) as library:
        try:
            result = import_bundle(library, bundle, target, CATALOG)
        except (BundleError, ExportError, LibraryError) as exc:
            message = str(exc)
            assert message and "\n" not in message and message.endswith((".", "?")), message
            assert "Traceback" not in message
            assert_nothing_left(library, target)
            return
        assert len(result.renders) == len(IMAGES)
        assert (target / "emma.sheet.toml").is_file()
        assert len(library.renders.page().items) == len(IMAGES)
        assert library.maintenance.check(repair=False).ok


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=rows)
def test_any_settings_rows_import_whole_or_not_at_all(base: Path,
                                                      rows: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        text = json.dumps(rows, allow_nan=True)
        bundle = rewrite(base, folder / "fuzz.zip",
                         lambda n, d: text.encode() if n == "settings.json" else d)
        _import_all_or_nothing(bundle, folder)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(manifest=manifests | st.text(max_size=40).map(lambda t: {"raw": t}))
def test_any_manifest_imports_whole_or_not_at_all(base: Path,
                                                  manifest: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        text = manifest["raw"] if set(manifest) == {"raw"} else json.dumps(manifest,
                                                                           allow_nan=True)
        bundle = rewrite(base, folder / "fuzz.zip",
                         lambda n, d: text.encode() if n == "manifest.json" else d)
        _import_all_or_nothing(bundle, folder)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200), drop=st.sampled_from([None, "settings.json",
                                                            "manifest.json", FILES[0]]))
def test_garbage_settings_or_a_missing_entry_import_whole_or_not_at_all(
        base: Path, data: bytes, drop: str | None) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)

        def change(entry: str, content: bytes) -> bytes | None:
            if entry == drop:
                return None
            return data if entry == "settings.json" else content

        bundle = rewrite(base, folder / "fuzz.zip", change)
        with zipfile.ZipFile(bundle) as archive:
            assert (drop or "none") not in archive.namelist()
        _import_all_or_nothing(bundle, folder)
