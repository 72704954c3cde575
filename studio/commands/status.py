"""`studio status`: every scene's preview and final (the picked take, else the latest), how many
takes each has, and whether each is out of date against the sheet file as it is now, with the
reasons. Reads only: it never creates a library."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from studio.library.status import CellStatus, SceneStatus

STATUS_HELP = """\
Each cell is the scene's take at that stage: the one picked with `studio library choose`, else
the latest; "N takes" counts the renders kept for it. "out of date" means the sheet now sends
something else for it than what it was made from; the reasons name what changed (anchor, skin,
quality, setting, pattern, lighting, lens, framing, seed, negative, model, steps, guidance,
reference). "identity" is the render's distance from the character's face and its verdict, as
studio score (or the window) last measured it; status reports kept scores only and never
analyses an image itself, so cells nobody has scored show none. Exit codes: 0 shown, 2 the
sheet cannot be read or the library cannot be opened.
"""


def _cell_text(stage: str, cell: CellStatus | None) -> str:
    if cell is None:
        return f"{stage}: not rendered"
    render = cell.render
    seed = f"seed {render.seed_requested}"
    if render.seed_returned is not None and render.seed_returned != render.seed_requested:
        seed += f" (returned {render.seed_returned})"
    elif render.seed_returned is None and render.state.value == "done":
        seed += ", seed not confirmed"  # the provider did not say which seed it used
    verdict = "" if render.approval.value == "none" else f", {render.approval.value}"
    star = ", starred" if render.star else ""
    takes = f", {cell.takes} takes" if cell.takes > 1 else ""
    state = ("out of date: " + ", ".join(cell.reasons)) if cell.reasons else "current"
    identity = ""
    if cell.identity is not None:
        distance = cell.identity["distance"]
        identity = (f"; identity: {cell.identity['verdict']}" if distance is None
                    else f"; identity: {cell.identity['verdict']} ({distance:.2f})")
    return (f"{stage}: #{render.id} {render.state.value}, {render.provider}/{render.model}, "
            f"{seed}{verdict}{star}{takes}; {state}{identity}")


def _text(rows: list[SceneStatus], sheet_path: Path) -> str:
    from studio.core.request import Stage

    lines = [f"{sheet_path}:"]
    for row in rows:
        lines.append(f"  {row.scene}")
        for stage in Stage:
            lines.append(f"    {_cell_text(stage.value, row.cells.get(stage))}")
    stale = sum(1 for row in rows for cell in row.cells.values() if cell.reasons)
    lines.append(f"{len(rows)} scene(s); {stale} cell(s) out of date." if stale
                 else f"{len(rows)} scene(s); nothing rendered is out of date.")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.cli import CommandError
    from studio.core.sheet import load_sheet
    from studio.identity import IdentityRules
    from studio.library import LibraryError
    from studio.library.status import sheet_status
    from studio.render.identity import IdentityScores, sheet_reference_images
    from studio.runtime import EXIT_BAD_INPUT, EXIT_OK, Runtime, RuntimeConfigError

    runtime = Runtime(environ)
    try:
        catalog = runtime.catalog
        runtime.settings_or_defaults()  # a broken settings file must not hide the library
    except RuntimeConfigError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from None
    try:
        rules = runtime.identity_rules()
    except RuntimeConfigError:
        rules = IdentityRules()  # like the rest of status: shown with the default settings
    sheet_path = Path(args.sheet)
    sheet = load_sheet(sheet_path, catalog)
    library = None
    if runtime.library_exists():
        try:
            library = runtime.open_library(purpose="read")
        except LibraryError as exc:
            raise CommandError(str(exc), EXIT_BAD_INPUT) from None
    try:
        # Identity scores are reported as studio score (or the window) kept them: a lookup.
        # Analysing a render nobody scored costs a quarter of a second, so a large sheet
        # would take minutes; those cells show none.
        # The identity is the character's as studio score finds it: the sheet's references.
        identity = (None if library is None
                    else IdentityScores(library, analyse=None, rules=rules).lookup(
                        sheet_reference_images(library, sheet, sheet_path)))
        rows = sheet_status(library, sheet, sheet_path, catalog, identity)
    except LibraryError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from None
    finally:
        if library is not None:
            library.close()
    if args.json:
        data = {"sheet": str(sheet_path), "scenes": [row.to_data() for row in rows]}
        print(json.dumps(data, ensure_ascii=False), file=out)
    else:
        print(_text(rows, sheet_path), file=out)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "status", help="each scene's latest preview and final, and what is out of date",
        description="Show, for every scene of SHEET in order, its latest preview and final in "
        "the library and whether each is out of date against the sheet as it is now.",
        epilog=STATUS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sheet", metavar="SHEET", help="a *.sheet.toml file")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd_status)
