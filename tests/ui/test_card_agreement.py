"""The card side of the one staleness rule: for every kind of change to a sheet, a card's out-of-
date state and the reasons in its tooltip are what ``studio status --json`` says of the same
saved sheet, before and after the window is restarted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.cli import main
from studio.core.fingerprint import describe_reasons
from studio.core.request import Stage
from tests.cli.test_status_cmd import CASES, SHEET, run
from tests.ui.conftest import close_window


def status_reasons(capsys: pytest.CaptureFixture[str], path: Path
                   ) -> dict[tuple[str, Stage], tuple[str, ...]]:
    code, data, err = run(capsys, "status", str(path), "--json")
    assert code == 0, err
    return {(row["scene"], stage): tuple(row[stage.value]["reasons"])
            for row in data["scenes"] for stage in Stage}


def card_reasons(window) -> dict[tuple[str, Stage], tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """What each card says: its out-of-date line and the reasons in its tooltip."""
    model, out = window.model, {}
    for name in model.names():
        for stage in Stage:
            reasons = model.stale_reasons(name, stage)
            slot = model.cell(name).slot(stage)
            assert (slot.describe(model.is_stale(name, stage)) == "Out of date") == bool(reasons)
            tip = model.slot_tip(name, stage)
            if reasons:
                assert f"Out of date: {describe_reasons(reasons)} changed" in tip, tip
            else:
                assert "Out of date" not in tip, tip
            out[(name, stage)] = reasons
    return out


def open_rendered(make_window, qtbot, path: Path):  # type: ignore[no-untyped-def]
    window = make_window([str(path)])
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).slot(s).done for n in model.names()
                                for s in Stage), timeout=20000)
    return window


@pytest.fixture
def rendered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "ines.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    for stage in ("preview", "final"):
        code = main(["render", str(path), "--stage", stage], dict(os.environ))
        assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    return path


@pytest.mark.parametrize("kind", list(CASES))
def test_the_card_says_what_studio_status_says(  # type: ignore[no-untyped-def]
        kind: str, rendered: Path, make_window, qtbot, capsys) -> None:
    change = CASES[kind][0]
    window = open_rendered(make_window, qtbot, rendered)
    assert card_reasons(window) == status_reasons(capsys, rendered)  # all current
    assert not any(card_reasons(window).values())
    # the user changes the sheet in the window and saves it
    window.document.apply(change(window.document.sheet), f"Change the {kind}")
    window.actions_by_name["save"].trigger()
    expected = status_reasons(capsys, rendered)
    assert any(expected.values()), kind
    assert card_reasons(window) == expected
    # ... and after a restart, from the library alone
    close_window(qtbot, window)
    again = open_rendered(make_window, qtbot, rendered)
    assert card_reasons(again) == expected
