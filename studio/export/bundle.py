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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import stat
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any

from studio.core import limits as core_limits
from studio.export.files import atomic_path
from studio.export.metadata import scrub, settings_csv, settings_json
from studio.export.model import CancelToken, ExportError, ProgressCallback, Steps

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
_READ_CHUNK = 1 << 20


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


@dataclass(frozen=True, slots=True)
class BundleImage:
    """One image to put in a bundle: its file name under ``images/``, its bytes (written as
    they are) and its settings record."""

    file: str
    data: bytes
    settings: Mapping[str, Any] = field(default_factory=dict)


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


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode) if mode else False


def _kind(path: PurePosixPath) -> str | None:
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


# ----------------------------------------------------------------------------- writing


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
        if _kind(PurePosixPath(name)) not in ("image", "document"):
            raise ExportError(f"{name} is not an image or document name a bundle can hold.")
    if len(set(n.lower() for n in names)) != len(names):
        raise ExportError("Two images of the bundle have the same file name.")
    reference_names = [f"{REFERENCES_DIR}/{ref.file}" for ref in references]
    for name in reference_names:
        check_entry_name(name)
        if _kind(PurePosixPath(name)) != "reference":
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


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class BundleEntry:
    name: str
    path: PurePosixPath
    kind: str
    size: int


