"""Where the library lives: the platform's user data dir, or ``STUDIO_DATA_DIR``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "character-sheet-studio"
DATA_DIR_ENV = "STUDIO_DATA_DIR"

DATABASE_NAME = "library.sqlite3"
LOCK_NAME = "library.lock"
IMAGES_DIR = "images"
THUMBS_DIR = "thumbs"
TMP_DIR = "tmp"
ORPHANS_DIR = "orphans"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """The data dir of DESIGN.md: ``STUDIO_DATA_DIR`` when set and non-empty, else platformdirs."""
    override = environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
