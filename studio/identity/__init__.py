"""Identity scoring: is every render still the same person as the character?

Faces are found and described locally with dlib (no network), the character's identity is the
mean descriptor of its best evidence, and each render's distance to it becomes a verdict.
Importing this package loads neither dlib nor numpy; they load on the first analysis. A window
runs analyses through ``FaceAnalysisProcess`` (dlib holds Python's lock while it works).
"""

from __future__ import annotations

from .analysis import ANALYSIS_VERSION, Descriptor, FaceAnalysis, FaceBox, NotScorable
from .cache import AnalysisCache, MemoryAnalysisCache
from .errors import IdentityImageError, IdentityUnavailable
from .faces import DlibFaceAnalyser, identity_unavailable_reason
from .images import read_image
from .scorer import Analyse, IdentityScore, IdentityScorer
from .source import (
    NO_IDENTITY,
    IdentitySource,
    SourceKind,
    choose_identity_source,
    identity_from_file,
    mean_descriptor,
)
from .verdicts import DEFAULT_THRESHOLD, IdentityRules, Verdict, face_distance
from .worker import FaceAnalysisProcess

__all__ = [
    "ANALYSIS_VERSION",
    "DEFAULT_THRESHOLD",
    "NO_IDENTITY",
    "Analyse",
    "AnalysisCache",
    "Descriptor",
    "DlibFaceAnalyser",
    "FaceAnalysis",
    "FaceAnalysisProcess",
    "FaceBox",
    "IdentityImageError",
    "IdentityRules",
    "IdentityScore",
    "IdentityScorer",
    "IdentitySource",
    "IdentityUnavailable",
    "MemoryAnalysisCache",
    "NotScorable",
    "SourceKind",
    "Verdict",
    "choose_identity_source",
    "face_distance",
    "identity_from_file",
    "identity_unavailable_reason",
    "mean_descriptor",
    "read_image",
]
