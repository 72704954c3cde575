"""The local project library: SQLite (WAL) records plus content-addressed image files.

Public API: ``Library`` and the records in ``models``; errors in ``errors``; PNG metadata in
``metadata``; ``default_data_dir`` in ``paths``; CLI helpers in ``commands``.
"""

from .errors import (
    ImageImportError,
    LibraryBusyError,
    LibraryError,
    LibraryReadOnlyError,
    LibraryStorageError,
    LibraryVersionError,
    RecordNotFoundError,
)
from .library import BusyPolicy, Library
from .models import (
    AnchorSpec,
    AnchorVersion,
    Approval,
    CharacterRecord,
    CheckReport,
    EmptiedTrash,
    ImportResult,
    JobRecord,
    JobState,
    ProjectRecord,
    RenderDraft,
    RenderFilter,
    RenderPage,
    RenderRecord,
    RenderResult,
    RenderStatus,
    SceneRecord,
    SceneSpec,
    SceneSuggestion,
    SheetCell,
    SheetRecord,
    scene_text_hash,
)
from .paths import default_data_dir
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
    "ImageImportError",
    "ImportResult",
    "JobRecord",
    "JobState",
    "Library",
    "LibraryBusyError",
    "LibraryError",
    "LibraryReadOnlyError",
    "LibraryStorageError",
    "LibraryVersionError",
    "ProjectRecord",
    "RecordNotFoundError",
    "RenderDraft",
    "RenderFilter",
    "RenderPage",
    "RenderRecord",
    "RenderResult",
    "RenderStatus",
    "SceneRecord",
    "SceneSpec",
    "SceneSuggestion",
    "SheetCell",
    "SheetRecord",
    "default_data_dir",
    "scene_text_hash",
]
