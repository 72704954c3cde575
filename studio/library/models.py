"""The library's records: plain frozen dataclasses, no SQL and no Qt.

Callers build ``RenderDraft`` / ``AnchorSpec`` / ``SceneSpec`` values and get ``*Record`` values
back. What a render asked for is core's ``GenerationRequest``, what the provider answered core's
``Outcome``, where a job stands core's ``JobState``: the library keeps them, it does not restate
them. Times are timezone-aware UTC ``datetime``s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from studio.core.anchor import ReferenceImage, ReferenceStrength
from studio.core.fingerprint import Fingerprint
from studio.core.lifecycle import Approval, JobState, Outcome, Timings
from studio.core.parameters import ImageParameters
from studio.core.request import GenerationRequest, Stage

__all__ = [
    "AnchorSpec",
    "AnchorVersion",
    "Approval",
    "CharacterRecord",
    "CheckReport",
    "EmptiedTrash",
    "ImageHealth",
    "ImportResult",
    "JobRecord",
    "JobState",
    "Outcome",
    "ProjectRecord",
    "RenderDraft",
    "RenderFilter",
    "RenderPage",
    "RenderRecord",
    "SceneRecord",
    "SceneSpec",
    "SceneSuggestion",
    "SheetCell",
    "SheetRecord",
    "Stage",
    "Timings",
]


class ImageHealth(StrEnum):
    """Whether a done render's image file is as it was stored (``check`` decides)."""

    OK = "ok"
    #: ``check`` found the image file gone; the record and its settings are kept.
    MISSING = "missing"
    #: ``check`` found the image file's bytes do not match their hash.
    DAMAGED = "damaged"


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
    """What the user typed for a character's anchor; saving a changed one makes a new version.

    ``references`` is the anchor's reference set, in order; each image must be stored first
    (``library.references.store``). Changing an image, its role or the order is a new version.
    """

    anchor: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    negative: str = ""
    references: tuple[ReferenceImage, ...] = ()


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
    #: The reference set of this version, in order (hashes and roles; no paths).
    references: tuple[ReferenceImage, ...] = ()


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
    """One scene of a sheet as the sheet file has it; scenes are matched by name.

    ``fingerprints`` holds what the scene sends now at each stage, so the library can tell which
    renders are out of date without the sheet at hand.
    """

    name: str
    setting: str = ""
    lighting: str = ""
    lens: str = ""
    framing: str = ""
    notes: str = ""
    fingerprints: Mapping[Stage, Fingerprint] = field(default_factory=dict)


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
    fingerprints: Mapping[Stage, Fingerprint] = field(default_factory=dict)

    def fingerprint(self, stage: Stage) -> Fingerprint | None:
        """What the scene sent at ``stage`` when its sheet was last recorded."""
        return self.fingerprints.get(stage)


class _Asked:
    """What was asked, read from the ``request`` a draft or a record holds."""

    __slots__ = ()
    request: GenerationRequest

    @property
    def stage(self) -> Stage:
        return self.request.stage

    @property
    def provider(self) -> str:
        return self.request.provider

    @property
    def model(self) -> str:
        return self.request.model

    @property
    def prompt(self) -> str:
        return self.request.prompt

    @property
    def scene_name(self) -> str:
        return self.request.context.scene

    @property
    def character_name(self) -> str:
        return self.request.context.character

    @property
    def references(self) -> tuple[ReferenceImage, ...]:
        """The reference images sent with the render (none for a render without)."""
        return self.request.references

    @property
    def reference_strength(self) -> ReferenceStrength:
        return self.request.reference_strength


@dataclass(frozen=True, slots=True)
class RenderDraft(_Asked):
    """A render before the provider answers: the request as it is sent (after the provider
    adapted it; ``request.provider`` renders it) and the records it belongs to."""

    request: GenerationRequest
    project_id: int
    sheet_id: int | None = None
    scene_id: int | None = None
    anchor_version_id: int | None = None
    #: The preview a final was made from.
    parent_id: int | None = None
    #: What the sheet asked when the render was planned (the staleness rule compares it).
    fingerprint: Fingerprint | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()



@dataclass(frozen=True, slots=True)
class RenderRecord(_Asked):
    """A render the library keeps: what was asked, what the provider answered, and the user's
    verdict on it. ``state`` is ``done`` or ``failed``."""

    id: int
    project_id: int
    request: GenerationRequest
    outcome: Outcome
    state: JobState
    health: ImageHealth
    error: str
    parent_id: int | None
    approval: Approval
    star: bool
    tags: tuple[str, ...]
    sheet_id: int | None
    scene_id: int | None
    character_id: int | None
    anchor_version_id: int | None
    fingerprint: Fingerprint | None
    notes: str
    #: sha256 of the stored file's bytes (metadata chunks included); None for a failed render.
    image_hash: str | None
    image_path: Path | None
    #: Where the 256 px thumbnail is cached; it may not exist yet (``library.files``).
    thumbnail_path: Path | None
    created: datetime
    trashed: datetime | None
    #: "studio" for renders the studio made, "import" for images from other tools.
    source: str

    # What was asked, as the request has it.
    @property
    def negative(self) -> str:
        return self.request.negative

    @property
    def width(self) -> int:
        return self.request.width

    @property
    def height(self) -> int:
        return self.request.height

    @property
    def steps(self) -> int:
        return self.request.steps

    @property
    def guidance(self) -> float:
        return self.request.guidance

    @property
    def seed_requested(self) -> int | None:
        return self.request.seed

    # What the provider answered.
    @property
    def seed_returned(self) -> int | None:
        return self.outcome.seed_returned

    @property
    def request_id(self) -> str:
        return self.outcome.request_id

    @property
    def cost(self) -> float | None:
        return self.outcome.cost

    @property
    def timings(self) -> Timings:
        return self.outcome.timings

    @property
    def seed(self) -> int | None:
        """The seed that made the image: the provider's answer when it gave one."""
        return self.seed_returned if self.seed_returned is not None else self.seed_requested

    @property
    def usable(self) -> bool:
        """Done, with its image where it was stored."""
        return self.state is JobState.DONE and self.health is ImageHealth.OK

    @property
    def status_word(self) -> str:
        """One word for lists: ``ok``, ``failed``, ``missing`` or ``damaged``."""
        return "failed" if self.state is JobState.FAILED else self.health.value

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
    def request(self) -> GenerationRequest:
        return self.draft.request

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
    state: JobState | None = None
    #: Done renders whose image file is as stored (``check`` marks the others).
    usable: bool | None = None
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
    """The latest successful render of one scene at one stage, and why it is out of date
    against the scene as the library last recorded it (``studio.core.fingerprint`` reasons)."""

    scene: SceneRecord
    stage: Stage
    render: RenderRecord
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
