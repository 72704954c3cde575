"""Where API keys come from: ``STUDIO_<ID>_API_KEY``, then the OS keychain, then (only when the
user chose it) a file readable by them alone. Never settings.toml, never a log.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Callable
from pathlib import Path

from studio.core.files import write_atomic
from studio.core.settings import env_name

__all__ = ["KEYRING_SERVICE", "Keychain", "env_name", "find_key", "key_file", "missing_setup",
           "no_keychain", "read_keychain", "store_key_in_file"]

KEYRING_SERVICE = "character-sheet-studio"
KEY_FILE_NAME = "keys"

log = logging.getLogger("studio.providers.keys")

Keychain = Callable[[str], "str | None"]


def no_keychain(provider_id: str) -> str | None:
    """A keychain that holds nothing (tests, CI)."""
    return None


def missing_setup(provider_id: str) -> tuple[str, str]:
    """What an unconfigured provider lacks and how to give it: ("has no API key configured",
    "set STUDIO_FAL_API_KEY or add the key in Settings → Providers"). ComfyUI needs a server
    address, not a key."""
    if provider_id == "comfyui":
        return ("has no server configured",
                f"set {env_name(provider_id, 'BASE_URL')} to your ComfyUI server's address "
                "(several separated by commas)")
    return ("has no API key configured",
            f"set {env_name(provider_id, 'API_KEY')} or add the key in Settings → Providers")


def key_file(config_dir: Path) -> Path:
    return config_dir / KEY_FILE_NAME


def read_keychain(provider_id: str) -> str | None:
    """The key stored in the OS keychain under service ``character-sheet-studio``."""
    try:
        import keyring
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, provider_id)
    except Exception as exc:  # backends raise their own types (D-Bus, locked keychains)
        # No usable backend (headless CI, locked keychain): no key, not a crash.
        log.info("the system keychain cannot be read (%s)", type(exc).__name__)
        return None
    return value or None


def _from_file(config_dir: Path, provider_id: str) -> str | None:
    path = key_file(config_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by other users; its keys are ignored until it is mode 0600",
                    path)
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == provider_id and value.strip():
            return value.strip()
    return None


def find_key(
    provider_id: str,
    env_key: str | None,
    config_dir: Path | None = None,
    *,
    key_in_file: bool = False,
    keychain: Keychain | None = None,
) -> str | None:
    """The API key for ``provider_id``: ``env_key`` (its ``STUDIO_<ID>_API_KEY``), else the OS
    keychain, else the key file the user chose; None when none is configured.

    ``keychain`` reads the OS keychain (default: keyring); tests pass a fake or ``no_keychain``.
    """
    if env_key:
        return env_key
    value = (keychain or read_keychain)(provider_id) or ""
    if value:
        return value
    if key_in_file and config_dir is not None:
        return _from_file(config_dir, provider_id)
    return None


def store_key_in_file(config_dir: Path, provider_id: str, key: str) -> Path:
    """Keep a key in the 0600 key file (only after the user chose this, with a warning)."""
    path = key_file(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    lines: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep:
                lines[name.strip()] = value.strip()
    lines[provider_id] = key.strip()
    write_atomic(path, "".join(f"{k}={v}\n" for k, v in sorted(lines.items())), mode=0o600)
    return path


def remove_key_from_file(config_dir: Path, provider_id: str) -> None:
    """Drop ``provider_id``'s line from the key file (the others stay, the file stays 0600)."""
    path = key_file(config_dir)
    if not path.exists():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.partition("=")[0].strip() != provider_id]
    write_atomic(path, "".join(f"{line}\n" for line in kept), mode=0o600)
