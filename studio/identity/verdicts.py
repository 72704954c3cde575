"""Distances between face descriptors and the verdicts drawn from them.

The distance is Euclidean because that is what dlib's published threshold assumes: with a
threshold of 0.6 its ResNet descriptor tells same from different people in 99.38% of the
Labeled Faces in the Wild pairs. A render a little under the threshold is still the same
person but moving away, so the last ``drift_margin`` under it reads ``drifting``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from studio.core.errors import StudioInputError
from studio.core.settings import DEFAULT_IDENTITY_THRESHOLD

from .analysis import Descriptor, check_descriptor

#: dlib's published same-person threshold for its ResNet descriptor (the settings' default).
DEFAULT_THRESHOLD = DEFAULT_IDENTITY_THRESHOLD
#: How far under the threshold a distance reads ``drifting`` rather than ``same person``.
DEFAULT_DRIFT_MARGIN = 0.1


class Verdict(StrEnum):
    SAME_PERSON = "same person"
    DRIFTING = "drifting"
    DIFFERENT_PERSON = "different person"
    NOT_SCORABLE = "not scorable"


@dataclass(frozen=True, slots=True)
class IdentityRules:
    """The configurable part of scoring: where same person ends and where drifting begins."""

    threshold: float = DEFAULT_THRESHOLD
    drift_margin: float = DEFAULT_DRIFT_MARGIN

    def __post_init__(self) -> None:
        if not (math.isfinite(self.threshold) and 0.0 < self.threshold <= 2.0):
            raise StudioInputError(
                f"the identity threshold {self.threshold} is outside 0..2; "
                f"use a distance such as {DEFAULT_THRESHOLD} (dlib's published threshold)")
        if not (math.isfinite(self.drift_margin) and 0.0 <= self.drift_margin < self.threshold):
            raise StudioInputError(
                f"the drift margin {self.drift_margin} must be at least 0 and below the "
                f"threshold {self.threshold}; use {DEFAULT_DRIFT_MARGIN}")

    def judge(self, distance: float | None) -> Verdict:
        """The verdict for a distance; no distance means the image could not be scored."""
        if distance is None or not math.isfinite(distance):
            return Verdict.NOT_SCORABLE
        if distance >= self.threshold:
            return Verdict.DIFFERENT_PERSON
        if distance >= self.threshold - self.drift_margin:
            return Verdict.DRIFTING
        return Verdict.SAME_PERSON


def face_distance(a: Descriptor, b: Descriptor) -> float:
    """The Euclidean distance between two face descriptors."""
    check_descriptor(a)
    check_descriptor(b)
    return math.dist(a, b)
