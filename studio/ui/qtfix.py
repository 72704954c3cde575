"""A guard against a PySide6 reference-count bug that would crash the window.

PySide6 6.12 on Python 3.11 drops one reference to ``None`` on every void C++ call made from
Python (``setText``, ``setVisible``, every ``QPainter`` call…) and one to ``True`` on every
``SignalInstance.emit()``. Before Python 3.12 these singletons are not immortal, so after some
ten thousand calls the interpreter aborts ("none_dealloc: deallocating None"). From 3.12 on they
are immortal and the lost references do no harm.

The guard gives ``None``, ``True`` and ``False`` a reference count so large that no session can
use it up, which is what Python 3.12 does for them by design. It touches nothing else.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_BOOST = 1 << 48
_done = False


def needed() -> bool:
    return platform.python_implementation() == "CPython" and sys.version_info < (3, 12)


def make_singletons_immortal() -> bool:
    """Apply the guard once (where it is needed); True when it was applied."""
    global _done
    if _done or not needed():
        return _done
    for obj in (None, True, False):
        # ob_refcnt is the first field of every object in a release build of CPython < 3.12.
        ctypes.c_ssize_t.from_address(id(obj)).value += _BOOST
    _done = True
    return True
