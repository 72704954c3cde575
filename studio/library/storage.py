"""Image files stored once by content hash, written so a crash never leaves a partial file.

A file's name is the sha256 of its stored bytes (for a PNG: after the metadata chunks are
added), in a two-character shard directory: ``images/ab/abcdef....png``. A new file is written
to ``tmp/``, flushed and fsynced, renamed into place, and the shard directory fsynced; only then
does the database record it. A crash leaves at most a temp file or an unrecorded image, which
``check`` cleans up or sets aside, never a record pointing at a partial file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Protocol

from studio.core.files import fsync_dir
from studio.core.imagefile import content_hash, sniff_format

from .errors import LibraryError, storage_error_from_os

IMAGE_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}

__all__ = ["IMAGE_EXTENSIONS", "DurableFileWriter", "FileWriter", "ImageStore", "content_hash",
           "fsync_dir", "sniff_format"]


class FileWriter(Protocol):
    """Writes a new file durably. The seam tests use to simulate a full or read-only disk."""

    def write_new(self, path: Path, data: bytes) -> None:
        """Create ``path`` (it does not exist), write ``data``, flush and fsync it."""
        ...


class DurableFileWriter:
    """The real writer: exclusive create, write, fsync."""

    def write_new(self, path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)




class ImageStore:
    """The ``images/`` tree of a library."""

    def __init__(self, images_dir: Path, tmp_dir: Path, writer: FileWriter | None = None) -> None:
        self.images_dir = images_dir
        self.tmp_dir = tmp_dir
        self._writer: FileWriter = writer or DurableFileWriter()

    def relative_path(self, digest: str, fmt: str) -> str:
        ext = IMAGE_EXTENSIONS.get(fmt, "bin")
        return f"{digest[:2]}/{digest}.{ext}"

    def path(self, relative: str) -> Path:
        return self.images_dir / relative

    def store(self, data: bytes, fmt: str) -> tuple[str, str, bool]:
        """Write ``data`` unless an identical file is already there.

        Returns (hash, path relative to ``images/``, whether this call created the file).
        """
        digest = content_hash(data)
        relative = self.relative_path(digest, fmt)
        final = self.path(relative)
        if final.is_file() and final.stat().st_size == len(data):
            return digest, relative, False
        tmp = self.tmp_dir / f"{digest[:16]}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            final.parent.mkdir(parents=True, exist_ok=True)
            self._writer.write_new(tmp, data)
            tmp.replace(final)
            fsync_dir(final.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            error = storage_error_from_os(exc, "save the image")
            if error is not None:
                raise error from exc
            raise LibraryError(f"Could not save the image: {exc}") from exc
        return digest, relative, True

    def remove(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(relative).unlink()

    def temp_files(self) -> list[Path]:
        try:
            return [p for p in self.tmp_dir.iterdir() if p.is_file()]
        except FileNotFoundError:
            return []
