"""The library's records: plain frozen dataclasses, no SQL and no Qt.

Callers build ``RenderDraft`` / ``RenderResult`` / ``AnchorSpec`` / ``SceneSpec`` values and get
``*Record`` values back. Times are timezone-aware UTC ``datetime``s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from studio.core.parameters import ImageParameters
from studio.core.request import GenerationRequest, Stage

__all__ = [
    "AnchorSpec",
    "AnchorVersion",
    "Approval",
    "CharacterRecord",
    "CheckReport",
    "EmptiedTrash",
    "ImportResult",
    "JobRecord",
    "JobState",
    "ProjectRecord",
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
    "Stage",
    "scene_text_hash",
]


class Approval(StrEnum):
    NONE = "none"
    APPROVED = "approved"
    REJECTED = "rejected"


class RenderStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    #: ``check`` found the image file gone; the record and its settings are kept.
    MISSING = "missing"
    #: ``check`` found the image file's bytes do not match their hash.
    DAMAGED = "damaged"


class JobState(StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


def scene_text_hash(setting: str, lighting: str, lens: str, framing: str,
                    pattern: str = "", seed: int | None = None) -> str:
    """A short hash of the scene text that shapes the prompt; notes and order do not count.

    A render stores the hash its scene had; a different current hash marks the cell out of date.
    A scene's pattern and its own seed take part only when set, so scenes without them keep
    the hashes earlier versions stored.
    """
    parts = [setting.strip(), lighting.strip(), lens.strip(), framing.strip()]
    if pattern.strip() or seed is not None:
        parts += [pattern.strip(), "" if seed is None else str(seed)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: int
    name: str
    created: datetime
    notes: str = ""
    render_count: int = 0


@dataclass(frozen=True, slots=True)
class CharacterRecord:
    id: int
    project_id: int
    name: str
    created: datetime


@dataclass(frozen=True, slots=True)
class AnchorSpec:
    """What the user typed for a character's anchor; saving a changed one makes a new version."""

    anchor: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    negative: str = ""


@dataclass(frozen=True, slots=True)
class AnchorVersion:
    id: int
    character_id: int
    version: int
    anchor: str
    fields: Mapping[str, Any]
    seed: int | None
    negative: str
    created: datetime


@dataclass(frozen=True, slots=True)
class SheetRecord:
    id: int
    project_id: int
    name: str
    path: str
    character_id: int | None
    created: datetime


@dataclass(frozen=True, slots=True)
class SceneSpec:
    """One scene of a sheet as the sheet file has it; scenes are matched by name."""

    name: str
    setting: str = ""
    lighting: str = ""
    lens: str = ""
    framing: str = ""
    notes: str = ""
    pattern: str = ""
    seed: int | None = None  # the scene's own seed; None when it uses the sheet's

    @property
    def text_hash(self) -> str:
        return scene_text_hash(self.setting, self.lighting, self.lens, self.framing,
                               self.pattern, self.seed)


@dataclass(frozen=True, slots=True)
class SceneRecord:
    id: int
    sheet_id: int
    name: str
    position: int
    setting: str
    lighting: str
    lens: str
    framing: str
    notes: str
    text_hash: str


@dataclass(frozen=True, slots=True)
class RenderDraft:
    """Everything known about a render before the provider answers."""

    project_id: int
    stage: Stage
    provider: str
    model: str
    prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    negative: str = ""
    seed_requested: int | None = None
    sheet_id: int | None = None
    scene_id: int | None = None
    anchor_version_id: int | None = None
    #: The preview a final was made from.
    parent_id: int | None = None
    #: Names as the user saw them (kept even if the scene or character is later removed).
    scene_name: str = ""
    character_name: str = ""
    #: The scene's text hash when rendered; None takes the scene's current hash.
    scene_text_hash: str | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()

    @classmethod
    def from_request(
        cls,
        request: GenerationRequest,
        *,
        project_id: int,
        provider: str,
        sheet_id: int | None = None,
        scene_id: int | None = None,
        anchor_version_id: int | None = None,
        parent_id: int | None = None,
        scene_text_hash: str | None = None,
    ) -> RenderDraft:
        return cls(
            project_id=project_id,
            stage=request.stage,
            provider=provider,
            model=request.model,
            prompt=request.prompt,
            negative=request.negative,
            width=request.width,
            height=request.height,
            steps=request.steps,
            guidance=request.guidance,
            seed_requested=request.seed,
            sheet_id=sheet_id,
            scene_id=scene_id,
            anchor_version_id=anchor_version_id,
            parent_id=parent_id,
            scene_name=request.context.scene,
            character_name=request.context.character,
            scene_text_hash=scene_text_hash,
        )


