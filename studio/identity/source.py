"""The character's identity: the face every render is measured against.

It is the mean descriptor of the best evidence the studio has of who the character is, in this
order: the reference images that show one clear face; else the approved finals that do; else
the first approved render that does. A photograph given for one scoring run (``file``) stands
in for all of them. Each input is an analysis already made (and cached), so choosing again
after a change costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .analysis import DESCRIPTOR_LENGTH, Descriptor, FaceAnalysis, check_descriptor


class SourceKind(StrEnum):
    REFERENCES = "references"
    APPROVED = "approved"
    FILE = "file"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class IdentitySource:
    """Where the character's face comes from, and the mean descriptor of it.

    ``faces`` is how many faces were averaged; kind ``none`` has no descriptor.
    """

    kind: SourceKind
    descriptor: Descriptor | None
    faces: int

    def __post_init__(self) -> None:
        if (self.kind is SourceKind.NONE) != (self.descriptor is None):
            raise ValueError("an identity source has a descriptor exactly when it is not none")

    def describe(self) -> str:
        """Where the identity comes from, in words for a tooltip or a summary line."""
        if self.kind is SourceKind.REFERENCES:
            return f"the reference images ({_faces(self.faces)})"
        if self.kind is SourceKind.APPROVED:
            return f"the approved renders ({_faces(self.faces)})"
        if self.kind is SourceKind.FILE:
            return "the reference photograph"
        return "no identity yet"


NO_IDENTITY = IdentitySource(SourceKind.NONE, None, 0)


def mean_descriptor(descriptors: Sequence[Descriptor]) -> Descriptor:
    """The component-wise mean of one or more descriptors."""
    if not descriptors:
        raise ValueError("the mean of no descriptors is undefined")
    for d in descriptors:
        check_descriptor(d)
    count = len(descriptors)
    return tuple(sum(d[i] for d in descriptors) / count for i in range(DESCRIPTOR_LENGTH))


def choose_identity_source(
    references: Iterable[FaceAnalysis],
    approved_finals: Iterable[FaceAnalysis],
    approved_in_order: Iterable[FaceAnalysis],
) -> IdentitySource:
    """The character's identity from its reference images, else its approved finals, else the
    first approved render (``approved_in_order`` is every approved render, earliest first).

    Only images with one clear face count; an image with no face or several faces is passed
    over, so a reference set of landscapes falls through to the approved renders.
    """
    faces = _descriptors(references)
    if faces:
        return IdentitySource(SourceKind.REFERENCES, mean_descriptor(faces), len(faces))
    faces = _descriptors(approved_finals)
    if faces:
        return IdentitySource(SourceKind.APPROVED, mean_descriptor(faces), len(faces))
    first = next(iter(_descriptors(approved_in_order)), None)
    if first is not None:
        return IdentitySource(SourceKind.APPROVED, first, 1)
    return NO_IDENTITY


def identity_from_file(analysis: FaceAnalysis) -> IdentitySource:
    """One photograph as the identity; kind ``none`` when it shows no single clear face (the
    analysis's ``problem`` says why)."""
    if analysis.descriptor is None:
        return NO_IDENTITY
    return IdentitySource(SourceKind.FILE, analysis.descriptor, 1)


def _descriptors(analyses: Iterable[FaceAnalysis]) -> list[Descriptor]:
    return [a.descriptor for a in analyses if a.descriptor is not None]


def _faces(count: int) -> str:
    return "1 face" if count == 1 else f"{count} faces"
