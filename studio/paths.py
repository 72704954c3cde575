"""Where the studio keeps its library and settings (DESIGN.md "Data location")."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from studio import APP_NAME


def data_dir(environ: Mapping[str, str], configured: str | None = None) -> Path:
    """The library folder: ``STUDIO_DATA_DIR``, else the location chosen in Settings, else the
    platform's user data dir."""
    from studio.library.paths import DATA_DIR_ENV, default_data_dir

    if not environ.get(DATA_DIR_ENV, "").strip() and configured:
        return Path(configured).expanduser()
    return default_data_dir(environ)


def config_dir(environ: Mapping[str, str]) -> Path:
    """The settings folder: ``STUDIO_CONFIG_DIR`` or the platform's user config dir."""
    override = environ.get("STUDIO_CONFIG_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_presets_file(environ: Mapping[str, str]) -> Path:
    return config_dir(environ) / "presets.toml"


def user_templates_file(environ: Mapping[str, str]) -> Path:
    """The user's sheet templates file (``templates.toml`` beside ``presets.toml``)."""
    return config_dir(environ) / "templates.toml"


def user_templates_dir(environ: Mapping[str, str]) -> Path:
    """A folder of the user's template files (``templates/*.toml``), one template set each."""
    return config_dir(environ) / "templates"
