"""One rule for a cell's preview: the render ``studio status --json`` gives as the cell's
``render``, the render its card shows, and the preview a final is made from are the same one,
whether the scene has no preview, several takes none picked, an approved older take, or a
picked take."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio.core.lifecycle import Approval
from studio.core.request import Stage
from studio.library import Library
from tests.cli.test_status_cmd import SHEET, run
from tests.ui.conftest import close_window

SCENES = ("Blank", "Takes", "Approved", "Picked")
RULE_SHEET = SHEET.split("[[scenes]]")[0] + "".join(
    f'[[scenes]]\nname = "{name}"\nsetting = "{name.lower()} room, medium shot"\n\n'
    for name in SCENES)


def _render(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> dict:  # type: ignore[type-arg]
    code, data, err = run(capsys, "render", str(path), *args, "--json")
    assert code == 0, err
    return data  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Made:
    """The sheet rendered from the command line, and what each side says of its cells."""

    path: Path
    #: The render each cell's preview should be, by the rule.
    expected: dict[str, int | None]
    #: ``studio status --json``'s cell ``render`` before and after the finals were made.
    status: dict[str, int | None]
    status_after: dict[str, int | None]
    #: The preview each final was made from (``parent`` in ``render --json``).
    finals_from: dict[str, int | None]


@pytest.fixture
def made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Made:
    """Rendered before the window exists (a command runs its own event loop)."""
    path = tmp_path / "rule.sheet.toml"
    path.write_text(RULE_SHEET, encoding="utf-8")
    # Several takes, none picked: the latest.
    takes = _render(capsys, path, "--stage", "preview", "--scene", "Takes", "--takes", "3")
    # An approved take, then a newer one: the newer (an approval does not pick).
    older = _render(capsys, path, "--stage", "preview", "--scene", "Approved")
    with Library.open(Path(os.environ["STUDIO_DATA_DIR"])) as library:
        library.renders.set_approval([older["results"][0]["render"]], Approval.APPROVED)
    newer = _render(capsys, path, "--stage", "preview", "--scene", "Approved")
    # A picked take: the middle one of three.
    picked = _render(capsys, path, "--stage", "preview", "--scene", "Picked", "--takes", "3")
    middle = picked["results"][1]["render"]
    code, _out, err = run(capsys, "library", "choose", str(middle))
    assert code == 0, err
    with Library.open(Path(os.environ["STUDIO_DATA_DIR"])) as library:
        latest = max((library.renders.get(r["render"]) for r in takes["results"]),
                     key=lambda r: (r.created, r.id))
        assert library.renders.get(older["results"][0]["render"]).approval \
            is Approval.APPROVED
    expected = {"Blank": None, "Takes": latest.id,
                "Approved": newer["results"][0]["render"], "Picked": middle}
    assert len({v for v in expected.values() if v is not None}) == 3
    status = _status_previews(capsys, path)
    finals = _render(capsys, path, "--stage", "final")
    return Made(path, expected, status, _status_previews(capsys, path),
                {r["scene"]: r["parent"] for r in finals["results"]})


def _status_previews(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, int | None]:
    code, data, err = run(capsys, "status", str(path), "--json")
    assert code == 0, err
    return {row["scene"]: (row["preview"] or {}).get("render") for row in data["scenes"]}


def _card_previews(window, qtbot) -> dict[str, int | None]:  # type: ignore[no-untyped-def]
    model = window.model
    # The cards are filled by one read of the library: once the finals show, all of it does.
    qtbot.waitUntil(lambda: all(model.cell(n).final.done for n in SCENES), timeout=20000)
    return {n: model.cell(n).slot(Stage.PREVIEW).render_id for n in SCENES}


def test_status_the_card_and_the_final_agree_on_the_cells_preview(  # type: ignore[no-untyped-def]
        made: Made, make_window, qtbot) -> None:
    assert made.status == made.expected
    assert made.finals_from == made.expected
    assert made.status_after == made.expected  # a final picks nothing
    window = make_window([str(made.path)])
    assert _card_previews(window, qtbot) == made.expected
    close_window(qtbot, window)
    # ... and after a restart
    again = make_window([str(made.path)])
    assert _card_previews(again, qtbot) == made.expected
