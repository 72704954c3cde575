"""Hostile sheets and terminals, run as a user runs them: a real process, one sentence, the
exit code, nothing written, nothing raw on the terminal, a closed pipe ending quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAD = ('format = 1\n[character]\nname = "Emma"\nanchor = "Emma, 30-year-old woman"\n'
        'seed = 42\n')
HOSTILE_NAME = "evil\x1b]0;pwned\x07\x1b[31mred\u202e\x9b2J"
HOSTILE_SHOWN = "evil\\x1b]0;pwned\\x07\\x1b[31mred\\u202e\\x9b2J"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True,
                          text=True, cwd=ROOT, env=dict(os.environ), timeout=120)


def files_under(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders if folder.exists() for p in folder.rglob("*"))


@pytest.fixture
def user_dirs(isolated_user_dirs: Path) -> tuple[Path, ...]:
    """Every folder a command could write to; the tests check they stay empty."""
    return (isolated_user_dirs / "data", isolated_user_dirs / "config",
            isolated_user_dirs / "home")


@pytest.mark.parametrize("command", ["lint", "render"])
@pytest.mark.parametrize(("body", "sentence"), [
    ("notes = " + "[" * 500 + "]" * 500,
     ":9: nests arrays or tables more than 16 levels deep, past the limit of 16; a sheet needs "
     "two levels at most: is it really a sheet file?"),
    ("notes = " + "{a = " * 450 + "1" + "}" * 450,
     ":9: nests arrays or tables more than 16 levels deep, past the limit of 16"),
    ("lighting = " + json.dumps("warm light " * 90_910),
     ":9: 'scenes[1].lighting' of the scene \"Rooftop\" is 1,000,010 characters long, over "
     "the limit of 1,000; shorten it: a phrase or a few sentences is what the models read"),
], ids=["array-500", "inline-450", "lighting-1M"])
def test_a_hostile_sheet_is_one_sentence_exit_2_and_nothing_written(
        tmp_path: Path, user_dirs: tuple[Path, ...], command: str, body: str,
        sentence: str) -> None:
    sheet = tmp_path / "hostile.sheet.toml"
    sheet.write_text(HEAD + '[[scenes]]\nname = "Rooftop"\nsetting = "rooftop"\n' + body + "\n",
                     encoding="utf-8")
    args = [command, str(sheet)] + (["--stage", "preview"] if command == "render" else [])
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"studio: {sheet}{sentence}")
    assert proc.stdout == ""
    assert files_under(*user_dirs) == [] and sorted(tmp_path.iterdir()) == sorted(
        [sheet, *(p for p in user_dirs if p.exists())])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_a_dotted_key_50000_parts_deep_is_refused_quickly_and_small(
        tmp_path: Path, user_dirs: tuple[Path, ...]) -> None:
    sheet = tmp_path / "dotted.sheet.toml"
    sheet.write_text(HEAD + ".".join(["a"] * 50_000) + " = 1\n", encoding="utf-8")
    # Run under an address-space cap (the interpreter and its imports need a few hundred MB):
    # before the scan, the TOML reader took 9.9 GB here.
    capped = ("import resource, runpy, sys\n"
              "cap = 2 * 1024 ** 3\n"
              "resource.setrlimit(resource.RLIMIT_AS, (cap, cap))\n"
              "sys.argv = ['studio', 'lint', sys.argv[1]]\n"
              "runpy.run_module('studio', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", capped, str(sheet)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"studio: {sheet}:6: has a dotted key or table name of more than 16 "
                           "parts, past the limit of 16; a sheet needs two levels at most: is "
                           "it really a sheet file?\n")
    assert files_under(*user_dirs) == []


def test_lint_findings_show_control_characters_escaped(tmp_path: Path) -> None:
    sheet = tmp_path / "names.sheet.toml"
    sheet.write_text(HEAD + "[[scenes]]\nname = " + json.dumps(HOSTILE_NAME)
                     + '\nsetting = "beautiful stunning backdrop"\n', encoding="utf-8")
    proc = run("lint", str(sheet))
    assert proc.returncode == 0, proc.stderr
    assert f'Scene "{HOSTILE_SHOWN}": uses vague quality words' in proc.stdout
    assert not any(c in proc.stdout for c in "\x1b\x07\u202e\x9b")


def test_an_error_sentence_quoting_the_file_is_escaped(tmp_path: Path) -> None:
    sheet = tmp_path / "key.sheet.toml"
    sheet.write_text(HEAD + json.dumps("\x1b[2Jcolour") + ' = "red"\n', encoding="utf-8")
    proc = run("lint", str(sheet))
    assert proc.returncode == 2
    assert "'character.\\x1b[2Jcolour' is not a key of the sheet format" in proc.stderr
    assert "\x1b" not in proc.stderr


def test_render_progress_summary_and_library_list_are_escaped(tmp_path: Path) -> None:
    sheet = tmp_path / "names.sheet.toml"
    sheet.write_text(HEAD + "[[scenes]]\nname = " + json.dumps(HOSTILE_NAME)
                     + '\nsetting = "grey backdrop"\n', encoding="utf-8")
    proc = run("render", str(sheet), "--stage", "preview")
    assert proc.returncode == 0, proc.stderr
    assert f"studio: {HOSTILE_SHOWN} · preview · done" in proc.stderr
    assert f"ok        {HOSTILE_SHOWN} (preview" in proc.stdout
    listed = run("library", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"[{HOSTILE_SHOWN}]" in listed.stdout
    for output in (proc.stdout, proc.stderr, listed.stdout):
        assert not any(c in output for c in "\x1b\x07\u202e\x9b")


def _closed_pipe() -> int:
    """The write end of a pipe nobody will ever read: its reader is closed first."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize("args", [["presets"], ["lint", "examples/emma.sheet.toml"],
                                  ["--help"]], ids=["presets", "lint", "help"])
def test_a_closed_stdout_ends_quietly_with_141(args: list[str]) -> None:
    write = _closed_pipe()
    try:
        proc = subprocess.run([sys.executable, "-m", "studio", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    finally:
        os.close(write)
    expected = 0 if args == ["--help"] else 141  # argparse prints help and exits itself
    assert (proc.returncode, proc.stderr) == (expected, "")


def test_studio_piped_into_head_prints_no_traceback() -> None:
    if not Path("/usr/bin/head").exists() and not Path("/bin/head").exists():
        pytest.skip("no head here")
    proc = subprocess.run(
        f"{sys.executable} -m studio presets | head -1; exit ${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, cwd=ROOT,
        timeout=120)
    assert proc.stdout == "[lighting]\n"
    assert proc.stderr == ""
    assert proc.returncode in (0, 141)  # 0 only if all output fitted the pipe before head left


def test_a_closed_stderr_ends_the_progress_lines_not_the_render(tmp_path: Path) -> None:
    sheet = tmp_path / "quiet.sheet.toml"
    sheet.write_text(HEAD + '[[scenes]]\nname = "A"\nsetting = "grey backdrop"\n',
                     encoding="utf-8")
    write = _closed_pipe()
    try:
        proc = subprocess.run([sys.executable, "-m", "studio", "render", str(sheet), "--stage",
                               "preview", "--json"], stdout=subprocess.PIPE, stderr=write,
                              text=True, cwd=ROOT, timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == 0
    assert [r["status"] for r in json.loads(proc.stdout)["results"]] == ["ok"]
