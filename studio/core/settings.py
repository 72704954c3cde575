"""User settings (``settings.toml`` in the config dir): per-provider options and stage defaults.

Only data and its (de)serialisation live here; reading keys from the OS keychain is the provider
layer's job and the settings dialog's, never this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from studio.core import toml_reader
from studio.core.files import write_atomic
from studio.core.request import Stage

#: Optional keys added later (a provider's ``timeout``) keep version 1: older studios ignore
#: keys they do not know, and files without them load as before.
SETTINGS_SCHEMA_VERSION = 1
SETTINGS_FILE_NAME = "settings.toml"
PROVIDER_IDS = ("modelslab", "replicate", "fal", "imageapi", "onemin", "bfl", "comfyui",
                "offline")
#: The face distance under which a render is the same person as the character: dlib's published
#: threshold for its ResNet descriptor (``studio.identity`` reads it from here).
DEFAULT_IDENTITY_THRESHOLD = 0.6


def env_name(provider_id: str, what: str) -> str:
    """The name of a provider's environment variable: ``STUDIO_<ID>_<WHAT>``."""
    return f"STUDIO_{provider_id.upper()}_{what}"


class SettingsError(ValueError):
    """The settings file cannot be read; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class ProviderEnv:
    """What the environment says about one provider (None where it says nothing); read by the
    composition root (``studio.runtime``) from ``STUDIO_<ID>_*`` variables."""

    api_key: str | None = None
    base_url: str | None = None
    concurrency: int | None = None
    #: Seconds for one whole HTTP exchange.
    timeout: float | None = None
    #: Any other ``STUDIO_<ID>_<NAME>`` variable, by NAME.
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """What the user configured for one provider. Every field is optional."""

    base_url: str | None = None
    concurrency: int | None = None
    price_per_image: float | None = None
    preview_model: str | None = None
    final_model: str | None = None
    #: Seconds one whole HTTP exchange with the provider may take (``STUDIO_<ID>_TIMEOUT`` wins);
    #: None keeps each phase's built-in deadline.
    timeout: float | None = None
    # The user chose, with a warning, to keep the key in a file readable only by them because
    # the system has no keychain. Stored in a separate file, never in settings.toml.
    key_in_file: bool = False


@dataclass(frozen=True, slots=True)
class Settings:
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    preview_provider: str | None = None
    final_provider: str | None = None
    budget_cap: float | None = None
    data_dir: str | None = None
    #: Identity scoring's same-person threshold (a face distance); checked where it is used.
    identity_threshold: float = DEFAULT_IDENTITY_THRESHOLD

    def stage_provider(self, stage: Stage) -> str | None:
        """The provider the user chose as the default for a stage, if any."""
        return self.preview_provider if stage is Stage.PREVIEW else self.final_provider

    def provider(self, provider_id: str) -> ProviderSettings:
        return self.providers.get(provider_id, ProviderSettings())

    def with_provider(self, provider_id: str, settings: ProviderSettings) -> Settings:
        providers = dict(self.providers)
        providers[provider_id] = settings
        return replace(self, providers=providers)


def _opt(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SettingsError(f"{where}: '{key}' must be a {kind.__name__}, not {value!r}")
    return value


def _positive(value: float | None, key: str, where: str) -> float | None:
    if value is not None and not 0 < value < float("inf"):
        raise SettingsError(f"{where}: '{key}' must be a number of seconds above 0, not {value!r}")
    return value


def settings_from_dict(data: Mapping[str, Any], where: str = "settings") -> Settings:
    version = data.get("schema_version", SETTINGS_SCHEMA_VERSION)
    if not isinstance(version, int) or version > SETTINGS_SCHEMA_VERSION:
        raise SettingsError(
            f"{where}: schema_version {version!r} is newer than this version of the studio "
            f"understands ({SETTINGS_SCHEMA_VERSION}); update the studio"
        )
    providers: dict[str, ProviderSettings] = {}
    raw_providers = data.get("providers", {})
    if not isinstance(raw_providers, dict):
        raise SettingsError(f"{where}: [providers] must be a table")
    for pid, table in raw_providers.items():
        if not isinstance(table, dict):
            raise SettingsError(f"{where}: [providers.{pid}] must be a table")
        at = f"{where} [providers.{pid}]"
        providers[pid] = ProviderSettings(
            base_url=_opt(table, "base_url", str, at),
            concurrency=_opt(table, "concurrency", int, at),
            price_per_image=_opt(table, "price_per_image", float, at),
            preview_model=_opt(table, "preview_model", str, at),
            final_model=_opt(table, "final_model", str, at),
            timeout=_positive(_opt(table, "timeout", float, at), "timeout", at),
            key_in_file=bool(_opt(table, "key_in_file", bool, at) or False),
        )
    threshold = _opt(data, "identity_threshold", float, where)
    return Settings(
        providers=providers,
        preview_provider=_opt(data, "preview_provider", str, where),
        final_provider=_opt(data, "final_provider", str, where),
        budget_cap=_opt(data, "budget_cap", float, where),
        data_dir=_opt(data, "data_dir", str, where),
        identity_threshold=DEFAULT_IDENTITY_THRESHOLD if threshold is None else threshold,
    )


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {"schema_version": SETTINGS_SCHEMA_VERSION}
    for key in ("preview_provider", "final_provider", "budget_cap", "data_dir"):
        value = getattr(settings, key)
        if value is not None:
            out[key] = value
    if settings.identity_threshold != DEFAULT_IDENTITY_THRESHOLD:
        out["identity_threshold"] = settings.identity_threshold
    providers: dict[str, Any] = {}
    for pid, ps in sorted(settings.providers.items()):
        table = {
            k: getattr(ps, k)
            for k in ("base_url", "concurrency", "price_per_image", "preview_model", "final_model",
                      "timeout")
            if getattr(ps, k) is not None
        }
        if ps.key_in_file:
            table["key_in_file"] = True
        providers[pid] = table
    if providers:
        out["providers"] = providers
    return out


def load_settings(config_dir: Path) -> Settings:
    """Settings from ``config_dir``; defaults when the file does not exist."""
    path = config_dir / SETTINGS_FILE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        data = toml_reader.loads(text)
    except toml_reader.DECODE_ERRORS as exc:
        raise SettingsError(f"{path}: {exc}; fix the file or delete it to start afresh") from exc
    return settings_from_dict(data, str(path))


def save_settings(config_dir: Path, settings: Settings) -> Path:
    """Write in one step (core.files) so a crash never leaves half a settings file."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / SETTINGS_FILE_NAME
    import tomli_w  # read when a file is written: a window shows itself without it

    write_atomic(path, tomli_w.dumps(settings_to_dict(settings)))
    return path
