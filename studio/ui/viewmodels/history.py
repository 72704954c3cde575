"""One saved version of the character's anchor, as the history picker lists it (the library
keeps the versions; :class:`~studio.ui.viewmodels.sheet_library.SheetLibrary` reads them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnchorHistoryEntry:
    label: str
    anchor: str
    seed: int | None = None
    negative: str | None = None
