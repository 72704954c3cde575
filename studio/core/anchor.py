"""The character anchor: the fixed physical description every scene of a sheet repeats.

Following the guides, a consistent character needs a specific first name and distinctive
features stated explicitly; the structured fields compose into that phrase, and the user can
then edit the phrase freely.

The anchor also owns a *reference set*: up to four images of the character, each with a role
(face, full body, outfit, other), which the models that keep identity receive with the prompt.
An image is known by the sha256 of its file's bytes, so the same picture is the same reference
wherever it is kept, and a changed picture is a changed reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum

from studio.core.codec import SKIP

GENERIC_NAMES = frozenset(
    {"", "man", "woman", "girl", "boy", "person", "character", "hero", "heroine", "someone",
     "guy", "lady", "protagonist", "model", "subject"}
)


@dataclass(frozen=True, slots=True)
class AnchorFields:
    """The structured description. Every field is optional free text."""

    age: str = ""
    presentation: str = ""
    build: str = ""
    hair: str = ""
    skin_tone: str = ""
    eyes: str = ""
    features: str = ""
    outfit: str = ""

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name).strip() for f in fields(self))

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


FIELD_NAMES = tuple(f.name for f in fields(AnchorFields))


def _with_noun(value: str, noun: str, *also: str) -> str:
    low = value.lower()
    if any(word in low for word in (noun, *also)):
        return value
    return f"{value} {noun}"


def compose_anchor(name: str, anchor_fields: AnchorFields) -> str:
    """The anchor phrase, e.g. ``Emma, 30-year-old woman, dark brown wavy hair, brown eyes``."""
    f = anchor_fields
    parts: list[str] = []
    if name.strip():
        parts.append(name.strip())
    who = []
    age = f.age.strip()
    if age:
        who.append(f"{age}-year-old" if age.isdigit() else age)
    if f.presentation.strip():
        who.append(f.presentation.strip())
    if who:
        parts.append(" ".join(who))
    if f.build.strip():
        parts.append(_with_noun(f.build.strip(), "build", "figure", "frame"))
    if f.hair.strip():
        parts.append(_with_noun(f.hair.strip(), "hair", "bald", "shaved"))
    if f.skin_tone.strip():
        parts.append(_with_noun(f.skin_tone.strip(), "skin tone", "skin"))
    if f.eyes.strip():
        parts.append(_with_noun(f.eyes.strip(), "eyes", "eye"))
    if f.features.strip():
        parts.append(f.features.strip())
    if f.outfit.strip():
        parts.append(_outfit_clause(f.outfit.strip()))
    return ", ".join(parts)


def follows_fields(name: str, anchor: str, anchor_fields: AnchorFields) -> bool:
    """Whether the anchor is what its fields compose (not edited by hand)."""
    return not anchor_fields.is_empty() and anchor == compose_anchor(name, anchor_fields)


def _outfit_clause(outfit: str) -> str:
    return outfit if outfit.lower().startswith("wearing") else f"wearing {outfit}"


def anchor_with_outfit(anchor: str, name: str, anchor_fields: AnchorFields, outfit: str) -> str:
    """The anchor with ``outfit`` in place of the character's own outfit; nothing else changes.

    An anchor composed from its fields is composed again with the outfit field swapped. An
    anchor written by hand keeps its text up to its trailing outfit clause, the last
    comma-separated part that starts with "wearing" and everything after it, which is replaced
    by "wearing <outfit>"; an anchor with no such clause gets one appended. An empty outfit
    leaves the anchor as it is.
    """
    outfit = outfit.strip().strip(",").strip()
    if not outfit:
        return anchor
    if follows_fields(name, anchor, anchor_fields):
        return compose_anchor(name, replace(anchor_fields, outfit=outfit))
    parts = anchor.split(",")
    starts = [i for i, part in enumerate(parts)
              if part.strip().lower() == "wearing" or part.strip().lower().startswith("wearing ")]
    kept = parts[: starts[-1]] if starts else parts
    head = ",".join(kept).strip().rstrip(",").strip()
    return f"{head}, {_outfit_clause(outfit)}" if head else _outfit_clause(outfit)


def anchor_descriptors(anchor: str, name: str) -> list[str]:
    """The comma-separated physical descriptors of an anchor, the name left out."""
    items = [p.strip() for p in anchor.split(",") if p.strip()]
    return [p for p in items if p.lower() != name.strip().lower()]


def name_in_anchor(name: str, anchor: str) -> bool:
    name = name.strip()
    if not name:
        return False
    return any(w.strip(".,;:!?'\"()").lower() == name.lower().split()[0]
               for w in anchor.split())


# --------------------------------------------------------------------------- reference images

#: The most reference images an anchor holds (the models that take several take up to 4 to 9).
REFERENCES_MAX = 4


class ReferenceRole(StrEnum):
    """What a reference image shows of the character."""

    FACE = "face"
    FULL_BODY = "full-body"
    OUTFIT = "outfit"
    OTHER = "other"


class ReferenceStrength(StrEnum):
    """How strongly a scene holds to the reference set; each model maps light and strong onto
    its own knob (``studio.core.capabilities.ReferenceSupport``)."""

    OFF = "off"
    LIGHT = "light"
    STRONG = "strong"


@dataclass(frozen=True, slots=True)
class ReferenceImage:
    """One image of the anchor's reference set: its content and its role.

    ``path`` says where it came from in a sheet file (relative to the sheet, as written); it is
    not part of what a render sends, so it is kept out of every serialised form (requests, the
    job journal, PNG chunks). ``sha256`` is empty until the file is read.
    """

    sha256: str
    role: ReferenceRole = ReferenceRole.OTHER
    path: str = field(default="", metadata=SKIP)

    @property
    def short(self) -> str:
        """The first 8 hex digits of the hash, as sentences name an image."""
        return self.sha256[:8]


def reference_identity(references: Iterable[ReferenceImage]) -> tuple[tuple[str, str], ...]:
    """What makes two reference sets the same: the images and their roles, in order (not where
    the files are kept)."""
    return tuple((r.sha256, r.role.value) for r in references)


_SUBJECT_WORDS = {"woman": "woman", "man": "man", "girl": "girl", "boy": "boy",
                  "person": "person", "lady": "woman", "guy": "man", "female": "woman",
                  "male": "man", "child": "child", "kid": "child", "teenager": "teenager",
                  "teen": "teenager"}


def anchor_subject(anchor: str, anchor_fields: AnchorFields) -> str:
    """The noun a prompt names the character by when it speaks of reference images ("the woman
    from the reference image"): from the presentation field, else the first such word of the
    anchor, else "person"."""
    for text in (anchor_fields.presentation, anchor):
        for word in re.findall(r"[a-z]+", text.lower()):
            if word in _SUBJECT_WORDS:
                return _SUBJECT_WORDS[word]
    return "person"
