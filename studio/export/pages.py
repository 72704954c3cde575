"""Which pages a layout makes: the one place the PNG and PDF writers (and the Export dialog's
preview) turn a sheet and a ``SheetLayout`` into laid-out pages."""

from __future__ import annotations

from studio.core.templates import SheetLayout
from studio.export.canvas import Page
from studio.export.layout import sheet_pages, storyboard_pages
from studio.export.model import PageSize, SheetDocument, SheetOptions, StoryboardOptions
from studio.export.page_parts import titled
from studio.export.template_pages import (
    expressions_pages,
    model_sheet_pages,
    turnaround_pages,
)
from studio.export.text import TextMeasure

#: What a layout is called in messages and page footers.
LAYOUT_NAMES: dict[SheetLayout, str] = {
    SheetLayout.SHEET: "character sheet",
    SheetLayout.STORYBOARD: "storyboard",
    SheetLayout.TURNAROUND: "turnaround",
    SheetLayout.EXPRESSIONS: "expression sheet",
    SheetLayout.MODEL_SHEET: "model sheet",
}
#: Layouts whose pages are landscape unless asked otherwise (a row of figures, a model sheet).
LANDSCAPE_LAYOUTS = frozenset({SheetLayout.STORYBOARD, SheetLayout.TURNAROUND,
                               SheetLayout.MODEL_SHEET})
#: Columns of the grid layouts when none are asked for.
DEFAULT_COLUMNS: dict[SheetLayout, int] = {SheetLayout.SHEET: 2, SheetLayout.EXPRESSIONS: 4}


def layout_pages(
    doc: SheetDocument,
    layout: SheetLayout,
    sheet: SheetOptions,
    storyboard: StoryboardOptions,
    measure: TextMeasure,
    *,
    continuous: bool = False,
) -> list[Page]:
    """The pages of ``doc`` in ``layout``: the storyboard uses ``storyboard``'s options, every
    other layout ``sheet``'s; ``continuous`` makes one page as tall as the content (PNGs)."""
    if layout is SheetLayout.STORYBOARD:
        return storyboard_pages(doc, storyboard, measure, continuous=continuous)
    if layout is SheetLayout.TURNAROUND:
        return turnaround_pages(doc, sheet, measure, continuous=continuous)
    if layout is SheetLayout.EXPRESSIONS:
        return expressions_pages(doc, sheet, measure, continuous=continuous)
    if layout is SheetLayout.MODEL_SHEET:
        return model_sheet_pages(doc, sheet, measure, continuous=continuous)
    return sheet_pages(doc, sheet, measure, continuous=continuous)


def layout_title(doc: SheetDocument, layout: SheetLayout) -> str:
    """The title a layout's PDF carries: the sheet's, naming the layout unless it is the
    character sheet."""
    return titled(doc, LAYOUT_NAMES[layout])


def page_setup(layout: SheetLayout, sheet: SheetOptions,
               storyboard: StoryboardOptions) -> tuple[PageSize, bool]:
    """The paper size and orientation (landscape?) a layout's PDF pages have."""
    if layout is SheetLayout.STORYBOARD:
        return storyboard.page, storyboard.landscape
    return sheet.page, sheet.landscape

