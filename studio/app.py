"""GUI start-up: the QApplication on a qasync event loop, and the main window.

The window's side of the composition root (``studio.runtime``): it builds the services from the
runtime and hands them to :class:`~studio.ui.main_window.MainWindow`, which shows itself first
and then prepares its settings, providers and library on a worker with the callables wired
here. Nothing below reaches for a global.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from studio.core.settings import Settings
    from studio.ui.gc_guard import GuiThreadCollector
    from studio.ui.main_window import MainWindow
    from studio.ui.services import StudioServices


def build_services(environ: Mapping[str, str]) -> StudioServices:
    """What the window needs to show itself; the settings, the providers and the library are
    prepared once it is shown (:func:`wire_rendering`)."""
    from studio.runtime import Runtime, provider_envs
    from studio.ui.services import StudioServices

    runtime = Runtime(environ)
    return StudioServices(
        environ=environ,
        catalog=runtime.catalog,
        config_dir=runtime.config_dir,
        provider_envs=provider_envs(environ),
        key_configured=runtime.any_key_in_environment,
    )


def wire_rendering(services: StudioServices) -> None:
    """Give the window the composition root's way to its settings, providers and library.

    Both callables block (settings file, keychain, SQLite) and run on the window's workers.
    """
    from studio.runtime import Runtime
    from studio.ui.viewmodels.studio import RenderingParts, RenderingUnavailableError

    runtime = Runtime(services.environ)
    options = services.provider_options

    def build(settings: Settings) -> dict[str, Any]:
        providers = runtime.with_settings(settings).providers(**options)
        for provider in providers.values():
            _ = provider.configured  # looks the key up now, here, once
        return dict(providers)  # every one built here, on the worker

    def prepare() -> RenderingParts:
        from studio.identity.worker import import_ahead
        from studio.library import Library, LibraryError
        from studio.runtime import RuntimeConfigError

        notices: list[str] = []
        settings = services.settings
        if settings is None:
            settings, problem = runtime.settings_or_defaults()
            if problem:
                notices.append(problem)
        try:
            providers = build(settings)
            library = Library.open(runtime.with_settings(settings).data_dir,
                                   if_busy="read-only")
        except (RuntimeConfigError, LibraryError) as exc:
            raise RenderingUnavailableError(f"{exc} Renders are off until it is fixed.") from None
        if library.notice:
            notices.append(library.notice)
        import_ahead()  # the face analysis starts with the first batch
        return RenderingParts(settings, providers, library, notices)

    if services.prepare_rendering is None:
        services.prepare_rendering = prepare
    if services.build_providers is None:
        services.build_providers = build


def create_window(args: Sequence[str], services: StudioServices,
                  loop: asyncio.AbstractEventLoop | None = None) -> MainWindow:
    """The main window with the sheet named in ``args``, the last sheet, or (first start) the
    example sheet. Its library and providers are prepared on a worker from here on."""
    from studio.ui.main_window import MainWindow
    from studio.ui.read_ahead import ReadAhead

    window = MainWindow(services, loop)
    first_start = not window.state.started_before
    session = window.session
    opened_example = False
    if args:
        session.open_path(Path(args[0]))
    elif not session.open_last():
        opened_example = session.open_example()
    if services.render:
        wire_rendering(services)
        # First start with no key: the example renders at once, offline, so the grid is alive.
        window.hookup.start(preview_all=first_start and opened_example)
    ReadAhead(window)  # the viewer got ready at idle, on the GUI thread, once it has painted
    return window


EXIT_BAD_ENVIRONMENT = 2
#: How often the GUI thread collects cyclic garbage while it is being made (automatic
#: collection is off; an idle window checks once a second).
COLLECT_EVERY_MS = 25
#: How long the first collection waits. Until then the window is being made and shows itself:
#: what start-up makes (the modules, the window) is alive, and the first collection, coming
#: due while the window was made, walked all of it (30,000 objects, 15-25 ms, a few hundred
#: found) before the first paint. Once the window has started it is moved out of the
#: collector's sight (:func:`keep_collections_short`) and is never walked at all.
FIRST_COLLECTION_MS = 1000
#: Seconds a thread may keep the interpreter lock while another waits for it, in the window's
#: process (Python's default is 0.005).
GUI_SWITCH_INTERVAL = 0.0002
#: Qt's switch for its painting helper threads (any value turns them off).
QT_PAINTING_HELPERS_OFF = "QT_NO_GUI_THREADPOOL"


def _cannot_open(sentence: str) -> int:
    print(f"studio: {sentence}", file=sys.stderr, flush=True)
    return EXIT_BAD_ENVIRONMENT


def paint_on_the_gui_thread() -> None:
    """Have Qt paint on the GUI thread alone (before its first paint: Qt reads this once).

    Qt's raster painter hands every fill or blend of more than about a hundred lines (a card's
    background, a scaled image, a card's picture copied to the screen) to a pool of helper
    threads and waits for all of them. A helper that finds the cores taken (the image decoders,
    other programs) waits its turn, and the frame with it: on an idle two-core machine the
    first scroll through a sheet took 16-18 ms a frame for 6.5 ms of painting
    (benchmarks/ui_window.py). Cards are small: painting them on one thread costs about the
    same CPU, and a frame then waits for nothing. The pixels are the same either way.
    """
    import os

    os.environ.setdefault(QT_PAINTING_HELPERS_OFF, "1")


def prepare_application(app: QApplication) -> GuiThreadCollector:
    """Name and style the application, paint on the GUI thread alone, and leave cyclic garbage
    collection to the GUI thread (a safety net: closed windows are freed by reference
    counting)."""
    from studio import APP_DISPLAY_NAME, APP_NAME
    from studio.ui.gc_guard import GuiThreadCollector

    paint_on_the_gui_thread()  # nothing has painted yet
    # Qt objects in garbage die on the GUI thread. Collected often, so each collection is short:
    # between two checks the youngest generation grows unchecked (thousands of objects in a
    # busy half second), and one collection of all that held the window for 15-25 ms.
    collector = GuiThreadCollector(app, interval_ms=COLLECT_EVERY_MS,
                                   first_check_ms=FIRST_COLLECTION_MS)
    # The render engine, the image writers and the decoders are threads of this interpreter:
    # each time the GUI thread comes back from Qt it waits for the interpreter lock, up to the
    # switch interval per hand-over, and one turn of the event loop makes many. Handing over
    # sooner keeps the window's turns short while a batch renders (benchmarks/ui_window.py:
    # on an idle machine the longest wait between two 5 ms ticks was 121-146 ms at the
    # default, 37-61 ms at this interval).
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setStyle("Fusion")
    return collector


def keep_collections_short(window: MainWindow) -> None:
    """Once the window has started (its library and providers open), what exists lives as long
    as it does: moved out of the collector's sight (``gc.freeze``), a collection then walks only
    what was made since, and never holds the window for long.

    The same again once the viewer has been read ahead (its modules, read after the window
    started, live as long): left in sight, the collections of the first batch walked them
    (benchmarks/ui_window.py)."""
    import gc

    from studio.ui.read_ahead import ReadAhead

    window.renderingReady.connect(lambda _ready: gc.freeze())
    read_ahead = window.findChild(ReadAhead)
    if read_ahead is not None:
        read_ahead.finished.connect(_freeze_what_lives)


def _freeze_what_lives() -> None:
    """What was made since the last freeze and still lives, out of the collector's sight (the
    garbage among it collected first, so none of it is kept for good)."""
    import gc

    gc.collect()  # what the last freeze left in sight: a few thousand objects
    gc.freeze()


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

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    collector = prepare_application(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # Blocking calls the render and provider layers make never free the window's objects on
    # a worker thread.
    from studio.ui.viewmodels.handback import hand_back_default_executor
    hand_back_default_executor(loop)
    services = build_services(environ)
    window = create_window(args, services, loop)
    window.show()
    keep_collections_short(window)
    # Ctrl+C in the terminal closes the window as its close button does (renders parked, the
    # library closed) instead of raising in whatever Python code the GUI thread was running.
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGINT, lambda _signum, _frame: QTimer.singleShot(0, window.close))
    # The window closes itself once its renders are parked and the library is closed; the
    # loop then ends here rather than by Qt quitting under it.
    app.setQuitOnLastWindowClosed(False)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    with loop:
        try:
            loop.run_until_complete(closed.wait())
        except RuntimeError:
            # Qt ended its event loop under the window (waiting on an event cannot fail
            # otherwise): the display went away (the X server died, the desktop session
            # ended). No event loop is left to close the window with: it is closed here,
            # blocking, and what was sent is parked for the next start to pick up.
            if closed.is_set():
                raise
            from studio.runtime import EXIT_FAILED

            collector.stop()
            window.abandon()
            print("studio: the window's display went away (its connection to the desktop "
                  "ended) and the studio closed with it; renders already sent are kept and "
                  "are picked up at the next start.", file=sys.stderr, flush=True)
            return EXIT_FAILED
    collector.stop()
    return 0


def main() -> int:
    import os

    from studio.runtime import Runtime

    with Runtime(os.environ).start_logging():  # the log file, redacted; nothing on a terminal
        return run_app(sys.argv[1:], os.environ)
