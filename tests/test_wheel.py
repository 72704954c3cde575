"""The built wheel carries its resources: installed in a fresh venv, far from the checkout, it
lists the presets and lints the example sheets."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_and_finds_its_resources(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(ROOT)], check=True, capture_output=True, timeout=600)
    wheels = list(dist.glob("character_sheet_studio-*.whl"))
    assert len(wheels) == 1

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    install = subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q",
                              str(wheels[0])], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def studio(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(bindir / "studio"), *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=300)

    where = subprocess.run([str(bindir / "python"), "-c",
                            "from studio.core.resources import resources_dir; "
                            "print(resources_dir()); "
                            "assert (resources_dir() / 'examples' / 'emma.sheet.toml').is_file()"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert str(env_dir) in where.stdout, "resources must come from the installed wheel"

    presets = studio("presets")
    assert presets.returncode == 0, presets.stderr
    assert "canon-ef-85" in presets.stdout and "[framing]" in presets.stdout
    sheets = sorted(str(p) for p in (ROOT / "examples").glob("*.sheet.toml"))
    lint = studio("lint", *sheets)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert studio("--version").stdout.startswith("studio ")
