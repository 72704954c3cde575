"""The one TOML reader of the studio: sheets, templates, presets and settings are read by the
same parser, imported once.

``tomllib`` is ``tomli`` taken into the standard library; ``tomli``'s wheels are compiled, which
reads a 20,000-scene sheet about four times faster (and is quicker to import). Its releases from
2.4 read TOML 1.1 (as ``tomllib`` does from Python 3.15): a file must not be valid on one
computer and refused on another because of which copy of the reader it has, so a ``tomli``
reading another TOML than ``tomllib`` is left alone. Only the reader in use is imported: two
copies of one parser would cost every start-up both imports.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Loads = Callable[[str], dict[str, Any]]


def fast_reader() -> tuple[Loads, tuple[type[ValueError], ...]]:
    """The TOML reader and the errors it raises: ``tomli`` when it reads exactly the TOML that
    ``tomllib`` reads here, else ``tomllib``."""
    if sys.version_info < (3, 15):
        try:
            import tomli
        except ImportError:
            pass
        else:
            release = tuple(int(part) for part in tomli.__version__.split(".")[:2]
                            if part.isdigit())
            if (2, 1) <= release < (2, 4):
                return tomli.loads, (tomli.TOMLDecodeError,)
    import tomllib

    return tomllib.loads, (tomllib.TOMLDecodeError,)


#: ``loads(text)`` and the errors it raises (a ``ValueError`` each; the message ends with the
#: position, "(at line 2, column 11)").
loads, DECODE_ERRORS = fast_reader()
