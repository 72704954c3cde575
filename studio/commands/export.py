"""`studio export` and `studio import-bundle`: character sheets, storyboards and bundles from
the library's latest renders, and bundles recreated in this library.

Progress goes to stderr; the path written to stdout. Exit codes: 0 written, 1 the export failed
(e.g. the disk is full: nothing is left under the final name), 2 bad input (an unreadable sheet,
a sheet with no renders yet, a refused bundle).

Importing this module stays cheap: the export layer, the library and Qt are imported inside the
handlers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from studio.core.text import for_terminal

if TYPE_CHECKING:
    from studio.export.model import ExportProgress
    from studio.library import Library
    from studio.runtime import Runtime

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

PAGE_SIZES = ("a4", "a3", "a5", "letter", "legal", "tabloid")

EXPORT_HELP = """\
Formats:
  png   the layout as one image, as tall as its content, with the settings in its metadata
  pdf   the layout on pages, images at full resolution
  zip   a bundle: the original images, the sheet file, settings.json and settings.csv with every
        image's settings, the sheet PNG and PDF and the storyboard PDF

Layouts (--layout; the default is the one that fits the sheet's template: turnaround and head
turn -> turnaround, expressions -> expressions, storyboard -> storyboard, else sheet):
  sheet        the grid of scenes with captions (--columns, default 2)
  turnaround   each template group as one row at one scale under head-height guide lines
  expressions  a labelled grid of the faces (--columns, default 4)
  model-sheet  the anchor, the turnaround row, the expressions (every group of the sheet) and a
               colour palette strip taken from the finals
  storyboard   the scenes in order as panels with shot labels and notes (--panels per page)
Turnaround, model sheet and storyboard pages are landscape unless --portrait; the others
portrait unless --landscape. A scene without a final shows its preview, marked under the image.

