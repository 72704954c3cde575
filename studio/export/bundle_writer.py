"""Writing a bundle: the sheet file, the original images and reference images byte for byte,
the exported documents, every image's settings (JSON and CSV) and the manifest listing each
file with its sha256, into one ZIP through a temporary name (see ``studio.export.bundle`` for
the format)."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from studio.export.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_KIND,
    IMAGES_DIR,
    MANIFEST_NAME,
    REFERENCES_DIR,
    SETTINGS_CSV_NAME,
    SETTINGS_JSON_NAME,
    SHEET_SUFFIX,
    check_entry_name,
    entry_kind,
)
from studio.export.files import atomic_path
from studio.export.metadata import scrub, settings_csv, settings_json
from studio.export.model import CancelToken, ExportError, ProgressCallback, Steps


@dataclass(frozen=True, slots=True)
class BundleImage:
    """One image to put in a bundle: its file name under ``images/``, its bytes (written as
    they are) and its settings record."""

    file: str
    data: bytes
    settings: Mapping[str, Any] = field(default_factory=dict)


def write_bundle(
    path: Path,
    *,
    sheet_file: str,
    sheet_text: str,
    images: Sequence[BundleImage],
    documents: Mapping[str, bytes] | None = None,
    producer: str = "",
    created: datetime | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    references: Sequence[BundleImage] = (),
) -> Path:
    """Write a bundle to ``path`` through a temporary name; returns ``path``.

    ``sheet_file`` is the sheet's file name (``NAME.sheet.toml``); ``documents`` maps top-level
    file names (``.png``/``.pdf``) to bytes. Images are stored uncompressed (they already are).
    ``references`` are the character's reference images, written under ``references/`` (their
    ``settings``, the role, go into the manifest entry).
    """
    documents = dict(documents or {})
    check_entry_name(sheet_file)
    if not sheet_file.endswith(SHEET_SUFFIX):
        raise ExportError(f"The sheet's file name must end with {SHEET_SUFFIX}: {sheet_file}")
    names = [f"{IMAGES_DIR}/{image.file}" for image in images]
    for name in [*names, *documents]:
        check_entry_name(name)
        if entry_kind(PurePosixPath(name)) not in ("image", "document"):
            raise ExportError(f"{name} is not an image or document name a bundle can hold.")
    if len(set(n.lower() for n in names)) != len(names):
        raise ExportError("Two images of the bundle have the same file name.")
    reference_names = [f"{REFERENCES_DIR}/{ref.file}" for ref in references]
    for name in reference_names:
        check_entry_name(name)
        if entry_kind(PurePosixPath(name)) != "reference":
            raise ExportError(f"{name} is not a reference image name a bundle can hold.")
    created = created or datetime.now(UTC)
    steps = Steps(len(images) + len(references) + len(documents) + 3, progress, cancel)
    rows: list[dict[str, Any]] = []
    manifest_files: list[dict[str, Any]] = []
    with atomic_path(Path(path)) as temp, zipfile.ZipFile(temp, "w") as archive:
        steps.step("Adding the sheet file")
        sheet_bytes = sheet_text.encode("utf-8")
        archive.writestr(_info(sheet_file, created, deflate=True), sheet_bytes)
        manifest_files.append(_file_entry(sheet_file, sheet_bytes, "sheet"))
        for name, image in zip(names, images, strict=True):
            steps.step(f"Adding {image.file}")
            archive.writestr(_info(name, created, deflate=False), image.data)
            entry = _file_entry(name, image.data, "image")
            manifest_files.append(entry)
            rows.append({**scrub(dict(image.settings)), "file": name, "sha256": entry["sha256"]})
        for name, ref in zip(reference_names, references, strict=True):
            steps.step(f"Adding {ref.file}")
            archive.writestr(_info(name, created, deflate=False), ref.data)
            manifest_files.append({**_file_entry(name, ref.data, "reference"),
                                   **scrub(dict(ref.settings))})
        for name, data in documents.items():
            steps.step(f"Adding {name}")
            deflate = name.lower().endswith(".pdf")
            archive.writestr(_info(name, created, deflate=deflate), data)
            manifest_files.append(_file_entry(name, data, "document"))
        steps.step("Adding the settings")
        for name, data in ((SETTINGS_JSON_NAME, settings_json(rows)),
                           (SETTINGS_CSV_NAME, settings_csv(rows))):
            archive.writestr(_info(name, created, deflate=True), data)
            manifest_files.append(_file_entry(name, data, "settings"))
        manifest = {
            "format": BUNDLE_FORMAT,
            "kind": BUNDLE_KIND,
            "producer": producer,
            "created": created.isoformat(),
            "sheet": sheet_file,
            "files": manifest_files,
        }
        archive.writestr(_info(MANIFEST_NAME, created, deflate=True),
                         json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        steps.finish()
    return Path(path)


def _info(name: str, created: datetime, *, deflate: bool) -> zipfile.ZipInfo:
    stamp = created.astimezone(UTC)
    info = zipfile.ZipInfo(name, date_time=(max(stamp.year, 1980), stamp.month, stamp.day,
                                            stamp.hour, stamp.minute, stamp.second))
    info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def _file_entry(name: str, data: bytes, kind: str) -> dict[str, Any]:
    return {"name": name, "kind": kind, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}

