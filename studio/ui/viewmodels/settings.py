"""The Settings dialog's view-model: where each provider's key is kept (asked of the system keychain
off the GUI thread), saving keys and settings (off the GUI thread too), and the connection test.

A key typed in Settings goes to the keychain (or, by the user's explicit choice, the 0600 key
file) and nowhere else: never to settings.toml, a log, a message or the window title.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from studio.core.settings import PROVIDER_IDS, ProviderEnv, Settings, save_settings
from studio.providers.errors import provider_name
from studio.providers.keys import (
    KEYRING_SERVICE,
    env_name,
    key_file,
    remove_key_from_file,
    store_key_in_file,
)
from studio.ui.viewmodels.background import Background

log = logging.getLogger("studio.ui.settings")

REMOTE_IDS = tuple(p for p in PROVIDER_IDS if p != "offline")


class KeyStore(Protocol):
    """Where API keys live. ``available`` is False when the system has no keychain. Every
    method may block (a keychain daemon): call them off the GUI thread."""

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
    remove_key_from_file(config_dir, provider_id)


CHECKING = "checking the system keychain…"


@dataclass(frozen=True, slots=True)
class KeyEdit:
    """What the user asked for one provider's key when saving."""

    typed: str = ""
    remove: bool = False
    in_file: bool = False


@dataclass(slots=True)
class SaveOutcome:
    settings: Settings
    problems: list[str] = field(default_factory=list)


