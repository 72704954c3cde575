"""What an export is made from and how it is laid out: plain frozen data, no imaging, no Qt.

A ``SheetDocument`` is a sheet as exports see it: the character's header (name, anchor text and
version, seed) and one ``ExportCell`` per scene in sheet order, each holding the encoded image
bytes (the final, else the preview) and the caption fields already resolved to what a reader
should see (preset labels, not ids). ``studio.export.gather`` builds one from the library; tests
and other callers can build one by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from studio.core.request import Stage

__all__ = [
    "CancelToken",
    "ExportCancelledError",
    "ExportCell",
    "ExportError",
    "ExportProgress",
    "ExportReference",
    "PageSize",
    "ProgressCallback",
    "SheetDocument",
    "SheetOptions",
    "StoryboardOptions",
    "check_cancel",
]


class ExportError(Exception):
    """An export could not be written; the message says what failed and what to do."""


class ExportCancelledError(ExportError):
    """The user cancelled the export; nothing was left under the final name."""

    def __init__(self, message: str = "The export was cancelled; no file was written.") -> None:
        super().__init__(message)


class PageSize(StrEnum):
    """Paper sizes offered for sheets and storyboards."""

    A4 = "a4"
    A3 = "a3"
    A5 = "a5"
    LETTER = "letter"
    LEGAL = "legal"
    TABLOID = "tabloid"

    @property
    def points(self) -> tuple[float, float]:
        """Portrait width and height in PostScript points (1/72 inch)."""
        return _PAGE_POINTS[self]

    @property
    def label(self) -> str:
        return _PAGE_LABELS[self]


_MM = 72 / 25.4
_PAGE_POINTS: dict[PageSize, tuple[float, float]] = {
    PageSize.A4: (210 * _MM, 297 * _MM),
    PageSize.A3: (297 * _MM, 420 * _MM),
    PageSize.A5: (148 * _MM, 210 * _MM),
    PageSize.LETTER: (612.0, 792.0),
    PageSize.LEGAL: (612.0, 1008.0),
    PageSize.TABLOID: (792.0, 1224.0),
}
_PAGE_LABELS: dict[PageSize, str] = {
    PageSize.A4: "A4",
    PageSize.A3: "A3",
    PageSize.A5: "A5",
    PageSize.LETTER: "US Letter",
    PageSize.LEGAL: "US Legal",
    PageSize.TABLOID: "Tabloid",
}

MAX_COLUMNS = 6
PANELS_PER_PAGE = (1, 2, 3, 4, 6, 8, 9)


@dataclass(frozen=True, slots=True)
class SheetOptions:
    """Character sheet layout. ``dpi`` is the PNG's resolution (the PDF keeps full images)."""

    page: PageSize = PageSize.A4
    landscape: bool = False
    columns: int = 2
    dpi: int = 200

    def __post_init__(self) -> None:
        if not 1 <= self.columns <= MAX_COLUMNS:
            raise ValueError(f"columns must be 1 to {MAX_COLUMNS}, not {self.columns}")
        if not 36 <= self.dpi <= 600:
            raise ValueError(f"dpi must be 36 to 600, not {self.dpi}")

    @property
    def page_points(self) -> tuple[float, float]:
        w, h = self.page.points
        return (h, w) if self.landscape else (w, h)


@dataclass(frozen=True, slots=True)
class StoryboardOptions:
    """Storyboard layout: panels per page in sheet order."""

    page: PageSize = PageSize.A4
    landscape: bool = True
    panels_per_page: int = 2

    def __post_init__(self) -> None:
        if self.panels_per_page not in PANELS_PER_PAGE:
            allowed = ", ".join(str(n) for n in PANELS_PER_PAGE)
            raise ValueError(f"panels per page must be one of {allowed}")

    @property
    def page_points(self) -> tuple[float, float]:
        w, h = self.page.points
        return (h, w) if self.landscape else (w, h)


@dataclass(frozen=True, slots=True)
class ExportCell:
    """One scene of the sheet as it is exported.

    ``image`` is the encoded file (PNG, JPEG or WebP) of the render shown, ``stage`` which stage
    it is (a preview stands in when the scene has no final yet); both None when the scene has no
    render at all. ``record`` is the render's settings for the bundle's JSON and CSV.
    """

    scene: str
    lighting: str = ""
    lens: str = ""
    framing: str = ""
    notes: str = ""
    seed: int | None = None
    model: str = ""
    provider: str = ""
    image: bytes | None = None
    stage: Stage | None = None
    #: Why the render no longer matches: "anchor" and/or "scene" (empty when current).
    out_of_date: tuple[str, ...] = ()
    render_id: int | None = None
    record: Mapping[str, Any] = field(default_factory=dict)
    #: The template the scene came from (the sheet's ``group``), for the template layouts.
    group: str = ""
    #: The scene's own outfit (in place of the anchor's), shown in its caption.
    outfit: str = ""

    @property
    def is_preview_stand_in(self) -> bool:
        return self.image is not None and self.stage is Stage.PREVIEW


@dataclass(frozen=True, slots=True)
class ExportReference:
    """A reference image of the character (a face, the full body, an outfit) shown beside the
    anchor on a model sheet; ``role`` is its caption."""

    image: bytes
    role: str = ""


@dataclass(frozen=True, slots=True)
class SheetDocument:
    """A whole sheet ready to lay out."""

    title: str
    character: str
    anchor: str
    seed: int
    cells: tuple[ExportCell, ...] = ()
    anchor_version: int | None = None
    #: Shown in the footer, e.g. "2025-06-01"; empty leaves the date out.
    exported: str = ""
    #: The application name and version for the footer and the files' metadata.
    producer: str = ""
    #: The template the sheet was made from (its id), which picks the default layout.
    template: str = ""
    #: The character's reference images for the model sheet (none yet: optional).
    references: tuple[ExportReference, ...] = ()

    @property
    def display_title(self) -> str:
        return self.title.strip() or f"{self.character}: character sheet"


@dataclass(frozen=True, slots=True)
class ExportProgress:
    """How far a long export has got: ``done`` of ``total`` steps, and what it is doing."""

    done: int
    total: int
    step: str


ProgressCallback = Callable[[ExportProgress], None]


class CancelToken(Protocol):
    """Anything with ``is_set()``; a ``threading.Event`` is one."""

    def is_set(self) -> bool: ...


def check_cancel(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ExportCancelledError()


class Steps:
    """Reports progress to an optional callback and checks for cancellation at each step."""

    def __init__(
        self, total: int, progress: ProgressCallback | None, cancel: CancelToken | None
    ) -> None:
        self.total = max(total, 1)
        self.done = 0
        self._progress = progress
        self._cancel = cancel

    def step(self, what: str) -> None:
        """Check for cancellation, then report that ``what`` is starting."""
        check_cancel(self._cancel)
        if self._progress is not None:
            self._progress(ExportProgress(min(self.done, self.total), self.total, what))
        self.done += 1

    def finish(self, what: str = "Done") -> None:
        check_cancel(self._cancel)
        if self._progress is not None:
            self._progress(ExportProgress(self.total, self.total, what))
