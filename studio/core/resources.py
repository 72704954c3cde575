"""Where the files shipped in ``resources/`` are found, from a wheel or from a checkout."""

from __future__ import annotations

from pathlib import Path


def resources_dir() -> Path:
    """The resources folder: ``studio/resources`` inside an installed wheel, or the checkout's
    top-level ``resources/`` when running from source (an editable install has no copy)."""
    # The package's own folder: what ``importlib.resources.files("studio")`` names for a package
    # on disk, without importing that machinery (and zipfile, tempfile) at every start.
    packaged = Path(__file__).resolve().parents[1] / "resources"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "resources"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "The studio's resources folder is missing from this installation; reinstall the package"
    )


def resource_path(name: str) -> Path:
    return resources_dir() / name
