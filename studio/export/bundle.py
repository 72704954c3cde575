"""ZIP bundles: a sheet's original images, the sheet file, every image's settings (JSON and
CSV) and the sheet's PNG/PDF, in one file to hand on; and reading one back safely.

Layout of a bundle::

    manifest.json            format, producer, the sheet file's name, every file and its sha256
    NAME.sheet.toml          the sheet file
    settings.json            one record per image (the library record, minus anything secret)
    settings.csv             the same, one row per image, for spreadsheets
    images/NN-scene-stage-ID.png   the original images, byte for byte (metadata chunks kept)
    references/NN-role-HASH.png    the character's reference images, byte for byte (the sheet
                             file names them there)
    NAME.sheet.png, NAME.sheet.pdf, NAME.storyboard.pdf   the exported documents

A bundle comes from someone else, so reading one trusts nothing: every name is checked (no
absolute paths, drive letters, ``..``, backslashes, links, duplicates or reserved device names),
sizes and compression ratios are capped for each entry and for all of them together (zip bombs),
encrypted entries are refused, each entry's declared size is checked against the limit for its
kind (``core.limits``) before it is read, the bytes read are counted against the declared sizes,
and the JSON files are read within the JSON limits (depth, 64-bit integers, no NaN). A bundle
that breaks a rule is refused as a whole with a ``BundleError`` naming the entry and the rule,
before anything is written.

This module holds the format: the entries' names and kinds, the rules every name must keep and
the limits. ``studio.export.bundle_writer`` writes a bundle, ``studio.export.bundle_reader``
opens and checks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from studio.core import limits as core_limits
from studio.export.model import ExportError

BUNDLE_FORMAT = 1
BUNDLE_KIND = "character-sheet-studio-bundle"
MANIFEST_NAME = "manifest.json"
SETTINGS_JSON_NAME = "settings.json"
SETTINGS_CSV_NAME = "settings.csv"
IMAGES_DIR = "images"
#: The character's reference images (the bundled sheet file's reference paths point here).
REFERENCES_DIR = "references"
SHEET_SUFFIX = ".sheet.toml"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
DOCUMENT_SUFFIXES = (".png", ".pdf")

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()+,-]{0,150}$")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                     *(f"lpt{i}" for i in range(1, 10))}


class BundleError(ExportError):
    """A bundle cannot be read or is refused; the message names the entry and the reason."""


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """What a bundle may hold before it is refused as unsafe."""

    max_entries: int = core_limits.BUNDLE_ENTRIES_MAX
    max_file_bytes: int = core_limits.BUNDLE_ENTRY_MAX_BYTES
    max_total_bytes: int = core_limits.BUNDLE_TOTAL_MAX_BYTES
    #: Uncompressed over compressed size, checked for each entry over ``ratio_floor`` bytes and
    #: for the whole bundle once it unpacks to more than ``ratio_floor``.
    max_ratio: float = core_limits.BUNDLE_RATIO_MAX
    ratio_floor: int = core_limits.BUNDLE_RATIO_FLOOR_BYTES
    #: The manifest and the settings (which also stay within ``settings_per_image`` bytes for
    #: each image of the bundle).
    max_json_bytes: int = core_limits.JSON_MAX_BYTES
    settings_per_image: int = core_limits.BUNDLE_SETTINGS_BYTES_PER_IMAGE
    max_sheet_bytes: int = core_limits.SHEET_FILE_MAX_BYTES
    max_image_bytes: int = core_limits.IMAGE_FILE_MAX_BYTES


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe rendering of ``text`` (ASCII letters, digits and dashes)."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned[:limit].strip("-") or "untitled"


def _check_part(part: str, name: str) -> None:
    if not _SAFE_PART.match(part) or part.endswith((".", " ")):
        raise BundleError(f"The bundle is refused: the entry \"{name}\" has a file name that is "
                          "not safe to write; it was not made by the studio or was altered.")
    if part.split(".")[0].lower() in _WINDOWS_RESERVED:
        raise BundleError(f"The bundle is refused: the entry \"{name}\" uses a reserved device "
                          "name.")


def check_entry_name(name: str) -> PurePosixPath:
    """The entry's relative path, or ``BundleError`` when the name could write outside the
    target folder (absolute, drive letter, ``..``, backslash, empty part) or is unsafe."""
    refused = f"The bundle is refused: the entry \"{name[:200]}\""
    if not name or "\x00" in name or len(name) > 400:
        raise BundleError(f"{refused} has an empty or invalid name.")
    if "\\" in name:
        raise BundleError(f"{refused} uses backslashes in its path.")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BundleError(f"{refused} has an absolute path; it would be written outside the "
                          "target folder.")
    parts = name.rstrip("/").split("/")
    if any(p == ".." for p in parts):
        raise BundleError(f"{refused} climbs out of the bundle with \"..\"; it would be "
                          "written outside the target folder.")
    if any(p in ("", ".") for p in parts):
        raise BundleError(f"{refused} has an empty or \".\" path part.")
    for part in parts:
        _check_part(part, name)
    return PurePosixPath(*parts)


def entry_kind(path: PurePosixPath) -> str | None:
    """What an entry is: manifest, settings, sheet, image, document; None: not ours."""
    parts = path.parts
    if len(parts) == 1:
        name = parts[0]
        if name == MANIFEST_NAME:
            return "manifest"
        if name in (SETTINGS_JSON_NAME, SETTINGS_CSV_NAME):
            return "settings"
        if name.endswith(SHEET_SUFFIX):
            return "sheet"
        if name.lower().endswith(DOCUMENT_SUFFIXES):
            return "document"
        return None
    if len(parts) == 2 and parts[0] == IMAGES_DIR and parts[1].lower().endswith(IMAGE_SUFFIXES):
        return "image"
    if (len(parts) == 2 and parts[0] == REFERENCES_DIR
            and parts[1].lower().endswith(IMAGE_SUFFIXES)):
        return "reference"
    return None

