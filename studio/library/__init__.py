"""The local project library: SQLite (WAL) records plus content-addressed image files.

Public API: ``Library`` (with one object per aggregate) and the records in ``models``; what
changed after each write in ``changes``; errors in ``errors``; PNG metadata in ``metadata``;
CLI helpers in ``commands``.
"""

from .changes import LibraryChange
from .errors import (
    ImageImportError,
    LibraryBusyError,
    LibraryError,
    LibraryReadOnlyError,
    LibraryStorageError,
    LibraryVersionError,
    RecordNotFoundError,
)
from .jobs import SubmittedJob
from .library import BusyPolicy, Library
from .models import (
    AnchorSpec,
    AnchorVersion,
    Approval,
    CharacterRecord,
    CheckReport,
    EmptiedTrash,
    ImageHealth,
    ImportResult,
    JobRecord,
    JobState,
    Outcome,
    ProjectRecord,
    RenderDraft,
    RenderFilter,
    RenderPage,
    RenderRecord,
    SceneRecord,
    SceneSpec,
    SceneSuggestion,
    SheetCell,
    SheetRecord,
    Timings,
)
from .schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "AnchorSpec",
    "AnchorVersion",
    "Approval",
    "BusyPolicy",
    "CharacterRecord",
    "CheckReport",
    "EmptiedTrash",
    "ImageHealth",
    "ImageImportError",
    "ImportResult",
    "JobRecord",
    "JobState",
    "Library",
    "LibraryBusyError",
    "LibraryChange",
    "LibraryError",
    "LibraryReadOnlyError",
    "LibraryStorageError",
    "LibraryVersionError",
    "Outcome",
    "ProjectRecord",
    "RecordNotFoundError",
    "RenderDraft",
    "RenderFilter",
    "RenderPage",
    "RenderRecord",
    "SceneRecord",
    "SceneSpec",
    "SceneSuggestion",
    "SheetCell",
    "SheetRecord",
    "SubmittedJob",
    "Timings",
]
