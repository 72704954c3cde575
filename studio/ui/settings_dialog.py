"""Settings: per provider the API key (kept in the system keychain; where there is none, only by
the user's explicit choice in a file readable by them alone, with a warning), base URL, default
models, concurrency, price per image and a connection test; the default stage providers, the
budget cap and the data location.

A key typed here goes to the keychain (or the key file) and nowhere else: never to
settings.toml, a log, a message or the window title.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.settings import (
    PROVIDER_IDS,
    ProviderEnv,
    ProviderSettings,
    Settings,
    save_settings,
)
from studio.providers.errors import provider_name
from studio.providers.keys import KEYRING_SERVICE, env_name, key_file, store_key_in_file

log = logging.getLogger("studio.ui.settings")

REMOTE_IDS = tuple(p for p in PROVIDER_IDS if p != "offline")


class KeyStore(Protocol):
    """Where API keys live. ``available`` is False when the system has no keychain."""

    def available(self) -> bool: ...

    def describe(self) -> str: ...

    def has(self, provider_id: str) -> bool: ...

    def save(self, provider_id: str, key: str) -> None: ...

    def delete(self, provider_id: str) -> None: ...


class SystemKeyStore:
    """The operating system's keychain, through ``keyring``."""

    def _backend(self) -> Any:
        import keyring

        return keyring.get_keyring()

    def available(self) -> bool:
        try:
            backend = self._backend()
        except Exception:  # no backend at all
            return False
        module = type(backend).__module__
        return not module.endswith((".fail", ".null")) and getattr(backend, "priority", 1) > 0

    def describe(self) -> str:
        try:
            return type(self._backend()).__name__
        except Exception:
            return "none"

    def has(self, provider_id: str) -> bool:
        import keyring

        try:
            return bool(keyring.get_password(KEYRING_SERVICE, provider_id))
        except Exception:
            return False

    def save(self, provider_id: str, key: str) -> None:
        import keyring

        keyring.set_password(KEYRING_SERVICE, provider_id, key)

    def delete(self, provider_id: str) -> None:
        import keyring
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(KEYRING_SERVICE, provider_id)


def _file_has_key(config_dir: Path, provider_id: str) -> bool:
    path = key_file(config_dir)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    return any(line.partition("=")[0].strip() == provider_id and line.partition("=")[2].strip()
               for line in lines)


def _remove_from_file(config_dir: Path, provider_id: str) -> None:
    path = key_file(config_dir)
    if not path.exists():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.partition("=")[0].strip() != provider_id]
    path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    path.chmod(0o600)


ConnectionTest = Callable[[str, str, str], "asyncio.Future[str] | Any"]


