"""Headless commands (`studio ...`); with no command, opens the window.

Heavy modules (Qt, httpx, Pillow, the library) are imported inside the command that needs them
so `studio --version` and `studio lint` start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from studio import APP_DISPLAY_NAME, __version__
from studio.runtime import (
    EXIT_BAD_INPUT,
    EXIT_CLOSED_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "CommandError", "main", "run"]


class CommandError(Exception):
    """A command cannot go on; the message is printed as is and the exit code returned."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def _catalog(environ: Mapping[str, str]):  # type: ignore[no-untyped-def]
    from studio.runtime import Runtime

    return Runtime(environ).catalog


def _capability_lookup(environ: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """Provider limits for lint: the same capabilities the providers check requests against."""
    from studio.commands.providers import capability_lookup

    return capability_lookup(environ)


def cmd_lint(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.core.checks import has_errors, lint_sheet
    from studio.core.sheet import load_sheet
    from studio.core.text import for_terminal

    catalog = _catalog(environ)
    lookup = _capability_lookup(environ)
    code = EXIT_OK
    for name in args.sheets:
        sheet = load_sheet(Path(name), catalog)
        _check_reference_images(sheet, Path(name))
        findings = lint_sheet(sheet, catalog, lookup)
        for finding in findings:
            print(for_terminal(f"{name}: {finding.line()}"), file=out)
        if has_errors(findings):
            code = EXIT_FAILED
        if not findings:
            print(for_terminal(f"{name}: no problems found ({len(sheet.scenes)} scenes)"),
                  file=out)
    return code


def _check_reference_images(sheet, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Decode each reference image of the sheet (loading it checked that each file exists,
    is within the size limit and looks like an image); a damaged one, or one over the pixel
    limit, is a sentence naming it (exit 2)."""
    if not sheet.character.references:
        return
    from studio.core.imagefile import ImageFileError, read_image_file
    from studio.core.reference_files import reference_file
    from studio.library.references import check_reference_image

    for number, ref in enumerate(sheet.character.references, start=1):
        label = f"{path}: reference image {number} ({ref.path})"
        try:
            data = read_image_file(reference_file(path, ref))
        except ImageFileError as exc:  # changed since the sheet was read
            raise CommandError(f"{label} {exc.problem}; {exc.hint}.") from None
        check_reference_image(data, label)


def cmd_presets(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.core.presets import PresetKind
    from studio.core.text import for_terminal

    catalog = _catalog(environ)
    kinds = list(PresetKind)
    if args.kind:
        try:
            kinds = [PresetKind(args.kind)]
        except ValueError:
            known = ", ".join(k.value for k in PresetKind)
            raise CommandError(
                f"Unknown preset kind \"{args.kind}\"; use one of: {known}") from None
    for kind in kinds:
        print(f"[{kind.value}]", file=out)
        for p in catalog.of_kind(kind):
            extra = f" ({p.width}x{p.height})" if p.width and "x" not in p.label else ""
            mark = " *user*" if p.source == "user" else ""
            # A user's presets file is user text like any other.
            print(for_terminal(f"  {p.id:<22} {p.label}{extra}{mark}"), file=out)
            if p.text:
                print(for_terminal(f"      prompt: {p.text}"), file=out)
            if p.effect:
                print(for_terminal(f"      effect: {p.effect}; best for: {p.best_use}"),
                      file=out)
        print(file=out)
    return EXIT_OK


def cmd_gui(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.app import run_app

    return run_app([args.sheet] if getattr(args, "sheet", None) else [], environ)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command`` (one of :data:`studio.commands.COMMANDS`), one whose
    only command group is that command's (the same options and help for that command, without
    importing every other command's module)."""
    parser = argparse.ArgumentParser(
        prog="studio",
        description=f"{APP_DISPLAY_NAME}: consistent character sheets rendered through "
        "FLUX image APIs. With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"studio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also show the log on stderr (what the providers answered, "
                        "retries, waits); it is always written to the log file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("lint", help="run the prompt checks from the guides on sheet files")
    p.add_argument("sheets", nargs="+", metavar="SHEET")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("presets", help="list the presets catalog")
    p.add_argument("--kind", help="only this kind (lighting, lens, skin, quality, negative, "
                   "framing, pattern)")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("open", help="open a sheet in the window")
    p.add_argument("sheet", nargs="?")
    p.set_defaults(func=cmd_gui)

    import importlib

    from studio.commands import COMMAND_MODULES, COMMANDS

    if command in _OWN_COMMANDS:
        modules: Sequence[str] = ()
    elif command in COMMANDS:
        modules = (COMMANDS[command],)
    else:  # the whole list (--help), or an unknown command to name the choices for
        modules = COMMAND_MODULES
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command group not built yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith(".sheet.toml") and Path(argv[0]).exists():
        argv = ["open", *argv]  # `studio my.sheet.toml` opens it, as a file manager would
    parser = build_parser(_command_named(argv))
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        args.sheet = None
        func = cmd_gui
    from studio.core.errors import StudioInputError
    from studio.runtime import Runtime

    logs = Runtime(environ).start_logging(verbose=bool(getattr(args, "verbose", False)))
    try:
        code = int(func(args, environ, sys.stdout))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except StudioInputError as exc:
        _say(str(exc))
        return EXIT_BAD_INPUT
    except CommandError as exc:
        _say(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_CLOSED_PIPE
    except Exception as exc:  # a bug: one sentence here, the traceback in the log file
        logging.getLogger("studio").exception("the command stopped on an internal error")
        where = f" Details are in {logs.path}." if logs.path is not None else ""
        _say(f"an internal error stopped the command ({type(exc).__name__}); this is a bug in "
             f"the studio, please report it.{where}")
        return EXIT_FAILED
    finally:
        logs.close()


def run() -> NoReturn:
    """The `studio` program (the console script and ``python -m studio``): :func:`main`, then
    the interpreter's exit without its last walk over every object.

    By the time :func:`main` returns, the command has closed the library and the log and
    flushed stdout. What remains is the interpreter's teardown, whose final collection walks
    every object the imports made (hundreds of modules and their classes) only to free memory
    the exit gives back anyway: a tenth of a second at the end of every command. Frozen, they
    are left out of that walk. Nothing is skipped that holds data: objects are still released
    as their modules are cleared, and the ``atexit`` handlers and the final flushes run as
    always.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


#: The commands defined in this module (the others come from :mod:`studio.commands`).
_OWN_COMMANDS = frozenset({"lint", "presets", "open"})


def _command_named(argv: Sequence[str]) -> str | None:
    """The command a command line names (its first word that is not an option: the main
    parser's options take no values), or None."""
    return next((word for word in argv if not word.startswith("-")), None)


def _say(sentence: str) -> None:
    """One error sentence on stderr; the text in it may come from a file, so escaped."""
    from studio.core.text import for_terminal

    # Nobody may be reading stderr either; the exit code still tells.
    with contextlib.suppress(BrokenPipeError):
        print(f"studio: {for_terminal(sentence)}", file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's final flush of what is still
    buffered does not fail a second time, noisily, on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a descriptor (captured)
        sys.stdout = Path(os.devnull).open("w", encoding="utf-8")  # noqa: SIM115
