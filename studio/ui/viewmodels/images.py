"""Decoded, scaled images for cards and thumbnails, loaded on worker threads.

``ImageCache.get`` never blocks: it answers with what is cached (or None) and, when needed,
starts a decode on the background pool; ``loaded`` fires on the GUI thread when it is ready.
QImage (unlike QPixmap) may be built off the GUI thread. A few decodes run at once, the newest
asked first (the cards that just came into sight): decoding never takes every core from the GUI
thread while the grid scrolls.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader

from studio.ui.viewmodels.background import Background


def decode_scaled(path: Path, max_side: int) -> QImage:
    """Read ``path`` and scale it to fit ``max_side`` (worker thread)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if max_side > 0 and size.isValid() and max(size.width(), size.height()) > max_side:
        scaled = size.scaled(QSize(max_side, max_side), Qt.AspectRatioMode.KeepAspectRatio)
        reader.setScaledSize(scaled)
    image = reader.read()
    if image.isNull():
        raise OSError(f"{path.name} cannot be read as an image ({reader.errorString()})")
    return image


class ImageCache(QObject):
    """A bounded cache of scaled images keyed by (path, size)."""

    loaded = Signal(str)  # the path, as text
    failedToLoad = Signal(str, str)

    def __init__(self, background: Background, parent: QObject | None = None,
                 capacity: int = 600, decoders: int | None = None) -> None:
        super().__init__(parent)
        self._bg = background
        self._capacity = capacity
        self._images: OrderedDict[tuple[str, int], QImage] = OrderedDict()
        #: Asked and not decoded yet: being decoded, or waiting to be.
        self._loading: set[tuple[str, int]] = set()
        self._broken: dict[tuple[str, int], str] = {}
        #: At most this many decodes at once (one core left to the GUI thread); the others
        #: wait, the newest asked on top.
        self._decoders = decoders  # None: as many as the cores left to it (the first decode)
        self._decoding = 0
        self._waiting: list[tuple[tuple[str, int], Path]] = []

    @property
    def loading(self) -> int:
        return len(self._loading)

    def get(self, path: Path | None, max_side: int) -> QImage | None:
        if path is None:
            return None
        key = (str(path), max_side)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        if key not in self._loading and key not in self._broken:
            self._loading.add(key)
            self._waiting.append((key, path))
            self._decode_next()
        return None

    def _decode_next(self) -> None:
        if self._decoders is None:
            from studio.core.priority import background_threads  # read after the first paint

            self._decoders = background_threads()
        while self._decoding < self._decoders and self._waiting:
            key, path = self._waiting.pop()  # the newest asked: most likely still in sight
            self._decoding += 1
            self._bg.run(partial(decode_scaled, path, key[1]),
                         partial(self._store, key), partial(self._fail, key),
                         owner=self, what=f"Reading {path.name}")

    def _store(self, key: tuple[str, int], image: QImage) -> None:
        self._decoding -= 1
        self._loading.discard(key)
        self._images[key] = image
        while len(self._images) > self._capacity:
            self._images.popitem(last=False)
        self._decode_next()
        self.loaded.emit(key[0])

    def _fail(self, key: tuple[str, int], exc: BaseException) -> None:
        self._decoding -= 1
        self._loading.discard(key)
        self._broken[key] = f"The image cannot be shown: {exc}"
        self._decode_next()
        self.failedToLoad.emit(key[0], str(exc))

    def state(self, path: Path, max_side: int) -> object:
        """What a picture drawing ``path`` at ``max_side`` shows, without asking for it: the
        decoded image (its cache key), why it cannot be shown, or "" while it is not here."""
        key = (str(path), max_side)
        image = self._images.get(key)
        return image.cacheKey() if image is not None else self._broken.get(key, "")

    def problem(self, path: Path, max_side: int) -> str:
        """Why ``path`` cannot be shown ("" while it loads or once it is shown)."""
        return self._broken.get((str(path), max_side), "")

    def clear(self) -> None:
        self._images.clear()

    def forget(self, path: Path) -> None:
        for key in [k for k in self._images if k[0] == str(path)]:
            del self._images[key]
        self._broken = {k: v for k, v in self._broken.items() if k[0] != str(path)}
