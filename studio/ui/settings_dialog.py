"""Settings: per provider the API key (kept in the system keychain; where there is none, only by
the user's explicit choice in a file readable by them alone, with a warning), base URL, default
models, concurrency, the time limit of one request, price per image and a connection test;
the default stage providers, the budget cap and the data location.

It binds to :class:`~studio.ui.viewmodels.settings.SettingsModel`: the keychain is asked which
keys it holds, and keys and settings are saved, off the GUI thread. A key typed here goes to
the keychain (or the key file) and nowhere else: never to settings.toml, a log, a message or the
window title.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
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

from studio.core.settings import PROVIDER_IDS, ProviderSettings, Settings
from studio.providers.errors import provider_name
from studio.providers.keys import env_name, key_file
from studio.ui.viewmodels.settings import (
    REMOTE_IDS,
    KeyEdit,
    ServersState,
    SettingsModel,
)

SERVER_COLOURS = {"up": "#2e7d32", "down": "#c62828", "not checked": "#8a8f98"}


class ServersBox(QWidget):
    """A farm's servers: the summary ("3 servers, 2 up, 5 queued"), one line per server (state,
    queue, GPU) and a Check button that asks them now."""

    def __init__(self, provider_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"servers-{provider_id}")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.check_button = QPushButton("Check", self)
        self.check_button.setObjectName(f"checkServers-{provider_id}")
        self.check_button.setToolTip("Ask every server for its queue and GPU now")
        self.summary = QLabel("Not checked yet", self)
        self.summary.setObjectName(f"serversSummary-{provider_id}")
        self.summary.setWordWrap(True)
        row.addWidget(self.check_button)
        row.addWidget(self.summary, 1)
        column.addLayout(row)
        self.lines = QLabel(self)
        self.lines.setObjectName(f"serversList-{provider_id}")
        self.lines.setWordWrap(True)
        self.lines.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.lines)
        self.state: ServersState | None = None

    def show_state(self, state: ServersState) -> None:
        self.state = state
        self.check_button.setEnabled(True)
        self.summary.setText(state.summary)
        self.lines.setText("<br>".join(
            f'<span style="color:{SERVER_COLOURS.get(s.state, "#8a8f98")}">●</span> '
            f"{html.escape(s.line)}" for s in state.servers))
        self.lines.setVisible(bool(state.servers))


class ProviderPage(QWidget):
    def __init__(self, provider_id: str, settings: ProviderSettings, models: tuple[str, ...],
                 default_url: str, key_state: str, key_path: Path,
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
        self.in_file.hide()  # until the keychain has answered
        self.warning.hide()
        form.addRow("", self.in_file)
        form.addRow("", self.warning)
        self.base_url = QLineEdit(settings.base_url or "", self)
        self.base_url.setPlaceholderText(default_url)
        form.addRow("Base URL", self.base_url)
        self.servers: ServersBox | None = None
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
        self.timeout = QDoubleSpinBox(self)
        self.timeout.setObjectName(f"timeout-{provider_id}")
        self.timeout.setRange(0.0, 3600.0)
        self.timeout.setDecimals(1)
        self.timeout.setSingleStep(5.0)
        self.timeout.setSuffix(" s")
        self.timeout.setSpecialValueText("provider default")
        self.timeout.setValue(settings.timeout or 0.0)
        self.timeout.setToolTip(
            "How long one exchange with the API may take in all (a submit, a status check, a "
            "download) before it counts as failed. " + env_name(provider_id, "TIMEOUT")
            + " in the environment wins over it.")
        form.addRow("Time limit per request", self.timeout)
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

    def show_key_state(self, state: str, keychain: bool) -> None:
        """What the keychain said: where the key is kept, and whether a file is the way."""
        self.key.setPlaceholderText(state)
        self.in_file.setVisible(not keychain)
        self.warning.setVisible(not keychain)

    def key_edit(self) -> KeyEdit:
        return KeyEdit(self.key.text(), self.remove.isChecked(), self.in_file.isChecked())

    def provider_settings(self, old: ProviderSettings) -> ProviderSettings:
        price = self.price.text().strip().replace(",", ".")
        return replace(
            old,
            base_url=self.base_url.text().strip() or None,
            preview_model=self.preview_model.currentText().strip() or None,
            final_model=self.final_model.currentText().strip() or None,
            concurrency=self.concurrency.value() or None,
            timeout=self._timeout(old.timeout),
            price_per_image=float(price) if price else None,
            key_in_file=self.in_file.isChecked() if self.in_file.isVisible() or
            old.key_in_file else False,
        )


    def _timeout(self, old: float | None) -> float | None:
        shown = self.timeout.value()
        if not shown:
            return None
        # A finer value from settings.toml than the box shows is kept as it was.
        if old is not None and round(old, self.timeout.decimals()) == shown:
            return old
        return shown


class SettingsDialog(QDialog):
    """Edits the settings; ``saved(Settings)`` after they are written."""

    saved = Signal(object)

    def __init__(self, model: SettingsModel, providers: Mapping[str, Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.model = model
        self.settings = model.settings
        self.providers = providers
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
        for pid in REMOTE_IDS:
            provider = providers.get(pid)
            models = tuple(provider.model_ids()) if provider is not None else ()
            default_url = getattr(type(provider), "default_base_url", "") if provider else ""
            page = ProviderPage(pid, self.settings.provider(pid), models, default_url,
                                model.key_states[pid], key_file(model.config_dir),
                                model.key_in_environment(pid), self.stack)
            page.test_button.clicked.connect(lambda _=False, p=page: self.test_connection(p))
            if provider is not None and hasattr(provider, "farm_status"):
                self._add_servers(page, provider)
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
        self.save_button.setEnabled(False)  # until the keychain has answered
        layout.addWidget(buttons)
        self.resize(820, 560)
        model.loaded.connect(self._keys_known)
        model.saved.connect(self._saved)
        model.saveFailed.connect(self._save_failed)
        model.load()

    @property
    def ready(self) -> bool:
        """The keychain has answered (the key fields say where each key is kept)."""
        return self.model.keychain is not None

    def _keys_known(self) -> None:
        keychain = bool(self.model.keychain)
        for pid, page in self.pages.items():
            page.show_key_state(self.model.key_states[pid], keychain)
        self.save_button.setEnabled(True)

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
        self.identity_threshold = QDoubleSpinBox(page)
        self.identity_threshold.setObjectName("identityThreshold")
        # The rules' bounds: above the 0.1 of drifting under it, at most 2.
        self.identity_threshold.setRange(0.11, 2.0)
        self.identity_threshold.setDecimals(2)
        self.identity_threshold.setSingleStep(0.01)
        self.identity_threshold.setValue(self.settings.identity_threshold)
        self.identity_threshold.setToolTip(
            "A render whose face is closer than this to the character's is the same person; "
            "the last 0.10 under it reads drifting. 0.60 is dlib's published threshold. The "
            "cards take the new verdicts when the settings are saved.")
        form.addRow("Identity threshold", self.identity_threshold)
        return page

    def _identity_threshold(self) -> float:
        """The threshold shown, or the settings' own when it was left as shown (a file may
        hold more decimals than the field)."""
        own = self.settings.identity_threshold
        shown = self.identity_threshold.value()
        return own if round(own, 2) == round(shown, 2) else round(shown, 2)

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
                       data_dir=self.data_dir.text().strip() or None,
                       identity_threshold=self._identity_threshold())

    def save(self) -> bool:
        """Write the keys and the settings (off the GUI thread); ``saved`` follows, or a
        sentence in the dialog. False when it cannot start yet."""
        if not self.ready or self.model.saving:
            return False
        self.message.setText("")
        self.save_button.setEnabled(False)
        self.model.save(self.collect(), {pid: page.key_edit()
                                         for pid, page in self.pages.items()})
        return True

    def _saved(self, settings: Settings) -> None:
        self.settings = settings
        for page in self.pages.values():
            page.key.clear()
        self.saved.emit(settings)
        self.accept()

    def _save_failed(self, sentence: str) -> None:
        self.error = sentence
        self.message.setText(sentence)
        self.save_button.setEnabled(True)

    # ------------------------------------------------------------------ a farm's servers
    def _add_servers(self, page: ProviderPage, provider: Any) -> None:
        """A provider that runs on the user's own servers (one URL, or several separated by
        commas) shows each server's state."""
        page.base_url.setToolTip("One server's URL, or several separated by commas: the "
                                 "renders are spread over them")
        box = ServersBox(page.provider_id, page)
        form = page.layout()
        if isinstance(form, QFormLayout):
            form.insertRow(form.rowCount() - 1, "Servers", box)
        page.servers = box
        box.check_button.clicked.connect(lambda _=False, p=page: self.check_servers(p))
        try:
            known = ServersState.of(provider.farm_status())
        except Exception:  # as last seen; the Check button asks again
            known = None
        if known is not None and known.servers:
            box.show_state(known)

    def check_servers(self, page: ProviderPage) -> None:
        box = page.servers
        if box is None:
            return
        box.check_button.setEnabled(False)
        box.summary.setText("Checking…")
        self.model.check_servers(page.provider_id, page.key.text().strip(), self.collect(),
                                 box.show_state)

    # ------------------------------------------------------------------ connection test
    def test_connection(self, page: ProviderPage) -> None:
        page.test_result.setText("Testing…")
        page.test_button.setEnabled(False)

        def report(text: str) -> None:
            page.test_button.setEnabled(True)
            page.test_result.setText(text)

        self.model.test_connection(page.provider_id, page.key.text().strip(), self.collect(),
                                   report)
