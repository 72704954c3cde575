"""The characters' reference images in the library: stored once by content hash, like a render's
image, and read back by hash when a render sends them.

A reference image is kept exactly as its file was (no metadata chunks are added), so its name in
the store is the sha256 of the file the user chose, the same hash a sheet file's reference gets
when it is read (``studio.core.reference_files.read_references``). It is checked before it is
stored: a PNG, JPEG or WebP image that decodes, within the size and pixel limits.

Reading by hash needs no database (:class:`ReferenceFiles`): the file's name is its hash, and
the bytes are checked against it on every read. That is the reader the providers are given
(``studio.core.references.ReferenceReader``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from studio.core.anchor import ReferenceImage, ReferenceRole
from studio.core.errors import StudioInputError
from studio.core.imagefile import ImageFileError, read_image_file, sniff_format
from studio.core.references import ReferenceUnavailableError

from . import paths
from .database import Database
from .decoding import IMAGE_FORMATS, check_image
from .errors import ImageImportError, LibraryError
from .files import Files
from .storage import IMAGE_EXTENSIONS, DurableFileWriter, content_hash, fsync_dir

#: The formats a reference image may have (what the image APIs take).
REFERENCE_FORMATS = IMAGE_FORMATS


class ReferenceImageError(LibraryError, StudioInputError):
    """A file or render cannot be a reference image; the message names it and says why."""


def check_reference_image(data: bytes, label: str) -> tuple[str, int, int]:
    """The format, width and height of ``data`` once it has decoded in full; a
    :class:`ReferenceImageError` naming ``label`` when it is not a PNG, JPEG or WebP image, is
    damaged, or is over the byte or pixel limits (the limits every image the studio reads
    keeps: ``library.decoding``). Blocking (decodes the image)."""
    try:
        checked = check_image(data, label, refused="it cannot be used as a reference image")
    except ImageImportError as exc:
        raise ReferenceImageError(str(exc)) from None
    return checked.format, checked.width, checked.height


class ReferenceFiles:
    """Reads stored images by hash, with no database: the reader the providers are given."""

    def __init__(self, images_dir: Path) -> None:
        self.images_dir = images_dir

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ReferenceFiles:
        """The reader for the library in ``data_dir`` (nothing is opened until a read)."""
        return cls(Path(data_dir) / paths.IMAGES_DIR)

    def path(self, sha256: str) -> Path | None:
        """Where the image stored under ``sha256`` is, or None when it is not stored."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            return None
        for ext in dict.fromkeys(IMAGE_EXTENSIONS.values()):
            candidate = self.images_dir / sha256[:2] / f"{sha256}.{ext}"
            if candidate.is_file():
                return candidate
        return None

    def reference_bytes(self, sha256: str) -> bytes:
        """The stored image's bytes, checked against ``sha256``."""
        short = sha256[:8] or "(no hash)"
        path = self.path(sha256)
        if path is None:
            raise ReferenceUnavailableError(
                f"The reference image {short} is not in the library; render the sheet again "
                "from its file so its reference images are stored.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReferenceUnavailableError(
                f"The reference image {short} cannot be read ({exc.strerror or exc}); run "
                "`studio library check`.") from None
        if content_hash(data) != sha256:
            raise ReferenceUnavailableError(
                f"The reference image {short} is damaged in the library (its bytes changed); "
                "run `studio library check`, then render the sheet again from its file.")
        return data


