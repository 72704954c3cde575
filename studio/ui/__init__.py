"""The window: widgets, models and delegates, dialogs and view-models. The only Qt widgets.

Importing the package first applies :mod:`studio.ui.qtfix` (PySide6 6.12 loses references to
``None`` and ``True`` on Python 3.11; without the guard the window aborts after a few minutes).
"""

from studio.ui.qtfix import make_singletons_immortal

make_singletons_immortal()
