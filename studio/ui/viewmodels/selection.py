"""Which scenes the user has picked in the grid, and which one is current (the one the Scene
panel and the inspector show).

The grid writes it; the panels read it. It follows a scene through a rename (the document says
so before it says it changed), so the panel being typed in keeps showing the scene whose name
was just changed instead of losing it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from studio.ui.viewmodels.document import SheetDocument


class SceneSelection(QObject):
    """``changed`` fires when the current scene or the selected names change."""

    changed = Signal()

    def __init__(self, document: SheetDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._current: str | None = None
        self._names: tuple[str, ...] = ()
        document.sceneRenamed.connect(self._renamed)
        document.changed.connect(self._document_changed)

    @property
    def current(self) -> str | None:
        """The scene the panels show (None: no scene picked)."""
        return self._current

    @property
    def names(self) -> list[str]:
        """Every selected scene, in grid order."""
        return list(self._names)

    def set(self, current: str | None, names: list[str]) -> None:
        if current is None and names:
            current = names[0]
        if current == self._current and tuple(names) == self._names:
            return
        self._current, self._names = current, tuple(names)
        self.changed.emit()

    def _renamed(self, old: str, new: str) -> None:
        # No signal: the document's ``changed`` follows at once and every panel refreshes then.
        if self._current == old:
            self._current = new
        self._names = tuple(new if n == old else n for n in self._names)

    def _document_changed(self) -> None:
        present = set(self._doc.scene_names())
        names = tuple(n for n in self._names if n in present)
        current = self._current if self._current in present else None
        if (current, names) != (self._current, self._names):
            self._current, self._names = current, names
            self.changed.emit()
