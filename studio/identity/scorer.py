"""Scoring renders against the character's identity, each image analysed once.

``IdentityScorer`` joins the three parts: an analyser (dlib's, or a fake in tests) that turns
image bytes into a ``FaceAnalysis``, a cache that keeps analyses by image SHA-256, and the
rules that turn a distance into a verdict. A render that cannot be scored (no face, several
faces, no identity to compare with) gets ``not scorable`` and no distance, never a drift
verdict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis import ANALYSIS_VERSION, FaceAnalysis, NotScorable
from .cache import AnalysisCache, MemoryAnalysisCache
from .faces import DlibFaceAnalyser
from .images import read_image
from .source import IdentitySource
from .verdicts import IdentityRules, Verdict, face_distance

#: Turns image bytes into an analysis; IdentityUnavailable when it cannot run on this system.
Analyse = Callable[[bytes], FaceAnalysis]

_PROBLEMS = {
    NotScorable.NO_FACE: "no face was found (or a stylised one the detector does not know)",
    NotScorable.SEVERAL_FACES: "several faces of similar size leave it unclear which is the "
                               "character",
    NotScorable.UNREADABLE: "the image cannot be read",
}


@dataclass(frozen=True, slots=True)
class IdentityScore:
    """One image measured against the identity: faces found, distance (None when not
    scorable), verdict, and a sentence explaining it for a tooltip."""

    faces: int
    distance: float | None
    verdict: Verdict
    explanation: str

    def to_json(self) -> dict[str, Any]:
        distance = None if self.distance is None else round(self.distance, 4)
        return {"faces": self.faces, "distance": distance, "verdict": str(self.verdict)}

    def judged_by(self, rules: IdentityRules, identity: IdentitySource) -> IdentityScore:
        """The same measure under other rules (a new threshold): the distance is kept, the
        verdict and its explanation follow the rules; a score without a distance is as it
        was."""
        if self.distance is None:
            return self
        return _distance_score(self.faces, self.distance, identity, rules)


class IdentityScorer:
    """Analyses images through a cache and judges them against an identity source."""

    def __init__(
        self,
        analyse: Analyse | None = None,
        cache: AnalysisCache | None = None,
        rules: IdentityRules | None = None,
    ) -> None:
        self._analyse: Analyse = analyse if analyse is not None else DlibFaceAnalyser()
        self._cache: AnalysisCache = cache if cache is not None else MemoryAnalysisCache()
        self.rules = rules if rules is not None else IdentityRules()

    def analysis(self, image: bytes) -> FaceAnalysis:
        """The image's analysis, from the cache when it was analysed before."""
        return self.analysis_by_hash(hashlib.sha256(image).hexdigest(), lambda: image)

    def analysis_by_hash(self, image_sha256: str, read: Callable[[], bytes]) -> FaceAnalysis:
        """The analysis of the image whose SHA-256 is known (the library stores it), reading the
        bytes only when the cache has no current analysis."""
        cached = self._cache.get(image_sha256)
        if cached is not None and cached.version == ANALYSIS_VERSION:
            return cached
        analysis = self._analyse(read())
        self._cache.put(image_sha256, analysis)
        return analysis

    def analysis_of_file(self, path: Path) -> FaceAnalysis:
        """The analysis of an image file; IdentityImageError when it cannot be read."""
        return self.analysis(read_image(path))

    def score(self, image: bytes, identity: IdentitySource) -> IdentityScore:
        return self.judge(self.analysis(image), identity)

    def judge(self, analysis: FaceAnalysis, identity: IdentitySource) -> IdentityScore:
        """The verdict on an analysed image against the identity (no dlib involved)."""
        rules = self.rules
        if analysis.problem is not None:
            return IdentityScore(analysis.faces, None, Verdict.NOT_SCORABLE,
                                 f"Not scored: {_PROBLEMS[analysis.problem]}.")
        assert analysis.descriptor is not None
        if identity.descriptor is None:
            return IdentityScore(analysis.faces, None, Verdict.NOT_SCORABLE,
                                 "Not scored: the character has no identity yet; add a reference "
                                 "image showing the face, or approve a render.")
        distance = face_distance(analysis.descriptor, identity.descriptor)
        return _distance_score(analysis.faces, distance, identity, rules)


def _distance_score(faces: int, distance: float, identity: IdentitySource,
                    rules: IdentityRules) -> IdentityScore:
    verdict = rules.judge(distance)
    return IdentityScore(
        faces, distance, verdict,
        f"{verdict.value.capitalize()}: distance {distance:.2f} from {identity.describe()} "
        f"(same person under {rules.threshold:.2f}, drifting from "
        f"{rules.threshold - rules.drift_margin:.2f}).")
