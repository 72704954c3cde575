"""`studio templates` and `studio new`: the list, sheets that lint clean, the user's templates,
and one sentence (exit 2, nothing written) for every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli import main
from studio.core.presets import load_catalog
from studio.core.sheet import load_sheet

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = ["turnaround", "head-turn", "expressions", "poses", "outfits", "storyboard"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_templates_lists_every_template(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "templates")
    assert code == 0
    for tid in BUILT_IN:
        assert any(line.startswith(tid + " ") for line in out.splitlines()), tid
    assert "8 cells (+4 optional with --all); layout expressions" in out
    code, out, _ = run(capsys, "templates", "--json")
    assert code == 0
    data = json.loads(out)
    assert isinstance(data, list)
    assert [t["id"] for t in data] == BUILT_IN
    by_id = {t["id"]: t for t in data}
    assert by_id["turnaround"]["label"] == "Turnaround" and by_id["turnaround"]["cells"] == 5
    assert by_id["expressions"]["cells"] == 12 and by_id["expressions"]["optional_cells"] == 4
    assert by_id["storyboard"]["layout"] == "storyboard"
    assert all(t["source"] == "built-in" for t in data)


@pytest.mark.parametrize("template", BUILT_IN)
def test_new_writes_a_sheet_that_lints_clean(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path, template: str) -> None:
    target = tmp_path / f"mara-{template}.sheet.toml"
    code, out, err = run(capsys, "new", "--template", template, "--name", "Mara", "--anchor",
                         "30-year-old woman, short red hair, green eyes, wearing a green parka",
                         "--seed", "7", "--out", str(target))
    assert code == 0, err
    assert f"Wrote {target}" in out and "seed 7" in out
    assert f"Next: studio render {target} --stage preview" in out
    assert "warning" not in out and "error" not in out
    sheet = load_sheet(target, load_catalog())
    assert sheet.template == template and sheet.character.seed == 7
    assert sheet.character.anchor.startswith("Mara, 30-year-old woman")
    code, out, _ = run(capsys, "lint", str(target))
    assert code == 0 and "no problems found" in out


def test_optional_cells_only_with_all(capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    catalog = load_catalog()
    code, out, _ = run(capsys, "new", "--template", "expressions", "--name", "Mara",
                       "--out", str(tmp_path / "a.sheet.toml"))
    assert code == 0
    assert len(load_sheet(tmp_path / "a.sheet.toml", catalog).scenes) == 8
    assert "Describe Mara in the anchor" in out  # only a name: say what to do next
    code, _, _ = run(capsys, "new", "--template", "expressions", "--name", "Mara", "--all",
                     "--out", str(tmp_path / "b.sheet.toml"))
    sheet = load_sheet(tmp_path / "b.sheet.toml", catalog)
    assert code == 0 and [s.name for s in sheet.scenes][-4:] == [
        "Smug", "Embarrassed", "Exhausted", "Determined"]
    assert 0 <= sheet.character.seed <= 4294967295  # a random seed when none is given


def test_a_user_template_replaces_the_built_in_and_is_used_by_new(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = Path(os.environ["STUDIO_CONFIG_DIR"])
    (config / "templates").mkdir(parents=True)
    (config / "templates" / "mine.toml").write_text(
        'format = 1\n[[template]]\nid = "turnaround"\nlabel = "Studio turnaround"\n'
        'layout = "turnaround"\nlighting = "flat-studio"\nframing = "full-body"\n'
        'setting = "full body, T-pose"\n'
        '[[template.cells]]\nlabel = "Front"\ntext = "front view"\n'
        '[[template.cells]]\nlabel = "Side"\ntext = "side view"\n', encoding="utf-8")
    code, out, _ = run(capsys, "templates")
    assert "Studio turnaround" in out and "*user*" in out
    target = tmp_path / "t.sheet.toml"
    code, _, err = run(capsys, "new", "--template", "turnaround", "--name", "Mara",
                       "--seed", "1", "--out", str(target))
    assert code == 0, err
    assert [s.name for s in load_sheet(target, load_catalog()).scenes] == ["Front", "Side"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--template", "turnarund"], 'There is no template "turnarund"; did you mean '
         '"turnaround"?'),
        (["--seed", "seven"], '--seed "seven" is not a whole number; use one from 0 to '
         '4294967295'),
        (["--seed", "4294967296"], "--seed 4294967296 is outside 0..4294967295"),
        (["--name", "  "], "--name is empty; give the character a first name"),
        (["--out", "{tmp}/mara.toml"], "must end in .sheet.toml"),
        (["--out", "{tmp}/missing/mara.sheet.toml"], "does not exist; create it first"),
    ],
)
def test_bad_input_exits_2_with_one_sentence_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str],
        expected: str) -> None:
    base = {"--template": "turnaround", "--name": "Mara",
            "--out": str(tmp_path / "mara.sheet.toml")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value.replace("{tmp}", str(tmp_path))
    argv = ["new"] + [x for pair in base.items() for x in pair] + (
        ["--seed", "1"] if "--seed" not in base else [])
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.glob("**/*.toml")) == []


def test_new_never_overwrites(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "mara.sheet.toml"
    target.write_text("my work", encoding="utf-8")
    code, out, err = run(capsys, "new", "--template", "poses", "--name", "Mara",
                         "--out", str(target))
    assert code == 2 and out == ""
    assert f"{target} already exists and studio new does not overwrite it" in err
    assert target.read_text(encoding="utf-8") == "my work"


def test_a_broken_user_template_file_is_one_sentence_in_a_real_process(
        tmp_path: Path) -> None:
    config = tmp_path / "config-broken"
    config.mkdir()
    (config / "templates.toml").write_text(
        'format = 1\n[[template]]\nid = "mine"\nlabel = "Mine"\nlighting = "neon-cyberpnk"\n'
        '[[template.cells]]\nlabel = "A"\ntext = "a"\n', encoding="utf-8")
    env = dict(os.environ, STUDIO_CONFIG_DIR=str(config))
    proc = subprocess.run([sys.executable, "-m", "studio", "templates"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert (f"{config / 'templates.toml'}:5: 'template \"mine\".lighting' names an unknown "
            "lighting preset \"neon-cyberpnk\"; did you mean \"neon-cyberpunk\"?") in lines[0]
