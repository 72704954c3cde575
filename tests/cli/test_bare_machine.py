"""`studio` on a machine without a display or without Qt's system libraries: one sentence
naming what is missing and how to get it, exit 2, instead of Qt's abort (exit 134).

The environment and the library finder are injected; nothing is uninstalled. Where Xvfb is
installed, the window's platform is also started for real with the libraries present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.display_check import (
    QT_GUI_LIBRARIES,
    XCB_LIBRARIES,
    qt_import_blocker,
    window_blocker,
)

ROOT = Path(__file__).resolve().parents[2]
NO_DISPLAY = ("The window cannot open: there is no display (neither DISPLAY nor WAYLAND_DISPLAY "
              "is set); run `studio` in a desktop session, or under `xvfb-run` (package xvfb on "
              "Debian and Ubuntu, xorg-x11-server-Xvfb on Fedora), or set "
              "QT_QPA_PLATFORM=offscreen to start without a visible window (for scripts and "
              "tests).")


def everything(soname: str) -> bool:
    return True


def lacking(*sonames: str):  # type: ignore[no-untyped-def]
    return lambda soname: soname not in sonames


def test_no_display_is_named_with_xvfb_and_the_offscreen_option() -> None:
    assert window_blocker({}, platform="linux", find=everything) == NO_DISPLAY


def test_missing_xcb_libraries_are_named_with_their_packages() -> None:
    sentence = window_blocker({"DISPLAY": ":0"}, platform="linux",
                              find=lacking("libxcb-cursor.so.0", "libxcb-icccm.so.4",
                                           "libxcb-keysyms.so.1"))
    assert sentence == (
        "The window cannot open: Qt's xcb platform plugin needs libxcb-cursor.so.0, "
        "libxcb-icccm.so.4 and libxcb-keysyms.so.1, which this machine lacks; install them with "
        "`sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1` (Debian, Ubuntu) or "
        "`sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms` (Fedora), or set "
        "QT_QPA_PLATFORM=offscreen to start without a visible window (for scripts and tests).")


def test_one_missing_library_shares_its_package_once() -> None:
    sentence = window_blocker({"DISPLAY": ":1"}, platform="linux",
                              find=lacking("libxcb-shm.so.0", "libxcb-sync.so.1"))
    assert sentence is not None
    assert "`sudo apt install libxcb-shm0 libxcb-sync1`" in sentence
    assert "`sudo dnf install libxcb` (Fedora)" in sentence


@pytest.mark.parametrize(("environ", "platform"), [
    ({"DISPLAY": ":0"}, "linux"),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),  # Qt may use Wayland: no xcb library needed
    ({}, "darwin"),
    ({}, "win32"),
], ids=["x11", "offscreen", "vnc", "wayland", "macos", "windows"])
def test_what_can_open_is_not_refused(environ: dict[str, str], platform: str) -> None:
    finder = everything if environ.get("DISPLAY") else lacking(
        *(lib.soname for lib in (*QT_GUI_LIBRARIES, *XCB_LIBRARIES)))
    assert window_blocker(environ, platform=platform, find=finder) is None


def test_xcb_asked_for_by_name_needs_an_x11_display() -> None:
    sentence = window_blocker({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"},
                              platform="linux", find=everything)
    assert sentence is not None and "(DISPLAY is not set)" in sentence


def test_a_qt_import_failing_on_a_system_library_is_a_sentence() -> None:
    error = ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
    sentence = qt_import_blocker(error)
    assert sentence is not None
    assert sentence.startswith("The window cannot open: Qt needs libEGL.so.1, which this "
                               "machine lacks; install it with `sudo apt install libegl1`")
    assert qt_import_blocker(ImportError("No module named 'PySide6'")) is None


def _studio_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is for Linux")
def test_studio_without_a_display_exits_2_before_qt_and_writes_nothing(
        isolated_user_dirs: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "studio"], capture_output=True, text=True,
                          cwd=ROOT, env=_studio_env(), timeout=120)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"studio: {NO_DISPLAY}\n"
    assert not (isolated_user_dirs / "data").exists()
    assert not (isolated_user_dirs / "config").exists()


# A driver that swaps the library finder in the real start-up path, then proves Qt was never
# loaded: the same process Qt would have aborted.
_DRIVER = textwrap.dedent("""
    import sys
    import studio.display_check as check
    check.loadable = lambda soname: soname not in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    from studio.cli import main
    code = main([])
    assert "PySide6.QtWidgets" not in sys.modules and "PySide6.QtGui" not in sys.modules
    raise SystemExit(code)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is for Linux")
def test_studio_without_xcb_libraries_exits_2_naming_them(isolated_user_dirs: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _DRIVER], capture_output=True, text=True,
                          cwd=ROOT, env=_studio_env(DISPLAY=":99"), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("studio: The window cannot open: Qt's xcb platform plugin "
                                  "needs libxcb-icccm.so.4 and libxcb-keysyms.so.1, which this "
                                  "machine lacks; install them with `sudo apt install "
                                  "libxcb-icccm4 libxcb-keysyms1` (Debian, Ubuntu) or `sudo dnf "
                                  "install xcb-util-wm xcb-util-keysyms` (Fedora)")
    assert proc.stderr.count("\n") == 1
    assert not (isolated_user_dirs / "data").exists()


_XCB_WINDOW = textwrap.dedent("""
    import os
    from studio.display_check import window_blocker
    assert window_blocker(os.environ) is None, window_blocker(os.environ)
    from PySide6.QtWidgets import QApplication, QLabel
    app = QApplication([])
    label = QLabel("Character Sheet Studio")
    label.show()
    app.processEvents()
    print(app.platformName(), label.isVisible())
""")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Xvfb is not installed")
def test_with_the_libraries_present_the_window_opens_on_xcb_under_xvfb() -> None:
    proc = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", _XCB_WINDOW],
                          capture_output=True, text=True, cwd=ROOT, env=_studio_env(),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "xcb True"
