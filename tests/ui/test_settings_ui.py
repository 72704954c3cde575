"""Settings: keys go to the keychain (or, by explicit choice with a warning, a private file)
and never to a log, a message, settings.toml or the window title; saved settings take effect."""

from __future__ import annotations

import logging
import stat

import shiboken6

from studio.providers.keys import key_file
from tests.fakes.fixtures import SECRET_KEY
from tests.fakes.modelslab import FakeModelsLab
from tests.ui.conftest import save_shot


class FakeKeyStore:
    def __init__(self, available: bool = True) -> None:
        self.keys: dict[str, str] = {}
        self._available = available

    def available(self) -> bool:
        return self._available

    def describe(self) -> str:
        return "FakeKeyStore"

    def has(self, provider_id: str) -> bool:
        return provider_id in self.keys

    def save(self, provider_id: str, key: str) -> None:
        self.keys[provider_id] = key

    def delete(self, provider_id: str) -> None:
        self.keys.pop(provider_id, None)


def previews_settled(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The first start's offline previews have finished: saved settings take effect only
    while nothing renders, so a test that saves waits for them first."""
    model = window.model
    qtbot.waitUntil(lambda: all(model.cell(n).preview.done for n in model.names()),
                    timeout=30000)


def open_settings(window, qtbot):  # type: ignore[no-untyped-def]
    """Settings, once the keychain has said which keys it holds (asked off the GUI thread)."""
    dialog = window.tools.open_settings()
    qtbot.waitUntil(lambda: dialog.ready)
    return dialog


def _everything_visible(window, dialog) -> str:  # type: ignore[no-untyped-def]
    texts = [window.windowTitle(), window.messages.text, window.banner.text,
             window.statusBar().currentMessage()]
    if shiboken6.isValid(dialog):  # a saved dialog closes and is deleted
        texts += [dialog.message.text(), dialog.windowTitle()]
        texts += [p.test_result.text() for p in dialog.pages.values()]
    return "\n".join(texts)


def test_without_a_keychain_a_key_is_kept_only_by_explicit_choice(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    services.keys = FakeKeyStore(available=False)
    window = make_window()
    assert window.banner.isVisible()
    previews_settled(window, qtbot)
    dialog = open_settings(window, qtbot)
    page = dialog.pages["modelslab"]
    assert page.warning.isVisibleTo(dialog) and "no keychain" in page.warning.text()
    page.key.setText(SECRET_KEY)
    assert dialog.save()
    qtbot.waitUntil(lambda: "no keychain" in dialog.message.text())
    assert not key_file(services.config_dir).exists()
    page.in_file.setChecked(True)
    page.price.setText("0.002")
    save_shot(dialog, "settings-dialog.png")
    with qtbot.waitSignal(dialog.saved):
        assert dialog.save()
    path = key_file(services.config_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SECRET_KEY in path.read_text(encoding="utf-8")
    settings_text = (services.config_dir / "settings.toml").read_text(encoding="utf-8")
    assert SECRET_KEY not in settings_text
    assert "key_in_file = true" in settings_text
    # the new settings take effect: ModelsLab has a key now, so the banner goes
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=10000)
    assert window.renderer.providers["modelslab"].configured
    assert "≈" in window.cost_label.text()  # a price is known now
    assert SECRET_KEY not in _everything_visible(window, dialog)
    assert SECRET_KEY not in caplog.text


def test_a_keychain_holds_the_key_and_settings_toml_never_does(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, caplog) -> None:
    store = FakeKeyStore()
    services.keys = store
    window = make_window()
    previews_settled(window, qtbot)
    dialog = open_settings(window, qtbot)
    page = dialog.pages["fal"]
    assert not page.in_file.isVisibleTo(dialog)
    page.key.setText(SECRET_KEY)
    page.concurrency.setValue(3)
    with qtbot.waitSignal(dialog.saved):
        assert dialog.save()
    assert store.keys == {"fal": SECRET_KEY}
    text = (services.config_dir / "settings.toml").read_text(encoding="utf-8")
    assert SECRET_KEY not in text and "concurrency = 3" in text
    assert not key_file(services.config_dir).exists()
    assert SECRET_KEY not in _everything_visible(window, dialog)
    assert SECRET_KEY not in caplog.text
    # removing it
    again = open_settings(window, qtbot)
    assert "keychain" in again.pages["fal"].key.placeholderText()
    again.pages["fal"].remove.setChecked(True)
    with qtbot.waitSignal(again.saved):
        assert again.save()
    assert store.keys == {}


def test_connection_test_reaches_the_server_without_showing_the_key(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, caplog) -> None:
    server = FakeModelsLab(SECRET_KEY)
    server.start()
    try:
        services.keys = FakeKeyStore()
        window = make_window()
        dialog = open_settings(window, qtbot)
        page = dialog.pages["modelslab"]
        page.key.setText(SECRET_KEY)
        page.base_url.setText(server.base_url)
        page.test_button.click()
        qtbot.waitUntil(lambda: page.test_button.isEnabled()
                        and page.test_result.text() not in ("", "Testing…"), timeout=20000)
        assert "answered" in page.test_result.text()
        assert SECRET_KEY not in _everything_visible(window, dialog)
        assert SECRET_KEY not in caplog.text
        dialog.reject()
    finally:
        server.stop()


def test_settings_saved_while_a_batch_renders_apply_once_it_has_finished(  # type: ignore[no-untyped-def]
        make_window, services, qtbot, monkeypatch) -> None:
    """They used to wait for the user to save them again (on a slow machine the first start's
    placeholders were still drawing, and a new key never took effect)."""
    import threading

    from studio.providers.offline import OfflineProvider

    release = threading.Event()
    draw = OfflineProvider._draw

    def held_draw(self, request, seed):  # type: ignore[no-untyped-def]
        release.wait(30)
        return draw(self, request, seed)

    monkeypatch.setattr(OfflineProvider, "_draw", held_draw)
    services.keys = FakeKeyStore(available=False)  # the key goes to the key file
    window = make_window()
    qtbot.waitUntil(lambda: window.renderer is not None and window.renderer.busy)
    dialog = open_settings(window, qtbot)
    page = dialog.pages["modelslab"]
    page.key.setText(SECRET_KEY)
    page.in_file.setChecked(True)
    with qtbot.waitSignal(dialog.saved):
        assert dialog.save()
    qtbot.waitUntil(lambda: "as soon as the renders in progress" in window.messages.text)
    assert not window.renderer.providers["modelslab"].configured
    release.set()
    qtbot.waitUntil(lambda: window.renderer.providers["modelslab"].configured, timeout=20000)
    qtbot.waitUntil(lambda: not window.banner.isVisible())


def test_a_request_time_limit_typed_in_settings_is_saved_and_used(  # type: ignore[no-untyped-def]
        make_window, services, qtbot) -> None:
    from PySide6.QtCore import Qt

    from studio.core.settings import load_settings
    from studio.providers.http import Deadlines

    services.keys = FakeKeyStore()
    window = make_window()
    previews_settled(window, qtbot)
    dialog = open_settings(window, qtbot)
    box = dialog.pages["fal"].timeout
    assert box.text() == "provider default"
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(box, "45")
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    assert box.value() == 45.0
    with qtbot.waitSignal(dialog.saved):
        assert dialog.save()
    saved = load_settings(services.config_dir)
    assert saved.provider("fal").timeout == 45.0
    assert saved.provider("replicate").timeout is None  # the others keep their defaults
    # Used: the next batch's fal provider bounds every exchange by it.
    qtbot.waitUntil(lambda: window.renderer.providers["fal"].deadlines
                    == Deadlines(45.0, 45.0, 45.0), timeout=20000)
    assert window.renderer.providers["replicate"].deadlines == Deadlines()
    # Shown again, and cleared back to the provider's own limits.
    again = open_settings(window, qtbot)
    box = again.pages["fal"].timeout
    assert box.value() == 45.0
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(box, "0")
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    with qtbot.waitSignal(again.saved):
        assert again.save()
    assert load_settings(services.config_dir).provider("fal").timeout is None
