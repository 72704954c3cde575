from __future__ import annotations

from studio.core.anchor import AnchorFields, compose_anchor, name_in_anchor


def test_fields_compose_into_the_guides_anchor_phrase() -> None:
    fields = AnchorFields(age="30", presentation="woman", hair="dark brown wavy hair past "
                          "shoulders", skin_tone="warm olive", eyes="brown",
                          features="small nose, defined jaw")
    assert compose_anchor("Emma", fields) == (
        "Emma, 30-year-old woman, dark brown wavy hair past shoulders, warm olive skin tone, "
        "brown eyes, small nose, defined jaw")


def test_fields_are_not_doubled_and_outfit_reads_naturally() -> None:
    fields = AnchorFields(age="in her 40s", presentation="woman", build="athletic",
                          hair="short red", eyes="green eyes", outfit="worn leather jacket")
    assert compose_anchor("Mara", fields) == (
        "Mara, in her 40s woman, athletic build, short red hair, green eyes, "
        "wearing worn leather jacket")
    assert compose_anchor("", AnchorFields(outfit="wearing a grey coat")) == "wearing a grey coat"


def test_name_in_anchor_is_a_whole_word_match() -> None:
    assert name_in_anchor("Emma", "Emma, 30-year-old woman")
    assert name_in_anchor("Emma", "portrait of emma in the rain")
    assert not name_in_anchor("Emma", "Emmanuel, 30-year-old man")
    assert not name_in_anchor("", "anything")


def test_the_example_anchor_is_what_its_fields_compose(example_sheet_path) -> None:  # type: ignore[no-untyped-def]
    from studio.core.presets import load_catalog
    from studio.core.sheet import load_sheet

    sheet = load_sheet(example_sheet_path, load_catalog())
    # The window shows "edited by hand" when these differ; the example must open clean.
    assert compose_anchor(sheet.character.name, sheet.character.fields) == sheet.character.anchor


# ----------------------------------------------------------------------- a scene's outfit

def test_an_outfit_recomposes_an_anchor_that_follows_its_fields() -> None:
    from studio.core.anchor import anchor_with_outfit

    fields = AnchorFields(age="30", presentation="woman", hair="short red", eyes="green",
                          outfit="a green parka")
    anchor = compose_anchor("Mara", fields)
    assert anchor.endswith("green eyes, wearing a green parka")
    assert anchor_with_outfit(anchor, "Mara", fields, "a black suit, white shirt") == (
        "Mara, 30-year-old woman, short red hair, green eyes, wearing a black suit, white shirt")
    no_outfit = AnchorFields(age="30", presentation="woman")
    assert anchor_with_outfit(compose_anchor("Mara", no_outfit), "Mara", no_outfit,
                              "wearing a kimono") == "Mara, 30-year-old woman, wearing a kimono"


def test_an_outfit_replaces_the_trailing_wearing_clause_of_a_hand_written_anchor() -> None:
    from studio.core.anchor import anchor_with_outfit

    fields = AnchorFields(age="30", outfit="a green parka")  # the anchor no longer follows them
    anchor = "Mara, short red hair, wearing glasses, green eyes, wearing a parka, black boots"
    assert anchor_with_outfit(anchor, "Mara", fields, "a ball gown") == (
        "Mara, short red hair, wearing glasses, green eyes, wearing a ball gown")
    assert anchor_with_outfit("Mara, short red hair", "Mara", AnchorFields(), "a ball gown") == (
        "Mara, short red hair, wearing a ball gown")
    assert anchor_with_outfit("Mara, red hair,", "Mara", AnchorFields(), " a ball gown, ") == (
        "Mara, red hair, wearing a ball gown")
    assert anchor_with_outfit("Wearing a parka", "", AnchorFields(), "a gown") == (
        "wearing a gown")
    # no outfit: the anchor exactly as written
    assert anchor_with_outfit(anchor, "Mara", fields, "  ") == anchor


def test_prompts_use_the_scenes_anchor(example_sheet_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from studio.core.presets import load_catalog
    from studio.core.prompt import compose_prompt, prompt_parts
    from studio.core.sheet import load_sheet, scene_anchor

    catalog = load_catalog()
    sheet = load_sheet(example_sheet_path, catalog)
    scene = replace(sheet.scenes[0], outfit="a yellow raincoat")
    assert scene_anchor(sheet, sheet.scenes[0]) == sheet.character.anchor
    assert scene_anchor(sheet, scene) == sheet.character.anchor + ", wearing a yellow raincoat"
    assert prompt_parts(sheet, scene, catalog)[0].text == scene_anchor(sheet, scene)
    assert compose_prompt(sheet, scene, catalog).startswith(scene_anchor(sheet, scene) + ", ")
