"""The composition root: one rule for every folder, the only reader of ``STUDIO_*``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.core.settings import Settings, save_settings
from studio.runtime import Runtime, RuntimeConfigError, provider_env


def test_the_data_dir_follows_the_environment_then_settings(tmp_path: Path) -> None:
    assert Runtime({"STUDIO_DATA_DIR": str(tmp_path / "x")}).data_dir == tmp_path / "x"
    config = tmp_path / "cfg"
    bare = {"STUDIO_CONFIG_DIR": str(config)}
    default = Runtime(bare).data_dir
    assert default.name == "character-sheet-studio"
    assert Runtime({**bare, "STUDIO_DATA_DIR": "  "}).data_dir == default
    save_settings(config, Settings(data_dir=str(tmp_path / "chosen")))
    assert Runtime(bare).data_dir == tmp_path / "chosen"
    # The environment wins over the folder chosen in Settings.
    assert Runtime({**bare, "STUDIO_DATA_DIR": str(tmp_path / "env")}).data_dir == tmp_path / "env"
    assert Runtime(os.environ).data_dir == tmp_path / "data"  # the suite's isolation fixture


def test_config_and_log_folders_follow_the_environment(tmp_path: Path) -> None:
    runtime = Runtime({"STUDIO_CONFIG_DIR": str(tmp_path / "c"),
                       "STUDIO_LOG_DIR": str(tmp_path / "l")})
    assert runtime.config_dir == tmp_path / "c" and runtime.log_dir == tmp_path / "l"
    assert runtime.presets_file == tmp_path / "c" / "presets.toml"


def test_provider_variables_are_read_here_and_checked() -> None:
    env = {"STUDIO_FAL_API_KEY": " k ", "STUDIO_FAL_BASE_URL": "http://127.0.0.1:9",
           "STUDIO_FAL_CONCURRENCY": "3", "STUDIO_FAL_TIMEOUT": "12.5",
           "STUDIO_FAL_SOMETHING": "x"}
    fal = provider_env(env, "fal")
    assert (fal.api_key, fal.base_url, fal.concurrency, fal.timeout) == (
        "k", "http://127.0.0.1:9", 3, 12.5)
    assert fal.extra == {"SOMETHING": "x"}
    assert provider_env(env, "replicate").api_key is None
    for name, value in (("STUDIO_FAL_CONCURRENCY", "two"), ("STUDIO_FAL_CONCURRENCY", "0"),
                        ("STUDIO_FAL_TIMEOUT", "-1"), ("STUDIO_FAL_TIMEOUT", "nan")):
        with pytest.raises(RuntimeConfigError, match=name):
            provider_env({name: value}, "fal")


def test_a_broken_settings_file_is_a_sentence_or_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text("budget_cap = [", encoding="utf-8")
    runtime = Runtime({"STUDIO_CONFIG_DIR": str(tmp_path)})
    with pytest.raises(RuntimeConfigError, match=r"settings\.toml"):
        runtime.settings  # noqa: B018
    settings, problem = Runtime({"STUDIO_CONFIG_DIR": str(tmp_path)}).settings_or_defaults()
    assert settings == Settings() and "default settings are used" in problem


def test_no_other_module_reads_studio_variables() -> None:
    """DESIGN.md: the composition root is the only reader of ``STUDIO_*`` variables."""
    root = Path(__file__).resolve().parents[1] / "studio"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "runtime.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "environ" in text and ("STUDIO_" in text or "env_name(" in text):
            for line in text.splitlines():
                if "environ.get(" in line or "environ[" in line:
                    offenders.append(f"{path.relative_to(root)}: {line.strip()}")
    assert offenders == []


def test_a_providers_timeout_lives_in_settings_and_old_files_still_load(tmp_path: Path) -> None:
    from studio.core.settings import ProviderSettings, SettingsError, load_settings

    (tmp_path / "settings.toml").write_text(
        "schema_version = 1\n[providers.fal]\nconcurrency = 3\n", encoding="utf-8")
    assert load_settings(tmp_path).provider("fal").timeout is None  # written before the field
    save_settings(tmp_path, Settings(providers={"fal": ProviderSettings(timeout=45)}))
    assert load_settings(tmp_path).provider("fal").timeout == 45.0
    (tmp_path / "settings.toml").write_text("[providers.fal]\ntimeout = 0\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="timeout"):
        load_settings(tmp_path)


def test_the_log_is_a_redacted_file_created_only_when_something_is_logged(
    tmp_path: Path,
) -> None:
    import io
    import logging

    key = "sk-LOGGED-0123456789-abcdef"
    runtime = Runtime({"STUDIO_LOG_DIR": str(tmp_path / "logs")})
    runtime.secrets.add(key)
    echo = io.StringIO()
    with runtime.start_logging(stream=echo) as quiet:
        assert not (tmp_path / "logs").exists()  # nothing logged, nothing written
        logging.getLogger("studio.test").info("job %s answered %s", "j1", key.upper())
        assert quiet.path == tmp_path / "logs" / "studio.log"
    text = (tmp_path / "logs" / "studio.log").read_text(encoding="utf-8")
    assert "job j1 answered [redacted]" in text and key.upper() not in text
    assert echo.getvalue() == ""  # the terminal shows sentences only
    with runtime.start_logging(verbose=True, stream=echo):
        logging.getLogger("studio.test").debug("detail \x1b[31m%s", key[2:12])
    assert echo.getvalue() == "studio: [studio.test] detail \\x1b[31m[redacted]\n"
    # A log folder that cannot be made: no file, no noise, no crash.
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    with Runtime({"STUDIO_LOG_DIR": str(blocked / "logs")}).start_logging(stream=echo):
        logging.getLogger("studio.test").warning("still fine")
    assert not (blocked / "logs").exists()


def test_every_runtime_of_the_process_redacts_with_the_running_logs_keys(
    tmp_path: Path,
) -> None:
    import logging

    from studio.providers.keys import no_keychain

    env = {"STUDIO_LOG_DIR": str(tmp_path), "STUDIO_FAL_API_KEY": "fal-key-0123456789abcdef"}
    with Runtime(env).start_logging():
        # A command builds its own Runtime; the key its providers look up reaches the log's.
        providers = Runtime(env).providers(keychain=no_keychain)
        assert providers["fal"].configured
        logging.getLogger("studio.test").warning("echo %s", "FAL-KEY-0123456789ABCDEF")
    assert "[redacted]" in (tmp_path / "studio.log").read_text(encoding="utf-8")
    assert Runtime(env).secrets is not Runtime(env).secrets  # no log running: nothing shared
