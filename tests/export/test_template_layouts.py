"""The layouts that fit the templates (turnaround, expressions, model sheet, storyboard shot
labels), in points before anything is drawn: rows at one scale, head-height guides, labels
under every cell and never on an image, the palette strip, references; light and busy sheets.
Pages are also drawn to PNGs under $STUDIO_TEST_ARTIFACTS when it is set, to look at."""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
from collections.abc import Iterable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from studio.core.presets import PresetCatalog
from studio.core.request import Stage
from studio.core.sheet import Sheet
from studio.core.templates import (
    SheetLayout,
    append_template,
    load_templates,
    sheet_from_template,
)
from studio.export.canvas import BoxOp, ImageOp, Page, Rect, TextOp
from studio.export.images import palette
from studio.export.model import (
    ExportCell,
    ExportReference,
    SheetDocument,
    SheetOptions,
    StoryboardOptions,
)
from studio.export.pages import layout_pages
from studio.export.png import render_page
from studio.export.template_pages import HEAD_UNITS, model_sheet_pages, turnaround_pages
from studio.export.text import TextMeasure, find_fonts, measure_for
from tests.export.sheets import document

ANCHOR = "Mara, 30-year-old woman, short red hair, green eyes, freckles, wearing a green parka"
LANDSCAPE = SheetOptions(landscape=True)


@pytest.fixture(scope="module")
def measure() -> TextMeasure:
    return measure_for(find_fonts())


def make_sheet(catalog: PresetCatalog, *template_ids: str, optional: bool = True) -> Sheet:
    templates = load_templates(catalog)
    sheet = sheet_from_template(templates.require(template_ids[0]), "Mara", 7, anchor=ANCHOR,
                                include_optional=optional)
    for tid in template_ids[1:]:
        sheet = append_template(sheet, templates.require(tid), include_optional=optional)
    return sheet


