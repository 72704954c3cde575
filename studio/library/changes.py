"""What the library announces after every write: which records changed.

Storage announces, views listen (Anki's ``OpChanges``): the grid, the library browser, the
inspector and the consistency view each refresh what they show from these announcements, so a
verdict made anywhere shows everywhere. Announcements are made after the write is committed, on
the thread that wrote; a listener that needs another thread (the GUI) hands them over itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger("studio.library")


@dataclass(frozen=True, slots=True)
class LibraryChange:
    """The ids of the records one write changed (added, edited or deleted)."""

    projects: frozenset[int] = field(default_factory=frozenset)
    characters: frozenset[int] = field(default_factory=frozenset)
    sheets: frozenset[int] = field(default_factory=frozenset)
    renders: frozenset[int] = field(default_factory=frozenset)
    jobs: frozenset[int] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.projects or self.characters or self.sheets or self.renders
                    or self.jobs)

    def __or__(self, other: LibraryChange) -> LibraryChange:
        return LibraryChange(self.projects | other.projects,
                             self.characters | other.characters, self.sheets | other.sheets,
                             self.renders | other.renders, self.jobs | other.jobs)


ChangeListener = Callable[[LibraryChange], None]


class ChangeCollector:
    """Gathers what one transaction changes; announced only if it commits."""

    def __init__(self) -> None:
        self.change = LibraryChange()

    def note(self, *, projects: Iterable[int] = (), characters: Iterable[int] = (),
             sheets: Iterable[int] = (), renders: Iterable[int] = (),
             jobs: Iterable[int] = ()) -> None:
        self.change = self.change | LibraryChange(
            frozenset(projects), frozenset(characters), frozenset(sheets), frozenset(renders),
            frozenset(jobs))


class Announcer:
    """Keeps the listeners and tells them of each committed change."""

    def __init__(self) -> None:
        self._listeners: list[ChangeListener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener`` after every committed write; returns the unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def announce(self, change: LibraryChange) -> None:
        if not change:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(change)
            except Exception:  # a broken view must not undo a committed write
                log.exception("a library change listener failed")
