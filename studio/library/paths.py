"""The names of what a library folder holds (where the folder is, is the composition root's
rule: ``studio.runtime``)."""

from __future__ import annotations

DATABASE_NAME = "library.sqlite3"
LOCK_NAME = "library.lock"
IMAGES_DIR = "images"
THUMBS_DIR = "thumbs"
TMP_DIR = "tmp"
ORPHANS_DIR = "orphans"
