"""A bundle's settings rows as the library keeps them: each value read in the type the library
stores (a value of another type reads as missing), and the refusal of rows whose numbers the
library cannot keep (out of range, infinite), which the studio never writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from studio.core import codec
from studio.core import limits as core_limits
from studio.core.anchor import ReferenceImage, ReferenceStrength
from studio.core.request import Stage
from studio.core.text import shorten
from studio.export.bundle import BundleError

_SEED = (core_limits.PARAM_SEED_MIN, core_limits.PARAM_SEED_MAX)
_ID = (0, 2**63 - 1)
#: The numbers of a settings row the library keeps, and the range each must be in.
ROW_NUMBERS: dict[str, tuple[float, float]] = {
    "seed": _SEED,
    "seed_requested": _SEED,
    "seed_returned": _SEED,
    "width": (0, core_limits.PARAM_SIDE_MAX),
    "height": (0, core_limits.PARAM_SIDE_MAX),
    "steps": (0, core_limits.STEPS_MAX),
    "guidance": (core_limits.GUIDANCE_MIN, core_limits.GUIDANCE_MAX),
    "cost": (0.0, core_limits.COST_MAX),
    "render_id": _ID,
    "parent_id": _ID,
    "anchor_version": _ID,
}


def row_int(row: Mapping[str, Any], key: str) -> int | None:
    value = row.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def row_float(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def row_str(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""


def row_stage(row: Mapping[str, Any]) -> Stage:
    try:
        return Stage(row_str(row, "stage"))
    except ValueError:
        return Stage.FINAL


def decoded(cls: type[Any], value: Any) -> Any:
    """A value the bundle's settings hold in the codec's form, or None when it does not fit."""
    try:
        return None if value is None else codec.from_data(cls, value)
    except codec.CodecError:
        return None


def _has_infinity(value: object) -> bool:
    """Whether a float anywhere in ``value`` is infinite (JSON's ``1e400`` reads as one)."""
    if isinstance(value, float):
        return value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_has_infinity(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_infinity(v) for v in value)
    return False


def _words(bound: float) -> str:
    return f"{int(bound):,}" if float(bound).is_integer() else f"{bound:g}"


def check_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """Refuse settings whose numbers the library cannot keep (out of range, infinite).

    Values of the wrong type (a seed written as text) are tolerated: they are left out when the
    image is stored, as an image without those settings. A number out of range is not a slip:
    the studio never writes one, so the bundle was altered, and it is refused as a whole.
    """
    for number, row in enumerate(rows, start=1):
        where = row_str(row, "file") or f"row {number}"
        for key, (low, high) in ROW_NUMBERS.items():
            value = row.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if core_limits.number_within(value, low, high) is None:
                raise BundleError(
                    f"The bundle is refused: its settings.json gives {shorten(where, 80)} the "
                    f"{key} {shorten(str(value), 24)}, outside {_words(low)}..{_words(high)}; "
                    "it was not "
                    "made by the studio or was altered.")
        for key, value in row.items():
            if _has_infinity(value):
                raise BundleError(
                    f"The bundle is refused: its settings.json gives {shorten(where, 80)} an "
                    f"infinite number in \"{shorten(str(key), 40)}\"; it was not made by the "
                    "studio or was altered.")


def row_references(row: Mapping[str, Any]) -> tuple[tuple[ReferenceImage, ...],
                                                    ReferenceStrength]:
    """The reference images a settings record says its render was sent with."""
    refs = decoded(tuple[ReferenceImage, ...], row.get("references")) or ()
    try:
        strength = ReferenceStrength(row_str(row, "reference_strength") or "strong")
    except ValueError:
        strength = ReferenceStrength.STRONG
    return refs, (strength if refs else ReferenceStrength.OFF)

