"""What exports need of the library, as ports: the caller passes its open ``Library``.

Exports read (and bundle imports write) through these protocols rather than importing the
library's SQLite-backed class, so the export layer holds no SQL, not even indirectly (the
layering contract in pyproject.toml); ``studio.library.Library`` satisfies both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from studio.core.request import Stage
from studio.library.models import (
    AnchorSpec,
    AnchorVersion,
    Approval,
    CharacterRecord,
    ImportResult,
    ProjectRecord,
    RenderDraft,
    RenderFilter,
    RenderPage,
    RenderRecord,
    RenderResult,
    SceneRecord,
    SceneSpec,
    SheetCell,
    SheetRecord,
)


class LibraryReader(Protocol):
    """The reads an export makes."""

    def sheet_for_file(self, path: str) -> SheetRecord | None: ...

    def project_by_name(self, name: str) -> ProjectRecord | None: ...

    def sheets(self, project_id: int) -> list[SheetRecord]: ...

    def sheet_cells(self, sheet_id: int) -> list[SheetCell]: ...

    def anchor_versions(self, character_id: int) -> list[AnchorVersion]: ...

    def list_renders(
        self, where: RenderFilter | None = None, *, limit: int = 200, offset: int = 0
    ) -> RenderPage: ...


class LibraryWriter(Protocol):
    """The writes importing a bundle makes."""

    def ensure_project(self, name: str) -> ProjectRecord: ...

    def ensure_character(self, project_id: int, name: str) -> CharacterRecord: ...

    def save_anchor(self, character_id: int, spec: AnchorSpec) -> AnchorVersion: ...

    def save_sheet(
        self, project_id: int, name: str, path: str = "", character_id: int | None = None
    ) -> SheetRecord: ...

    def sync_scenes(self, sheet_id: int, scenes: Sequence[SceneSpec]) -> list[SceneRecord]: ...

    def record_render(
        self, draft: RenderDraft, image: bytes, result: RenderResult | None = None
    ) -> RenderRecord: ...

    def import_image(
        self, source: Path | bytes, project_id: int, *, stage: Stage = Stage.FINAL,
        name: str = "",
    ) -> ImportResult: ...

    def set_approval(self, render_ids: Iterable[int], approval: Approval) -> None: ...

    def set_star(self, render_ids: Iterable[int], star: bool) -> None: ...

    def render(self, render_id: int) -> RenderRecord: ...
