"""Where face analyses are kept between scorings, keyed by the image's SHA-256.

The scorer asks the cache before it looks at an image, so each image is analysed once however
often the identity source changes. The library keeps analyses beside its renders by
implementing ``AnalysisCache``; ``MemoryAnalysisCache`` serves tests and one-off runs.
"""

from __future__ import annotations

import threading
from typing import Protocol

from .analysis import FaceAnalysis


class AnalysisCache(Protocol):
    """Face analyses by image SHA-256 (lower-case hex). Implementations must be safe to call
    from worker threads."""

    def get(self, image_sha256: str) -> FaceAnalysis | None: ...

    def put(self, image_sha256: str, analysis: FaceAnalysis) -> None: ...


class MemoryAnalysisCache:
    """An ``AnalysisCache`` in a dictionary, for as long as the process runs."""

    def __init__(self) -> None:
        self._analyses: dict[str, FaceAnalysis] = {}
        self._lock = threading.Lock()

    def get(self, image_sha256: str) -> FaceAnalysis | None:
        with self._lock:
            return self._analyses.get(image_sha256)

    def put(self, image_sha256: str, analysis: FaceAnalysis) -> None:
        with self._lock:
            self._analyses[image_sha256] = analysis

    def __len__(self) -> int:
        with self._lock:
            return len(self._analyses)
