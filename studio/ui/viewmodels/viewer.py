"""The image viewer's view-model: the list of images it was opened on, the one shown, its render
as the library holds it (read off the GUI thread, and again when the library says it changed),
and the full-size image, decoded on a worker.

Going to the next or previous image drops any answer still on its way for the one left (a
generation number), so a fast run through the list shows the image the user stopped on.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.image_actions import ImageItem
from studio.ui.viewmodels.images import decode_scaled
from studio.ui.viewmodels.inspector import PromptText, render_facts, shown_prompt

if TYPE_CHECKING:
    from studio.library import Library, RenderRecord
    from studio.library.changes import LibraryChange
    from studio.ui.viewmodels.changes import LibraryChanges


class ViewerModel(QObject):
    """``changed`` when the image shown, its record or the error changed; ``imageReady`` when
    the shown image's pixels have been decoded (``image``)."""

    changed = Signal()
    imageReady = Signal()

    def __init__(self, background: Background, library: Library | None,
                 changes: LibraryChanges | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bg = background
        self._library = library
        self.items: list[ImageItem] = []
        self.index = -1
        self.record: RenderRecord | None = None
        self.image: QImage | None = None
        self.error = ""
        self._generation = 0
        self._pending = 0
        # The newest read of the record wins: a write announced while one is on its way reads
        # it again (the first may have seen the library just before the write).
        self._record_read_no = 0
        self._record_waiting = False
        if changes is not None:
            changes.changed.connect(self._library_changed)

    # ------------------------------------------------------------------ state
    @property
    def current(self) -> ImageItem | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    @property
    def loading(self) -> bool:
        return self._pending > 0

    @property
    def position(self) -> str:
        """"3 of 12" (empty for a single image)."""
        return f"{self.index + 1} of {len(self.items)}" if len(self.items) > 1 else ""

    def facts(self) -> list[tuple[str, str]]:
        """The settings shown beside the image: the render's when the library has it."""
        item = self.current
        if self.record is not None:
            return render_facts(self.record)
        if item is None:
            return []
        rows = [("File", item.path.name)]
        if self.image is not None:
            rows.append(("Size", f"{self.image.width()}x{self.image.height()}"))
        return rows

    @property
    def prompt(self) -> PromptText:
        """The render's prompt as shown (its reference clause shortened), empty without one."""
        return shown_prompt(self.record) if self.record is not None else PromptText("", "")

    # ------------------------------------------------------------------ moving
    def open(self, items: list[ImageItem], index: int = 0) -> None:
        self.items = list(items)
        self.go(index)

    def go(self, index: int) -> None:
        if not self.items:
            self.index = -1
            return
        self.index = max(0, min(len(self.items) - 1, index))
        self._load()

    def next(self) -> bool:
        if self.index + 1 < len(self.items):
            self.go(self.index + 1)
            return True
        return False

    def previous(self) -> bool:
        if self.index > 0:
            self.go(self.index - 1)
            return True
        return False

    # ------------------------------------------------------------------ reading
    def _load(self) -> None:
        item = self.current
        assert item is not None
        self._generation += 1
        generation = self._generation
        self.record, self.image, self.error = None, None, ""
        self._pending = 1
        self._record_waiting = False
        self._bg.run(partial(decode_scaled, item.path, 0),
                     partial(self._decoded, generation), partial(self._failed, generation),
                     owner=self, what=f"Reading {item.path.name}")
        self._read_record(generation)
        self.changed.emit()

    def _read_record(self, generation: int) -> None:
        item, library = self.current, self._library
        if item is None or item.render_id is None or library is None:
            return
        render_id = item.render_id
        if not self._record_waiting:
            self._record_waiting = True
            self._pending += 1
        self._record_read_no += 1
        read_no = self._record_read_no
        self._bg.run(lambda: library.renders.get(render_id),
                     partial(self._record_read, generation, read_no),
                     partial(self._record_failed, generation, read_no),
                     owner=self, what="Reading the render's settings")

    def _decoded(self, generation: int, image: QImage) -> None:
        if generation != self._generation:
            return
        self._pending -= 1
        self.image = image
        self.imageReady.emit()
        self.changed.emit()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._pending -= 1
        item = self.current
        name = item.title if item is not None else "the image"
        self.error = (f"“{name}” cannot be shown: {exc}. Run `studio library check` if its "
                      "file was moved or damaged.")
        self.changed.emit()

    def _record_answered(self, generation: int, read_no: int) -> bool:
        """An answer to the newest read of the record shown: it is counted done."""
        if generation != self._generation or read_no != self._record_read_no:
            return False
        self._record_waiting = False
        self._pending -= 1
        return True

    def _record_read(self, generation: int, read_no: int, record: RenderRecord) -> None:
        if not self._record_answered(generation, read_no):
            return
        self.record = record
        self.changed.emit()

    def _record_failed(self, generation: int, read_no: int, exc: BaseException) -> None:
        if not self._record_answered(generation, read_no):
            return
        self.error = f"The render's settings cannot be read: {exc}"
        self.changed.emit()

    def _library_changed(self, change: LibraryChange) -> None:
        item = self.current
        if item is not None and item.render_id in change.renders:
            self._read_record(self._generation)
