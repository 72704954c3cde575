"""The saved versions of the character's anchor, as the history picker lists them: the library
keeps one per anchor a render was made with (:class:`~studio.ui.viewmodels.sheet_library.
SheetLibrary` has them read when a sheet opens and when a batch adds one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library loads after the window shows
    from studio.core.sheet import Sheet
    from studio.library import AnchorVersion, Library


@dataclass(frozen=True)
class AnchorHistoryEntry:
    label: str
    anchor: str
    seed: int | None = None
    negative: str | None = None


def read_versions(library: Library, sheet: Sheet) -> list[AnchorVersion]:
    """The saved versions of ``sheet``'s character's anchor (blocking: run it on a worker)."""
    from studio.library.binding import project_name

    project = library.projects.by_name(project_name(sheet))
    if project is None:
        return []
    for character in library.characters.of_project(project.id):
        if character.name == sheet.character.name:
            return list(library.characters.anchor_versions(character.id))
    return []


def history_entries(versions: list[AnchorVersion], current: str) -> list[AnchorHistoryEntry]:
    """The picker's entries, newest first; the one whose anchor is ``current`` says so."""
    return [AnchorHistoryEntry(
        label=f"v{v.version} · {v.created.astimezone():%Y-%m-%d %H:%M}"
        + (" (current)" if v.anchor == current else ""),
        anchor=v.anchor, seed=v.seed, negative=v.negative or None)
        for v in sorted(versions, key=lambda v: v.version, reverse=True)]
