"""Can the window open here? Checked before Qt is asked, so a bare machine gets a sentence.

On Linux Qt aborts the whole process (exit 134, "Could not load the Qt platform plugin xcb")
when there is no display or when a system library its xcb plugin links against is missing,
and its message names neither the library nor the package. The lists below are what the
PySide6 wheels' ``libqxcb.so``, ``libQt6XcbQpa.so.6`` and ``libQt6Gui.so.6`` link against
outside the wheel (``readelf -d``), with the packages that ship each one.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SystemLibrary:
    soname: str
    debian: str  # Debian and Ubuntu package
    fedora: str


#: Linked by Qt's GUI module whichever platform plugin runs (offscreen included).
QT_GUI_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libEGL.so.1", "libegl1", "libglvnd-egl"),
    SystemLibrary("libGL.so.1", "libgl1", "libglvnd-glx"),
    SystemLibrary("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    SystemLibrary("libfreetype.so.6", "libfreetype6", "freetype"),
    SystemLibrary("libglib-2.0.so.0", "libglib2.0-0", "glib2"),
    SystemLibrary("libgthread-2.0.so.0", "libglib2.0-0", "glib2"),
    SystemLibrary("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
    SystemLibrary("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon"),
    SystemLibrary("libX11.so.6", "libx11-6", "libX11"),
)

#: Linked by the xcb platform plugin, the one Qt uses on an X11 display.
XCB_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libxcb.so.1", "libxcb1", "libxcb"),
    SystemLibrary("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    SystemLibrary("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    SystemLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    SystemLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    SystemLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    SystemLibrary("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    SystemLibrary("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    SystemLibrary("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    SystemLibrary("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    SystemLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    SystemLibrary("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    SystemLibrary("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    SystemLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    SystemLibrary("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
)

OFFSCREEN_HINT = ("or set QT_QPA_PLATFORM=offscreen to start without a visible window "
                  "(for scripts and tests)")


def loadable(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname``, exactly as Qt's plugin loader will.

    ``dlopen`` of the exact name, not ``ctypes.util.find_library``: that one runs ``ldconfig``
    once per name (slow at start-up) and ignores the version after ``.so``.
    """
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def _plural(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def missing_libraries_sentence(missing: Sequence[SystemLibrary], what: str) -> str:
    """One sentence naming the missing libraries, their packages and the offscreen option."""
    debian = list(dict.fromkeys(lib.debian for lib in missing))
    fedora = list(dict.fromkeys(lib.fedora for lib in missing))
    return (f"The window cannot open: {what} needs {_plural([m.soname for m in missing])}, "
            f"which this machine lacks; install "
            f"{'it' if len(debian) == 1 else 'them'} with "
            f"`sudo apt install {' '.join(debian)}` (Debian, Ubuntu) or "
            f"`sudo dnf install {' '.join(fedora)}` (Fedora), {OFFSCREEN_HINT}.")


def _platform_name(environ: Mapping[str, str]) -> str:
    # QT_QPA_PLATFORM may list fallbacks ("wayland;xcb") and options ("xcb:foo=1").
    return environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip().lower()


def window_blocker(environ: Mapping[str, str], *, platform: str | None = None,
                   find: Callable[[str], bool] | None = None) -> str | None:
    """Why the window cannot open on this machine, as one sentence; None when it can.

    Only what is certain is refused: with Wayland available, Qt may not need the xcb
    libraries at all, and a platform the user named (offscreen, vnc...) is taken as asked.
    """
    platform = sys.platform if platform is None else platform
    find = loadable if find is None else find
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    chosen = _platform_name(environ)
    if chosen not in ("", "xcb"):
        return None
    display = environ.get("DISPLAY", "").strip()
    wayland = environ.get("WAYLAND_DISPLAY", "").strip()
    if not display and (chosen == "xcb" or not wayland):
        unset = "DISPLAY is not set" if chosen == "xcb" else \
            "neither DISPLAY nor WAYLAND_DISPLAY is set"
        return (f"The window cannot open: there is no display ({unset}); run `studio` in a "
                f"desktop session, or under `xvfb-run` (package xvfb on Debian and Ubuntu, "
                f"xorg-x11-server-Xvfb on Fedora), {OFFSCREEN_HINT}.")
    if wayland and chosen != "xcb":
        return None  # Qt may use its Wayland plugin, which needs none of the xcb libraries
    missing = [lib for lib in (*QT_GUI_LIBRARIES, *XCB_LIBRARIES) if not find(lib.soname)]
    if missing:
        return missing_libraries_sentence(missing, "Qt's xcb platform plugin")
    return None


def qt_import_blocker(exc: ImportError) -> str | None:
    """The sentence for Qt failing to import because a system library is missing, or None."""
    text = str(exc)
    for lib in (*QT_GUI_LIBRARIES, *XCB_LIBRARIES):
        if lib.soname in text:
            return missing_libraries_sentence([lib], "Qt")
    return None