class Bundle:
    """An opened, checked bundle. Use as a context manager; ``read`` reads one entry with its
    size enforced; ``extract`` writes the entries under a folder, never outside it."""

    def __init__(self, path: Path, limits: BundleLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or BundleLimits()
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise BundleError(f"{self.path} does not exist; check the path.") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleError(f"{self.path} is not a bundle the studio can read ({exc}); "
                              "choose a .zip exported by the studio.") from None
        try:
            self.entries = self._check()
            self.manifest = self._manifest()
            self.sheet_file = self._sheet_file()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    # -- checks

    def _check(self) -> dict[str, BundleEntry]:
        limits = self.limits
        infos = self._zip.infolist()
        if len(infos) > limits.max_entries:
            raise BundleError(f"The bundle is refused: it holds {len(infos)} entries, more "
                              f"than the {limits.max_entries} a bundle may hold.")
        entries: dict[str, BundleEntry] = {}
        folded: set[str] = set()
        total = packed = 0
        for info in infos:
            name = info.filename
            rel = check_entry_name(name)
            if _is_link(info):
                raise BundleError(f"The bundle is refused: the entry \"{name}\" is a symbolic "
                                  "link.")
            if info.flag_bits & 0x1:
                raise BundleError(f"The bundle is refused: the entry \"{name}\" is encrypted.")
            key = str(rel).lower()
            if key in folded:
                raise BundleError(f"The bundle is refused: the entry \"{name}\" appears twice "
                                  "(names must be unique, ignoring case).")
            folded.add(key)
            if info.is_dir():
                if str(rel) not in (IMAGES_DIR, REFERENCES_DIR):
                    raise BundleError(f"The bundle is refused: unexpected folder \"{name}\".")
                continue
            if info.file_size > limits.max_file_bytes:
                raise BundleError(f"The bundle is refused: the entry \"{name}\" would unpack to "
                                  f"{info.file_size} bytes, over the {limits.max_file_bytes} "
                                  "limit.")
            total += info.file_size
            packed += info.compress_size
            if total > limits.max_total_bytes:
                raise BundleError("The bundle is refused: it would unpack to more than "
                                  f"{core_limits.bytes_words(limits.max_total_bytes)}.")
            if info.file_size > limits.ratio_floor and (
                info.file_size > limits.max_ratio * max(info.compress_size, 1)
            ):
                raise BundleError(f"The bundle is refused: the entry \"{name}\" is compressed "
                                  "suspiciously well (a zip bomb?).")
            kind = _kind(rel)
            if kind is None:
                continue  # not ours: never read nor written
            entries[str(rel)] = BundleEntry(str(rel), rel, kind, info.file_size)
        # Many entries each just under the floor are caught together: a real bundle is mostly
        # stored images, which do not shrink.
        if total > limits.ratio_floor and total > limits.max_ratio * max(packed, 1):
            raise BundleError(
                f"The bundle is refused: its {len(infos)} entries would unpack to "
                f"{core_limits.bytes_words(total)} from {core_limits.bytes_words(packed)}, "
                f"more than {limits.max_ratio:g} times their packed size (a zip bomb?); it was "
                "not made by the studio or was altered.")
        return entries

    def declared_size(self, name: str, limit: int, what: str) -> None:
        """Refuse the entry ``name`` from the size the ZIP declares for it, before reading."""
        entry = self.entries.get(name)
        if entry is not None and entry.size > limit:
            raise BundleError(
                f"The bundle is refused: its {name} is {core_limits.bytes_words(entry.size)}, "
                f"over the limit of {core_limits.bytes_words(limit)} for {what}; it was not "
                "made by the studio or was altered.")

    def read_json(self, name: str, limit: int) -> object:
        """One JSON entry, its size checked first and its text read within the JSON limits."""
        from studio.core.errors import StudioInputError

        self.declared_size(name, limit, "that file")
        try:
            text = self.read(name).decode("utf-8")
        except UnicodeDecodeError:
            raise BundleError(f"The bundle's {name} is not UTF-8 text; it was not made by the "
                              "studio or was altered.") from None
        try:
            return core_limits.read_json(text, f"The bundle's {name}", max_bytes=limit)
        except StudioInputError as exc:
            message = str(exc)
            raise BundleError(message if message.endswith((".", "?")) else f"{message}.") \
                from None

    def _manifest(self) -> Mapping[str, Any]:
        if MANIFEST_NAME not in self.entries:
            raise BundleError(f"{self.path} has no {MANIFEST_NAME}; it is not a bundle exported "
                              "by the studio.")
        data = self.read_json(MANIFEST_NAME, self.limits.max_json_bytes)
        if not isinstance(data, dict) or data.get("kind") != BUNDLE_KIND:
            raise BundleError(f"{self.path} is not a Character Sheet Studio bundle.")
        fmt = data.get("format")
        if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
            raise BundleError(f"The bundle's {MANIFEST_NAME} gives no format number the studio "
                              "knows; it was not made by the studio or was altered.")
        if fmt > BUNDLE_FORMAT:
            raise BundleError(f"The bundle is format {fmt}, newer than this studio reads "
                              f"({BUNDLE_FORMAT}); update the studio to import it.")
        return data

    def _sheet_file(self) -> str:
        sheets = [e.name for e in self.entries.values() if e.kind == "sheet"]
        named = self.manifest.get("sheet")
        if isinstance(named, str) and named in sheets:
            return named
        if len(sheets) == 1:
            return sheets[0]
        raise BundleError(f"The bundle should hold exactly one {SHEET_SUFFIX} file; it holds "
                          f"{len(sheets)}.")

    # -- reading

    def read(self, name: str) -> bytes:
        """The bytes of one checked entry, never more than its declared size."""
        entry = self.entries.get(name)
        if entry is None:
            raise BundleError(f"The bundle has no entry \"{name}\".")
        chunks: list[bytes] = []
        count = 0
        try:
            with self._zip.open(name) as fh:
                while chunk := fh.read(_READ_CHUNK):
                    count += len(chunk)
                    if count > entry.size or count > self.limits.max_file_bytes:
                        raise BundleError(f"The bundle is refused: the entry \"{name}\" holds "
                                          "more than its declared size.")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise BundleError(f"The bundle's entry \"{name}\" is damaged ({exc}).") from None
        return b"".join(chunks)

    def sheet_text(self) -> str:
        self.declared_size(self.sheet_file, self.limits.max_sheet_bytes, "a sheet file")
        try:
            return self.read(self.sheet_file).decode("utf-8")
        except UnicodeDecodeError:
            raise BundleError(f"The bundle's {self.sheet_file} is not UTF-8 text.") from None

    def settings(self) -> list[dict[str, Any]]:
        """The settings records, each naming its image's entry in ``file``."""
        if SETTINGS_JSON_NAME not in self.entries:
            return []
        # One row per image: a settings file far larger than its images need is refused from
        # its declared size, before a byte of it is parsed.
        budget = self.limits.settings_per_image * (len(self.images()) + 1)
        rows = self.read_json(SETTINGS_JSON_NAME, min(self.limits.max_json_bytes, budget))
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BundleError(f"The bundle's {SETTINGS_JSON_NAME} is not a list of records.")
        return rows

    def images(self) -> list[BundleEntry]:
        return sorted((e for e in self.entries.values() if e.kind == "image"),
                      key=lambda e: e.name)

    def image(self, entry: BundleEntry) -> bytes:
        """One image's bytes, its declared size checked against the image limit first."""
        self.declared_size(entry.name, self.limits.max_image_bytes, "one image")
        return self.read(entry.name)

    def references(self) -> list[BundleEntry]:
        """The character's reference images (``references/``)."""
        return sorted((e for e in self.entries.values() if e.kind == "reference"),
                      key=lambda e: e.name)

    def extract(
        self,
        target: Path,
        *,
        overwrite: bool = False,
        kinds: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Path]:
        """Write every checked entry (of ``kinds``: manifest, settings, sheet, image, reference,
        document; None: all) under ``target``, created if needed; returns the paths written.

        Nothing is written outside ``target``; an existing file is refused unless ``overwrite``.
        """
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        plan: list[tuple[BundleEntry, Path]] = []
        for entry in self.entries.values():
            if kinds is not None and entry.kind not in kinds:
                continue
            dest = root.joinpath(*entry.path.parts)
            if not dest.parent.resolve().is_relative_to(root):
                raise BundleError(f"The bundle is refused: \"{entry.name}\" would be written "
                                  f"outside {target}.")
            if (dest.exists() or dest.is_symlink()) and not overwrite:
                raise BundleError(f"{dest} already exists; import into an empty folder.")
            plan.append((entry, dest))
        steps = Steps(len(plan), progress, cancel)
        written: list[Path] = []
        for entry, dest in plan:
            steps.step(f"Unpacking {entry.name}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            # Check again once the folder exists: a link planted as the folder is refused.
            if not dest.parent.resolve().is_relative_to(root):
                raise BundleError(f"The bundle is refused: \"{entry.name}\" would be written "
                                  f"outside {target}.")
            data = self.read(entry.name)
            with atomic_path(dest) as temp:
                temp.write_bytes(data)
            written.append(dest)
        steps.finish()
        return written


@contextlib.contextmanager
def open_bundle(path: Path, limits: BundleLimits | None = None) -> Iterator[Bundle]:
    with Bundle(path, limits) as bundle:
        yield bundle
