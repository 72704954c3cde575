"""`studio library list|search|check|choose`: the project library from the command line.

Reading (``list``, ``search``, ``check --no-repair``) never creates a library nor changes one;
``check`` with its repairs and ``choose`` (picking the take a cell shows) need a library they
may write and say so (exit 2) when they cannot.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from studio.library.commands import CommandOutput


def _data_dir(environ: Mapping[str, str]) -> Path:
    from studio.runtime import Runtime

    runtime = Runtime(environ)
    runtime.settings_or_defaults()  # a broken settings file must not hide the library
    return runtime.data_dir


def _shown(text: str) -> str:
    """Library output holds names, prompts and notes from sheets and bundles: escape their
    control characters; the line breaks are the output's own."""
    from studio.core.text import for_terminal

    return for_terminal(text, keep_lines=True)


def _print(result: CommandOutput, as_json: bool, out: TextIO) -> int:
    """The output on stdout; an error sentence goes to stderr like every command's, except
    with ``--json``, whose one object on stdout carries it."""
    if "error" in result.data and not as_json:
        from studio.cli import CommandError

        raise CommandError(result.text, result.exit_code or 1)
    print(_shown(result.render(as_json=as_json)), file=out)
    return result.exit_code


def cmd_list(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.library.commands import list_command

    result = list_command(_data_dir(environ), project=args.project, limit=args.limit)
    return _print(result, args.json, out)


def cmd_search(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.library.commands import search_command

    result = search_command(_data_dir(environ), " ".join(args.text), project=args.project,
                            limit=args.limit)
    return _print(result, args.json, out)


def cmd_check(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.library.commands import check_command

    result = check_command(_data_dir(environ), repair=not args.no_repair)
    return _print(result, args.json, out)


def cmd_choose(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.library.commands import choose_command

    return _print(choose_command(_data_dir(environ), args.render), args.json, out)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    lib = sub.add_parser("library", help="list, search and check the project library")
    groups = lib.add_subparsers(dest="library_command", metavar="ACTION", required=True)

    p = groups.add_parser("list", help="projects and their latest renders")
    p.add_argument("--project", help="only this project")
    p.add_argument("--limit", type=int, default=20, help="renders per project (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_list)

    p = groups.add_parser("search", help="full-text search over prompts, scenes, characters, "
                          "notes and tags")
    p.add_argument("text", nargs="+", metavar="TEXT")
    p.add_argument("--project", help="only this project")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_search)

    p = groups.add_parser("check", help="integrity check: database, missing, orphan and "
                          "damaged files; repairs what is safe")
    p.add_argument("--no-repair", action="store_true", help="only report")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_check)

    p = groups.add_parser("choose", help="pick the take a scene's cell shows (and finals are "
                          "made from)",
                          description="Make RENDER_ID the take its scene shows at its stage "
                          "(studio status, the window, exports); a picked preview take is the "
                          "one that scene's finals are made from. The pick is kept until "
                          "another is made; while the render is in the trash, the latest take "
                          "is shown.")
    p.add_argument("render", type=int, metavar="RENDER_ID",
                   help="the render's id (studio status, render --json, library list)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_choose)
