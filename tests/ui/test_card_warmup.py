"""The first batch's cards draw nothing for the first time: a sample card is drawn off screen in
every state a render passes through once the window is ready (``studio.ui.card_warmup``, run by
the read-ahead). Measured in a fresh interpreter, where nothing else drew a card before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.ui_window import SHOW_WINDOW
from tests.ui.conftest import child_env

# The window as ``studio`` starts it, its read-ahead done (without the cards' steps: "cold");
# then a card of the window redrawn in each state, listing the enum classes PySide made for it.
_DRAW = """
import enum, json, time
from studio.core.request import Stage
from studio.ui.card_warmup import STEPS
from studio.ui.read_ahead import ReadAhead
ahead = window.findChild(ReadAhead)
deadline = time.monotonic() + 60
while not ahead.done and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.005)
made = []
create = enum.EnumType._create_
def noting(cls, name, *args, **kwargs):
    made.append(name)
    return create(cls, name, *args, **kwargs)
enum.EnumType._create_ = noting
name = window.model.names()[0]
for preview, final, _stale in STEPS:
    window.model.set_slot(name, Stage.PREVIEW, preview)
    window.model.set_slot(name, Stage.FINAL, final)
    window.grid.viewport().grab()
print(json.dumps({"done": ahead.done, "made": made}), flush=True)
os._exit(0)
"""

_COLD = """
from studio.ui.grid_painting import GridPainting
GridPainting.warm_steps = lambda self: []
"""


def _enums_made_by_the_first_cards(tmp_path: Path, cold: bool) -> list[str]:
    script = (_COLD if cold else "") + SHOW_WINDOW + _DRAW
    run = subprocess.run([sys.executable, "-c", script], env=child_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.splitlines()[-1])
    assert out["done"]
    return list(out["made"])


def test_a_cards_states_are_drawn_once_before_the_first_batch(tmp_path: Path) -> None:
    assert _enums_made_by_the_first_cards(tmp_path / "warm", cold=False) == []


def test_without_the_warm_up_the_first_cards_made_qgradients_enums(tmp_path: Path) -> None:
    """What the warm-up saves (the reproduction): QGradient's presets, made for fillRect."""
    assert "Preset" in _enums_made_by_the_first_cards(tmp_path / "cold", cold=True)
