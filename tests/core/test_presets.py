"""The catalog holds every preset the guides give, with their exact prompt texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.errors import PresetError
from studio.core.presets import PresetKind, load_catalog
from studio.core.request import Stage

GUIDE_LIGHTING = {
    "soft studio lighting, warm key light": "Headshots, profiles",
    "golden hour backlight, rim light halo": "Outdoor lifestyle scenes",
    "Rembrandt lighting, single source": "Editorial, dramatic portraits",
    "overcast natural light, diffused window": "Candid, documentary style",
    "neon city reflections, cyberpunk ambient": "Sci-fi character art",
}
GUIDE_LENSES = {
    "Canon EF 85mm f/1.4", "Sigma 35mm f/1.4", "Sony FE 135mm f/1.8 GM",
    "iPhone 15 Pro portrait mode", "medium format film scan, Hasselblad",
}
GUIDE_SKIN = {
    "visible skin pores, subsurface scattering", "natural freckles, slight skin variation",
    "catchlights in eyes, sharp iris detail", "natural lip texture, soft lip lines",
    "hair strand detail, flyaways",
}


def test_lighting_has_the_guides_table_with_effect_and_best_use(catalog) -> None:
    by_text = {p.text: p for p in catalog.of_kind(PresetKind.LIGHTING)}
    for text, best_use in GUIDE_LIGHTING.items():
        assert text in by_text, text
        assert by_text[text].best_use == best_use
        assert by_text[text].effect
    # plus the descriptors the other guides' examples use
    assert "soft studio lighting, warm key light, cool fill" in by_text
    assert "natural window light" in by_text
    assert "dramatic directional lighting, high contrast" in by_text


def test_all_five_lenses_and_skin_details(catalog) -> None:
    lens_texts = " | ".join(p.text for p in catalog.of_kind(PresetKind.LENS))
    for lens in GUIDE_LENSES:
        assert lens in lens_texts
    assert len(catalog.of_kind(PresetKind.LENS)) == 5
    assert {p.text for p in catalog.of_kind(PresetKind.SKIN)} == GUIDE_SKIN


def test_framings_have_the_guides_sizes(catalog) -> None:
    sizes = {(p.width, p.height) for p in catalog.of_kind(PresetKind.FRAMING)}
    assert sizes == {(1024, 1024), (768, 1024), (1024, 768), (512, 768)}


def test_negatives_per_stage_and_patterns(catalog) -> None:
    assert catalog.recommended_negative(Stage.FINAL) == (
        "cartoon, anime, painting, blur, oversmoothed, plastic skin, watermark, text")
    assert catalog.recommended_negative(Stage.PREVIEW) == ""
    pattern_ids = set(catalog.ids(PresetKind.PATTERN))
    assert pattern_ids == {"portrait-lighting", "environmental", "editorial", "documentary"}
    for pattern in catalog.of_kind(PresetKind.PATTERN):
        # the presets a pattern suggests must exist
        assert catalog.get(PresetKind.LIGHTING, pattern.lighting or "")
        assert catalog.get(PresetKind.LENS, pattern.lens or "")
        assert catalog.get(PresetKind.FRAMING, pattern.framing or "")
    quality = " ".join(p.text for p in catalog.of_kind(PresetKind.QUALITY))
    assert "RAW photo" in quality and "photorealistic" in quality


def test_every_preset_documents_itself(catalog) -> None:
    for kind in PresetKind:
        for preset in catalog.of_kind(kind):
            assert preset.label and preset.effect and preset.best_use, preset.id


def test_user_presets_merge_over_builtins_by_id(tmp_path: Path) -> None:
    user = tmp_path / "presets.toml"
    user.write_text(
        'format = 1\n'
        '[[lighting]]\nid = "rembrandt"\nlabel = "My Rembrandt"\ntext = "Rembrandt lighting, '
        'candle"\n'
        '[[lighting]]\nid = "candle"\ntext = "candlelight, warm flicker"\n',
        encoding="utf-8",
    )
    catalog = load_catalog(user_file=user)
    ids = catalog.ids(PresetKind.LIGHTING)
    assert ids.count("rembrandt") == 1
    rembrandt = catalog.get(PresetKind.LIGHTING, "rembrandt")
    assert rembrandt is not None and rembrandt.text == "Rembrandt lighting, candle"
    assert rembrandt.source == "user"
    assert ids.index("rembrandt") == load_catalog().ids(PresetKind.LIGHTING).index("rembrandt")
    assert catalog.get(PresetKind.LIGHTING, "candle") is not None
    assert len(catalog) == len(load_catalog()) + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[lighting]\nid='x'", "presets.toml"),
        ("[[weather]]\nid = 'rain'\ntext='rain'", "unknown preset kind [[weather]]"),
        ("[[lighting]]\ntext = 'no id'", "has no 'id'"),
        ("[[framing]]\nid = 'odd'\nwidth = 100", "needs 'width' and 'height'"),
    ],
)
def test_a_bad_user_file_names_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    user = tmp_path / "presets.toml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(PresetError, match=r"presets\.toml") as info:
        load_catalog(user_file=user)
    assert expected in str(info.value)


def test_missing_user_file_is_fine(tmp_path: Path) -> None:
    assert len(load_catalog(user_file=tmp_path / "nope.toml")) == len(load_catalog())
