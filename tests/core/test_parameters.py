"""The A1111 ``parameters`` reader on hostile text: linear, the same items as A1111's pattern,
out-of-range numbers read as absent."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core import limits
from studio.core.parameters import (
    ImageParameters,
    format_parameters,
    parse_parameters,
    settings_items,
)

# AUTOMATIC1111's own pattern for one item: the reference the linear reader must agree with.
# It backtracks quadratically, so it only ever sees the short lines generated here.
A1111_ITEM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')

# The characters that decide how a settings line splits, plus a few ordinary ones.
_tricky = st.text(alphabet=st.sampled_from(list('ab Z_-/:,"\\\t(é1x ')), max_size=60)


@settings(max_examples=600, deadline=None)
@given(_tricky)
def test_items_are_what_the_a1111_pattern_finds(line: str) -> None:
    assert settings_items(line) == A1111_ITEM.findall(line)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Steps", "CFG scale", "Seed", "Size", "Model",
                                           "Lora hashes", "a/b-c d"]),
                          _tricky), min_size=1, max_size=6))
def test_items_agree_on_lines_shaped_like_settings(pairs: list[tuple[str, str]]) -> None:
    line = ", ".join(f"{key}: {value}" for key, value in pairs)
    assert settings_items(line) == A1111_ITEM.findall(line)


@pytest.mark.timeout(60)  # linear: well under a second; the old pattern needed hours here
@pytest.mark.parametrize("line", [
    "a" * 2_000_000,  # one long word, no colon: 200k characters took 109 s before
    "word " * 400_000,
    "a: " + '"x, ' * 500_000,  # quoted values that never close
    "(key: value) " * 150_000,  # colons after characters that cannot start a key
    "k: \\" + '\\"' * 700_000,  # escapes all the way
], ids=["word", "words", "open-quotes", "bad-keys", "escapes"])
def test_a_huge_line_reads_in_linear_time(line: str) -> None:
    params = parse_parameters("prompt\n" + line)
    assert params.prompt.startswith("prompt")


@pytest.mark.parametrize(("item", "field"), [
    ("Seed: 1180591620717411303424", "seed"),  # 2**70
    ("Seed: -1", "seed"),
    ("Steps: 1000000000000000000000000000000", "steps"),  # 10**30
    ("Steps: 0", "steps"),
    ("CFG scale: nan", "guidance"),
    ("CFG scale: inf", "guidance"),
    ("CFG scale: 1e400", "guidance"),
    ("Steps: " + "9" * 5000, "steps"),  # past int()'s 4,300-digit guard
    ("Seed: 1_000", "seed"),
])
def test_numbers_out_of_range_read_as_absent(item: str, field: str) -> None:
    params = parse_parameters(f"prompt\nModel: m, Provider: p, {item}")
    assert getattr(params, field) is None
    assert params.model == "m" and params.provider == "p"


@pytest.mark.parametrize("size", ["99999x10", "0x512", "１２x３４", "+5x6", "5x6x7", "x", "5 x"])
def test_a_size_out_of_range_or_odd_reads_as_absent(size: str) -> None:
    params = parse_parameters(f"p\nSteps: 4, Seed: 1, Size: {size}")
    assert (params.width, params.height) == (None, None)


def test_numbers_at_the_edges_of_the_ranges_are_kept() -> None:
    params = parse_parameters(
        f"p\nSteps: {limits.PARAM_STEPS_MAX}, Seed: {limits.PARAM_SEED_MAX}, "
        f"CFG scale: {limits.PARAM_GUIDANCE_MAX:g}, Size: 65535x1")
    assert params.steps == limits.PARAM_STEPS_MAX
    assert params.seed == 2**63 - 1
    assert params.guidance == limits.PARAM_GUIDANCE_MAX
    assert (params.width, params.height) == (65535, 1)


def test_quoted_values_keep_their_commas_and_colons() -> None:
    original = ImageParameters(prompt="a, b", steps=4, seed=7, model='odd, "model": x',
                               extra={"Lora hashes": "detail: 1a2b, skin: 3c4d"})
    assert parse_parameters(format_parameters(original)) == original