class SettingsModel(QObject):
    """``loaded`` when the keychain has said which keys it holds; ``saved(Settings)`` after the
    keys and settings were written; ``saveFailed(sentence)`` when they could not be."""

    loaded = Signal()
    saved = Signal(object)
    saveFailed = Signal(str)

    def __init__(self, settings: Settings, config_dir: Path,
                 provider_envs: Mapping[str, ProviderEnv], keys: KeyStore,
                 background: Background, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.config_dir = config_dir
        self.provider_envs = provider_envs
        self.keys = keys
        self._bg = background
        #: None until the keychain answered.
        self.keychain: bool | None = None
        self.key_states: dict[str, str] = dict.fromkeys(REMOTE_IDS, CHECKING)
        self.saving = False

    # ------------------------------------------------------------------ reading
    def load(self) -> None:
        keys, settings, config_dir = self.keys, self.settings, self.config_dir

        def read() -> tuple[bool, dict[str, str]]:
            keychain = keys.available()
            states = {}
            for pid in REMOTE_IDS:
                if keychain and keys.has(pid):
                    states[pid] = "a key is stored in the system keychain; type to replace it"
                elif settings.provider(pid).key_in_file and _file_has_key(config_dir, pid):
                    states[pid] = "a key is stored in the key file; type to replace it"
                else:
                    states[pid] = "no key yet: paste it here"
            return keychain, states

        def done(result: tuple[bool, dict[str, str]]) -> None:
            self.keychain, self.key_states = result
            self.loaded.emit()

        def failed(exc: BaseException) -> None:
            self.keychain = False
            self.key_states = dict.fromkeys(REMOTE_IDS, "the keychain could not be read")
            self.loaded.emit()

        self._bg.run(read, done, failed, owner=self, what="Asking the system keychain for the keys")

    def key_in_environment(self, provider_id: str) -> bool:
        return (self.provider_envs.get(provider_id) or ProviderEnv()).api_key is not None

    # ------------------------------------------------------------------ saving
    def save(self, settings: Settings, edits: Mapping[str, KeyEdit]) -> None:
        """Write the keys (keychain, or the key file where the user chose it) and the
        settings, on a worker; then ``saved`` or ``saveFailed``."""
        if self.saving or self.keychain is None:
            return
        self.saving = True
        keys, config_dir, keychain = self.keys, self.config_dir, self.keychain

        def write() -> SaveOutcome:
            outcome = SaveOutcome(settings)
            for pid, edit in edits.items():
                outcome.settings = _store_key(keys, keychain, config_dir, pid, edit, outcome)
            if not outcome.problems:
                save_settings(config_dir, outcome.settings)
            return outcome

        def done(outcome: SaveOutcome) -> None:
            self.saving = False
            if outcome.problems:
                self.saveFailed.emit(" ".join(outcome.problems))
                return
            self.settings = outcome.settings
            self.saved.emit(outcome.settings)

        def failed(exc: BaseException) -> None:
            self.saving = False
            self.saveFailed.emit(f"The settings could not be saved: {exc}")

        self._bg.run(write, done, failed, owner=self, what="Saving the settings")

    # ------------------------------------------------------------------ connection test
    def test_connection(self, provider_id: str, key: str, settings: Settings,
                        report: Callable[[str], None]) -> None:
        self._bg.start(check_connection(provider_id, key, settings, self.config_dir,
                                        self.provider_envs, self._bg.call),
                       "Testing the connection", report,
                       lambda exc: report(f"The test of {provider_name(provider_id)} failed: "
                                          f"{type(exc).__name__}"))


    # ------------------------------------------------------------------ a farm's servers
    def check_servers(self, provider_id: str, key: str, settings: Settings,
                      report: Callable[[ServersState], None]) -> None:
        """Ask each of the provider's servers how it is (off the GUI thread); ``report`` gets
        the state, or a sentence when the servers cannot be asked."""
        self._bg.start(servers_state(provider_id, key, settings, self.config_dir,
                                     self.provider_envs, self._bg.call),
                       "Checking the servers", report,
                       lambda exc: report(ServersState(
                           f"The servers of {provider_name(provider_id)} could not be checked: "
                           f"{exc}")))


@dataclass(frozen=True, slots=True)
class ServerLine:
    """One server as Settings lists it."""

    url: str
    state: str  # up | down | not checked
    line: str


@dataclass(frozen=True, slots=True)
class ServersState:
    """A farm as Settings shows it: ``3 servers, 2 up, 5 queued`` and each server's line."""

    summary: str
    servers: tuple[ServerLine, ...] = ()

    @classmethod
    def of(cls, status: Any) -> ServersState:
        """From a provider's ``FarmStatus`` (no secrets in it)."""
        return cls(status.sentence(), tuple(
            ServerLine(s.url, s.state if s.state != "unknown" else "not checked", s.line())
            for s in status.servers))


async def servers_state(provider_id: str, key: str, settings: Settings, config_dir: Path,
                        provider_envs: Mapping[str, ProviderEnv],
                        blocking: Callable[..., Awaitable[Any]]) -> ServersState:
    """Each server of ``provider_id`` (the base URLs of ``settings``, or the environment's) as
    it answers now, within a few seconds."""
    from studio.providers.registry import build_providers

    envs = dict(provider_envs)
    if key:
        envs[provider_id] = replace(envs.get(provider_id) or ProviderEnv(), api_key=key)
    providers = await blocking(lambda: dict(build_providers(envs, settings, config_dir)))
    try:
        provider = providers[provider_id]
        if not hasattr(provider, "check_servers"):
            return ServersState(f"{provider_name(provider_id)} has no servers of its own.")
        return ServersState.of(await provider.check_servers())
    finally:
        for p in providers.values():
            await p.aclose()


def _store_key(keys: KeyStore, keychain: bool, config_dir: Path, pid: str, edit: KeyEdit,
               outcome: SaveOutcome) -> Settings:
    """Keep or forget one provider's key (worker thread); problems go to ``outcome``."""
    settings = outcome.settings
    typed = edit.typed.strip()
    if edit.remove:
        if keychain:
            keys.delete(pid)
        _remove_from_file(config_dir, pid)
        return settings
    if not typed:
        return settings
    if keychain:
        try:
            keys.save(pid, typed)
        except Exception as exc:
            outcome.problems.append(f"The key for {provider_name(pid)} could not be stored in "
                                    f"the keychain ({type(exc).__name__}).")
        return settings
    if edit.in_file:
        store_key_in_file(config_dir, pid, typed)
        return settings.with_provider(pid, replace(settings.provider(pid), key_in_file=True))
    outcome.problems.append(
        f"This system has no keychain, so the key for {provider_name(pid)} was not kept: tick "
        "\u201cKeep the key in a file only I can read\u201d (see the warning), or set "
        f"{env_name(pid, 'API_KEY')} in the environment.")
    return settings


async def check_connection(provider_id: str, key: str, settings: Settings, config_dir: Path,
                           provider_envs: Mapping[str, ProviderEnv],
                           blocking: Callable[..., Awaitable[Any]]) -> str:
    """A sentence saying whether the provider answers (and accepts the key, where it can tell).

    Uses the provider's own ``check_connection`` when it has one; else asks the server for its
    base URL, which proves it is reachable but not that the key is right. ``blocking`` runs the
    keychain look-up off the event loop's thread (``Background.call``).
    """
    import httpx

    from studio.providers.registry import build_providers

    envs = dict(provider_envs)
    if key:
        envs[provider_id] = replace(envs.get(provider_id) or ProviderEnv(), api_key=key)

    def build() -> tuple[dict[str, Any], bool]:
        built = dict(build_providers(envs, settings, config_dir))
        return built, built[provider_id].configured  # the key is looked up once, here

    providers, configured = await blocking(build)
    provider = providers[provider_id]
    name = provider_name(provider_id)
    secret = key or ""
    try:
        checker = getattr(provider, "check_connection", None)
        if checker is not None:
            result = await checker()
            return _redact(str(result), secret)
        if not configured:
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
