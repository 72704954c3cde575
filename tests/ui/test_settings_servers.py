"""Settings for the user's own ComfyUI servers: one URL or a comma-separated farm typed in the
base URL, each server's state (up or down, queue, GPU) asked off the GUI thread with Check, the
summary "N servers, N up, N queued"; screenshots in a light and a dark palette."""

from __future__ import annotations

import pytest

from tests.fakes.comfyui import FakeComfyUI
from tests.ui.test_screenshots import palette  # noqa: F401  (the light/dark fixture)
from tests.ui.test_settings_ui import FakeKeyStore, open_settings


@pytest.fixture
def farm():  # type: ignore[no-untyped-def]
    servers = [FakeComfyUI(gpu="NVIDIA GeForce RTX 4090").start(),
               FakeComfyUI(gpu="NVIDIA RTX A6000").start(),
               FakeComfyUI().start()]
    servers[2].die()  # a server that no longer answers
    yield servers
    for server in servers:
        server.stop()


def test_check_shows_each_servers_state(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, shot, farm, palette: str) -> None:  # noqa: F811
    services.keys = FakeKeyStore()
    window = make_window()
    dialog = open_settings(window, qtbot)
    page = dialog.pages["comfyui"]
    assert page.servers is not None
    dialog.list.setCurrentRow(list(dialog.pages).index("comfyui"))
    urls = ", ".join(s.base_url for s in farm)
    page.base_url.setText(urls)
    qtbot.mouseClick(page.servers.check_button, qtbot_left())
    assert not page.servers.check_button.isEnabled()
    qtbot.waitUntil(lambda: page.servers.check_button.isEnabled(), timeout=20000)
    state = page.servers.state
    assert state is not None
    assert state.summary == "3 servers, 2 up, 0 queued"
    assert [s.state for s in state.servers] == ["up", "up", "down"]
    assert "RTX 4090" in state.servers[0].line and "RTX A6000" in state.servers[1].line
    assert page.servers.summary.text() == "3 servers, 2 up, 0 queued"
    assert farm[0].base_url in page.servers.lines.text()
    # The farm is what Save keeps.
    assert dialog.collect().provider("comfyui").base_url == urls
    shot(dialog, f"settings-comfyui-{palette}.png")
    dialog.reject()


def test_every_provider_of_the_registry_has_a_page(make_window, services, qtbot) -> None:  # type: ignore[no-untyped-def]
    from studio.core.settings import PROVIDER_IDS

    services.keys = FakeKeyStore()
    window = make_window()
    dialog = open_settings(window, qtbot)
    assert set(dialog.pages) == set(PROVIDER_IDS) - {"offline"}
    # Only providers with servers of their own show servers.
    assert [pid for pid, p in dialog.pages.items() if p.servers is not None] == ["comfyui"]
    dialog.reject()


def qtbot_left():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
