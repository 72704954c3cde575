"""`studio render` holds the garbage collector back while it reads and plans a sheet, sets what
it made aside from the collector's walks for the batch, and leaves the collector as it found
it, whether the batch ran or the sheet was refused."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studio.cli import main
from studio.commands.render import CollectorPause
from studio.render import staged
from tests.render.fakes import SHEET


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    """Each test starts with the collector on and nothing frozen, and leaves it so."""
    was = gc.isenabled()
    gc.enable()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()
    if not was:
        gc.disable()


def test_paused_then_resumed_then_closed() -> None:
    pause = CollectorPause()
    assert not gc.isenabled()
    made = [{"scene": i} for i in range(100)]
    pause.resume()
    assert gc.isenabled() and gc.get_freeze_count() >= len(made)
    pause.resume()  # once only
    pause.close()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    pause.close()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_closed_before_the_batch_started_freezes_nothing() -> None:
    pause = CollectorPause()
    pause.close()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_collector_paused_or_frozen_by_someone_else_is_left_as_it_is() -> None:
    gc.disable()
    pause = CollectorPause()
    pause.resume()
    assert not gc.isenabled() and gc.get_freeze_count() == 0
    pause.close()
    assert not gc.isenabled()
    gc.enable()
    gc.freeze()
    pause = CollectorPause()
    assert gc.isenabled()
    pause.resume()
    pause.close()
    assert gc.isenabled() and gc.get_freeze_count() > 0  # still frozen


def render(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "mara.sheet.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["render", str(path), "--stage", "preview", "--provider", "offline"],
                dict(os.environ))
    return code, capsys.readouterr().err


def test_a_render_plans_with_the_collector_held_back_and_leaves_it_as_it_was(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    planned = staged.StagedPreviews

    class Watched(planned):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seen["planning"] = gc.isenabled()
            super().__init__(*args, **kwargs)

        def finish(self) -> Any:
            # Recorded while the batch runs: collected again, the plan set aside.
            seen["batch"] = (gc.isenabled(), gc.get_freeze_count())
            return super().finish()

    monkeypatch.setattr(staged, "StagedPreviews", Watched)
    code, err = render(capsys, tmp_path, SHEET)
    assert code == 0, err
    assert seen["planning"] is False
    assert seen["batch"][0] is True and seen["batch"][1] > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_refused_sheet_leaves_the_collector_as_it_was(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = render(capsys, tmp_path, "format = 1\n[character\n")
    assert code == 2 and "not valid TOML" in err
    assert gc.isenabled() and gc.get_freeze_count() == 0
