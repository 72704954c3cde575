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
from studio.providers.errors import Redactor
from tests.fakes.fal import FakeFal
from tests.fakes.imageapi import FakeImageApi
from tests.fakes.modelslab import FakeModelsLab
from tests.fakes.onemin import FakeOneMin
from tests.fakes.replicate import FakeReplicate
from tests.fakes.server import FakeServer
from tests.render.fakes import MARKERS, SHEET, ScriptedModelsLab

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
    kill_once_followed(server, env, 4, "render", str(sheet_path), "--stage", "preview",
                       "--json")
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


def kill_once_followed(server: ScriptedModelsLab, env: dict[str, str], jobs: int,
                       *args: str) -> None:
    """Run ``studio ARGS`` in a process and kill -9 it once ``jobs`` jobs have been polled
    (each was accepted and recorded before its first poll)."""
    proc = subprocess.Popen([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.wait_until(lambda: len(server.fetched_ids()) == jobs, timeout=60), (
            proc.poll(), server.requests)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_finalize_only_the_approved_scenes(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab,
) -> None:
    from studio.library import Approval

    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--json")
    assert code == 0, err
    first = {r["scene"]: r["render"] for r in data["results"]}
    # A second take of the harbour; the user approves the first one and picks it (an approval
    # alone does not pick: the cell, status and finals follow the pick, else the latest take).
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--scene", "Harbour", "--json")
    assert code == 0, err
    with open_library(env) as lib:
        lib.renders.set_approval([first["Harbour"], first["Studio"]], Approval.APPROVED)
        lib.renders.choose_take(first["Harbour"])
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


# ---------------------------------------------------------------- crashes, keys, logs


FAKES: dict[str, type[FakeServer]] = {"modelslab": FakeModelsLab, "replicate": FakeReplicate,
                                      "fal": FakeFal, "imageapi": FakeImageApi,
                                      "onemin": FakeOneMin}


def scene_of(prompt: str) -> str:
    return next(m for m in MARKERS if m in prompt.lower()).capitalize()


@pytest.mark.parametrize("pid", list(FAKES))
def test_a_kill_in_every_phase_then_resume_never_sends_a_job_twice(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sheet_path: Path, pid: str,
) -> None:
    """kill -9 with one job being sent (its answer held), two being followed and one being
    downloaded (the fourth took the place of the one downloading: the provider had made that
    image); then `studio resume`, counting the jobs each fake took."""
    fake = FAKES[pid](KEY)
    fake.start()
    try:
        prefix = f"STUDIO_{pid.upper()}_"
        env = {**os.environ, prefix + "API_KEY": KEY, prefix + "BASE_URL": fake.base_url,
               prefix + "CONCURRENCY": "3", "STUDIO_LOG_DIR": str(tmp_path / "logs")}
        fake.hold("submit", 1)
        if pid == "imageapi":  # a blocking API: the image comes with the answer
            fake.hold("download", 2, 3, 4)
            wanted = {("submit", 1), ("download", 2), ("download", 3), ("download", 4)}
        else:
            fake.hold("poll", 2, 4)
            fake.hold("download", 3)
            wanted = {("submit", 1), ("poll", 2), ("download", 3), ("poll", 4)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "studio", "render", str(sheet_path), "--stage", "preview",
             "--provider", pid, "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        try:
            assert fake.wait_until(lambda: wanted <= set(fake.held), timeout=120), (
                proc.poll(), fake.held)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        assert len(fake.accepted) == 4
        sent_first = scene_of(fake.accepted[0])
        with open_library(env) as lib:
            left = {j.draft.scene_name: j for j in lib.jobs.unfinished()}
        assert len(left) == 4
        assert left[sent_first].state is JobState.SENDING  # journaled before it left
        assert not left[sent_first].provider_request_id
        followed = [j for j in left.values() if j.provider_request_id]
        assert len(followed) == 3

        fake.release()
        code, data, err = run_main(capsys, env, "resume", "--json")
        assert code == 1, err
        status = {r["scene"]: r["status"] for r in data["results"]}
        assert status == {name: "uncertain" if name == sent_first else "ok" for name in left}
        assert "may have been billed" in err and "--resend-uncertain" in err
        assert "Traceback" not in err and KEY not in err
        # Each job taken exactly once: the one whose answer never came is not sent again.
        assert sorted(scene_of(p) for p in fake.accepted) == sorted(left)

        code, data, err = run_main(capsys, env, "resume", "--json")
        assert code == 1 and [(r["scene"], r["status"]) for r in data["results"]] == [
            (sent_first, "uncertain")]  # still listed, still not sent
        assert len(fake.accepted) == 4

        code, data, err = run_main(capsys, env, "resume", "--resend-uncertain", "--json")
        assert code == 0, err
        assert [(r["scene"], r["status"]) for r in data["results"]] == [(sent_first, "ok")]
        assert fake.accepted_count(sent_first) == 2 and len(fake.accepted) == 5
        with open_library(env) as lib:
            assert lib.jobs.unfinished() == [] and lib.jobs.uncertain() == []
    finally:
        fake.stop()


def _texts_under(folder: Path) -> list[str]:
    """Every file under ``folder`` as text, PNG text chunks and ZIP members included."""
    import zipfile

    from PIL import Image

    texts: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        texts.append(raw.decode("latin-1"))
        if raw.startswith(b"\x89PNG"):
            with Image.open(path) as image:
                texts.append(json.dumps(image.text))
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as bundle:
                texts += [bundle.read(name).decode("latin-1") for name in bundle.namelist()]
    return texts


def test_a_key_echoed_into_every_field_the_server_controls_is_nowhere_on_disk_or_out(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab, tmp_path: Path,
) -> None:
    env["STUDIO_LOG_DIR"] = str(tmp_path / "logs")
    server.echo_key = {"url", "logs", "message", "header"}
    server.fail["harbour"] = f"GPU crashed while serving {KEY.upper()} ({KEY[3:15]})"
    outputs: list[str] = []
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--out", str(tmp_path / "out"), "--json")
    outputs += [json.dumps(data), err]
    assert code == 1, err
    assert sorted(r["status"] for r in data["results"]) == ["failed", "ok", "ok", "ok"]

    server.echo_key = {"id", "header"}  # a job id carrying the key: uncertain, never kept
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--scene", "Studio", "--json", "--verbose")
    outputs += [json.dumps(data), err]
    assert code == 1 and data["results"][0]["status"] == "uncertain"
    assert "carries the API key" in data["results"][0]["error"]

    for args in (("library", "list", "--json"), ("resume", "--json"),
                 ("status", str(sheet_path), "--json")):
        code, data, err = run_main(capsys, env, *args)
        outputs += [json.dumps(data), err]
        assert code in (0, 1), (args, err)
    # A bundle holds PDFs, which need a Qt application: made in a process of its own.
    bundle = tmp_path / "bundle.zip"
    export = subprocess.run([sys.executable, "-m", "studio", "export", str(sheet_path),
                             "--format", "zip", "--out", str(bundle)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    outputs += [export.stdout, export.stderr]
    assert export.returncode == 0, export.stderr
    assert bundle.is_file()
    redactor = Redactor([KEY])
    everything = (outputs + _texts_under(Path(env["STUDIO_DATA_DIR"]))
                  + _texts_under(tmp_path / "out") + _texts_under(tmp_path / "logs")
                  + _texts_under(bundle.parent))
    assert (tmp_path / "logs" / "studio.log").is_file()
    leaks = [text[:200] for text in everything if redactor.contains(text)]
    assert leaks == []


def test_a_refused_key_is_one_request_sentences_only_and_a_redacted_log(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
    server: ScriptedModelsLab, tmp_path: Path,
) -> None:
    env["STUDIO_LOG_DIR"] = str(tmp_path / "logs")
    env["STUDIO_MODELSLAB_API_KEY"] = "sk-WRONG-0123456789-abcdef"
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--json")
    assert code == 1
    assert len(server.requests) == 1
    errors = sorted(r["error"] for r in data["results"])
    assert sum(e.startswith("Not sent: the key was refused.") for e in errors) == 3
    assert sum(e.startswith("ModelsLab did not accept the API key") for e in errors) == 1
    # The terminal shows sentences, never a developer's line or a traceback.
    lines = [line for line in err.splitlines() if line]
    assert all(line.startswith("studio: ") for line in lines), lines
    assert "AuthenticationError" not in err and "Traceback" not in err
    log = (tmp_path / "logs" / "studio.log").read_text(encoding="utf-8")
    assert "AuthenticationError" in log and "sk-WRONG-0123456789-abcdef" not in log
    with open_library(env) as lib:  # kept to send once the key is fixed
        assert [j.state for j in lib.jobs.unfinished()] == [JobState.QUEUED] * 4

    env["STUDIO_MODELSLAB_API_KEY"] = KEY
    code, data, err = run_main(capsys, env, "resume", "--json", "--verbose")
    assert code == 0, err
    assert {r["status"] for r in data["results"]} == {"ok"}
    assert "[studio.providers.modelslab]" in err  # --verbose shows the log lines too
    assert KEY not in err


def test_the_summary_says_which_seeds_the_provider_confirmed(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet_path: Path,
) -> None:
    with FakeReplicate(KEY, seed_in_logs=False) as fake:
        env.update({"STUDIO_REPLICATE_API_KEY": KEY, "STUDIO_REPLICATE_BASE_URL": fake.base_url})
        code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage",
                                   "preview", "--provider", "replicate", "--scene", "Harbour",
                                   "--json")
        assert code == 0, err
        (result,) = data["results"]
        # The logs named no seed: none is recorded, never a copy of the one sent.
        assert (result["seed"], result["seed_returned"]) == (9001, None)
        assert main(["render", str(sheet_path), "--stage", "preview", "--provider",
                     "replicate", "--scene", "Harbour"], env) == 0
        assert "seed 9001, not confirmed" in capsys.readouterr().out
    code, data, err = run_main(capsys, env, "render", str(sheet_path), "--stage", "preview",
                               "--scene", "Rooftop", "--json")
    assert code == 0 and data["results"][0]["seed_returned"] == 77  # ModelsLab's meta.seed
    assert main(["status", str(sheet_path)], env) == 0
    previews = [line for line in capsys.readouterr().out.splitlines() if "preview: #" in line]
    (rooftop,) = [line for line in previews if "modelslab" in line]
    (harbour,) = [line for line in previews if "replicate" in line]
    assert "seed 77;" in rooftop and "not confirmed" not in rooftop
    assert "seed 9001, seed not confirmed" in harbour


def test_a_kill_with_a_job_still_waiting_for_a_place_then_resume_sends_it_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sheet_path: Path,
) -> None:
    """kill -9 while three jobs hold every place (one being sent, two being followed) and the
    fourth waits for one: `studio resume` sends the fourth once and never the first again."""
    fake = FakeModelsLab(KEY)
    fake.start()
    try:
        env = {**os.environ, "STUDIO_MODELSLAB_API_KEY": KEY,
               "STUDIO_MODELSLAB_BASE_URL": fake.base_url, "STUDIO_MODELSLAB_CONCURRENCY": "3",
               "STUDIO_LOG_DIR": str(tmp_path / "logs")}
        fake.hold("submit", 1)
        fake.hold("poll", 2, 3)
        proc = subprocess.Popen(
            [sys.executable, "-m", "studio", "render", str(sheet_path), "--stage", "preview",
             "--provider", "modelslab", "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        try:
            wanted = {("submit", 1), ("poll", 2), ("poll", 3)}
            assert fake.wait_until(lambda: wanted <= set(fake.held), timeout=120), (
                proc.poll(), fake.held)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        assert len(fake.accepted) == 3  # the fourth job waited for a place
        sent_first = scene_of(fake.accepted[0])
        with open_library(env) as lib:
            left = {j.draft.scene_name: j for j in lib.jobs.unfinished()}
        queued = [name for name, j in left.items() if j.state is JobState.QUEUED]
        assert len(left) == 4 and len(queued) == 1
        assert left[sent_first].state is JobState.SENDING

        fake.release()
        code, data, err = run_main(capsys, env, "resume", "--json")
        assert code == 1, err
        status = {r["scene"]: r["status"] for r in data["results"]}
        assert status == {name: "uncertain" if name == sent_first else "ok" for name in left}
        assert sorted(scene_of(p) for p in fake.accepted) == sorted(left)
        assert fake.accepted_count(queued[0]) == 1
    finally:
        fake.stop()
