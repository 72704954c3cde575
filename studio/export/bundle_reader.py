"""Opening a bundle someone else made, trusting nothing: every entry's name, kind and size is
checked when it is opened, the manifest and the settings are read within the JSON limits, each
entry is read no further than its declared size, and unpacking writes under the target folder
only (see ``studio.export.bundle`` for the format and its rules)."""

from __future__ import annotations

import contextlib
import stat
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any

from studio.core import limits as core_limits
from studio.export.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_KIND,
    IMAGES_DIR,
    MANIFEST_NAME,
    REFERENCES_DIR,
    SETTINGS_JSON_NAME,
    SHEET_SUFFIX,
    BundleError,
    BundleLimits,
    check_entry_name,
    entry_kind,
)
from studio.export.files import atomic_path
from studio.export.model import CancelToken, ProgressCallback, Steps

_READ_CHUNK = 1 << 20


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode) if mode else False


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
            kind = entry_kind(rel)
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
