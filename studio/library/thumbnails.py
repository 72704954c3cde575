"""256 px thumbnails, made once on a worker thread and cached beside the images.

Sources are opened like any imported image (:mod:`~studio.library.decoding`): only the formats
a library holds (PNG, JPEG, WebP, and GIF from older versions) within the pixel limit, checked
from the header, so an oversized image already in an older library fails its thumbnail with a
sentence instead of being decoded.

``ThumbnailCache`` owns its executor: ``close`` cancels what has not started and waits for the
rest, so no thread outlives the library.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .decoding import STORED_FORMATS, damaged, open_image
from .storage import fsync_dir

THUMBNAIL_SIZE = 256


class ThumbnailCache:
    def __init__(
        self, thumbs_dir: Path, tmp_dir: Path, *, size: int = THUMBNAIL_SIZE, workers: int = 2
    ) -> None:
        self.thumbs_dir = thumbs_dir
        self.tmp_dir = tmp_dir
        self.size = size
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[Path]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def path_for(self, image_hash: str) -> Path:
        return self.thumbs_dir / image_hash[:2] / f"{image_hash}.{self.size}.png"

    def ensure(self, image_hash: str, source: Path) -> Future[Path]:
        """The thumbnail's path, once it exists; made on a worker thread if it is missing.

        The future fails with the error from reading ``source``: an ``ImageImportError``
        sentence (gone, not an image, over the pixel limit, damaged).
        """
        target = self.path_for(image_hash)
        if target.is_file():
            done: Future[Path] = Future()
            done.set_result(target)
            return done
        with self._lock:
            if self._closed:
                raise RuntimeError("the library is closed")
            pending = self._pending.get(image_hash)
            if pending is not None:
                return pending
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="studio-thumbnail"
                )
            future = self._executor.submit(self._make, source, target)
            self._pending[image_hash] = future
        future.add_done_callback(lambda _f: self._forget(image_hash))
        return future

    def _forget(self, image_hash: str) -> None:
        with self._lock:
            self._pending.pop(image_hash, None)

    def _make(self, source: Path, target: Path) -> Path:
        with open_image(source, source.name, STORED_FORMATS) as image:
            try:
                image.draft("RGB", (self.size, self.size))
                thumb = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise damaged(source.name, exc) from exc
        thumb.thumbnail((self.size, self.size))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp_dir / f"thumb.{os.getpid()}.{secrets.token_hex(6)}.png.tmp"
        try:
            thumb.save(tmp, "PNG")
            tmp.replace(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        fsync_dir(target.parent)
        return target

    def remove(self, image_hash: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_for(image_hash).unlink()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