@dataclass(frozen=True, slots=True)
class RenderResult:
    """What the provider answered, besides the image bytes."""

    seed_returned: int | None = None
    request_id: str = ""
    #: Seconds per phase, e.g. {"queue": 1.2, "generate": 3.4, "download": 0.3}.
    timings: Mapping[str, float] = field(default_factory=dict)
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class RenderRecord:
    id: int
    project_id: int
    stage: Stage
    provider: str
    model: str
    request_id: str
    prompt: str
    negative: str
    width: int
    height: int
    steps: int
    guidance: float
    seed_requested: int | None
    seed_returned: int | None
    timings: Mapping[str, float]
    cost: float | None
    status: RenderStatus
    error: str
    parent_id: int | None
    approval: Approval
    star: bool
    tags: tuple[str, ...]
    sheet_id: int | None
    scene_id: int | None
    character_id: int | None
    anchor_version_id: int | None
    scene_name: str
    character_name: str
    scene_text_hash: str | None
    notes: str
    #: sha256 of the stored file's bytes (metadata chunks included); None for a failed render.
    image_hash: str | None
    image_path: Path | None
    #: Where the 256 px thumbnail is cached; it may not exist yet (``Library.thumbnail``).
    thumbnail_path: Path | None
    created: datetime
    trashed: datetime | None
    #: "studio" for renders the studio made, "import" for images from other tools.
    source: str

    @property
    def seed(self) -> int | None:
        """The seed that made the image: the provider's answer when it gave one."""
        return self.seed_returned if self.seed_returned is not None else self.seed_requested

    def as_dict(self) -> dict[str, Any]:
        """JSON-able data (for ``--json`` output and export sidecars); never a key."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "stage": self.stage.value,
            "status": self.status.value,
            "provider": self.provider,
            "model": self.model,
            "request_id": self.request_id,
            "prompt": self.prompt,
            "negative": self.negative,
            "width": self.width,
            "height": self.height,
            "steps": self.steps,
            "guidance": self.guidance,
            "seed": self.seed,
            "seed_requested": self.seed_requested,
            "seed_returned": self.seed_returned,
            "timings": dict(self.timings),
            "cost": self.cost,
            "error": self.error,
            "parent_id": self.parent_id,
            "approval": self.approval.value,
            "star": self.star,
            "tags": list(self.tags),
            "sheet_id": self.sheet_id,
            "scene_id": self.scene_id,
            "scene": self.scene_name,
            "character_id": self.character_id,
            "character": self.character_name,
            "anchor_version_id": self.anchor_version_id,
            "notes": self.notes,
            "image_hash": self.image_hash,
            "image": None if self.image_path is None else str(self.image_path),
            "created": self.created.isoformat(),
            "trashed": None if self.trashed is None else self.trashed.isoformat(),
            "source": self.source,
        }

    def parameters(self) -> ImageParameters:
        """The settings as the ``parameters`` text carries them (``metadata.format_parameters``)."""
        return ImageParameters(
            prompt=self.prompt,
            negative=self.negative,
            steps=self.steps or None,
            guidance=self.guidance or None,
            seed=self.seed,
            width=self.width,
            height=self.height,
            model=self.model,
            provider=self.provider,
        )


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One submission to a provider, kept so a crash resumes polling instead of resubmitting."""

    id: int
    draft: RenderDraft
    #: The provider-neutral request as JSON data (the render layer's serialisation).
    request: Mapping[str, Any]
    state: JobState
    provider_request_id: str
    poll_url: str
    #: The provider's own serialised submission (what it needs to resume polling).
    submission: Mapping[str, Any]
    attempts: int
    error: str
    render_id: int | None
    created: datetime
    updated: datetime

    @property
    def provider(self) -> str:
        return self.draft.provider

    @property
    def model(self) -> str:
        return self.draft.model


@dataclass(frozen=True, slots=True)
class RenderFilter:
    """Which renders to list; every field narrows, None means any."""

    text: str | None = None
    project_id: int | None = None
    character_id: int | None = None
    sheet_id: int | None = None
    scene_id: int | None = None
    stage: Stage | None = None
    provider: str | None = None
    approval: Approval | None = None
    starred: bool | None = None
    status: RenderStatus | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: False: live renders only; True: the trash only.
    trashed: bool = False


@dataclass(frozen=True, slots=True)
class RenderPage:
    items: tuple[RenderRecord, ...]
    #: Pass as ``offset`` for the next page; None when this is the last one.
    next_offset: int | None


@dataclass(frozen=True, slots=True)
class SheetCell:
    """The latest successful render of one scene at one stage, and whether it is out of date."""

    scene: SceneRecord
    stage: Stage
    render: RenderRecord
    #: "anchor" (rendered with an older anchor version) and/or "scene" (scene text changed).
    out_of_date: tuple[str, ...]

    @property
    def is_out_of_date(self) -> bool:
        return bool(self.out_of_date)


@dataclass(frozen=True, slots=True)
class SceneSuggestion:
    """Settings read from an imported image, ready to become a scene or reuse settings."""

    prompt: str = ""
    negative: str = ""
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance: float | None = None
    model: str = ""
    provider: str = ""
    #: Where the settings came from: "studio", "parameters" or "none".
    source: str = "none"


@dataclass(frozen=True, slots=True)
class ImportResult:
    render: RenderRecord
    suggestion: SceneSuggestion


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``Library.check`` found and, with ``repair``, what it fixed."""

    integrity: tuple[str, ...]
    #: Image hashes recorded but whose file is gone.
    missing_files: tuple[str, ...]
    #: Image hashes whose file bytes no longer match.
    hash_mismatches: tuple[str, ...]
    #: Image files no record uses (paths relative to the data dir).
    orphan_files: tuple[str, ...]
    temp_files_removed: int = 0
    orphans_moved: int = 0
    renders_marked: int = 0
    renders_restored: int = 0
    repaired: bool = False

    @property
    def integrity_ok(self) -> bool:
        return self.integrity == ("ok",)

    @property
    def ok(self) -> bool:
        return (
            self.integrity_ok
            and not self.missing_files
            and not self.hash_mismatches
            and not self.orphan_files
        )


@dataclass(frozen=True, slots=True)
class EmptiedTrash:
    renders_removed: int
    files_removed: int
