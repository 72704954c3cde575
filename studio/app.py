"""GUI start-up: the QApplication on a qasync event loop, and the main window.

The composition root of the window: it reads settings, builds the catalog and the services and
hands them to :class:`~studio.ui.main_window.MainWindow`. Nothing below reaches for a global.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow
    from studio.ui.services import StudioServices


def build_services(environ: Mapping[str, str]) -> StudioServices:
    from studio.core.presets import load_catalog
    from studio.core.settings import SettingsError, load_settings
    from studio.paths import config_dir, data_dir, user_presets_file
    from studio.ui.services import StudioServices

    cfg = config_dir(environ)
    try:
        settings = load_settings(cfg)
    except SettingsError:
        from studio.core.settings import Settings

        settings = Settings()
    return StudioServices(
        environ=environ,
        catalog=load_catalog(user_file=user_presets_file(environ)),
        config_dir=cfg,
        data_dir=data_dir(environ),
        settings=settings,
        key_configured=lambda: _any_key(environ),
    )


def _any_key(environ: Mapping[str, str]) -> bool:
    from studio.core.settings import PROVIDER_IDS

    return any(environ.get(f"STUDIO_{pid.upper()}_API_KEY", "").strip()
               for pid in PROVIDER_IDS if pid != "offline")


def create_window(args: Sequence[str], services: StudioServices,
                  loop: asyncio.AbstractEventLoop | None = None) -> MainWindow:
    """The main window with the sheet named in ``args``, the last sheet, or (first start) the
    example sheet."""
    from studio.ui.main_window import MainWindow

    window = MainWindow(services, loop)
    if args:
        window.open_path(Path(args[0]))
    else:
        last = window.state.last_sheet()
        if not (last is not None and last.is_file() and window.open_path(last)):
            window.open_example()
    return window


def run_app(args: Sequence[str], environ: Mapping[str, str]) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from studio import APP_DISPLAY_NAME, APP_NAME

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setStyle("Fusion")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    services = build_services(environ)
    window = create_window(args, services, loop)
    window.show()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    app.lastWindowClosed.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0


def main() -> int:
    import os

    return run_app(sys.argv[1:], os.environ)
