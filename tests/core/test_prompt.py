"""Composition follows the guides' order, stages follow their profiles, output is deterministic."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from studio.core.presets import PresetCatalog
from studio.core.prompt import build_request, build_requests, compose_prompt, prompt_parts
from studio.core.request import Stage
from studio.core.sheet import Scene, load_sheet


def _sheet(path: Path, catalog: PresetCatalog):  # type: ignore[no-untyped-def]
    return load_sheet(path, catalog)


def test_parts_come_in_the_guides_order(example_sheet_path: Path, catalog: PresetCatalog) -> None:
    sheet = _sheet(example_sheet_path, catalog)
    scene = replace(sheet.scenes[0], pattern="documentary")
    roles = [p.role for p in prompt_parts(sheet, scene, catalog)]
    assert roles == ["anchor", "skin", "setting", "pattern", "lighting", "lens", "quality"]


def test_composed_prompt_positions(example_sheet_path: Path, catalog: PresetCatalog) -> None:
    sheet = _sheet(example_sheet_path, catalog)
    prompt = compose_prompt(sheet, sheet.scenes[0], catalog)
    anchor = prompt.index("Emma, 30-year-old woman")
    skin = prompt.index("visible skin pores, subsurface scattering")
    setting = prompt.index("neutral grey studio backdrop, medium shot")
    lighting = prompt.index("soft studio lighting, warm key light, cool fill")
    lens = prompt.index("Canon EF 85mm f/1.4 bokeh")
    quality = prompt.index("photorealistic, 4K, skin pores, RAW photo")
    assert anchor < skin < setting < lighting < lens < quality
    assert prompt.endswith("RAW photo")


def test_free_text_lighting_and_lens_go_in_verbatim(example_sheet_path: Path,
                                                     catalog: PresetCatalog) -> None:
    sheet = _sheet(example_sheet_path, catalog)
    scene = Scene("Night", "rooftop at night", lighting="candlelight", lens="fisheye lens")
    prompt = compose_prompt(sheet, scene, catalog)
    assert "rooftop at night, candlelight, fisheye lens" in prompt


def test_stage_profiles(example_sheet_path: Path, catalog: PresetCatalog) -> None:
    sheet = _sheet(example_sheet_path, catalog)
    preview = build_request(sheet, sheet.scenes[1], Stage.PREVIEW, catalog)
    final = build_request(sheet, sheet.scenes[1], Stage.FINAL, catalog)
    assert (preview.steps, preview.guidance, preview.negative, preview.model) == (
        4, 0.0, "", "flux-schnell")
    assert (final.steps, final.guidance, final.model) == (30, 7.5, "fluxgram-v1")
    assert final.negative == catalog.recommended_negative(Stage.FINAL)
    assert preview.prompt == final.prompt and preview.seed == final.seed == 42
    assert (preview.width, preview.height) == (512, 768)
    assert preview.context.scene == "Coffee-shop window"
    assert preview.context.lighting == "Overcast / window"


def test_character_negative_and_scene_seed_override(example_sheet_path: Path,
                                                    catalog: PresetCatalog) -> None:
    sheet = _sheet(example_sheet_path, catalog)
    sheet = replace(sheet, character=replace(sheet.character, negative="blurry"))
    scenes = (replace(sheet.scenes[0], seed=7), *sheet.scenes[1:])
    sheet = sheet.with_scenes(scenes)
    reqs = build_requests(sheet, Stage.FINAL, catalog)
    assert [r.seed for r in reqs] == [7, 42, 42, 42]
    assert {r.negative for r in reqs} == {"blurry"}


def test_same_sheet_same_requests(example_sheet_path: Path, catalog: PresetCatalog) -> None:
    a = build_requests(_sheet(example_sheet_path, catalog), Stage.FINAL, catalog)
    b = build_requests(_sheet(example_sheet_path, catalog), Stage.FINAL, catalog)
    assert a == b
    only = build_requests(_sheet(example_sheet_path, catalog), Stage.PREVIEW, catalog,
                          ["Rembrandt editorial"])
    assert [r.context.scene for r in only] == ["Rembrandt editorial"]
