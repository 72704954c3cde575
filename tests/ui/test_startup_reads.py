"""What the window reads before it first shows itself: the modules of what a user does only
later (the background workers' thread pool, the providers, the anchor's saved versions, the
library) are read when first used, so the first window waits for none of them
(``startup_seconds`` in benchmarks/ui_window.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.ui_window import SHOW_WINDOW
from tests.ui.conftest import child_env

# The benchmark's start-up, up to the window shown; then the modules read by then.
_SHOWN = SHOW_WINDOW + """
print(" ".join(sorted(sys.modules)), flush=True)
os._exit(0)
"""

#: Read when first used, never for the first window.
LATER = ("concurrent.futures.thread", "studio.core.priority", "studio.providers",
         "studio.ui.viewmodels.history", "studio.library", "studio.ui.inspector", "PIL")


def test_the_first_window_shows_before_reading_what_is_used_later(tmp_path: Path) -> None:
    shown = subprocess.run([sys.executable, "-c", _SHOWN], env=child_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    modules = set(shown.stdout.split())
    assert "studio.ui.main_window" in modules  # the window was made
    assert sorted(name for name in LATER if name in modules) == []
