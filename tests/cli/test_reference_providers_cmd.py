"""`studio render` of a sheet with reference images on fal, Replicate, ModelsLab and Black Forest
Labs, against their fakes: previews then finals, each scene on the provider's reference model
(or its text model for ``reference = "off"``), the very file bytes reaching the API, and the key
never reaching a file host."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from studio.cli import main
from studio.providers import bfl, fal, modelslab, replicate
from tests.fakes.bfl import FakeBfl
from tests.fakes.fal import FakeFal
from tests.fakes.files import FakeFileHost
from tests.fakes.modelslab import FakeModelsLab
from tests.fakes.replicate import FakeReplicate
from tests.fakes.server import FakeServer

KEY = "sk-refs-cmd-SECRET-5678"

SHEET = """\
format = 1
title = "References on the hosted APIs"

[character]
name = "Emma"
anchor = "Emma, 30-year-old woman, dark brown wavy hair, brown eyes"
seed = 42
references = [
    { image = "refs/face.png", role = "face" },
    { image = "refs/body.png", role = "full-body" },
    { image = "refs/coat.png", role = "outfit" },
]

[[scenes]]
name = "Studio"
setting = "neutral grey studio backdrop"

[[scenes]]
name = "Street"
setting = "rainy street at night"
reference = "light"

[[scenes]]
name = "Plain"
setting = "city park"
reference = "off"
"""

COLOURS = {"face": (255, 0, 128), "body": (0, 255, 64), "coat": (0, 128, 255)}
SETTINGS = {"Studio": "grey studio", "Street": "rainy street", "Plain": "city park"}

#: Per provider: the model of each scene at each stage, and the images each scene's job gets.
EXPECTED: dict[str, dict[str, Any]] = {
    "fal": {
        "preview": {"Studio": fal.KLEIN_EDIT, "Street": fal.KLEIN_EDIT, "Plain": fal.SCHNELL},
        "final": {"Studio": fal.PRO_EDIT, "Street": fal.PRO_EDIT, "Plain": fal.LORA},
        "images": {"Studio": ["face", "body", "coat"], "Street": ["face"], "Plain": []},
    },
    "replicate": {
        "preview": {"Studio": replicate.KONTEXT_PRO, "Street": replicate.KONTEXT_PRO,
                    "Plain": replicate.SCHNELL},
        "final": {"Studio": replicate.FLUX2_PRO, "Street": replicate.FLUX2_PRO,
                  "Plain": replicate.SCHNELL},
        # Kontext [pro] takes one; a final keeps the images (and prompt) of its preview.
        "images": {"Studio": ["face"], "Street": ["face"], "Plain": []},
    },
    "modelslab": {
        "preview": {"Studio": modelslab.KONTEXT, "Street": modelslab.KONTEXT,
                    "Plain": "flux-schnell"},
        "final": {"Studio": modelslab.KONTEXT, "Street": modelslab.KONTEXT,
                  "Plain": "fluxgram-v1"},
        # Kontext [dev] takes two: the face and the full body, the outfit left out.
        "images": {"Studio": ["face", "body"], "Street": ["face", "body"], "Plain": []},
    },
    "bfl": {
        "preview": {"Studio": bfl.FLUX2_KLEIN, "Street": bfl.FLUX2_KLEIN,
                    "Plain": bfl.FLUX2_KLEIN},
        "final": {"Studio": bfl.FLUX2_PRO, "Street": bfl.FLUX2_PRO, "Plain": bfl.FLUX2_PRO},
        "images": {"Studio": ["face", "body", "coat"], "Street": ["face"], "Plain": []},
    },
}


def picture(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def sheet_path(tmp_path: Path) -> Path:
    (tmp_path / "refs").mkdir()
    for name, colour in COLOURS.items():
        (tmp_path / "refs" / f"{name}.png").write_bytes(picture(colour))
    path = tmp_path / "emma.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    return path


@pytest.fixture
def file_host() -> Iterator[FakeFileHost]:
    host = FakeFileHost().start()
    yield host
    host.stop()


def start_fake(pid: str, files: FakeFileHost) -> FakeServer:
    fake: FakeServer
    if pid == "fal":
        fake = FakeFal(KEY, files=files)
    elif pid == "bfl":
        fake = FakeBfl(KEY, delivery=files)
    elif pid == "replicate":
        fake = FakeReplicate(KEY)
    else:
        fake = FakeModelsLab(KEY)
    return fake.start()


def received(fake: Any) -> dict[str, list[list[bytes]]]:
    """The reference bytes each scene's jobs brought to the API, by scene."""
    bodies = getattr(fake, "job_bodies", None) or getattr(fake, "inputs", {})
    out: dict[str, list[list[bytes]]] = {}
    for job, body in bodies.items():
        scene = next(s for s, words in SETTINGS.items() if words in str(body.get("prompt")))
        out.setdefault(scene, []).append(fake.references[job])
    return out


def render(capsys: pytest.CaptureFixture[str], env: dict[str, str], sheet: Path,
           stage: str, pid: str) -> dict[str, Any]:
    code = main(["render", str(sheet), "--stage", stage, "--provider", pid, "--json"], env)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert KEY not in captured.out + captured.err
    data: dict[str, Any] = json.loads(captured.out)
    return data


@pytest.mark.parametrize("pid", list(EXPECTED))
def test_previews_then_finals_with_references(capsys: pytest.CaptureFixture[str],
                                              sheet_path: Path, file_host: FakeFileHost,
                                              pid: str) -> None:
    fake = start_fake(pid, file_host)
    try:
        prefix = f"STUDIO_{pid.upper()}_"
        env = {**os.environ, prefix + "API_KEY": KEY, prefix + "BASE_URL": fake.base_url}
        files = {name: (sheet_path.parent / "refs" / f"{name}.png").read_bytes()
                 for name in COLOURS}
        expected = EXPECTED[pid]
        for stage in ("preview", "final"):
            before = {scene: len(jobs) for scene, jobs in received(fake).items()}
            data = render(capsys, env, sheet_path, stage, pid)
            assert {r["scene"]: r["status"] for r in data["results"]} == dict.fromkeys(
                SETTINGS, "ok")
            assert {r["scene"]: r["model"] for r in data["results"]} == expected[stage]
            for scene, jobs in received(fake).items():
                if len(jobs) == before.get(scene, 0):
                    continue
                wanted = [files[name] for name in expected["images"][scene]]
                assert jobs[-1] == wanted, (stage, scene)
        assert len(fake.accepted) == 6  # three previews, three finals, each sent once
        assert not any(KEY in str(r.headers) or KEY.encode() in r.body
                       for r in file_host.requests)
        code = main(["status", str(sheet_path), "--json"], env)
        status = json.loads(capsys.readouterr().out)
        assert code == 0
        cells = {c["scene"]: c for c in status["scenes"]}
        roles = {"face": "face", "body": "full-body", "coat": "outfit"}
        assert [r["role"] for r in cells["Studio"]["final"]["references"]] == [
            roles[name] for name in expected["images"]["Studio"]]
        assert cells["Plain"]["preview"]["references"] == []
    finally:
        fake.stop()
