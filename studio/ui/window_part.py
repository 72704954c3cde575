"""A part of the main window that lives as its Qt child: it reaches the window through its Qt
parent, never a Python reference, so the window is freed by reference counting once closed."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow


class WindowPart(QObject):
    """Base of the window's parts (its notices, card requests, tool windows...)."""

    def __init__(self, window: MainWindow, name: str) -> None:
        super().__init__(window)
        self.setObjectName(name)

    @property
    def window(self) -> MainWindow:
        return cast("MainWindow", self.parent())
