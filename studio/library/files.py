"""The library's image files: the content-addressed store and the thumbnail cache."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from pathlib import Path

from . import paths
from .errors import LibraryError
from .models import RenderRecord
from .storage import FileWriter, ImageStore
from .thumbnails import ThumbnailCache


class Files:
    """Where a library keeps its images (``images/``, ``thumbs/``, ``tmp/``)."""

    def __init__(self, data_dir: Path, *, file_writer: FileWriter | None = None,
                 thumbnail_workers: int = 2) -> None:
        self.data_dir = data_dir
        self.images = ImageStore(data_dir / paths.IMAGES_DIR, data_dir / paths.TMP_DIR,
                                 file_writer)
        self.thumbnails = ThumbnailCache(data_dir / paths.THUMBS_DIR, data_dir / paths.TMP_DIR,
                                         workers=thumbnail_workers)

    def prepare(self) -> None:
        """Make the folders a writer needs and clear what an interrupted write left."""
        for folder in (paths.IMAGES_DIR, paths.THUMBS_DIR, paths.TMP_DIR):
            with contextlib.suppress(OSError):  # a full disk shows up on the first save
                (self.data_dir / folder).mkdir(exist_ok=True)
        self.remove_temp_files()

    def remove_temp_files(self) -> int:
        removed = 0
        for path in self.images.temp_files():
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed

    def image_path(self, relative: str) -> Path:
        return self.images.path(relative)

    def thumbnail_path(self, image_hash: str) -> Path:
        return self.thumbnails.path_for(image_hash)

    def thumbnail(self, render: RenderRecord) -> Future[Path]:
        """The render's 256 px thumbnail, made on a worker thread if not cached yet."""
        if render.image_hash is None or render.image_path is None:
            failed: Future[Path] = Future()
            failed.set_exception(LibraryError(f"Render {render.id} has no image."))
            return failed
        return self.thumbnails.ensure(render.image_hash, render.image_path)

    def close(self) -> None:
        """Finish thumbnails in progress."""
        self.thumbnails.close()
