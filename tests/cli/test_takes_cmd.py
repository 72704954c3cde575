"""`studio render --takes N`, `studio library choose` and the takes in `studio status`, as a user
runs them against the loopback ModelsLab fake; a killed takes batch is finished by `studio
resume` without sending any take twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.request import Stage
from studio.library import Library
from tests.cli import test_render_cmd
from tests.cli.test_render_cmd import kill_once_followed, open_library, run_main
from tests.render.fakes import ScriptedModelsLab

# The render command's fixtures: the ModelsLab fake, the four-scene sheet, the environment.
server = test_render_cmd.server
sheet_path = test_render_cmd.sheet_path
env = test_render_cmd.env

SCENES = ("Rooftop", "Library", "Harbour", "Studio")


def _status(capsys: pytest.CaptureFixture[str], env: dict[str, str],
            sheet_path: Path) -> dict[tuple[str, str], dict[str, object]]:
    code, data, err = run_main(capsys, env, "status", str(sheet_path), "--json")
    assert code == 0, err
    return {(row["scene"], stage): row[stage] for row in data["scenes"]
            for stage in ("preview", "final") if row[stage] is not None}


def test_takes_are_rendered_picked_kept_across_runs_and_finalized(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--takes", "3", "--json")
    assert code == 0, err
    assert "4 scene(s), 3 takes each" in err and "12 requests" in err
    assert "Rooftop · preview · seed 78 · done" in err
    seeds: dict[str, list[int]] = {}
    for result in data["results"]:
        assert result["status"] == "ok"
        seeds.setdefault(result["scene"], []).append(result["seed"])
    assert {k: sorted(v) for k, v in seeds.items()} == {
        "Rooftop": [77, 78, 79], "Library": [77, 78, 79], "Harbour": [9001, 9002, 9003],
        "Studio": [77, 78, 79]}
    assert sorted(b["seed"] for b in server.submit_bodies()
                  if "rooftop" in str(b["prompt"])) == [77, 78, 79]
    with open_library(env) as lib:
        for result in data["results"]:
            assert lib.renders.get(result["render"]).seed_requested == result["seed"]

    cells = _status(capsys, env, sheet_path)
    assert {(scene, stage) for scene, stage in cells} == {(s, "preview") for s in SCENES}
    for cell in cells.values():
        # Every take is current: its seed follows the cell's, which has not changed.
        assert cell["takes"] == 3 and cell["out_of_date"] is False and cell["reasons"] == []

    middle = next(r for r in data["results"] if (r["scene"], r["seed"]) == ("Rooftop", 78))
    code, picked, err = run_main(capsys, env, "library", "choose", str(middle["render"]),
                                 "--json")
    assert code == 0, err
    assert picked == {"render": middle["render"], "scene": "Rooftop", "stage": "preview",
                      "seed": 78}
    # Each command is its own process: the pick is read back from the library.
    cells = _status(capsys, env, sheet_path)
    assert cells[("Rooftop", "preview")]["render"] == middle["render"]
    assert cells[("Rooftop", "preview")]["seed"] == 78

    code, finals, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "final",
                                 "--scene", "Rooftop", "--json")
    assert code == 0, err
    (final,) = finals["results"]
    assert (final["parent"], final["seed"]) == (middle["render"], 78)
    assert server.submit_bodies()[-1]["seed"] == 78
    cells = _status(capsys, env, sheet_path)
    assert cells[("Rooftop", "final")]["render"] == final["render"]
    assert cells[("Rooftop", "final")]["takes"] == 1


def test_choosing_a_take_is_a_sentence_when_it_cannot_be_done(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
) -> None:
    data_dir = Path(env["STUDIO_DATA_DIR"])
    code, _data, err = run_main(capsys, env, "library", "choose", "1")
    assert code == 2 and not data_dir.exists()  # a writing command creates no library
    assert err.startswith("studio: There is no library in") and "Traceback" not in err

    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--scene", "Rooftop", "--json")
    assert code == 0, err
    code, _data, err = run_main(capsys, env, "library", "choose", "999")
    assert code == 2 and "The library has no render 999. Nothing was picked" in err
    render_id = data["results"][0]["render"]
    with Library.open(data_dir) as lib:
        lib.renders.trash([render_id])
    code, _data, err = run_main(capsys, env, "library", "choose", str(render_id))
    assert code == 2 and f"Render {render_id} cannot be picked as a take" in err
    with Library.open(data_dir) as lib:
        scene_id = lib.renders.get(render_id).scene_id
        assert scene_id is not None
        assert lib.renders.chosen_take(scene_id, Stage.PREVIEW) is None


def test_takes_out_of_range_send_and_write_nothing(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    for value in ("0", "17"):
        code, _data, err = run_main(capsys, env, "render", str(sheet_path), "--stage",
                                    "preview", "--takes", value)
        assert code == 2 and f"--takes {value} is not a number of takes" in err
    with pytest.raises(SystemExit) as raised:  # argparse's own refusal of the argument
        run_main(capsys, env, "render", str(sheet_path), "--stage", "preview", "--takes", "two")
    assert raised.value.code == 2 and "not a whole number of takes" in capsys.readouterr().err
    assert server.submits() == 0 and not Path(env["STUDIO_DATA_DIR"]).exists()


def test_a_killed_takes_batch_is_finished_by_resume_without_sending_a_take_twice(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    server.hold.update({"rooftop", "library"})
    kill_once_followed(server, env, 4, "render", str(sheet_path), "--stage", "preview",
                       "--scene", "Rooftop", "--scene", "Library", "--takes", "2", "--json")
    assert server.submits() == 4
    with open_library(env) as lib:
        pending = lib.jobs.unfinished()
        assert sorted((j.draft.scene_name, j.draft.request.seed) for j in pending) == [
            ("Library", 77), ("Library", 78), ("Rooftop", 77), ("Rooftop", 78)]

    server.release()
    code, data, err = run_main(capsys, env, "resume", "--json")
    assert code == 0, err
    assert sorted((r["scene"], r["seed"], r["status"]) for r in data["results"]) == [
        ("Library", 77, "ok"), ("Library", 78, "ok"), ("Rooftop", 77, "ok"),
        ("Rooftop", 78, "ok")]
    assert server.submits() == 4  # no take was sent twice
    code, data, err = run_main(capsys, env, "resume", "--json")
    assert code == 0 and data["results"] == [] and server.submits() == 4
    cells = _status(capsys, env, sheet_path)
    assert cells[("Rooftop", "preview")]["takes"] == 2
    assert cells[("Library", "preview")]["takes"] == 2