class ProviderPage(QWidget):
    def __init__(self, provider_id: str, settings: ProviderSettings, models: tuple[str, ...],
                 default_url: str, key_state: str, keychain: bool, key_path: Path,
                 key_in_environment: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.provider_id = provider_id
        self.setObjectName(f"providerPage-{provider_id}")
        form = QFormLayout(self)
        title = QLabel(f"<b>{provider_name(provider_id)}</b>", self)
        form.addRow(title)
        env_key = env_name(provider_id, "API_KEY")
        self.key = QLineEdit(self)
        self.key.setObjectName(f"key-{provider_id}")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText(key_state)
        self.key.setToolTip(f"Kept in the system keychain. {env_key} in the environment wins "
                            "over it.")
        show = QCheckBox("Show", self)
        show.toggled.connect(lambda on: self.key.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        self.remove = QPushButton("Remove key", self)
        self.remove.setObjectName(f"removeKey-{provider_id}")
        self.remove.setCheckable(True)
        self.remove.setToolTip("Forget the stored key when saving")
        row = QHBoxLayout()
        row.addWidget(self.key, 1)
        row.addWidget(show)
        row.addWidget(self.remove)
        form.addRow("API key", row)
        if key_in_environment:
            note = QLabel(f"{env_key} is set in the environment and is used instead.", self)
            note.setWordWrap(True)
            form.addRow("", note)
        self.in_file = QCheckBox(f"Keep the key in a file only I can read ({key_path})", self)
        self.in_file.setObjectName(f"keyInFile-{provider_id}")
        self.in_file.setChecked(settings.key_in_file)
        self.warning = QLabel(
            "⚠ This system has no keychain. A key kept in a file is only as safe as your "
            "account: anyone who can read your files, backups or this disk can use it and "
            "spend your credit. Prefer setting " + env_key + " in the environment.", self)
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b7791f;")
        self.warning.setObjectName(f"keyWarning-{provider_id}")
        if keychain:
            self.in_file.hide()
            self.warning.hide()
        form.addRow("", self.in_file)
        form.addRow("", self.warning)
        self.base_url = QLineEdit(settings.base_url or "", self)
        self.base_url.setPlaceholderText(default_url)
        form.addRow("Base URL", self.base_url)
        self.preview_model = QComboBox(self)
        self.final_model = QComboBox(self)
        for combo, value in ((self.preview_model, settings.preview_model),
                             (self.final_model, settings.final_model)):
            combo.setEditable(True)
            combo.addItem("")
            combo.addItems(list(models))
            combo.setCurrentText(value or "")
            line = combo.lineEdit()
            if line is not None:
                line.setPlaceholderText("the sheet's model")
        form.addRow("Preview model", self.preview_model)
        form.addRow("Final model", self.final_model)
        self.concurrency = QSpinBox(self)
        self.concurrency.setRange(0, 32)
        self.concurrency.setSpecialValueText("provider default")
        self.concurrency.setValue(settings.concurrency or 0)
        form.addRow("At once", self.concurrency)
        self.price = QLineEdit("" if settings.price_per_image is None
                               else f"{settings.price_per_image:g}", self)
        self.price.setValidator(QDoubleValidator(0.0, 1000.0, 6, self.price))
        self.price.setPlaceholderText("unknown")
        self.price.setToolTip("Shown before sending a batch, and used by the budget cap")
        form.addRow("Price per image", self.price)
        test_row = QHBoxLayout()
        self.test_button = QPushButton("Test connection", self)
        self.test_button.setObjectName(f"test-{provider_id}")
        self.test_result = QLabel(self)
        self.test_result.setObjectName(f"testResult-{provider_id}")
        self.test_result.setWordWrap(True)
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        form.addRow("", test_row)

    def provider_settings(self, old: ProviderSettings) -> ProviderSettings:
        price = self.price.text().strip().replace(",", ".")
        return replace(
            old,
            base_url=self.base_url.text().strip() or None,
            preview_model=self.preview_model.currentText().strip() or None,
            final_model=self.final_model.currentText().strip() or None,
            concurrency=self.concurrency.value() or None,
            price_per_image=float(price) if price else None,
            key_in_file=self.in_file.isChecked() if self.in_file.isVisible() or
            old.key_in_file else False,
        )


class SettingsDialog(QDialog):
    """Edits the settings; ``saved(Settings)`` after they are written."""

    saved = Signal(object)

    def __init__(self, settings: Settings, config_dir: Path,
                 provider_envs: Mapping[str, ProviderEnv],
                 providers: Mapping[str, Any], keys: KeyStore,
                 run: Callable[[Any, str], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.settings = settings
        self.config_dir = config_dir
        self.provider_envs = provider_envs
        self.providers = providers
        self.keys = keys
        self._run = run
        self.error = ""
        layout = QVBoxLayout(self)
        body = QHBoxLayout()
        self.list = QListWidget(self)
        self.list.setObjectName("settingsSections")
        self.list.setFixedWidth(170)
        self.stack = QStackedWidget(self)
        body.addWidget(self.list)
        body.addWidget(self.stack, 1)
        layout.addLayout(body, 1)
        self.pages: dict[str, ProviderPage] = {}
        keychain = keys.available()
        for pid in REMOTE_IDS:
            provider = providers.get(pid)
            models = tuple(provider.model_ids()) if provider is not None else ()
            default_url = getattr(type(provider), "default_base_url", "") if provider else ""
            ps = settings.provider(pid)
            if keychain and keys.has(pid):
                state = "a key is stored in the system keychain; type to replace it"
            elif ps.key_in_file and _file_has_key(config_dir, pid):
                state = "a key is stored in the key file; type to replace it"
            else:
                state = "no key yet: paste it here"
            page = ProviderPage(pid, ps, models, default_url, state, keychain,
                                key_file(config_dir),
                                (provider_envs.get(pid) or ProviderEnv()).api_key is not None,
                                self.stack)
            page.test_button.clicked.connect(lambda _=False, p=page: self.test_connection(p))
            self.pages[pid] = page
            self.stack.addWidget(page)
            configured = provider is not None and provider.configured
            self.list.addItem(f"{'● ' if configured else '○ '}{provider_name(pid)}")
        self.general = self._general_page()
        self.stack.addWidget(self.general)
        self.list.addItem("General")
        self.list.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.list.setCurrentRow(0)
        self.message = QLabel(self)
        self.message.setObjectName("settingsMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828;")
        self.message.setMinimumHeight(44)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        layout.addWidget(buttons)
        self.resize(820, 560)

    def _general_page(self) -> QWidget:
        page = QWidget(self.stack)
        form = QFormLayout(page)
        form.addRow(QLabel("<b>General</b>", page))
        self.preview_provider = QComboBox(page)
        self.final_provider = QComboBox(page)
        for combo, value in ((self.preview_provider, self.settings.preview_provider),
                             (self.final_provider, self.settings.final_provider)):
            combo.addItem("The sheet's choice", None)
            for pid in PROVIDER_IDS:
                combo.addItem(provider_name(pid), pid)
            combo.setCurrentIndex(max(0, combo.findData(value)) if value else 0)
        form.addRow("Previews with", self.preview_provider)
        form.addRow("Finals with", self.final_provider)
        self.budget = QLineEdit("" if self.settings.budget_cap is None
                                else f"{self.settings.budget_cap:g}", page)
        self.budget.setValidator(QDoubleValidator(0.0, 1e6, 2, self.budget))
        self.budget.setPlaceholderText("no cap")
        self.budget.setToolTip("A batch that would cost more is refused before anything is sent")
        form.addRow("Budget cap per batch", self.budget)
        self.data_dir = QLineEdit(self.settings.data_dir or "", page)
        self.data_dir.setPlaceholderText("the standard place for this system")
        self.data_dir.setToolTip("Where the library keeps renders; takes effect at the next "
                                 "start. STUDIO_DATA_DIR wins over it.")
        form.addRow("Library folder", self.data_dir)
        return page

    # ------------------------------------------------------------------ saving
    def collect(self) -> Settings:
        settings = self.settings
        for pid, page in self.pages.items():
            settings = settings.with_provider(pid, page.provider_settings(settings.provider(pid)))
        budget = self.budget.text().strip().replace(",", ".")
        return replace(settings,
                       preview_provider=self.preview_provider.currentData(),
                       final_provider=self.final_provider.currentData(),
                       budget_cap=float(budget) if budget else None,
                       data_dir=self.data_dir.text().strip() or None)

    def save(self) -> bool:
        settings = self.collect()
        keychain = self.keys.available()
        problems: list[str] = []
        for pid, page in self.pages.items():
            typed = page.key.text().strip()
            if page.remove.isChecked():
                if keychain:
                    self.keys.delete(pid)
                _remove_from_file(self.config_dir, pid)
                continue
            if not typed:
                continue
            if keychain:
                try:
                    self.keys.save(pid, typed)
                except Exception as exc:
                    problems.append(f"The key for {provider_name(pid)} could not be stored in "
                                    f"the keychain ({type(exc).__name__}).")
                continue
            if page.in_file.isChecked():
                store_key_in_file(self.config_dir, pid, typed)
                settings = settings.with_provider(
                    pid, replace(settings.provider(pid), key_in_file=True))
            else:
                problems.append(
                    f"This system has no keychain, so the key for {provider_name(pid)} was not "
                    "kept: tick \u201cKeep the key in a file only I can read\u201d (see the "
                    f"warning), or set {env_name(pid, 'API_KEY')} in the environment.")
        if problems:
            self.error = " ".join(problems)
            self.message.setText(self.error)
            return False
        save_settings(self.config_dir, settings)
        self.settings = settings
        for page in self.pages.values():
            page.key.clear()
        self.saved.emit(settings)
        self.accept()
        return True

    # ------------------------------------------------------------------ connection test
    def test_connection(self, page: ProviderPage) -> None:
        page.test_result.setText("Testing…")
        page.test_button.setEnabled(False)
        key = page.key.text().strip()
        settings = self.collect()

        async def test() -> None:
            try:
                text = await check_connection(page.provider_id, key, settings, self.config_dir,
                                              self.provider_envs)
            finally:
                page.test_button.setEnabled(True)
            page.test_result.setText(text)

        self._run(test(), "Testing the connection")


async def check_connection(provider_id: str, key: str, settings: Settings, config_dir: Path,
                           provider_envs: Mapping[str, ProviderEnv]) -> str:
    """A sentence saying whether the provider answers (and accepts the key, where it can tell).

    Uses the provider's own ``check_connection`` when it has one; else asks the server for its
    base URL, which proves it is reachable but not that the key is right.
    """
    import httpx

    from studio.providers.registry import build_providers

    envs = dict(provider_envs)
    if key:
        envs[provider_id] = replace(envs.get(provider_id) or ProviderEnv(), api_key=key)
    providers = build_providers(envs, settings, config_dir)
    provider = providers[provider_id]
    name = provider_name(provider_id)
    secret = key or ""
    try:
        checker = getattr(provider, "check_connection", None)
        if checker is not None:
            result = await checker()
            return _redact(str(result), secret)
        if not provider.configured:
            return f"{name} has no key yet: paste it above, then test again."
        url = getattr(provider, "base_url", "") or getattr(type(provider),
                                                           "default_base_url", "")
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
            response = await client.get(url)
        return (f"{name} answered at {url} (HTTP {response.status_code}). The key itself is "
                "checked with the first render.")
    except httpx.HTTPError as exc:
        return _redact(f"{name} could not be reached ({type(exc).__name__}): check the base "
                       "URL and your connection.", secret)
    except Exception as exc:
        log.info("connection test of %s failed: %s", provider_id, type(exc).__name__)
        return _redact(f"The test of {name} failed: {exc}", secret)
    finally:
        for p in providers.values():
            await p.aclose()


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "••••") if secret else text
