"""Identity scores of the library's renders: is each one still the character's face?

The measure itself (``studio.identity``) knows nothing of the library; this module joins the
two. ``LibraryAnalysisCache`` keeps each image's face analysis in the library by the image's
SHA-256, so an image is analysed once whichever command or window asks. ``IdentityScores``
finds the character's identity (its reference images with a face, else its approved finals,
else its first approved render) and judges renders against it. The reference images are read
through the library (:func:`reference_images`): its stored copy of each by hash, else the file
a sheet names. Choosing the identity again
after an approval or a new reference costs nothing: it is made from cached analyses.

``IdentityScores`` works in two modes. Given an analyser (``DlibFaceAnalyser`` for a command,
``FaceAnalysisProcess`` in the window) it analyses what the cache lacks, about a quarter of a
second per 1024 px render. Given none, it reports only what earlier scoring left in the cache
and answers None for the rest, without looking at a pixel: ``studio status`` and exports read
identity this way, so they stay fast on sheets nobody has scored yet (``studio score`` and the
window fill the cache).

Every method blocks (SQLite, image files, dlib) and is safe to call from worker threads.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.anchor import ReferenceImage
from studio.core.reference_files import reference_file
from studio.core.request import Stage
from studio.core.sheet import Sheet
from studio.identity import (
    ANALYSIS_VERSION,
    NO_IDENTITY,
    Analyse,
    FaceAnalysis,
    IdentityImageError,
    IdentityRules,
    IdentityScore,
    IdentityScorer,
    IdentitySource,
    choose_identity_source,
    read_image,
)
from studio.library import Library, LibraryError
from studio.library.binding import find_sheet_record
from studio.library.faces import FaceAnalyses
from studio.library.models import Approval, RenderFilter, RenderRecord

log = logging.getLogger("studio.render.identity")

_PAGE = 500


class LibraryAnalysisCache:
    """An ``AnalysisCache`` kept in the library's ``face_analyses`` table.

    Analyses made in this process are also held in memory, so a library open for viewing only
    (which keeps nothing) still analyses each image once per run. A stored analysis that cannot
    be read back, or one made by older rules, counts as absent and is made again.
    """

    def __init__(self, faces: FaceAnalyses) -> None:
        self._faces = faces
        self._made: dict[str, FaceAnalysis] = {}
        self._lock = threading.Lock()

    def get(self, image_sha256: str) -> FaceAnalysis | None:
        with self._lock:
            made = self._made.get(image_sha256)
        if made is not None:
            return made
        stored = self._faces.get(image_sha256)
        if stored is None or stored.version != ANALYSIS_VERSION:
            return None
        try:
            return FaceAnalysis.from_json(json.loads(stored.analysis))
        except (ValueError, TypeError, RecursionError):
            log.warning("the stored face analysis of image %s is unreadable; analysing again",
                        image_sha256)
            return None

    def put(self, image_sha256: str, analysis: FaceAnalysis) -> None:
        with self._lock:
            self._made[image_sha256] = analysis
        try:
            self._faces.put(image_sha256, analysis.version, json.dumps(analysis.to_json()))
        except LibraryError as exc:
            # A full disk must not stop scoring; the image is analysed again next time.
            log.warning("could not keep the face analysis of image %s: %s", image_sha256, exc)


@dataclass(frozen=True, slots=True)
class ImageFile:
    """An image by the SHA-256 of its bytes (the library's ``image_hash``) and its file."""

    sha256: str
    path: Path


@dataclass(frozen=True, slots=True)
class RenderScore:
    """One render's identity score; ``score`` is None when its face has not been analysed yet
    (or the identity's faces have not), which only happens when reading cached analyses."""

    render: RenderRecord
    score: IdentityScore | None

    def to_json(self) -> dict[str, Any]:
        """One ``results`` entry of ``studio score --json``."""
        render = self.render
        figures: dict[str, Any] = ({"faces": None, "distance": None, "verdict": None}
                                   if self.score is None else self.score.to_json())
        return {"scene": render.scene_name, "stage": render.stage.value, "render": render.id,
                **figures,
                "explanation": None if self.score is None else self.score.explanation}


@dataclass(frozen=True, slots=True)
class Spread:
    """How far the scored renders are from the identity: the largest and the mean distance."""

    scored: int
    largest: float | None
    mean: float | None

    @classmethod
    def of(cls, scores: Iterable[IdentityScore | None]) -> Spread:
        distances = [s.distance for s in scores if s is not None and s.distance is not None]
        if not distances:
            return cls(0, None, None)
        return cls(len(distances), max(distances), statistics.fmean(distances))

    def to_json(self) -> dict[str, Any]:
        return {"scored": self.scored,
                "largest": None if self.largest is None else round(self.largest, 4),
                "mean": None if self.mean is None else round(self.mean, 4)}


class _NotAnalysed(Exception):
    """An analysis the cache lacks while only cached analyses may be used."""


def identity_figures(score: IdentityScore | None) -> dict[str, Any] | None:
    """The ``identity`` of a ``studio status`` cell and of a bundle record: distance and
    verdict, or None when the render has not been scored."""
    if score is None:
        return None
    data = score.to_json()
    return {"distance": data["distance"], "verdict": data["verdict"]}


class IdentityScores:
    """Identity scores of the library's renders against their character's identity.

    ``analyse`` turns image bytes into a ``FaceAnalysis`` (IdentityUnavailable when dlib cannot
    run here); None reads cached analyses only. ``rules`` holds the threshold (the settings'
    ``identity_threshold``; ``Runtime.identity_rules()``).
    """

    def __init__(self, library: Library, analyse: Analyse | None = None,
                 rules: IdentityRules | None = None) -> None:
        self._library = library
        self._analyse = analyse
        self.cache = LibraryAnalysisCache(library.faces)
        self._scorer = IdentityScorer(analyse if analyse is not None else _cached_only,
                                      self.cache, rules)

    @property
    def rules(self) -> IdentityRules:
        return self._scorer.rules

    @property
    def analyses_new_images(self) -> bool:
        """Whether images the cache lacks are analysed (False: cached analyses only)."""
        return self._analyse is not None

    # ------------------------------------------------------------------ analyses

    def analysis(self, image: ImageFile) -> FaceAnalysis | None:
        """The image's face analysis: from the cache, else made now (None when only cached
        analyses may be used). A file that cannot be read is ``unreadable`` and not kept, since
        the same bytes may be readable again later."""
        cached = self.cache.get(image.sha256)
        if cached is not None:
            return cached
        if self._analyse is None:
            return None
        try:
            data = read_image(image.path)
        except IdentityImageError:
            return FaceAnalysis.unreadable()
        # Keyed by the bytes' own hash: a damaged file is never taken for the stored image.
        return self._scorer.analysis(data)

    def render_analysis(self, render: RenderRecord) -> FaceAnalysis | None:
        if render.image_hash is None or render.image_path is None:
            return FaceAnalysis.unreadable()
        return self.analysis(ImageFile(render.image_hash, render.image_path))

    # ------------------------------------------------------------------ the identity

    def character_references(self, character_id: int | None) -> list[ImageFile]:
        """The reference images of the character's latest anchor version, as the library
        keeps them."""
        if character_id is None:
            return []
        anchor = self._library.characters.latest_anchor(character_id)
        return [] if anchor is None else reference_images(self._library, anchor.references)

    def source(self, character_id: int | None,
               references: Sequence[ImageFile] | None = None) -> IdentitySource | None:
        """The character's identity: the mean face of ``references`` (its reference images,
        by default those of its latest anchor version in the library; images without one
        clear face are passed over), else of its approved finals, else its first approved
        render. None when reading cached analyses only and one it depends on is not cached
        yet."""
        if references is None:
            references = self.character_references(character_id)
        try:
            return choose_identity_source(
                self._analysed(references),
                self._approved_analyses(character_id, Stage.FINAL),
                _until_a_face(self._approved_analyses(character_id, None)),
            )
        except _NotAnalysed:
            return None

    def approved(self, character_id: int | None,
                 stage: Stage | None = None) -> list[RenderRecord]:
        """The character's approved renders (at ``stage``, or any), earliest first."""
        if character_id is None:
            return []
        return _every(self._library, RenderFilter(character_id=character_id, stage=stage,
                                                  approval=Approval.APPROVED, usable=True))

    def _analysed(self, images: Iterable[ImageFile]) -> Iterator[FaceAnalysis]:
        for image in images:
            analysis = self.analysis(image)
            if analysis is None:
                raise _NotAnalysed(image.sha256)
            yield analysis

    def _approved_analyses(self, character_id: int | None,
                           stage: Stage | None) -> Iterator[FaceAnalysis]:
        # A generator: the approved renders are not even listed when the references decide.
        for render in self.approved(character_id, stage):
            analysis = self.render_analysis(render)
            if analysis is None:
                raise _NotAnalysed(render.image_hash)
            yield analysis

    # ------------------------------------------------------------------ scores

    def score(self, render: RenderRecord, source: IdentitySource | None) -> IdentityScore | None:
        """The render judged against ``source``. None when it (or, for a face, the identity)
        has not been analysed and only cached analyses may be used. A render without one clear
        face is ``not scorable`` whatever the identity."""
        analysis = self.render_analysis(render)
        if analysis is None:
            return None
        if not analysis.scorable:
            return self._scorer.judge(analysis, NO_IDENTITY)
        if source is None:
            return None
        return self._scorer.judge(analysis, source)

    def score_all(self, renders: Iterable[RenderRecord],
                  source: IdentitySource | None) -> list[RenderScore]:
        return [RenderScore(render, self.score(render, source)) for render in renders]

    def lookup(self, references: Sequence[ImageFile] | None = None
               ) -> Callable[[RenderRecord], dict[str, Any] | None]:
        """For one pass over renders (a status, an export): each render's ``identity_figures``
        against its own character's identity, chosen once per character (from ``references``
        when given: the sheet's reference images, :func:`sheet_reference_images`)."""
        sources: dict[int | None, IdentitySource | None] = {}

        def figures(render: RenderRecord) -> dict[str, Any] | None:
            if render.character_id not in sources:
                sources[render.character_id] = self.source(render.character_id, references)
            return identity_figures(self.score(render, sources[render.character_id]))

        return figures


def reference_images(library: Library, references: Iterable[ReferenceImage],
                     sheet_path: Path | None = None) -> list[ImageFile]:
    """The reference images as the identity reads them: the library's stored copy of each (by
    its hash), else, for a sheet at ``sheet_path`` naming an image not stored yet (not
    rendered since it was added), the file beside the sheet. An image neither has is left
    out."""
    found = []
    for ref in references:
        if not ref.sha256:
            continue
        path = library.references.path(ref.sha256)
        if path is None and sheet_path is not None and ref.path:
            path = reference_file(sheet_path, ref)
        if path is not None:
            found.append(ImageFile(ref.sha256, path))
    return found


def sheet_reference_images(library: Library, sheet: Sheet, path: Path) -> list[ImageFile]:
    """The reference images the sheet file at ``path`` names for its character (the identity
    of ``studio score`` and ``studio status``), read through the library."""
    return reference_images(library, sheet.character.references, path)


def _cached_only(data: bytes) -> FaceAnalysis:
    raise _NotAnalysed("only cached analyses may be used")


def _until_a_face(analyses: Iterable[FaceAnalysis]) -> Iterator[FaceAnalysis]:
    """The analyses up to and including the first with a face: only the first approved render
    with a face is the identity, so those after it need no analysis."""
    for analysis in analyses:
        yield analysis
        if analysis.scorable:
            return


def _every(library: Library, where: RenderFilter) -> list[RenderRecord]:
    found: list[RenderRecord] = []
    offset: int | None = 0
    while offset is not None:
        page = library.renders.page(where, limit=_PAGE, offset=offset)
        found.extend(page.items)
        offset = page.next_offset
    return sorted(found, key=lambda r: (r.created, r.id))


def sheet_renders(library: Library, sheet: Sheet, path: Path, *,
                  every: bool = False) -> tuple[int | None, list[RenderRecord]]:
    """The sheet's character (its library id, None when the library has no record of the sheet)
    and its renders to score in sheet order, preview before final: each scene's latest, or
    ``every`` kept render (oldest first; those of scenes no longer in the sheet last)."""
    record = find_sheet_record(library, sheet, path)
    if record is None:
        return None, []
    order = {scene.name: i for i, scene in enumerate(sheet.scenes)}
    if every:
        renders = _every(library, RenderFilter(sheet_id=record.id, usable=True))
    else:
        renders = [cell.render for cell in library.renders.cells(record.id)
                   if cell.scene.name in order]
    stages = {Stage.PREVIEW: 0, Stage.FINAL: 1}
    renders.sort(key=lambda r: (order.get(r.scene_name, len(order)), stages[r.stage],
                                r.created, r.id))
    return record.character_id, renders
