"""The ``studio library list|search|check`` commands' functions, on a fresh install too."""

from __future__ import annotations

import json
from pathlib import Path

from studio.library import Library
from studio.library.commands import (
    CommandOutput,
    check_command,
    library_check,
    library_list,
    library_search,
    list_command,
    open_library,
    search_command,
)

from .conftest import draft, png_bytes


def _open(data_dir: Path) -> Library:
    opened = open_library(data_dir)
    assert isinstance(opened, Library)
    return opened


def test_on_a_fresh_install(data_dir: Path) -> None:
    with _open(data_dir) as lib:
        out = library_list(lib)
        assert out.exit_code == 0 and "No projects yet." in out.text
        assert json.loads(out.render(as_json=True)) == {"projects": []}
        assert library_search(lib, "anything").exit_code == 0
        check = library_check(lib)
        assert check.exit_code == 0 and "The library is sound." in check.text


def test_list_and_search(data_dir: Path) -> None:
    with _open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        render = lib.renders.record(draft(project.id, prompt="woman on a beach"), png_bytes(1))
        out = library_list(lib)
        assert "Emma (1 renders)" in out.text and f"#{render.id}" in out.text
        data = json.loads(out.render(as_json=True))
        (listed,) = data["projects"][0]["renders"]
        assert listed["seed"] == 42 and listed["image"] == str(render.image_path)
        found = library_search(lib, "beach")
        assert [r["id"] for r in found.data["results"]] == [render.id]
        assert "Nothing in the library matches" in library_search(lib, "castle").text
        assert library_list(lib, project="Nobody").exit_code == 2
        assert library_search(lib, "x", project="Nobody").exit_code == 2


def test_check_reports_problems_with_exit_1(data_dir: Path) -> None:
    with _open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        render = lib.renders.record(draft(project.id), png_bytes(1))
        assert render.image_path is not None
        render.image_path.unlink()
        out = library_check(lib)
        assert out.exit_code == 1 and "1 image file(s) are missing" in out.text
        assert out.data["missing_files"] == [render.image_hash]


def test_a_library_that_cannot_be_opened_is_a_message(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "library.sqlite3").write_bytes(b"garbage" * 200)
    out = open_library(data_dir)
    assert isinstance(out, CommandOutput) and out.exit_code == 1
    assert "damaged" in out.text


def test_the_data_dir_commands_open_and_close_the_library(data_dir: Path) -> None:
    with Library.open(data_dir) as lib:
        project = lib.projects.ensure("Emma")
        lib.renders.record(draft(project.id, prompt="woman on a beach"), png_bytes(1))
        # While this instance writes, the commands still work, for viewing.
        assert "Emma (1 renders)" in list_command(data_dir).text
        out = check_command(data_dir)
        assert out.exit_code == 0 and "Nothing was repaired" in out.text
    found = search_command(data_dir, "beach")
    assert len(found.data["results"]) == 1 and found.exit_code == 0
    assert check_command(data_dir).data["ok"] is True
    # Nothing is left open: a writer can take the library at once.
    Library.open(data_dir, if_busy="fail").close()
