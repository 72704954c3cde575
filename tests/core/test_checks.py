"""Every prompt check fires on the mistake it names, stays quiet on a clean sheet, and its
one-click fix resolves it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from studio.core.capabilities import ModelCapabilities
from studio.core.checks import Finding, Severity, apply_fix, has_errors, lint_sheet
from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Scene, Sheet, load_sheet


@pytest.fixture
def clean(example_sheet_path: Path, catalog: PresetCatalog) -> Sheet:
    return load_sheet(example_sheet_path, catalog)


def ids(findings: list[Finding]) -> list[str]:
    return [f.id for f in findings]


def one(findings: list[Finding], rule: str) -> Finding:
    matches = [f for f in findings if f.id == rule]
    assert len(matches) == 1, ids(findings)
    return matches[0]


def with_scene(sheet: Sheet, **changes: object) -> Sheet:
    return sheet.with_scenes((replace(sheet.scenes[0], **changes), *sheet.scenes[1:]))


def test_the_example_is_clean(clean: Sheet, catalog: PresetCatalog) -> None:
    assert lint_sheet(clean, catalog) == []


def test_style_conflict(clean: Sheet, catalog: PresetCatalog) -> None:
    sheet = with_scene(clean, setting="studio backdrop, digital art, oil painting")
    finding = one(lint_sheet(sheet, catalog), "style-conflict")
    assert finding.severity is Severity.WARNING
    assert "Studio headshot" in finding.message and "digital art" in finding.message
    assert finding.fix is not None
    assert "style-conflict" not in ids(lint_sheet(apply_fix(sheet, finding.fix), catalog))


def test_negative_prompt_words_do_not_count_as_style(clean: Sheet,
                                                     catalog: PresetCatalog) -> None:
    # The recommended negative says "painting, cartoon": that must not trigger the check.
    assert "style-conflict" not in ids(lint_sheet(clean, catalog))


def test_overloaded_prompt(clean: Sheet, catalog: PresetCatalog) -> None:
    sheet = with_scene(clean, setting="a, b, c, d, e")  # 5 + lighting + lens + skin = 8
    finding = one(lint_sheet(sheet, catalog), "overloaded-prompt")
    assert "8 descriptors" in finding.message
    six = with_scene(clean, setting="a, b, c")  # exactly six: allowed
    assert "overloaded-prompt" not in ids(lint_sheet(six, catalog))


def test_vague_quality_words(clean: Sheet, catalog: PresetCatalog) -> None:
    vague_only = replace(clean, character=replace(clean.character, anchor="Emma, beautiful woman",
                                                  skin=()))
    finding = one(lint_sheet(vague_only, catalog), "vague-quality")
    assert finding.severity is Severity.WARNING and "beautiful" in finding.message
    with_specifics = with_scene(clean, setting="stunning studio backdrop")
    assert one(lint_sheet(with_specifics, catalog), "vague-quality").severity is Severity.INFO


def test_final_without_negative(clean: Sheet, catalog: PresetCatalog) -> None:
    sheet = replace(clean, character=replace(clean.character, negative=""))
    finding = one(lint_sheet(sheet, catalog), "final-no-negative")
    assert finding.fix is not None
    assert "final-no-negative" not in ids(lint_sheet(apply_fix(sheet, finding.fix), catalog))


def test_negative_on_schnell(clean: Sheet, catalog: PresetCatalog) -> None:
    sheet = replace(clean, preview=replace(clean.preview, negative="blurry"))
    finding = one(lint_sheet(sheet, catalog), "negative-on-schnell")
    assert "dropped" in finding.message and "preview" in finding.message
    assert finding.fix is not None
    assert lint_sheet(apply_fix(sheet, finding.fix), catalog) == []


def test_steps_and_guidance_outside_documented_ranges(clean: Sheet,
                                                      catalog: PresetCatalog) -> None:
    sheet = replace(clean, final=replace(clean.final, steps=12, guidance=9.5),
                    preview=replace(clean.preview, steps=8, guidance=3.5))
    findings = lint_sheet(sheet, catalog)
    steps = [f for f in findings if f.id == "steps-range"]
    guidance = [f for f in findings if f.id == "guidance-range"]
    assert len(steps) == 2 and len(guidance) == 2
    fixed = sheet
    for f in steps + guidance:
        assert f.fix is not None
        fixed = apply_fix(fixed, f.fix)
    assert (fixed.final.steps, fixed.final.guidance) == (20, 8.0)
    assert (fixed.preview.steps, fixed.preview.guidance) == (4, 0.0)
    assert lint_sheet(fixed, catalog) == []


def test_provider_hard_limits_are_errors(clean: Sheet, catalog: PresetCatalog) -> None:
    caps = ModelCapabilities("imageapi", "flux-schnell", steps_min=1, steps_max=8,
                             uses_guidance=False, supports_negative=False, max_side=768)
    sheet = replace(clean, preview=replace(clean.preview, provider="imageapi", steps=10))
    findings = lint_sheet(sheet, catalog, lambda p, m: caps if p == "imageapi" else None)
    assert one(findings, "steps-limit").severity is Severity.ERROR
    # 1024-wide framings are over this provider's 768 limit; 512x768 is fine
    assert ids(findings).count("size-limit") == 3
    assert has_errors(findings)


def test_size_not_divisible_by_8(clean: Sheet, catalog: PresetCatalog) -> None:
    sheet = with_scene(clean, framing="1000x1021")
    finding = one(lint_sheet(sheet, catalog), "size-multiple")
    assert finding.severity is Severity.ERROR and "1000x1021" in finding.message
    assert finding.fix is not None and finding.fix.value == "1000x1016"
    assert lint_sheet(apply_fix(sheet, finding.fix), catalog) == []


def test_seed_out_of_range(clean: Sheet, catalog: PresetCatalog) -> None:
    sheet = with_scene(clean, seed=2**32)
    finding = one(lint_sheet(sheet, catalog), "seed-range")
    assert finding.severity is Severity.ERROR and finding.scene == "Studio headshot"
    bad_sheet_seed = replace(clean, character=replace(clean.character, seed=-1))
    assert one(lint_sheet(bad_sheet_seed, catalog), "seed-range").scene is None


def test_name_missing_from_anchor(clean: Sheet, catalog: PresetCatalog) -> None:
    sheet = replace(clean, character=replace(clean.character, anchor="30-year-old woman, "
                                             "dark brown wavy hair, brown eyes"))
    finding = one(lint_sheet(sheet, catalog), "name-missing")
    assert finding.fix is not None
    fixed = apply_fix(sheet, finding.fix)
    assert fixed.character.anchor.startswith("Emma, 30-year-old")
    assert lint_sheet(fixed, catalog) == []


def test_generic_name(clean: Sheet, catalog: PresetCatalog) -> None:
    sheet = replace(clean, character=replace(clean.character, name="Woman"))
    assert "generic-name" in ids(lint_sheet(sheet, catalog))


def test_findings_keep_scene_order(clean: Sheet, catalog: PresetCatalog) -> None:
    scenes = tuple(replace(s, framing="1001x1001") for s in clean.scenes)
    findings = lint_sheet(clean.with_scenes(scenes), catalog)
    assert [f.scene for f in findings] == [s.name for s in clean.scenes]
    assert all(f.message.startswith(f'Scene "{f.scene}"') for f in findings)


def test_unknown_fix_path_is_refused(clean: Sheet) -> None:
    from studio.core.checks import Fix

    with pytest.raises(ValueError):
        apply_fix(clean, Fix("x", "nowhere.x", 1))
    assert apply_fix(clean, Fix("x", "scenes.Nope.seed", 1)) == clean
    assert Stage.FINAL.value == "final"
    assert isinstance(Scene("a", "b"), Scene)


def test_a_seed_the_model_replaces_is_a_warning(clean: Sheet, catalog: PresetCatalog) -> None:
    caps = ModelCapabilities("replicate", "black-forest-labs/flux-schnell", steps_max=4,
                             uses_guidance=False, supports_negative=False,
                             replaced_seeds=(0,))

    def lookup(provider: str, model: str) -> ModelCapabilities | None:
        return caps if provider == "replicate" else None

    on_replicate = replace(clean, preview=replace(clean.preview, provider="replicate",
                                                  model=caps.model, steps=4))
    assert "seed-replaced" not in ids(lint_sheet(on_replicate, catalog, lookup))
    zero = replace(on_replicate, character=replace(on_replicate.character, seed=0))
    finding = one(lint_sheet(zero, catalog, lookup), "seed-replaced")
    assert finding.severity is Severity.WARNING and "replaces seed 0" in finding.message
    assert finding.fix is not None
    assert "seed-replaced" not in ids(lint_sheet(apply_fix(zero, finding.fix), catalog, lookup))
    scene_zero = with_scene(on_replicate, seed=0)
    finding = one(lint_sheet(scene_zero, catalog, lookup), "seed-replaced")
    assert finding.scene == "Studio headshot" and "previews" in finding.message
    # Another provider keeps seed 0.
    assert "seed-replaced" not in ids(lint_sheet(replace(clean, character=replace(
        clean.character, seed=0)), catalog, lookup))
