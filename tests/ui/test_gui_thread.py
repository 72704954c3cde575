"""Nothing blocks the GUI thread: the keychain, the settings file and the library's SQLite are
only ever used from worker threads, at start-up, through the artist's path (render, verdicts,
stars, the library browser, the inspector, the trash), in Settings, and when closing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from studio.core.lifecycle import Approval
from studio.library.database import Database
from tests.ui.conftest import close_window
from tests.ui.test_settings_ui import FakeKeyStore, open_settings

Calls = list[tuple[bool, str]]  # (on the GUI thread?, what)


def _on_gui_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@pytest.fixture
def database_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    calls: Calls = []
    read, transaction, open_ = Database.read, Database.transaction, Database.open

    def recorded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append((_on_gui_thread(), name))
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(Database, "read", recorded("read", read))
    monkeypatch.setattr(Database, "transaction", recorded("write", transaction))
    monkeypatch.setattr(Database, "open", staticmethod(recorded("open", open_)))
    yield calls


class RecordingKeyStore(FakeKeyStore):
    def __init__(self, calls: Calls) -> None:
        super().__init__()
        self.calls = calls

    def available(self) -> bool:
        self.calls.append((_on_gui_thread(), "available"))
        return super().available()

    def has(self, provider_id: str) -> bool:
        self.calls.append((_on_gui_thread(), f"has {provider_id}"))
        return super().has(provider_id)

    def save(self, provider_id: str, key: str) -> None:
        self.calls.append((_on_gui_thread(), f"save {provider_id}"))
        super().save(provider_id, key)


def test_the_keychain_and_the_library_are_never_used_on_the_gui_thread(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, database_calls) -> None:
    keychain: Calls = []

    def look_up(provider_id: str) -> str | None:
        keychain.append((_on_gui_thread(), f"look up {provider_id}"))
        return None

    services.provider_options = {"keychain": look_up}
    services.keys = RecordingKeyStore(keychain)
    window = make_window()  # first start: the example renders offline
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)
    start_up = len(keychain)
    assert start_up >= 5  # every remote provider's key was looked up...
    name = model.names()[0]
    window.grid.select_name(name)
    window.actions_by_name["approve"].trigger()
    qtbot.waitUntil(lambda: model.cell(name).approval is Approval.APPROVED)
    qtbot.waitUntil(lambda: window.inspector.record is not None)
    browser = window.tools.open_library()
    qtbot.waitUntil(lambda: not browser.busy and browser.model.rowCount() == 4)
    browser.select_render(model.cell(name).preview.render_id)
    browser.buttons["star"].click()
    qtbot.waitUntil(lambda: model.cell(name).star)
    window.inspector.buttons["trash"].click()
    qtbot.waitUntil(lambda: model.cell(name).preview.render_id is None)
    dialog = open_settings(window, qtbot)
    dialog.pages["fal"].key.setText("fal-key-0123")
    with qtbot.waitSignal(dialog.saved):
        dialog.save()
    qtbot.waitUntil(lambda: "Settings saved" in window.messages.text, timeout=10000)
    close_window(qtbot, window)
    assert len(keychain) > start_up  # ...and Settings asked the keychain too...
    assert [what for gui, what in keychain if gui] == []  # ...never from the GUI thread
    assert {what for _gui, what in database_calls} >= {"open", "read", "write"}
    assert [what for gui, what in database_calls if gui] == []
