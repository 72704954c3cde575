"""`studio library list|search|check` over a library holding a real render."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from studio.cli import main
from studio.core.presets import load_catalog
from studio.core.prompt import build_request
from studio.core.request import Stage
from studio.core.sheet import load_sheet
from studio.library import Library, RenderDraft


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 48), (120, 90, 60)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def stocked_library(example_sheet_path: Path) -> Path:
    data = Path(os.environ["STUDIO_DATA_DIR"])
    catalog = load_catalog()
    sheet = load_sheet(example_sheet_path, catalog)
    request = build_request(sheet, sheet.scenes[1], Stage.PREVIEW, catalog)
    with Library.open(data) as lib:
        project = lib.projects.ensure("Emma")
        lib.renders.record(RenderDraft(request.with_changes(provider="offline"),
                                       project_id=project.id), _png())
    return data


def test_list_json_shows_the_project_and_render(stocked_library: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["library", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    text = json.dumps(data)
    assert "Emma" in text and "Coffee-shop window" in text


def test_search_finds_by_prompt_words(stocked_library: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["library", "search", "coffee", "shop"]) == 0
    assert "Coffee-shop window" in capsys.readouterr().out
    assert main(["library", "search", "zebra"]) == 0
    assert "Nothing in the library matches" in capsys.readouterr().out


def test_check_reports_a_sound_library(stocked_library: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["library", "check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_check_finds_a_deleted_image(stocked_library: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    for image in (stocked_library / "images").rglob("*.png"):
        image.unlink()
    assert main(["library", "check", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["missing_files"]


def test_an_error_is_a_sentence_on_stderr_or_a_json_object_on_stdout(
        stocked_library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["library", "list", "--project", "Nobody"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "studio: There is no project called 'Nobody' in the library.\n"
    assert main(["library", "search", "coffee", "--project", "Nobody", "--json"]) == 2
    assert json.loads(capsys.readouterr().out) == {
        "error": "There is no project called 'Nobody' in the library."}