def figure(width: int, height: int, coat: tuple[int, int, int], turn: int) -> bytes:
    """A stand-in for a real render: a figure in a coat on a light grey seamless backdrop,
    its head one eighth of the frame, drawn narrower as it turns to the side."""
    image = Image.new("RGB", (width, height), (214, 214, 218))
    draw = ImageDraw.Draw(image)
    unit = height / 8
    cx = width / 2
    half = width * (0.16 - 0.02 * min(turn, 4 - turn))
    draw.ellipse([cx - unit * 0.4, unit * 0.1, cx + unit * 0.4, unit * 1.0], fill=(224, 180, 150))
    draw.rectangle([cx - half, unit * 1.2, cx + half, unit * 4.6], fill=coat)
    draw.rectangle([cx - half * 0.8, unit * 4.6, cx + half * 0.8, unit * 7.7], fill=(40, 44, 60))
    draw.ellipse([cx - unit * 0.45, unit * 0.0, cx + unit * 0.45, unit * 0.45], fill=(190, 60, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def figures(doc: SheetDocument) -> SheetDocument:
    """The document with a figure drawn for every rendered cell (finals and previews)."""
    cells = []
    for i, cell in enumerate(doc.cells):
        if cell.image is not None:
            with Image.open(io.BytesIO(cell.image)) as shown:
                size = shown.size
            cell = dataclasses.replace(cell, image=figure(*size, (40, 110, 70), i % 5))
        cells.append(cell)
    return dataclasses.replace(doc, cells=tuple(cells))


def texts(pages: Iterable[Page]) -> list[str]:
    return [op.text for page in pages for op in page.ops if isinstance(op, TextOp)]


def images(page: Page) -> list[ImageOp]:
    return [op for op in page.ops if isinstance(op, ImageOp)]


def overlaps(a: Rect, b: Rect) -> bool:
    eps = 0.5
    return (a.x < b.right - eps and b.x < a.right - eps and a.y < b.bottom - eps
            and b.y < a.bottom - eps)


def text_rect(op: TextOp, measure: TextMeasure) -> Rect:
    ascent = measure.ascent(op.size, op.bold)
    return Rect(op.x, op.y - ascent, measure.width(op.text, op.size, op.bold),
                ascent + measure.descent(op.size, op.bold))


def assert_nothing_covers_an_image(pages: Iterable[Page], measure: TextMeasure) -> None:
    """No label, tag or box drawn after an image lies on it; only the guide lines cross."""
    for page in pages:
        placed: list[Rect] = []
        for op in page.ops:
            if isinstance(op, ImageOp):
                placed.append(op.rect)
                continue
            if isinstance(op, BoxOp) and (op.kind == "guide" or op.fill is None):
                continue  # guide lines on purpose; frames only outline
            rect = op.rect if isinstance(op, BoxOp) else text_rect(op, measure)
            for image in placed:
                assert not overlaps(rect, image), (op, image)


def assert_on_the_page(pages: Iterable[Page], measure: TextMeasure) -> None:
    for page in pages:
        for op in page.ops:
            rect = text_rect(op, measure) if isinstance(op, TextOp) else op.rect
            assert rect.x >= -0.5 and rect.right <= page.width + 0.5, op
            assert rect.y >= -0.5 and rect.bottom <= page.height + 0.5, op


def save(name: str, pages: list[Page], dpi: float = 110) -> None:
    """Draw the pages to PNGs under $STUDIO_TEST_ARTIFACTS (when set) to look at."""
    folder = os.environ.get("STUDIO_TEST_ARTIFACTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for i, page in enumerate(pages, start=1):
        render_page(page, dpi).save(Path(folder) / f"{name}-page{i}.png")


# ----------------------------------------------------------------------------- turnaround


def test_a_turnaround_is_one_row_at_one_scale_under_head_height_guides(
        catalog: PresetCatalog, measure: TextMeasure) -> None:
    doc = figures(document(make_sheet(catalog, "turnaround"), catalog, {1: Stage.PREVIEW}))
    pages = turnaround_pages(doc, LANDSCAPE, measure)
    save("turnaround-light", pages)
    assert len(pages) == 1
    (page,) = pages
    placed = images(page)
    assert len(placed) == 5
    assert len({round(op.rect.y, 3) for op in placed}) == 1  # one row
    assert len({round(op.rect.h, 3) for op in placed}) == 1  # one scale
    xs = [op.rect.x for op in placed]
    assert xs == sorted(xs)  # in the template's order: front to back
    row = placed[0].rect
    guides = [op for op in page.ops if isinstance(op, BoxOp) and op.kind == "guide"]
    assert len(guides) == HEAD_UNITS + 1
    ys = [g.rect.y + g.rect.h / 2 for g in guides]
    assert ys[0] == pytest.approx(row.y) and ys[-1] == pytest.approx(row.bottom)
    steps = {round(b - a, 3) for a, b in itertools.pairwise(ys)}
    assert steps == {round(row.h / HEAD_UNITS, 3)}
    for guide in guides:  # each line runs across the whole row
        assert guide.rect.x <= placed[0].rect.x and guide.rect.right >= placed[-1].rect.right
    lines = texts(pages)
    for cell in doc.cells:
        assert cell.scene in lines
    assert [str(k) for k in range(1, HEAD_UNITS + 1)] == [t for t in lines if t.isdigit()]
    assert "PREVIEW" in lines and "no final yet" in lines
    assert any("Lighting: Flat studio, grey seamless" in t for t in lines)
    # each label sits under its own image
    for op in placed:
        label = next(t for t in page.ops if isinstance(t, TextOp) and t.text == op.label)
        assert label.x == pytest.approx(op.rect.x) and label.y > op.rect.bottom
    assert_nothing_covers_an_image(pages, measure)
    assert_on_the_page(pages, measure)


def test_every_group_of_a_busy_sheet_gets_its_own_row(
        catalog: PresetCatalog, measure: TextMeasure) -> None:
    sheet = make_sheet(catalog, "turnaround", "head-turn", "poses")
    doc = document(sheet, catalog, {0: None, 3: Stage.PREVIEW, 6: Stage.PREVIEW},
                   stale=frozenset({2, 6}))
    pages = turnaround_pages(doc, LANDSCAPE, measure)
    save("turnaround-busy", pages)
    lines = texts(pages)
    assert {"TURNAROUND", "HEAD TURN", "POSES"} <= set(lines)
    for cell in doc.cells:
        assert cell.scene in " ".join(lines), cell.scene  # wrapped onto two lines at most
    assert "Not rendered yet" in lines and "OUT OF DATE" in lines
    assert sum(p.image_count for p in pages) == len(doc.cells) - 1
    guides = [op for p in pages for op in p.ops if isinstance(op, BoxOp) and op.kind == "guide"]
    assert len(guides) == 3 * (HEAD_UNITS + 1)
    assert_nothing_covers_an_image(pages, measure)
    assert_on_the_page(pages, measure)


# ----------------------------------------------------------------------------- expressions


def test_expressions_are_a_labelled_grid(catalog: PresetCatalog, measure: TextMeasure) -> None:
    doc = document(make_sheet(catalog, "expressions"), catalog, {4: Stage.PREVIEW})
    pages = layout_pages(doc, SheetLayout.EXPRESSIONS, SheetOptions(columns=4),
                         StoryboardOptions(), measure)
    save("expressions-light", pages)
    assert len(pages) == 1
    (page,) = pages
    placed = images(page)
    assert len(placed) == 12
    assert len({round(op.rect.y, 3) for op in placed}) == 3  # three rows of four
    lines = texts(pages)
    for cell in doc.cells:
        assert cell.scene in lines
    # the settings every face shares are named once, not under every cell
    assert not any(t.startswith("Lighting:") and "·" not in t for t in lines)
    assert sum("Lighting: Flat studio, grey seamless" in t for t in lines) == 1
    assert_nothing_covers_an_image(pages, measure)
    assert_on_the_page(pages, measure)


def test_a_long_expression_sheet_paginates(catalog: PresetCatalog, measure: TextMeasure) -> None:
    sheet = make_sheet(catalog, "expressions", "expressions", "expressions")
    long = sheet.with_scenes(tuple(
        dataclasses.replace(s, name=s.name + " with a very long label that must wrap or be cut")
        if i % 5 == 0 else s for i, s in enumerate(sheet.scenes)))
    doc = document(long, catalog, {i: Stage.PREVIEW for i in range(0, 36, 3)},
                   stale=frozenset(range(1, 36, 4)))
    pages = layout_pages(doc, SheetLayout.EXPRESSIONS, SheetOptions(columns=4),
                         StoryboardOptions(), measure)
    save("expressions-busy", pages)
    assert len(pages) >= 2 and sum(p.image_count for p in pages) == 36
    assert "Mara: expressions (continued)" in texts(pages[1:])
    assert_nothing_covers_an_image(pages, measure)
    assert_on_the_page(pages, measure)


# ----------------------------------------------------------------------------- model sheet


def test_the_model_sheet_holds_turnaround_expressions_palette_and_anchor_on_one_page(
        catalog: PresetCatalog, measure: TextMeasure) -> None:
    sheet = make_sheet(catalog, "turnaround", "expressions")
    doc = figures(document(sheet, catalog, {7: Stage.PREVIEW}))
    pages = model_sheet_pages(doc, LANDSCAPE, measure)
    save("model-sheet-light", pages)
    assert len(pages) == 1
    (page,) = pages
    lines = texts(pages)
    assert {"TURNAROUND", "EXPRESSIONS", "ANCHOR"} <= set(lines)
    assert ANCHOR in lines
    for cell in doc.cells:
        assert cell.scene in " ".join(lines), cell.scene
    assert page.image_count == 17
    turn = images(page)[:5]
    assert len({round(op.rect.h, 3) for op in turn}) == 1
    assert sum(1 for op in page.ops if isinstance(op, BoxOp) and op.kind == "guide") == (
        HEAD_UNITS + 1)
    # the palette: the figures' coat and trousers, never the grey seamless backdrop
    assert "PALETTE · from the finals" in lines
    swatches = [op for op in page.ops if isinstance(op, BoxOp) and op.stroke is not None
                and op.fill is not None]
    finals = tuple(c.image for c in doc.cells if c.image and c.stage is Stage.FINAL)
    expected = palette(finals)
    assert [s.fill for s in swatches] == [rgb for rgb, _ in expected]
    assert all(max(abs(a - b) for a, b in zip(rgb, (214, 214, 218), strict=True)) > 20
               for rgb, _ in expected)
    assert any(max(abs(a - b) for a, b in zip(rgb, (40, 110, 70), strict=True)) < 16
               for rgb, _ in expected)
    assert any(t.startswith("#") and t.endswith("%") for t in lines)
    assert_nothing_covers_an_image(pages, measure)
    assert_on_the_page(pages, measure)


def test_references_sit_beside_the_anchor_when_given(
        catalog: PresetCatalog, measure: TextMeasure) -> None:
    doc = document(make_sheet(catalog, "turnaround"), catalog, {})
    without = model_sheet_pages(doc, LANDSCAPE, measure)[0]
    refs = (ExportReference(figure(300, 400, (90, 60, 140), 0), "face"),
            ExportReference(figure(300, 400, (90, 60, 140), 2), "full-body"))
    with_refs = model_sheet_pages(dataclasses.replace(doc, references=refs), LANDSCAPE,
                                  measure)
    save("model-sheet-references", with_refs)
    page = with_refs[0]
    assert page.image_count == without.image_count + 2
    placed = {op.label: op.rect for op in images(page)}
    anchor = next(op for op in page.ops if isinstance(op, TextOp) and op.text == "ANCHOR")
    assert placed["face"].x > page.width / 2 and placed["face"].y < anchor.y + 20
    assert {"Face", "Full-body"} <= set(texts(with_refs))
    assert_nothing_covers_an_image(with_refs, measure)


def test_a_busy_model_sheet_flows_onto_more_pages_and_never_covers_an_image(
        catalog: PresetCatalog, measure: TextMeasure) -> None:
    sheet = make_sheet(catalog, "turnaround", "head-turn", "expressions", "poses", "outfits",
                       "storyboard")
    doc = document(sheet, catalog, {0: None, 5: Stage.PREVIEW, 9: None, 20: Stage.PREVIEW},
                   stale=frozenset({3, 12, 30}))
    for options, continuous in ((LANDSCAPE, False), (SheetOptions(), False),
                                (LANDSCAPE, True)):
        pages = model_sheet_pages(doc, options, measure, continuous=continuous)
        lines = texts(pages)
        for cell in doc.cells:
            assert cell.scene in " ".join(lines), cell.scene
        assert sum(p.image_count for p in pages) == len(doc.cells) - 2
        assert_nothing_covers_an_image(pages, measure)
        assert_on_the_page(pages, measure)
        if continuous:
            assert len(pages) == 1
    save("model-sheet-busy", model_sheet_pages(doc, LANDSCAPE, measure))


def test_a_model_sheet_without_renders_says_where_the_palette_comes_from(
        catalog: PresetCatalog, measure: TextMeasure) -> None:
    doc = document(make_sheet(catalog, "turnaround"), catalog, dict.fromkeys(range(5)))
    lines = texts(model_sheet_pages(doc, LANDSCAPE, measure))
    assert "No renders yet: the palette comes from the finals." in lines
    previews = document(make_sheet(catalog, "turnaround"), catalog,
                        dict.fromkeys(range(5), Stage.PREVIEW))
    lines = texts(model_sheet_pages(previews, LANDSCAPE, measure))
    assert "PALETTE · from the previews (no finals yet)" in lines


# ----------------------------------------------------------------------------- storyboard


def test_storyboard_panels_carry_shot_labels(catalog: PresetCatalog,
                                             measure: TextMeasure) -> None:
    doc = document(make_sheet(catalog, "storyboard"), catalog, {2: Stage.PREVIEW})
    pages = layout_pages(doc, SheetLayout.STORYBOARD, SheetOptions(),
                         StoryboardOptions(panels_per_page=6), measure)
    save("storyboard-light", pages)
    assert len(pages) == 1
    lines = texts(pages)
    for number, cell in enumerate(doc.cells, start=1):
        assert f"SHOT {number}" in lines and cell.scene in lines and cell.notes in " ".join(lines)
    assert "Mara: storyboard coverage" in lines  # the title already says storyboard
    (strip,) = layout_pages(doc, SheetLayout.STORYBOARD, SheetOptions(),
                            StoryboardOptions(panels_per_page=2), measure, continuous=True)
    assert strip.image_count == 6 and strip.height > strip.width
    for page in (*pages, strip):
        assert_nothing_covers_an_image([page], measure)
        assert_on_the_page([page], measure)


# ----------------------------------------------------------------------------- every layout


@pytest.mark.parametrize("layout", list(SheetLayout))
def test_no_layout_puts_a_label_on_an_image(
        emma_doc_mixed: SheetDocument, measure: TextMeasure, layout: SheetLayout) -> None:
    """The example sheet with a final, a preview stand-in, a missing and an out-of-date cell:
    every layout keeps its labels off the images, paged and as one tall page."""
    for continuous in (False, True):
        pages = layout_pages(emma_doc_mixed, layout, SheetOptions(columns=3),
                             StoryboardOptions(panels_per_page=4), measure,
                             continuous=continuous)
        lines = texts(pages)
        assert "PREVIEW" in lines and "OUT OF DATE" in lines
        for cell in emma_doc_mixed.cells:
            assert cell.scene in " ".join(lines), (layout, cell.scene)
        assert_nothing_covers_an_image(pages, measure)
        assert_on_the_page(pages, measure)


def test_an_empty_sheet_still_makes_a_page_in_every_layout(measure: TextMeasure) -> None:
    doc = SheetDocument(title="", character="Ada", anchor="Ada, 40-year-old woman", seed=1)
    for layout in SheetLayout:
        pages = layout_pages(doc, layout, SheetOptions(), StoryboardOptions(), measure)
        assert len(pages) == 1 and "This sheet has no scenes yet." in texts(pages), layout


def test_the_palette_skips_unreadable_images_and_the_backdrop() -> None:
    green = figure(120, 160, (40, 110, 70), 0)
    colours = palette((green, b"not an image"))
    assert colours and all(share > 0 for _, share in colours)
    assert sum(share for _, share in colours) < 0.9  # the backdrop's share is left out
    assert palette((b"junk",)) == ()


def test_unrendered_cells_keep_the_rows_scale(measure: TextMeasure) -> None:
    cells = tuple(ExportCell(scene=f"Angle {i}", group="turnaround") for i in range(5))
    doc = SheetDocument(title="T", character="Ada", anchor="Ada", seed=1, cells=cells)
    (page,) = turnaround_pages(doc, LANDSCAPE, measure)
    boxes = [op.rect for op in page.ops if isinstance(op, BoxOp) and op.fill is not None
             and op.kind == ""]
    assert len({round(b.h, 3) for b in boxes if b.h > 20}) == 1


def test_an_outfit_sheet_names_each_outfit_under_its_cell(
        catalog: PresetCatalog, measure: TextMeasure) -> None:
    doc = document(make_sheet(catalog, "outfits"), catalog, {})
    pages = layout_pages(doc, SheetLayout.SHEET, SheetOptions(columns=3), StoryboardOptions(),
                         measure)
    lines = texts(pages)
    assert "Outfit: a plain t-shirt, jeans and white sneakers" in lines
    assert "Outfit: tailored formal evening wear" in lines
    assert not any(t.startswith("Outfit:") for t in texts(layout_pages(
        document(make_sheet(catalog, "poses"), catalog, {}), SheetLayout.SHEET,
        SheetOptions(columns=3), StoryboardOptions(), measure)))
