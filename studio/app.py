"""GUI start-up: the QApplication on a qasync event loop, and the main window.

The window's side of the composition root (``studio.runtime``): it builds the services from the
runtime and hands them to :class:`~studio.ui.main_window.MainWindow`. Nothing below reaches for
a global.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow
    from studio.ui.services import StudioServices


def build_services(environ: Mapping[str, str]) -> StudioServices:
    from studio.runtime import Runtime, provider_envs
    from studio.ui.services import StudioServices

    runtime = Runtime(environ)
    settings, _problem = runtime.settings_or_defaults()
    return StudioServices(
        environ=environ,
        catalog=runtime.catalog,
        config_dir=runtime.config_dir,
        data_dir=runtime.data_dir,
        settings=settings,
        provider_envs=provider_envs(environ),
        key_configured=runtime.any_key_in_environment,
    )


def attach_rendering(window: MainWindow, services: StudioServices) -> bool:
    """Open the library and the providers and give the window its render controller.

    The controller owns them from here and closes them when the window closes. On failure
    the window still opens, for editing, with a sentence saying why it cannot render.
    """
    from studio.core.settings import Settings
    from studio.library import Library, LibraryError
    from studio.runtime import Runtime, RuntimeConfigError
    from studio.ui.render_controller import RenderController

    settings = services.settings
    runtime = Runtime(services.environ).with_settings(settings)
    data = runtime.data_dir

    def build(chosen: Settings) -> dict[str, Any]:
        return runtime.with_settings(chosen).providers(
            **services.extras.get("provider_options", {}))

    services.extras["build_providers"] = build
    try:
        providers = build(settings)
    except RuntimeConfigError as exc:
        window.show_message(f"{exc} Renders are off until it is fixed.", "error")
        return False
    try:
        library = Library.open(data, if_busy="read-only")
    except LibraryError as exc:
        window.show_message(f"{exc} Renders are off until it is fixed.", "error")
        return False
    if library.notice:
        window.show_message(library.notice, "warning")
    services.key_configured = lambda: any(
        p.configured for pid, p in providers.items() if pid != "offline")
    controller = RenderController(
        window.model, library, providers, settings, window.tasks, data / "unsaved",
        confirm=lambda title, text: services.dialogs.confirm(window, title, text),
        parent=window)
    window.library = library
    window.attach_renderer(controller)
    controller.warm_up()
    window.refresh_banner()
    window.tasks.start(controller.resume(), "Resuming unfinished renders")
    return True


def create_window(args: Sequence[str], services: StudioServices,
                  loop: asyncio.AbstractEventLoop | None = None) -> MainWindow:
    """The main window with the sheet named in ``args``, the last sheet, or (first start) the
    example sheet."""
    from studio.ui.main_window import MainWindow

    window = MainWindow(services, loop)
    first_start = not window.state.started_before
    opened_example = False
    if args:
        window.open_path(Path(args[0]))
    else:
        last = window.state.last_sheet()
        if not (last is not None and last.is_file() and window.open_path(last)):
            opened_example = window.open_example()
    if services.extras.get("render", True) and attach_rendering(window, services) and (
            first_start and opened_example and not services.key_configured()):
        # First start with no key: the example renders at once, offline, so the grid is alive.
        window.preview_all()
    return window


EXIT_BAD_ENVIRONMENT = 2


def _cannot_open(sentence: str) -> int:
    print(f"studio: {sentence}", file=sys.stderr, flush=True)
    return EXIT_BAD_ENVIRONMENT


def run_app(args: Sequence[str], environ: Mapping[str, str]) -> int:
    from studio.display_check import qt_import_blocker, window_blocker

    # Before Qt: without a display or its system libraries it aborts the process (exit 134)
    # with a message that names no package.
    blocker = window_blocker(environ)
    if blocker is not None:
        return _cannot_open(blocker)
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        sentence = qt_import_blocker(exc)
        if sentence is None:
            raise
        return _cannot_open(sentence)
    import qasync

    from studio import APP_DISPLAY_NAME, APP_NAME

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    from studio.ui.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(app)  # Qt objects in garbage die on the GUI thread
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setStyle("Fusion")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    services = build_services(environ)
    window = create_window(args, services, loop)
    window.show()
    # The window closes itself once its renders are parked and the library is closed; the
    # loop then ends here rather than by Qt quitting under it.
    app.setQuitOnLastWindowClosed(False)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    collector.stop()
    return 0


def main() -> int:
    import os

    from studio.runtime import Runtime

    with Runtime(os.environ).start_logging():  # the log file, redacted; nothing on a terminal
        return run_app(sys.argv[1:], os.environ)
