"""Page layout: what goes on which page, in points, before anything is drawn."""

from __future__ import annotations

import dataclasses

import pytest

from studio.export.canvas import BoxOp, ImageOp, Page, Rect, TextOp, fit
from studio.export.layout import sheet_pages, storyboard_grid, storyboard_pages
from studio.export.model import (
    ExportCell,
    PageSize,
    SheetDocument,
    SheetOptions,
    StoryboardOptions,
)
from studio.export.text import TextMeasure, find_fonts, measure_for


@pytest.fixture(scope="module")
def measure() -> TextMeasure:
    return measure_for(find_fonts())


def texts(page: Page) -> list[str]:
    return [op.text for op in page.ops if isinstance(op, TextOp)]


def inside(page: Page, rect: Rect) -> bool:
    eps = 0.01
    return (rect.x >= -eps and rect.y >= -eps and rect.right <= page.width + eps
            and rect.bottom <= page.height + eps)


def test_the_example_sheet_fits_one_a4_page_with_its_header_and_every_scene(
        emma_doc: SheetDocument, measure: TextMeasure) -> None:
    pages = sheet_pages(emma_doc, SheetOptions(), measure)
    assert len(pages) == 1
    page = pages[0]
    assert (round(page.width), round(page.height)) == (595, 842)
    lines = texts(page)
    assert lines[0] == "Emma: character sheet"
    assert any("Character: Emma" in t and "Seed 42" in t and "Anchor version 1" in t
               for t in lines)
    assert any(t.startswith("Emma, 30-year-old woman") for t in lines)
    for cell in emma_doc.cells:
        assert cell.scene in lines
    assert "Lighting: Studio, warm key and cool fill" in lines
    assert "Lens: Canon EF 85mm f/1.4" in lines
    assert "Seed 42 · fluxgram-v1 · offline" in lines
    assert "Seed 42 · flux-schnell · offline" in lines  # the preview stand-in
    assert "no final yet" in lines and "PREVIEW" in lines
    assert page.image_count == 4
    assert "Page 1 of 1" in lines


def test_every_operation_stays_on_its_page(emma_doc: SheetDocument, measure: TextMeasure) -> None:
    for options in (SheetOptions(columns=1), SheetOptions(columns=3, landscape=True),
                    SheetOptions(page=PageSize.A5, columns=4)):
        for page in sheet_pages(emma_doc, options, measure):
            for op in page.ops:
                if isinstance(op, ImageOp | BoxOp):
                    assert inside(page, op.rect), (options, op)
                else:
                    assert 0 <= op.x <= page.width and 0 <= op.y <= page.height


def test_one_column_paginates_and_repeats_a_short_header(
        emma_doc: SheetDocument, measure: TextMeasure) -> None:
    pages = sheet_pages(emma_doc, SheetOptions(columns=1), measure)
    assert len(pages) >= 2
    assert sum(p.image_count for p in pages) == 4
    assert "Emma: character sheet (continued)" in texts(pages[1])
    assert f"Page 2 of {len(pages)}" in texts(pages[1])


def test_the_png_layout_is_one_page_as_tall_as_its_content(
        emma_doc: SheetDocument, measure: TextMeasure) -> None:
    (page,) = sheet_pages(emma_doc, SheetOptions(columns=1), measure, continuous=True)
    assert page.image_count == 4
    assert page.height > 842 * 2
    lowest = max(op.rect.bottom for op in page.ops if isinstance(op, ImageOp))
    assert lowest < page.height


def test_missing_and_out_of_date_cells_are_marked(
        emma_doc_mixed: SheetDocument, measure: TextMeasure) -> None:
    (page,) = sheet_pages(emma_doc_mixed, SheetOptions(), measure)
    lines = texts(page)
    assert "Not rendered yet" in lines
    assert "anchor changed" in lines and "OUT OF DATE" in lines
    assert "no final yet" in lines
    assert page.image_count == 3


def test_long_text_is_wrapped_or_cut_to_the_cell(measure: TextMeasure) -> None:
    long = "an extremely long lighting description " * 8
    doc = SheetDocument(title="T" * 300, character="Zoë", anchor="word " * 400, seed=7,
                        cells=(ExportCell(scene="S" * 200, lighting=long, lens=long),))
    (page,) = sheet_pages(doc, SheetOptions(columns=3), measure)
    for op in page.ops:
        if isinstance(op, TextOp):
            assert op.x + measure.width(op.text, op.size, op.bold) <= page.width - 20, op.text


def test_an_empty_sheet_still_makes_a_page(measure: TextMeasure) -> None:
    doc = SheetDocument(title="", character="Ada", anchor="Ada, 40-year-old woman", seed=1)
    (page,) = sheet_pages(doc, SheetOptions(), measure)
    assert "Ada: character sheet" in texts(page)
    assert "This sheet has no scenes yet." in texts(page)
    (story,) = storyboard_pages(doc, StoryboardOptions(), measure)
    assert "This sheet has no scenes yet." in texts(story)


def test_storyboard_panels_follow_sheet_order_with_notes(
        emma_doc: SheetDocument, measure: TextMeasure) -> None:
    pages = storyboard_pages(emma_doc, StoryboardOptions(panels_per_page=2), measure)
    assert len(pages) == 2
    first, second = texts(pages[0]), texts(pages[1])
    assert "SHOT 1" in first and "Studio headshot" in first
    assert "SHOT 2" in first and "Coffee-shop window" in first
    assert "SHOT 3" in second and "Golden-hour street" in second
    assert "SHOT 4" in second and "Rembrandt editorial" in second
    assert any("Quiet morning; she reads by the window." in t for t in first)
    assert "no final yet" in second
    assert [p.image_count for p in pages] == [2, 2]
    one = storyboard_pages(emma_doc, StoryboardOptions(panels_per_page=1), measure)
    assert len(one) == 4
    nine = storyboard_pages(emma_doc, StoryboardOptions(panels_per_page=9, landscape=False),
                            measure)
    assert len(nine) == 1


@pytest.mark.parametrize("panels", [1, 2, 3, 4, 6, 8, 9])
@pytest.mark.parametrize("landscape", [True, False])
def test_storyboard_grids_hold_the_panels_asked_for(panels: int, landscape: bool) -> None:
    cols, rows = storyboard_grid(panels, landscape)
    assert cols * rows == panels


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="columns"):
        SheetOptions(columns=0)
    with pytest.raises(ValueError, match="panels per page"):
        StoryboardOptions(panels_per_page=5)
    assert SheetOptions(landscape=True).page_points[0] > SheetOptions().page_points[0]


def test_fit_keeps_the_aspect_ratio() -> None:
    box = Rect(10, 10, 100, 100)
    placed = fit(box, (200, 100))
    assert (placed.w, placed.h) == (100, 50) and placed.y == 35
    placed = fit(box, (100, 200), bottom=True)
    assert (placed.w, placed.h, placed.x, placed.bottom) == (50, 100, 35, 110)


def test_an_unreadable_image_is_labelled_not_fatal(
        emma_doc: SheetDocument, measure: TextMeasure) -> None:
    broken = dataclasses.replace(emma_doc.cells[0], image=b"not an image")
    doc = dataclasses.replace(emma_doc, cells=(broken, *emma_doc.cells[1:]))
    (page,) = sheet_pages(doc, SheetOptions(), measure)
    assert "Image could not be read" in texts(page)
    assert page.image_count == 3