class References:
    """Reference images: stored (checked, by hash, unmodified), read back, taken from a render
    ("Use as reference") or copied beside a sheet file so the sheet can name them."""

    def __init__(self, db: Database, files: Files) -> None:
        self._db = db
        self._files = files
        self._reader = ReferenceFiles(files.images.images_dir)

    def store(self, data: bytes, label: str, *, checked: bool = False) -> str:
        """Check ``data`` (:func:`check_reference_image`; ``checked``: the caller just did),
        write it to the images store (the file first, durably) and record it; returns its
        sha256. Storing the same image twice stores it once."""
        self._db.require_writable("store the reference image")
        fmt = sniff_format(data) if checked else check_reference_image(data, label)[0]
        with self._db.lock:
            digest, relative, created = self._files.images.store(data, fmt)
            try:
                with self._db.transaction("store the reference image") as (conn, _changed):
                    if created:
                        # Inside a larger transaction (an import) the file must go if that one
                        # rolls back later, not only if this insert fails.
                        self._db.on_rollback(lambda: self._files.images.remove(relative))
                    conn.execute(
                        "INSERT INTO images (hash, path, format, bytes, created) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                        (digest, relative, fmt, len(data), self._db.now()))
                    conn.execute("DELETE FROM deleted_images WHERE path = ?", (relative,))
            except BaseException:
                if created:
                    self._files.images.remove(relative)
                raise
        return digest

    def read_file(self, path: Path, label: str) -> bytes:
        """The bytes of the image file at ``path`` (read within the size limit); a
        :class:`ReferenceImageError` naming ``label`` when it cannot be had."""
        try:
            return read_image_file(Path(path), formats=REFERENCE_FORMATS)
        except ImageFileError as exc:
            raise ReferenceImageError(f"{label} {exc.problem}; {exc.hint}.") from None

    def store_file(self, path: Path, label: str | None = None) -> str:
        """:meth:`store` for the image file at ``path``."""
        label = label or str(path)
        return self.store(self.read_file(path, label), label)

    def is_stored(self, sha256: str) -> bool:
        with self._db.read("look up a reference image") as conn:
            row = conn.execute("SELECT 1 FROM images WHERE hash = ?", (sha256,)).fetchone()
        return row is not None

    def path(self, sha256: str) -> Path | None:
        """The stored file of the image (for thumbnails), or None when it is not stored."""
        return self._reader.path(sha256)

    def reference_bytes(self, sha256: str) -> bytes:
        """The image's bytes, checked against its hash (``ReferenceReader``)."""
        return self._reader.reference_bytes(sha256)

    def from_render(self, render_id: int,
                    role: ReferenceRole = ReferenceRole.FACE) -> ReferenceImage:
        """A render's image as a reference ("Use as reference"): stored already, so only
        checked; its ``path`` is the library's file. Put it beside the sheet with
        :meth:`copy_beside` so the sheet file can name it."""
        from .renders import RENDER_SELECT

        with self._db.read("read the render") as conn:
            row = self._db.one(conn, f"{RENDER_SELECT} WHERE r.id = ?", (render_id,),
                               f"render {render_id}")
        if row["image_hash"] is None or row["image_rel"] is None:
            raise ReferenceImageError(f"Render {render_id} has no image to use as a reference.")
        path = self._files.image_path(row["image_rel"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReferenceImageError(f"The image of render {render_id} cannot be read "
                                      f"({exc.strerror or exc}); run `studio library check`."
                                      ) from None
        check_reference_image(data, f"The image of render {render_id}")
        return ReferenceImage(sha256=content_hash(data), role=role, path=str(path))

    def copy_beside(self, sha256: str, sheet_path: Path, role: ReferenceRole,
                    folder: str = "refs") -> ReferenceImage:
        """Copy the stored image into ``folder`` next to the sheet file (made if needed; an
        existing file is never overwritten) and return the reference as the sheet names it."""
        data = self.reference_bytes(sha256)
        ext = IMAGE_EXTENSIONS.get(sniff_format(data), "png")
        target_dir = Path(sheet_path).parent / folder
        name = f"{Path(sheet_path).name.split('.')[0] or 'sheet'}-{role.value}-{sha256[:8]}"
        target = target_dir / f"{name}.{ext}"
        if not (target.is_file() and content_hash(target.read_bytes()) == sha256):
            try:
                target_dir.mkdir(parents=True, exist_ok=True)
                number = 2
                while target.exists():
                    target = target_dir / f"{name}-{number}.{ext}"
                    number += 1
                # Written whole under a temporary name, then renamed: never half a file.
                temp = target.with_name(f".{target.name}.tmp")
                temp.unlink(missing_ok=True)
                DurableFileWriter().write_new(temp, data)
                temp.replace(target)
                fsync_dir(target_dir)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    target.with_name(f".{target.name}.tmp").unlink()
                raise ReferenceImageError(f"Could not copy the reference image to {target_dir} "
                                          f"({exc.strerror or exc}); check that the folder is "
                                          "writable.") from None
        return ReferenceImage(sha256=sha256, role=role,
                              path=target.relative_to(Path(sheet_path).parent).as_posix())
