"""What face analysis found in one image, as plain values the library can keep as JSON.

An analysis depends only on the image's bytes and on the analysis rules, never on the
character, so it is cached by the image's SHA-256 and a change of identity source re-scores
without looking at a pixel again. ``ANALYSIS_VERSION`` changes whenever the rules change what
an analysis holds (detector, scale, score floor, models), so stored analyses from older rules
are recomputed rather than trusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

#: Bumped when detection or descriptor rules change; older cached analyses are recomputed.
ANALYSIS_VERSION = 2  # 2: a 512 px search first, large JPEGs decoded reduced

#: dlib's ResNet face descriptor has 128 numbers.
DESCRIPTOR_LENGTH = 128

Descriptor = tuple[float, ...]


class NotScorable(StrEnum):
    """Why an image gives no descriptor to compare."""

    NO_FACE = "no face"
    SEVERAL_FACES = "several faces"
    UNREADABLE = "unreadable image"


@dataclass(frozen=True, slots=True)
class FaceBox:
    """Where the face is, in the image's own pixels (EXIF rotation applied), clipped to it."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    """The faces found in one image and, when exactly one face stands out, its descriptor.

    ``faces`` counts every face the detector was sure of; ``box`` is the largest one.
    ``descriptor`` is set exactly when ``problem`` is None.
    """

    faces: int
    descriptor: Descriptor | None
    box: FaceBox | None
    problem: NotScorable | None
    image_size: tuple[int, int] = (0, 0)
    version: int = ANALYSIS_VERSION

    def __post_init__(self) -> None:
        if (self.descriptor is None) == (self.problem is None):
            raise ValueError("an analysis has a descriptor exactly when it has no problem")
        if self.descriptor is not None:
            check_descriptor(self.descriptor)

    @property
    def scorable(self) -> bool:
        return self.descriptor is not None

    @classmethod
    def unreadable(cls) -> FaceAnalysis:
        return cls(faces=0, descriptor=None, box=None, problem=NotScorable.UNREADABLE)

    def to_json(self) -> dict[str, Any]:
        box = self.box
        return {
            "version": self.version,
            "faces": self.faces,
            "problem": None if self.problem is None else str(self.problem),
            "box": None if box is None else [box.left, box.top, box.width, box.height],
            "image_size": list(self.image_size),
            "descriptor": None if self.descriptor is None else list(self.descriptor),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaceAnalysis:
        """The analysis stored by ``to_json``; ValueError when the data is not one."""
        try:
            box_values = data["box"]
            box = None if box_values is None else FaceBox(*(int(v) for v in box_values))
            problem = None if data["problem"] is None else NotScorable(data["problem"])
            values = data["descriptor"]
            descriptor = None if values is None else tuple(float(v) for v in values)
            width, height = (int(v) for v in data["image_size"])
            return cls(faces=int(data["faces"]), descriptor=descriptor, box=box, problem=problem,
                       image_size=(width, height), version=int(data["version"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a stored face analysis: {exc}") from exc


def check_descriptor(descriptor: Descriptor) -> None:
    """A descriptor is 128 finite numbers; anything else would give meaningless distances."""
    if len(descriptor) != DESCRIPTOR_LENGTH:
        raise ValueError(f"a face descriptor has {DESCRIPTOR_LENGTH} numbers, "
                         f"not {len(descriptor)}")
    if not all(math.isfinite(v) for v in descriptor):
        raise ValueError("a face descriptor holds only finite numbers")
