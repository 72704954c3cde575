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
