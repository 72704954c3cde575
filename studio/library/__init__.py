"""The local project library: SQLite (WAL) records plus content-addressed image files.

Public API: ``Library`` (with one object per aggregate) and the records in ``models``; what
changed after each write in ``changes``; errors in ``errors``; PNG metadata in ``metadata``;
CLI helpers in ``commands``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each name is imported from its module on first use: importing one module of the library (its
# binding, its models) does not import every part of it, and start-up pays only for what a
# command uses.
_MODULE_OF = {
    "AnchorSpec": "models",
    "AnchorVersion": "models",
    "Approval": "models",
    "BusyPolicy": "library",
    "CharacterRecord": "models",
    "CheckReport": "models",
    "EmptiedTrash": "models",
    "ImageHealth": "models",
    "ImageImportError": "errors",
    "ImportResult": "models",
    "JobRecord": "models",
    "JobState": "models",
    "Library": "library",
    "LibraryBusyError": "errors",
    "LibraryChange": "changes",
    "LibraryError": "errors",
    "LibraryReadOnlyError": "errors",
    "LibraryStorageError": "errors",
    "LibraryVersionError": "errors",
    "Outcome": "models",
    "ProjectRecord": "models",
    "RecordNotFoundError": "errors",
    "RenderDraft": "models",
    "RenderFilter": "models",
    "RenderPage": "models",
    "RenderRecord": "models",
    "SCHEMA_VERSION": "schema",
    "SceneRecord": "models",
    "SceneSpec": "models",
    "SceneSuggestion": "models",
    "SheetCell": "models",
    "SheetRecord": "models",
    "SubmittedJob": "jobs",
    "Timings": "models",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
