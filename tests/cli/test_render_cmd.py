"""`studio render` and `studio resume` as users and scripts run them: exit codes, the JSON
summary, files in --out, records in the library, against the loopback ModelsLab fake."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studio.cli import main
from studio.core.request import Stage
from studio.library import JobState, Library, RenderFilter
from tests.render.fakes import SHEET, ScriptedModelsLab

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-render-cmd-SECRET-1234"


@pytest.fixture
def server() -> Iterator[ScriptedModelsLab]:
    fake = ScriptedModelsLab(KEY)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def sheet_path(tmp_path: Path) -> Path:
    path = tmp_path / "mara.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    return path


@pytest.fixture
def env(server: ScriptedModelsLab) -> dict[str, str]:
    environ = dict(os.environ)
    environ.update({
        "STUDIO_MODELSLAB_BASE_URL": server.base_url,
        "STUDIO_MODELSLAB_API_KEY": KEY,
        "STUDIO_MODELSLAB_CONCURRENCY": "4",
    })
    return environ


def run_main(capsys: pytest.CaptureFixture[str], environ: dict[str, str],
             *args: str) -> tuple[int, Any, str]:
    code = main(list(args), environ)
    captured = capsys.readouterr()
    data = json.loads(captured.out) if "--json" in args and captured.out.strip() else None
    return code, data, captured.err


def open_library(environ: dict[str, str]) -> Library:
    return Library.open(Path(environ["STUDIO_DATA_DIR"]))


def test_previews_then_finals_of_a_four_scene_sheet(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab, tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--out", str(out), "--json")
    assert code == 0, err
    assert data["stage"] == "preview" and data["wall_seconds"] > 0
    results = {r["scene"]: r for r in data["results"]}
    assert list(results) == ["Rooftop", "Library", "Harbour", "Studio"]
    for name, r in results.items():
        assert r["status"] == "ok" and r["error"] is None
        assert (r["provider"], r["model"]) == ("modelslab", "flux-schnell")
        assert r["image"] == str(out / f"{name.lower()}.preview.png")
        assert Path(r["image"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert results["Harbour"]["seed"] == 9001 and results["Rooftop"]["seed"] == 77
    assert "4 requests" in err and KEY not in err

    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "final",
                               "--out", str(out), "--json")
    assert code == 0, err
    finals = {r["scene"]: r for r in data["results"]}
    assert all(r["status"] == "ok" and r["model"] == "fluxgram-v1" for r in finals.values())
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{s}.png" for n in ("rooftop", "library", "harbour", "studio")
        for s in ("preview", "final"))

    with open_library(env) as lib:
        for name in results:
            preview = lib.renders.get(results[name]["render"])
            final = lib.renders.get(finals[name]["render"])
            assert final.parent_id == preview.id == finals[name]["parent"]
            assert final.stage is Stage.FINAL and preview.stage is Stage.PREVIEW
            assert final.seed == preview.seed == results[name]["seed"]
            assert final.prompt == preview.prompt
            assert final.anchor_version_id == preview.anchor_version_id is not None
            assert (final.steps, final.guidance) == (30, 7.5)
            assert final.negative == "cartoon, anime, painting" and preview.negative == ""
    bodies = server.submit_bodies()
    assert len(bodies) == 8
    previews, finals_sent = bodies[:4], bodies[4:]
    assert {b["model_id"] for b in previews} == {"flux-schnell"}
    assert {b["model_id"] for b in finals_sent} == {"fluxgram-v1"}
    assert sorted((b["prompt"], b["seed"]) for b in previews) == sorted(
        (b["prompt"], b["seed"]) for b in finals_sent)


def test_a_final_keeps_its_previews_anchor_and_stale_cells_are_reported(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
) -> None:
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--scene", "Rooftop", "--json")
    assert code == 0, err
    preview_id = data["results"][0]["render"]
    # The user edits the anchor after approving the preview.
    sheet_path.write_text(SHEET.replace("short copper hair", "long copper braid"), "utf-8")
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "final",
                               "--scene", "Rooftop", "--json")
    assert code == 0, err
    final_id = data["results"][0]["render"]
    assert "The preview of “Rooftop” is out of date: the character's anchor changed" in err
    assert "keeps the preview's prompt and seed, so it is out of date too" in err
    assert data["out_of_date"] == [
        {"scene": "Rooftop", "stage": stage, "reasons": ["anchor"]}
        for stage in ("preview", "final")]
    # A new preview picks up the anchor; the final made from the old one stays out of date.
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--scene", "Rooftop", "--json")
    assert code == 0, err
    assert data["out_of_date"] == [{"scene": "Rooftop", "stage": "final",
                                    "reasons": ["anchor"]}]
    assert "The final of “Rooftop” is out of date" in err
    with open_library(env) as lib:
        preview = lib.renders.get(preview_id)
        final = lib.renders.get(final_id)
        assert final.parent_id == preview.id
        assert final.anchor_version_id == preview.anchor_version_id
        assert "short copper hair" in final.prompt
        assert lib.renders.staleness(final) == ("anchor",)


def test_one_scene_failing_while_the_others_finish(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab, tmp_path: Path,
) -> None:
    server.fail["harbour"] = "GPU out of memory"
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--out", str(tmp_path / "out"), "--json")
    assert code == 1, err
    assert "Harbour · preview · failed" in err
    status = {r["scene"]: r["status"] for r in data["results"]}
    assert status == {"Rooftop": "ok", "Library": "ok", "Harbour": "failed", "Studio": "ok"}
    (failed,) = [r for r in data["results"] if r["status"] == "failed"]
    assert "Harbour" in failed["error"] and "ModelsLab" in failed["error"]
    assert "GPU out of memory" in failed["error"] and failed["image"] is None
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "library.preview.png", "rooftop.preview.png", "studio.preview.png"]
    with open_library(env) as lib:
        renders = lib.renders.page(RenderFilter(stage=Stage.PREVIEW)).items
        assert sorted(r.status_word for r in renders) == ["failed", "ok", "ok", "ok"]
        assert lib.jobs.unfinished() == []


def test_a_named_provider_without_a_key_exits_2_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    del env["STUDIO_MODELSLAB_API_KEY"]
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--provider", "modelslab", "--json")
    assert code == 2 and data is None
    assert "STUDIO_MODELSLAB_API_KEY" in err and "nothing was sent" in err
    assert server.requests == []
    assert not Path(env["STUDIO_DATA_DIR"]).exists()


def test_without_any_key_the_sheet_renders_offline_with_a_note(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab, tmp_path: Path,
) -> None:
    del env["STUDIO_MODELSLAB_API_KEY"]
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--out", str(tmp_path / "out"), "--json")
    assert code == 0, err
    assert "no API key" in err and "offline" in err
    assert {(r["provider"], r["model"]) for r in data["results"]} == {("offline", "placeholder")}
    assert server.requests == []
    from PIL import Image

    with Image.open(data["results"][0]["image"]) as img:
        assert "Seed: 77" in img.info["parameters"]
        assert "offline" in img.info["parameters"]


def test_the_offline_provider_by_name_then_its_finals(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
) -> None:
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--provider", "offline", "--json")
    assert code == 0, err
    code, final, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "final",
                                "--provider", "offline", "--scene", "Studio", "--json")
    assert code == 0, err
    assert [r["scene"] for r in final["results"]] == ["Studio"]
    assert final["results"][0]["parent"] == data["results"][3]["render"]


@pytest.mark.parametrize(("text", "needle"), [
    ("format = 1\n[character]\nname = \"Mara\"\n", "character.seed"),
    ("format = 1\n[character\n", "not valid TOML"),
])
def test_a_malformed_sheet_exits_2(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], tmp_path: Path,
    server: ScriptedModelsLab, text: str, needle: str,
) -> None:
    bad = tmp_path / "bad.sheet.toml"
    bad.write_text(text, encoding="utf-8")
    code, data, err = run_main(capsys, env, "render", str(bad), "--stage", "preview", "--json")
    assert code == 2 and data is None
    assert str(bad) in err and needle in err and "Traceback" not in err
    assert server.requests == []


def test_an_unknown_scene_or_provider_exits_2(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    code, _, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                            "--scene", "Moon")
    assert code == 2 and "no scene named “Moon”" in err and "“Rooftop”" in err
    code, _, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                            "--provider", "dalle")
    assert code == 2 and "no provider \"dalle\"" in err
    assert server.requests == []


def test_a_batch_over_the_budget_cap_exits_2_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    config = Path(env["STUDIO_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text(
        "budget_cap = 1.0\n[providers.modelslab]\nprice_per_image = 0.3\n", encoding="utf-8")
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--json")
    assert code == 2 and data is None
    assert "would cost 1.20" in err and "budget cap of 1.00" in err
    assert server.submits() == 0
    with open_library(env) as lib:
        assert lib.jobs.unfinished() == []
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--budget-cap", "2", "--json")
    assert code == 0, err
    assert "estimated cost 1.20" in err


def test_resume_with_nothing_unfinished(
    capsys: pytest.CaptureFixture[str], env: dict[str, str],
) -> None:
    code, data, err = run_main(capsys, env, "resume", "--json")
    assert code == 0, err
    assert data == {"stage": None, "wall_seconds": data["wall_seconds"], "results": []}
    assert "nothing to resume" in err


def test_a_killed_render_is_finished_by_resume_without_resubmitting(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    server.hold.update({"rooftop", "library", "harbour", "studio"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "render", str(sheet_path), "--stage", "preview",
         "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Every job polled at least once: each was accepted and recorded before its first poll.
        assert server.wait_until(lambda: len(server.fetched_ids()) == 4, timeout=60), (
            proc.poll(), server.requests)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert server.submits() == 4
    with open_library(env) as lib:
        pending = lib.jobs.unfinished()
        assert len(pending) == 4 and all(j.provider_request_id for j in pending)

    server.release()
    code, data, err = run_main(capsys, env, "resume", "--json")
    assert code == 0, err
    assert data["stage"] == "preview"
    assert sorted(r["scene"] for r in data["results"]) == ["Harbour", "Library", "Rooftop",
                                                            "Studio"]
    assert {r["status"] for r in data["results"]} == {"ok"}
    assert server.submits() == 4  # exactly one submit per job
    prompts = [b["prompt"] for b in server.submit_bodies()]
    assert len(set(prompts)) == 4
    with open_library(env) as lib:
        assert lib.jobs.unfinished() == []
        renders = lib.renders.page(RenderFilter(usable=True)).items
        assert len(renders) == 4
        for r in data["results"]:
            job = lib.jobs.get(r["job"])
            assert job.state is JobState.DONE and job.attempts == 1


def test_finalize_only_the_approved_scenes(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    from studio.library import Approval

    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--json")
    assert code == 0, err
    first = {r["scene"]: r["render"] for r in data["results"]}
    # A second take of the harbour; the user approves the first one.
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--scene", "Harbour", "--json")
    assert code == 0, err
    with open_library(env) as lib:
        lib.renders.set_approval([first["Harbour"], first["Studio"]], Approval.APPROVED)
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "final",
                               "--approved", "--json")
    assert code == 0, err
    assert {r["scene"]: r["parent"] for r in data["results"]} == {
        "Harbour": first["Harbour"], "Studio": first["Studio"]}
    code, _, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                            "--approved")
    assert code == 2 and "--approved only applies to --stage final" in err


def test_a_scene_seed_or_pattern_change_marks_its_cells_out_of_date(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
) -> None:
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--scene", "Rooftop", "--json")
    assert code == 0, err
    preview_id = data["results"][0]["render"]
    rooftop = 'framing = "portrait"\n'
    assert SHEET.count(rooftop) >= 1
    # Only the Rooftop scene gets its own seed; notes alone would not count.
    edited = SHEET.replace('name = "Rooftop"\n', 'name = "Rooftop"\nseed = 9\n', 1)
    sheet_path.write_text(edited, "utf-8")
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "final",
                               "--scene", "Library", "--json")
    assert code == 0, err
    assert {"scene": "Rooftop", "stage": "preview", "reasons": ["seed"]} in data["out_of_date"]
    with open_library(env) as lib:
        assert lib.renders.staleness(lib.renders.get(preview_id)) == ("seed",)
    edited = edited.replace('name = "Rooftop"\n', 'name = "Rooftop"\npattern = "editorial"\n', 1)
    sheet_path.write_text(edited.replace("seed = 9\n", "", 1), "utf-8")
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "final",
                               "--scene", "Library", "--json")
    assert code == 0, err
    assert {"scene": "Rooftop", "stage": "preview", "reasons": ["pattern"]} in data["out_of_date"]
