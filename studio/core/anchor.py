"""The character anchor: the fixed physical description every scene of a sheet repeats.

Following the guides, a consistent character needs a specific first name and distinctive
features stated explicitly; the structured fields compose into that phrase, and the user can
then edit the phrase freely.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

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
