"""`studio templates` and `studio new`: the sheet templates, and a new sheet made from one.

`studio new` writes a sheet that lints clean; it never overwrites a file. Exit codes: 0 written
(or listed), 2 bad input (an unknown template, a file already there, a bad seed or name; a
sentence, nothing written).
"""

from __future__ import annotations

import argparse
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from studio.core.presets import PresetCatalog
    from studio.core.templates import SheetTemplate, TemplateCatalog

EXIT_OK = 0
EXIT_BAD_INPUT = 2

NEW_HELP = """\
Cells a template marks optional (e.g. the four extra expressions) are left out unless --all is
given. The sheet records its template (template = "ID"), which picks its export layout. Without
--anchor the anchor is only the name: describe the character there before rendering. Without
--seed a random seed is locked in. Exit codes: 0 written, 2 bad input (nothing written; an
existing file is never overwritten).
"""


def _command_error(message: str) -> Exception:
    from studio.cli import CommandError

    return CommandError(message, EXIT_BAD_INPUT)


def load_template_catalog(environ: Mapping[str, str]) -> tuple[PresetCatalog, TemplateCatalog]:
    """The presets and templates with the user's own from the config folder merged in."""
    from studio.runtime import Runtime

    runtime = Runtime(environ)
    return runtime.catalog, runtime.templates


def template_summary(template: SheetTemplate) -> dict[str, object]:
    """A template as `studio templates --json` lists it."""
    return {
        "id": template.id,
        "label": template.label,
        "description": template.description,
        "layout": template.layout.value,
        "source": template.source,
        "cells": len(template.cells),
        "optional_cells": template.optional_count,
        "labels": [c.label for c in template.cells],
        "optional_labels": [c.label for c in template.cells if c.optional],
    }


def cmd_templates(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    _, templates = load_template_catalog(environ)
    if args.json:
        print(json.dumps([template_summary(t) for t in templates.all()], indent=2,
                         ensure_ascii=False), file=out)
        return EXIT_OK
    for t in templates.all():
        count = f"{len(t.cells) - t.optional_count} cells"
        if t.optional_count:
            count += f" (+{t.optional_count} optional with --all)"
        mark = "  *user*" if t.source == "user" else ""
        print(f"{t.id:<14} {t.label:<22} {count}; layout {t.layout.value}{mark}", file=out)
        if t.description:
            print(f"    {t.description}", file=out)
        print(f"    cells: {', '.join(c.label + ('*' if c.optional else '') for c in t.cells)}",
              file=out)
    return EXIT_OK


def _seed(text: str | None) -> int:
    from studio.core.request import SEED_MAX, SEED_MIN

    if text is None:
        return secrets.randbelow(SEED_MAX + 1)
    try:
        value = int(text.strip())
    except ValueError:
        raise _command_error(f"--seed \"{text}\" is not a whole number; use one from {SEED_MIN} "
                             f"to {SEED_MAX}, e.g. --seed 42.") from None
    if not SEED_MIN <= value <= SEED_MAX:
        raise _command_error(f"--seed {value} is outside {SEED_MIN}..{SEED_MAX}; use a whole "
                             "number in that range, e.g. --seed 42.")
    return value


def _target(text: str) -> Path:
    from studio.core.sheet import SHEET_SUFFIX

    target = Path(text)
    if not target.name.endswith(SHEET_SUFFIX):
        raise _command_error(f"--out {text} must end in {SHEET_SUFFIX} so the studio opens it as "
                             f"a sheet, e.g. --out {target.name.split('.')[0] or 'mara'}"
                             f"{SHEET_SUFFIX}.")
    if target.exists():
        raise _command_error(f"{target} already exists and studio new does not overwrite it; "
                             "choose another --out or move that file away first.")
    if not target.parent.is_dir():
        raise _command_error(f"The folder {target.parent} does not exist; create it first.")
    return target


def cmd_new(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.commands.providers import capability_lookup
    from studio.core.checks import lint_sheet
    from studio.core.sheet import save_sheet
    from studio.core.templates import sheet_from_template

    name = args.name.strip()
    if not name:
        raise _command_error("--name is empty; give the character a first name, e.g. "
                             "--name Mara.")
    seed = _seed(args.seed)
    target = _target(args.out)
    catalog, templates = load_template_catalog(environ)
    template = templates.require(args.template)
    sheet = sheet_from_template(template, name, seed, anchor=args.anchor or "",
                                include_optional=args.all)
    save_sheet(sheet, target)
    print(f"Wrote {target}: the {template.label} template for {name}, "
          f"{len(sheet.scenes)} scenes, seed {seed}.", file=out)
    for finding in lint_sheet(sheet, catalog, capability_lookup(environ)):
        print(f"{target}: {finding.line()}", file=out)
    if sheet.character.anchor == name:
        print(f"Describe {name} in the anchor ([character] anchor) before rendering: age, "
              "hair, eyes, distinctive features.", file=out)
    print(f"Next: studio render {target} --stage preview", file=out)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("templates", help="list the sheet templates (turnaround, expressions, "
                       "poses, outfits, storyboard coverage, and your own)")
    p.add_argument("--json", action="store_true", help="print a JSON list of the templates")
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser(
        "new", help="write a new sheet made from a template",
        description="Write a new sheet file for a character, holding a template's cells as "
        "scenes.", epilog=NEW_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--template", required=True, metavar="ID",
                   help="a template id (studio templates lists them)")
    p.add_argument("--name", required=True, metavar="NAME",
                   help="the character's first name, e.g. Mara")
    p.add_argument("--anchor", metavar="TEXT", help="the character's fixed description, e.g. "
                   "\"Mara, 30-year-old woman, short red hair, green eyes\"")
    p.add_argument("--seed", metavar="N", help="the locked seed, 0 to 4294967295 (default: "
                   "a random one)")
    p.add_argument("--all", action="store_true", help="include the template's optional cells")
    p.add_argument("--out", required=True, metavar="FILE", help="the sheet file to write "
                   "(*.sheet.toml; never overwritten)")
    p.set_defaults(func=cmd_new)
