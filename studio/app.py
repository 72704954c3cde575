"""GUI start-up: the QApplication on a qasync event loop, and the main window."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence


def run_app(args: Sequence[str], environ: Mapping[str, str]) -> int:
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    from studio import APP_DISPLAY_NAME

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle(APP_DISPLAY_NAME)
    window.setCentralWidget(QLabel("Character Sheet Studio"))
    window.resize(1280, 800)
    window.show()
    return int(app.exec())


def main() -> int:
    import os

    return run_app(sys.argv[1:], os.environ)
