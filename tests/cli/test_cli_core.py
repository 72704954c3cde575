"""The foundation commands, run as a user runs them: a real process, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio import __version__
from studio.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env or dict(os.environ), timeout=120)


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"studio {__version__}"


def test_lint_clean_example_exits_0(example_sheet_path: Path) -> None:
    proc = run("lint", str(example_sheet_path))
    assert proc.returncode == 0, proc.stderr
    assert "no problems found (4 scenes)" in proc.stdout


def test_lint_exits_1_on_an_error_level_check(tmp_path: Path, example_sheet_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "odd.sheet.toml"
    bad.write_text(example_sheet_path.read_text(encoding="utf-8").replace(
        'framing = "portrait-small"', 'framing = "513x770"'), encoding="utf-8")
    assert main(["lint", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "error: [size-multiple] Scene \"Coffee-shop window\"" in out


def test_lint_warnings_only_exit_0(tmp_path: Path, example_sheet_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    warn = tmp_path / "warn.sheet.toml"
    warn.write_text(example_sheet_path.read_text(encoding="utf-8").replace(
        'setting = "dark studio, seated, three-quarter view"',
        'setting = "dark studio, digital art"'), encoding="utf-8")
    assert main(["lint", str(warn)]) == 0
    assert "warning: [style-conflict]" in capsys.readouterr().out


def test_bad_sheet_exits_2_with_one_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sheet.toml"
    bad.write_text('format = 1\n[character]\nname = "Emma"\nanchor = "Emma"\nseed = 1\n'
                   '[[scenes]]\nname = "A"\nsetting = "x"\nlens = "canon-ef-58"\n',
                   encoding="utf-8")
    proc = run("lint", str(bad))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{bad}:9: 'scenes[1].lens' names an unknown lens preset" in lines[0]
    assert 'did you mean "canon-ef-85"' in lines[0]
    assert "Traceback" not in proc.stderr


def test_presets_lists_every_kind_and_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for kind in ("lighting", "lens", "skin", "quality", "negative", "framing", "pattern"):
        assert f"[{kind}]" in out
    assert main(["presets", "--kind", "lens"]) == 0
    out = capsys.readouterr().out
    assert "canon-ef-85" in out and "[lighting]" not in out
    assert main(["presets", "--kind", "weather"]) == 2


def test_user_presets_show_up(capsys: pytest.CaptureFixture[str]) -> None:
    config = Path(os.environ["STUDIO_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / "presets.toml").write_text('[[lighting]]\nid = "candle"\ntext = "candlelight"\n',
                                         encoding="utf-8")
    assert main(["presets", "--kind", "lighting"]) == 0
    assert "candle" in capsys.readouterr().out


def test_the_program_exits_with_the_commands_code_after_it_has_finished(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import studio.cli as cli

    steps: list[str] = []

    def command(argv: object = None, environ: object = None) -> int:
        steps.append("command")
        return 1

    monkeypatch.setattr(cli, "main", command)
    # The collector's objects are frozen only once the command has returned (everything it
    # wrote closed); the test's own process keeps collecting as before.
    monkeypatch.setattr(gc, "freeze", lambda: steps.append("freeze"))
    with pytest.raises(SystemExit) as ended:
        cli.run()
    assert ended.value.code == 1
    assert steps == ["command", "freeze"]


def test_python_m_studio_runs_the_program(tmp_path: Path) -> None:
    proc = run("lint", str(tmp_path / "missing.sheet.toml"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("studio: ") and "Traceback" not in proc.stderr
