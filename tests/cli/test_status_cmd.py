"""`studio status` and the one staleness rule: for every kind of change to a sheet, status, the
render report, the export and the library give the same answer, before and after a restart."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from studio.cli import main
from studio.core.fingerprint import STAGE_PARTS
from studio.core.presets import load_catalog
from studio.core.request import Stage
from studio.core.sheet import Sheet, load_sheet, save_sheet
from studio.core.stages import StageProfile
from studio.export.gather import gather_sheet
from studio.library import Library
from studio.library.binding import bind_sheet

SHEET = """\
format = 1
title = "Agreement"

[character]
name = "Ines"
anchor = "Ines, 34-year-old woman, short black hair, green eyes"
seed = 42
skin = ["pores-subsurface"]
quality = ["skin-pores-4k"]

[preview]
provider = "offline"
model = "offline-preview"
steps = 4
guidance = 0.0

[final]
provider = "offline"
model = "offline-final"
steps = 30
guidance = 7.5

[[scenes]]
name = "Studio"
setting = "neutral grey studio backdrop, medium shot"
lighting = "soft-studio"
lens = "canon-ef-85"
framing = "portrait"

[[scenes]]
name = "Harbour"
setting = "windy harbour at dawn"
lighting = "golden-hour"
lens = "sigma-35"
framing = "landscape"
"""

Change = Callable[[Sheet], Sheet]


def _scene(sheet: Sheet, **changes: Any) -> Sheet:
    first = dataclasses.replace(sheet.scenes[0], **changes)
    return sheet.with_scenes((first, *sheet.scenes[1:]))


def _character(sheet: Sheet, **changes: Any) -> Sheet:
    return dataclasses.replace(sheet, character=dataclasses.replace(sheet.character, **changes))


def _stage(sheet: Sheet, stage: Stage, **changes: Any) -> Sheet:
    profile: StageProfile = dataclasses.replace(sheet.profile(stage), **changes)
    return dataclasses.replace(sheet, **{stage.value: profile})


# (change, reasons of the first scene's preview, of its final, of the second scene's cells)
CASES: dict[str, tuple[Change, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "anchor": (lambda s: _character(s, anchor=s.character.anchor + ", freckles"),
               ("anchor",), ("anchor",), ("anchor",)),
    "skin": (lambda s: _character(s, skin=(*s.character.skin, "freckles-variation")),
             ("skin",), ("skin",), ("skin",)),
    "quality": (lambda s: _character(s, quality=()), ("quality",), ("quality",), ("quality",)),
    "setting": (lambda s: _scene(s, setting="rainy rooftop at night"),
                ("setting",), ("setting",), ()),
    "pattern": (lambda s: _scene(s, pattern="portrait-lighting"), ("pattern",), ("pattern",),
                ()),
    "lighting": (lambda s: _scene(s, lighting="rembrandt"), ("lighting",), ("lighting",), ()),
    "lens": (lambda s: _scene(s, lens="sigma-35"), ("lens",), ("lens",), ()),
    "framing": (lambda s: _scene(s, framing="full-body"), ("framing",), ("framing",), ()),
    "seed": (lambda s: _scene(s, seed=7), ("seed",), ("seed",), ()),
    "character seed": (lambda s: _character(s, seed=43), ("seed",), ("seed",), ("seed",)),
    "negative": (lambda s: _character(s, negative="blurry, extra fingers"), (), ("negative",),
                 ("negative",)),
    "final model": (lambda s: _stage(s, Stage.FINAL, model="offline-final-2"), (), ("model",),
                    ("model",)),
    "final steps": (lambda s: _stage(s, Stage.FINAL, steps=34), (), ("steps",), ("steps",)),
    "final guidance": (lambda s: _stage(s, Stage.FINAL, guidance=7.0), (), ("guidance",),
                       ("guidance",)),
    "preview steps": (lambda s: _stage(s, Stage.PREVIEW, steps=3), ("steps",), (), ("steps",)),
}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(list(args), dict(os.environ))
    captured = capsys.readouterr()
    if "--json" in args:
        return code, json.loads(captured.out) if captured.out.strip() else None, captured.err
    return code, captured.out, captured.err


def _status(capsys: pytest.CaptureFixture[str], path: Path) -> dict[tuple[str, str], Any]:
    code, data, err = run(capsys, "status", str(path), "--json")
    assert code == 0, err
    assert data["sheet"] == str(path)
    return {(row["scene"], stage): row[stage] for row in data["scenes"]
            for stage in ("preview", "final")}


@pytest.fixture
def rendered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "ines.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    for stage in ("preview", "final"):
        code, _data, err = run(capsys, "render", str(path), "--stage", stage, "--json")
        assert code == 0, err
    return path


def test_status_before_anything_is_rendered_creates_no_library(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ines.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    cells = _status(capsys, path)
    assert cells == {(s, st): None for s in ("Studio", "Harbour") for st in ("preview", "final")}
    assert not Path(os.environ["STUDIO_DATA_DIR"]).exists()
    code, text, err = run(capsys, "status", str(path))
    assert code == 0 and "nothing rendered is out of date" in text, err
    assert "Studio" in text and "preview: not rendered" in text


def test_a_bad_sheet_is_exit_2_with_a_sentence(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.sheet.toml"
    path.write_text("format = 1\n[character]\nname = 3\n", encoding="utf-8")
    code, _data, err = run(capsys, "status", str(path), "--json")
    assert code == 2 and "character.name" in err and "Traceback" not in err
    code, _data, err = run(capsys, "status", str(tmp_path / "missing.sheet.toml"))
    assert code == 2 and "does not exist" in err


def test_a_fresh_render_is_current_everywhere(rendered: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cells = _status(capsys, rendered)
    for (scene, stage), cell in cells.items():
        assert cell is not None, (scene, stage)
        assert cell["state"] == "done" and cell["out_of_date"] is False and cell["reasons"] == []
        assert cell["provider"] == "offline" and Path(cell["image"]).is_file()
        assert cell["approval"] == "none" and cell["star"] is False and cell["takes"] == 1
        assert cell["seed"] == 42 and set(cell) >= {"render", "seed_returned", "model",
                                                    "references", "identity"}
    code, text, _err = run(capsys, "status", str(rendered))
    assert code == 0 and "current" in text and "done, offline/" in text


@pytest.mark.parametrize("kind", list(CASES))
def test_every_kind_of_change_gets_the_same_answer_everywhere(
        kind: str, rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    change, first_preview, first_final, second = CASES[kind]
    catalog = load_catalog(user_file=Path(os.environ["STUDIO_CONFIG_DIR"]) / "presets.toml")
    changed = change(load_sheet(rendered, catalog))
    save_sheet(changed, rendered)
    expected = {("Studio", "preview"): first_preview, ("Studio", "final"): first_final,
                ("Harbour", "preview"): () if kind.startswith("final") or kind == "negative"
                else second,
                ("Harbour", "final"): () if kind.startswith("preview") else second}
    # studio status
    cells = _status(capsys, rendered)
    assert {k: tuple(v["reasons"]) for k, v in cells.items()} == expected
    assert {k: v["out_of_date"] for k, v in cells.items()} == {k: bool(v)
                                                              for k, v in expected.items()}
    # the export
    data_dir = Path(os.environ["STUDIO_DATA_DIR"])
    with Library.open(data_dir) as library:
        export = gather_sheet(library, changed, rendered, catalog)
        shown = {cell.scene: cell.out_of_date for cell in export.document.cells}
        assert shown == {"Studio": first_final, "Harbour": expected[("Harbour", "final")]}
        # the library, once it has recorded the changed sheet
        binding = bind_sheet(library, changed, rendered, catalog)
        own = {(c.scene.name, c.stage.value): c.out_of_date
               for c in library.renders.cells(binding.sheet.id)}
        assert own == expected
    # ... and again after a restart (a new process reads the same library)
    with Library.open(data_dir) as library:
        own = {(c.scene.name, c.stage.value): c.out_of_date
               for c in library.renders.cells(binding.sheet.id)}
        assert own == expected
    assert {k: tuple(v["reasons"]) for k, v in _status(capsys, rendered).items()} == expected
    # studio render's report: a final made now from the out-of-date preview says so, and is
    # itself reported out of date for the same reasons.
    code, data, err = run(capsys, "render", str(rendered), "--stage", "final", "--scene",
                          "Studio", "--json")
    assert code == 0, err
    inherited = tuple(r for r in first_preview if r not in STAGE_PARTS)
    assert ("so it is out of date too" in err) == bool(inherited)
    report = {(c["scene"], c["stage"]): tuple(c["reasons"]) for c in data["out_of_date"]}
    assert report.get(("Studio", "final"), ()) == inherited
    assert report.get(("Studio", "preview"), ()) == first_preview
    after = _status(capsys, rendered)
    assert tuple(after[("Studio", "final")]["reasons"]) == inherited
    assert after[("Studio", "final")]["takes"] == 2


def test_re_rendering_the_preview_then_the_final_makes_both_current(
        rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = load_catalog(user_file=None)
    save_sheet(_character(load_sheet(rendered, catalog), skin=()), rendered)
    for stage in ("preview", "final"):
        code, _data, err = run(capsys, "render", str(rendered), "--stage", stage, "--scene",
                               "Studio")
        assert code == 0, err
    cells = _status(capsys, rendered)
    assert cells[("Studio", "preview")]["reasons"] == []
    assert cells[("Studio", "final")]["reasons"] == []
    assert cells[("Harbour", "preview")]["reasons"] == ["skin"]
