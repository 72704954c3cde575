"""`studio render --provider comfyui`, `studio resume` and `studio providers` against fake
ComfyUI servers, one and a farm, as a user runs them."""

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
from studio.library import Library
from tests.fakes.comfyui import FakeComfyUI
from tests.render.fakes import SHEET

ROOT = Path(__file__).resolve().parents[2]
SCENES = ["Rooftop", "Library", "Harbour", "Studio"]


@pytest.fixture
def servers() -> Iterator[list[FakeComfyUI]]:
    started = [FakeComfyUI().start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def sheet_path(tmp_path: Path) -> Path:
    path = tmp_path / "mara.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    return path


def env_for(*servers: FakeComfyUI) -> dict[str, str]:
    environ = dict(os.environ)
    environ["STUDIO_COMFYUI_BASE_URL"] = ",".join(s.base_url for s in servers)
    return environ


def run(capsys: pytest.CaptureFixture[str], environ: dict[str, str],
        *args: str) -> tuple[int, Any, str]:
    code = main(list(args), environ)
    captured = capsys.readouterr()
    data = json.loads(captured.out) if "--json" in args and captured.out.strip() else None
    return code, data, captured.err


def test_previews_render_on_one_comfyui_server(
    capsys: pytest.CaptureFixture[str], servers: list[FakeComfyUI], sheet_path: Path,
    tmp_path: Path,
) -> None:
    server = servers[0]
    environ = env_for(server)
    out = tmp_path / "out"
    code, data, err = run(capsys, environ, "render", str(sheet_path), "--stage", "preview",
                          "--provider", "comfyui", "--out", str(out), "--json")
    assert code == 0, err
    results = {r["scene"]: r for r in data["results"]}
    assert list(results) == SCENES
    for name, r in results.items():
        assert (r["status"], r["provider"], r["model"]) == ("ok", "comfyui", "flux-schnell")
        assert Path(r["image"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert r["image"] == str(out / f"{name.lower()}.preview.png")
    assert results["Harbour"]["seed"] == 9001
    assert server.count("POST", "/prompt") == 4 and max(server.posts.values()) == 1
    seeds = sorted(b["prompt"]["5"]["inputs"]["seed"] for b in server.prompt_bodies())
    assert seeds == sorted(r["seed"] for r in results.values())
    with Library.open(Path(environ["STUDIO_DATA_DIR"])) as lib:
        assert lib.jobs.unfinished() == []

    code, data, err = run(capsys, environ, "render", str(sheet_path), "--stage", "final",
                          "--provider", "comfyui", "--json")
    assert code == 0, err
    assert {(r["status"], r["model"]) for r in data["results"]} == {("ok", "flux-dev")}
    final = server.prompt_bodies()[-1]["prompt"]
    assert final["6"]["inputs"]["steps"] == 30 and final["3"]["inputs"]["guidance"] == 7.5


def test_a_farm_splits_the_sheet_and_resume_finishes_a_killed_render_without_resending(
    capsys: pytest.CaptureFixture[str], servers: list[FakeComfyUI], sheet_path: Path,
) -> None:
    for server in servers:
        server.default_behaviour = "hold"
    environ = env_for(*servers)
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "render", str(sheet_path), "--stage", "preview",
         "--provider", "comfyui", "--json"], cwd=ROOT, env=environ, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    sent: list[str] = []
    try:
        assert proc.stderr is not None
        # "sent" is printed once the job is recorded with its prompt id.
        while len(sent) < 4:
            line = proc.stderr.readline()
            assert line, proc.communicate(timeout=30)
            if " · sent (comfyui job " in line:
                sent.append(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert [s.count("POST", "/prompt") for s in servers] == [2, 2]

    for server in servers:
        server.default_behaviour = "success"
        server.release()
    code, data, err = run(capsys, environ, "resume", "--json")
    assert code == 0, err
    assert sorted(r["scene"] for r in data["results"]) == sorted(SCENES)
    assert {r["status"] for r in data["results"]} == {"ok"}
    assert [s.count("POST", "/prompt") for s in servers] == [2, 2]  # never sent twice
    assert "following again" in err


def test_providers_shows_each_server_and_the_farm_state(
    capsys: pytest.CaptureFixture[str], servers: list[FakeComfyUI],
) -> None:
    servers[1].die("close")
    environ = env_for(*servers)
    environ["STUDIO_COMFYUI_API_KEY"] = "proxy-secret-1234"
    code, data, err = run(capsys, environ, "providers", "--json")
    assert code == 0, err
    row = next(r for r in data["providers"] if r["id"] == "comfyui")
    assert row["configured"] is True
    assert row["servers"]["summary"] == "2 servers, 1 up, 0 queued"
    states = {s["url"]: s["state"] for s in row["servers"]["list"]}
    assert states == {servers[0].base_url: "up", servers[1].base_url: "down"}
    assert "proxy-secret-1234" not in json.dumps(data)

    assert main(["providers"], environ) == 0
    text = capsys.readouterr().out
    assert "comfyui  ComfyUI: configured: 2 servers, 1 up, 0 queued" in text
    assert f"server {servers[0].base_url}: up, 0 queued, cuda:0 NVIDIA" in text


def test_without_a_server_comfyui_is_not_configured_and_nothing_is_sent(
    capsys: pytest.CaptureFixture[str], sheet_path: Path,
) -> None:
    environ = dict(os.environ)
    code, _data, err = run(capsys, environ, "render", str(sheet_path), "--stage", "preview",
                           "--provider", "comfyui")
    assert code == 2
    assert "ComfyUI has no server configured, so nothing was sent; set " \
           "STUDIO_COMFYUI_BASE_URL" in err
    assert main(["providers"], environ) == 0
    assert "comfyui  ComfyUI: not configured (set STUDIO_COMFYUI_BASE_URL" in \
        capsys.readouterr().out


def test_a_bad_server_list_exits_2_with_a_sentence(
    capsys: pytest.CaptureFixture[str], sheet_path: Path,
) -> None:
    environ = dict(os.environ, STUDIO_COMFYUI_BASE_URL="http://ok:8188,gpu2")
    code, _data, err = run(capsys, environ, "render", str(sheet_path), "--stage", "preview",
                           "--provider", "comfyui")
    assert code == 2
    assert "STUDIO_COMFYUI_BASE_URL: “gpu2” is not a server address" in err
