"""`studio providers` shows all six, which are configured, and never a key."""

from __future__ import annotations

import json

import pytest

from studio.cli import main


def test_lists_all_six_with_offline_ready(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    for pid in ("modelslab", "replicate", "fal", "imageapi", "onemin", "offline"):
        assert f"{pid}  " in out
    assert "offline placeholder: ready" in out
    assert "not configured (set STUDIO_MODELSLAB_API_KEY" in out
    assert "fluxgram-v1" in out and "flux-schnell" in out


def test_json_marks_configured_and_hides_the_key(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STUDIO_REPLICATE_API_KEY", "r8_secret_value_123")
    monkeypatch.setenv("STUDIO_REPLICATE_BASE_URL", "http://127.0.0.1:9/")
    assert main(["providers", "--json"]) == 0
    raw = capsys.readouterr().out
    assert "r8_secret_value_123" not in raw
    rows = {row["id"]: row for row in json.loads(raw)["providers"]}
    assert rows["replicate"]["configured"] is True
    assert rows["fal"]["configured"] is False
    assert rows["replicate"]["base_url"].startswith("http://127.0.0.1:9")


def test_lint_uses_provider_limits(tmp_path, example_sheet_path,  # type: ignore[no-untyped-def]
                                   capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "big.sheet.toml"
    sheet.write_text(example_sheet_path.read_text(encoding="utf-8").replace(
        'framing = "portrait-small"', 'framing = "1536x2048"'), encoding="utf-8")
    assert main(["lint", str(sheet)]) == 1
    assert "[size-limit]" in capsys.readouterr().out
