"""What the window remembers between runs: geometry, dock layout and recent files.

Kept in ``window.ini`` in the settings folder (``STUDIO_CONFIG_DIR``), not in the system's
registry, so tests and portable installs stay self-contained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10
STATE_VERSION = 1


class WindowState:
    def __init__(self, config_dir: Path) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        self.path = config_dir / "window.ini"
        self._s = QSettings(str(self.path), QSettings.Format.IniFormat)

    # geometry and docks ------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self._s.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def dock_state(self) -> QByteArray | None:
        value = self._s.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._s.setValue("window/geometry", geometry)
        self._s.setValue("window/state", state)
        self._s.setValue("window/version", STATE_VERSION)
        self._s.sync()

    # recent files ------------------------------------------------------------
    def recent_files(self) -> list[Path]:
        raw: Any = self._s.value("files/recent", [])
        items = [raw] if isinstance(raw, str) else list(raw or [])
        return [Path(p) for p in items if isinstance(p, str) and p]

    def add_recent(self, path: Path) -> list[Path]:
        path = path.resolve()
        items = [p for p in self.recent_files() if p != path]
        items.insert(0, path)
        items = items[:MAX_RECENT]
        self._s.setValue("files/recent", [str(p) for p in items])
        self._s.sync()
        return items

    def clear_recent(self) -> None:
        self._s.remove("files/recent")
        self._s.sync()

    # first start -------------------------------------------------------------
    @property
    def started_before(self) -> bool:
        return self._s.value("app/started", "false") in (True, "true")

    def mark_started(self) -> None:
        self._s.setValue("app/started", True)
        self._s.sync()

    def last_sheet(self) -> Path | None:
        value = self._s.value("files/last")
        return Path(value) if isinstance(value, str) and value else None

    def set_last_sheet(self, path: Path | None) -> None:
        if path is None:
            self._s.remove("files/last")
        else:
            self._s.setValue("files/last", str(path))
        self._s.sync()

    def value(self, key: str, default: object = None) -> object:
        return self._s.value(key, default)

    def set_value(self, key: str, value: object) -> None:
        self._s.setValue(key, value)
        self._s.sync()