The sheet must have renders in the library (studio render SHEET --stage preview); exit 2 if it
has none. Exit codes: 0 written, 1 the export failed (nothing left under FILE), 2 bad input.
"""


def _command_error(message: str, code: int = EXIT_BAD_INPUT) -> Exception:
    from studio.cli import CommandError

    return CommandError(message, code)


def _runtime(environ: Mapping[str, str]) -> Runtime:
    from studio.runtime import Runtime, RuntimeConfigError

    runtime = Runtime(environ)
    try:
        runtime.settings  # noqa: B018 - a broken settings file is reported before any work
    except RuntimeConfigError as exc:
        raise _command_error(str(exc)) from None
    return runtime


def _progress(label: str) -> Any:
    """Prints a step on stderr when it changes, with a percentage."""
    last: list[str] = []

    def report(p: ExportProgress) -> None:
        if last and last[-1] == p.step:
            return
        last.append(p.step)
        percent = 100 * p.done // max(p.total, 1)
        print(for_terminal(f"studio: {label}: {p.step} ({percent}%)"), file=sys.stderr,
              flush=True)

    return report


def _library_for_reading(runtime: Runtime, missing: str) -> Library:
    """The library opened for viewing only: an export writes nothing in it, and never creates
    one; ``missing`` is the message (exit 2) when there is none yet."""
    from studio.library import LibraryError

    if not runtime.library_exists():
        raise _command_error(missing)
    try:
        return runtime.open_library(purpose="read")
    except LibraryError as exc:
        raise _command_error(str(exc)) from None


def cmd_export(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.core.sheet import load_sheet
    from studio.core.templates import default_layout
    from studio.export.gather import NoRendersError, gather_sheet
    from studio.export.images import unreadable_images
    from studio.export.model import (
        ExportCancelledError,
        ExportError,
        PageSize,
        SheetOptions,
        StoryboardOptions,
    )
    from studio.export.pages import DEFAULT_COLUMNS, LANDSCAPE_LAYOUTS, LAYOUT_NAMES
    from studio.export.run import ExportFormat, ExportRequest, Layout, run_export
    from studio.render.identity import IdentityScores, sheet_reference_images
    from studio.runtime import RuntimeConfigError

    runtime = _runtime(environ)
    catalog, templates = runtime.catalog, runtime.templates
    try:
        rules = runtime.identity_rules()
    except RuntimeConfigError as exc:
        raise _command_error(str(exc)) from None
    sheet_path = Path(args.sheet)
    sheet = load_sheet(sheet_path, catalog)
    fmt = ExportFormat(args.format)
    layout = Layout(args.layout) if args.layout else default_layout(sheet, templates)
    landscape = args.landscape or (layout in LANDSCAPE_LAYOUTS and not args.portrait)
    columns = args.columns or DEFAULT_COLUMNS.get(layout, 2)
    target = Path(args.out)
    if target.is_dir():
        raise _command_error(f"{target} is a folder; give the file to write, e.g. "
                             f"{target / ('sheet.' + fmt.value)}")
    if not target.parent.is_dir():
        raise _command_error(f"The folder {target.parent} does not exist; create it first.")
    try:
        request = ExportRequest(
            format=fmt, out=target, layout=layout,
            sheet=SheetOptions(page=PageSize(args.page), landscape=landscape,
                               columns=columns, dpi=args.dpi),
            storyboard=StoryboardOptions(page=PageSize(args.page), landscape=landscape,
                                         panels_per_page=args.panels),
            all_renders=args.all_renders,
        )
    except ValueError as exc:
        raise _command_error(f"{exc}.") from None
    library = _library_for_reading(
        runtime,
        f"{sheet_path} has no renders in the library yet; render it first, e.g. "
        f"studio render {sheet_path} --stage preview (then --stage final).")
    qt: list[object] = []  # the offscreen application, kept alive while PDFs are written
    try:
        # Identity scores as studio score (or the window) kept them; none is made here.
        identity = IdentityScores(library, analyse=None, rules=rules).lookup(
            sheet_reference_images(library, sheet, sheet_path))
        export = gather_sheet(library, sheet, sheet_path, catalog, identity=identity)
        shown_images = [(f"The image of render {cell.render_id} (“{cell.scene}”)",
                         cell.image or b"") for cell in export.document.cells]
        for sentence in unreadable_images(shown_images, bundle=fmt is ExportFormat.ZIP):
            print(for_terminal(f"studio: {sentence}"), file=sys.stderr)
        if fmt is not ExportFormat.PNG:
            from studio.export.pdf import gui_application

            qt.append(gui_application())
        written = run_export(export, request, library=library, progress=_progress("export"))
    except NoRendersError as exc:
        raise _command_error(str(exc)) from None
    except ExportCancelledError as exc:
        raise _command_error(str(exc), EXIT_FAILED) from None
    except ExportError as exc:
        raise _command_error(str(exc), EXIT_FAILED) from None
    finally:
        library.close()
    what = ("bundle" if fmt is ExportFormat.ZIP
            else f"{LAYOUT_NAMES[layout]} {fmt.value.upper()}")
    shown = sum(1 for c in export.document.cells if c.image)
    print(for_terminal(f"Wrote the {what} of {sheet_path} ({shown} of {len(sheet.scenes)} "
                       f"scenes rendered) to {written}"), file=out)
    return EXIT_OK


def cmd_import_bundle(args: argparse.Namespace, environ: Mapping[str, str],
                      out: TextIO) -> int:
    from studio.export.bundle import BundleError
    from studio.export.importer import BundleImport
    from studio.export.model import ExportError
    from studio.library import LibraryError

    runtime = _runtime(environ)
    target = Path(args.to)
    if target.exists() and not target.is_dir():
        raise _command_error(f"{target} is a file; --to takes a folder.")
    try:
        # The whole bundle is checked before the library is opened (or created).
        job = BundleImport(Path(args.bundle), target, runtime.catalog,
                           progress=_progress("import"))
    except BundleError as exc:
        raise _command_error(_nothing_imported(str(exc))) from None
    with job:
        try:
            library = runtime.open_library(purpose="write")
        except LibraryError as exc:
            raise _command_error(_nothing_imported(str(exc))) from None
        try:
            result = job.into(library)
        except BundleError as exc:
            raise _command_error(_nothing_imported(str(exc))) from None
        except (ExportError, LibraryError) as exc:
            raise _command_error(_nothing_imported(str(exc)), EXIT_FAILED) from None
        finally:
            library.close()
    # The project name comes from the bundle: anyone's text.
    print(for_terminal(f"Imported {len(result.renders)} images into the project "
                       f"\"{result.project.name}\"; the sheet is {result.sheet_path}"), file=out)
    return EXIT_OK


def _nothing_imported(message: str) -> str:
    if "nothing was imported" in message.lower():
        return message
    return f"{message} Nothing was imported."


def _columns(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 6:
        raise argparse.ArgumentTypeError("columns must be 1 to 6")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "export", help="export a sheet as a PNG, a PDF (sheet or storyboard) or a ZIP bundle",
        description="Export SHEET from the library's latest renders of it: the final of each "
        "scene, else its preview (marked).",
        epilog=EXPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sheet", metavar="SHEET", help="a *.sheet.toml file")
    p.add_argument("--format", required=True, choices=("png", "pdf", "zip"))
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.add_argument("--layout", choices=("sheet", "turnaround", "expressions", "model-sheet",
                                        "storyboard"),
                   help="the page layout (default: the one that fits the sheet's template)")
    p.add_argument("--page", choices=PAGE_SIZES, default="a4", help="paper size (default a4)")
    p.add_argument("--landscape", action="store_true", help="landscape pages (the turnaround's, "
                   "model sheet's and storyboard's default)")
    p.add_argument("--portrait", action="store_true", help="portrait turnaround, model sheet "
                   "and storyboard pages")
    p.add_argument("--columns", type=_columns, metavar="N",
                   help="grid columns, 1 to 6 (default 2 for the sheet, 4 for expressions)")
    p.add_argument("--panels", type=int, default=2, choices=(1, 2, 3, 4, 6, 8, 9),
                   metavar="N", help="storyboard panels per page: 1, 2, 3, 4, 6, 8 or 9 "
                   "(default 2)")
    p.add_argument("--dpi", type=int, default=200, metavar="DPI",
                   help="the PNG's resolution, 72 to 600 (default 200)")
    p.add_argument("--all-renders", action="store_true",
                   help="for --format zip: every kept render of the sheet, not only those on it")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import-bundle", help="recreate an exported bundle's project in this library",
        description="Check BUNDLE (a .zip from studio export), unpack its sheet file, settings "
        "and documents into --to, and store its images with their settings in the library, all "
        "or nothing: the whole bundle is checked first (names, sizes, settings, every image), "
        "and an import that is refused or fails leaves nothing behind, so it can simply be run "
        "again.")
    p.add_argument("bundle", metavar="BUNDLE", help="a .zip made by studio export")
    p.add_argument("--to", required=True, metavar="FOLDER",
                   help="the folder for the sheet file (created; must not hold its files)")
    p.set_defaults(func=cmd_import_bundle)
