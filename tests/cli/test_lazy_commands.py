"""A command line imports only its own command's module, and each command parses exactly as it
does in the whole parser (help and options alike)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from studio.cli import _OWN_COMMANDS, build_parser
from studio.commands import COMMAND_MODULES, COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_is_mapped_to_the_module_that_registers_it() -> None:
    whole = _commands(build_parser())
    assert set(whole) == set(COMMANDS) | _OWN_COMMANDS
    assert set(COMMANDS.values()) == set(COMMAND_MODULES)
    for name in whole:
        alone = _commands(build_parser(name))
        assert name in alone
        if name not in _OWN_COMMANDS:
            assert set(alone) == {n for n, m in COMMANDS.items() if m == COMMANDS[name]} \
                | _OWN_COMMANDS
        assert alone[name].format_help() == whole[name].format_help()


def test_render_imports_no_other_command_module() -> None:
    code = ("import sys, studio.cli as c\n"
            "try:\n    c.main(['render', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('studio.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['studio.commands.render']"
