"""The view-models hold no widget: every module of ``studio.ui.viewmodels`` imports, and a
document, a scene grid model, a selection and the background helper work, with QtWidgets made
unimportable (the import-linter contract proves it of the source; this proves it at run time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib, pkgutil, sys

class NoWidgets:
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6.QtWidgets":
            raise ImportError("QtWidgets is not allowed here")
        return None

sys.meta_path.insert(0, NoWidgets())
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
import studio.ui.viewmodels as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)

from studio.core.presets import load_catalog
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.document import SheetDocument, new_character_sheet
from studio.ui.viewmodels.scenes import SceneListModel
from studio.ui.viewmodels.selection import SceneSelection

app = QCoreApplication([])
catalog = load_catalog()
doc = SheetDocument(new_character_sheet(catalog), catalog)
model, selection = SceneListModel(doc), SceneSelection(doc)
selection.set("Headshot", ["Headshot"])
doc.update_scene("Headshot", name="Portrait")
assert model.names() == ["Portrait"] and selection.current == "Portrait"
background, answers, loop = Background(), [], QEventLoop()
background.run(lambda: 6 * 7, lambda value: (answers.append(value), loop.quit()), what="test")
QTimer.singleShot(10000, loop.quit)
loop.exec()
background.close()
assert answers == [42], answers
assert "PySide6.QtWidgets" not in sys.modules
print(len(names), "modules")
"""


def test_the_view_models_work_without_qtwidgets() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "modules" in proc.stdout
