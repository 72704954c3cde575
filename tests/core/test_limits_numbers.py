"""Numbers from files against the limits: an integer too large for a float is out of range,
never an OverflowError (a sheet's guidance of 10**400 was a traceback)."""

from __future__ import annotations

import math

import pytest

from studio.core import limits
from studio.core.errors import StudioInputError
from studio.core.presets import load_catalog
from studio.core.sheet import parse_sheet


@pytest.mark.parametrize(("value", "expected"), [
    (3.5, 3.5), (0, 0), (100, 100), (10**400, None), (-(10**400), None), (1e400, None),
    (math.nan, None), (True, None), ("3.5", None), (None, None), (-0.5, None),
])
def test_number_within(value: object, expected: object) -> None:
    assert limits.number_within(value, 0, 100) == expected
    assert limits.in_range(10**400, 0, 100) is False


def test_a_sheet_guidance_too_large_for_a_float_is_a_sentence() -> None:
    text = ('format = 1\n[character]\nname = "E"\nanchor = "E"\nseed = 1\n'
            f'[preview]\nguidance = 1{"0" * 400}\n'
            '[[scenes]]\nname = "a"\nsetting = "b"\n')
    with pytest.raises(StudioInputError, match=r"'preview\.guidance' is 1000.*outside 0\.\.100"):
        parse_sheet(text, load_catalog(), "big.sheet.toml")
