"""The same-person threshold is a setting (``identity_threshold``, dlib's 0.6 by default): it
round-trips through settings.toml, an older file without it keeps the default, and a value no
distance can be judged by is one sentence naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.settings import (
    DEFAULT_IDENTITY_THRESHOLD,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
    settings_to_dict,
)
from studio.identity import DEFAULT_THRESHOLD, IdentityRules
from studio.runtime import Runtime, RuntimeConfigError


def test_the_default_is_dlibs_published_threshold() -> None:
    assert DEFAULT_IDENTITY_THRESHOLD == DEFAULT_THRESHOLD == 0.6
    assert Settings().identity_threshold == 0.6
    assert "identity_threshold" not in settings_to_dict(Settings())  # files stay as they were


def test_the_threshold_round_trips_and_old_files_keep_the_default(tmp_path: Path) -> None:
    save_settings(tmp_path, Settings(identity_threshold=0.5))
    assert "identity_threshold = 0.5" in (tmp_path / "settings.toml").read_text("utf-8")
    assert load_settings(tmp_path).identity_threshold == 0.5
    (tmp_path / "settings.toml").write_text("schema_version = 1\nbudget_cap = 2.0\n", "utf-8")
    assert load_settings(tmp_path).identity_threshold == DEFAULT_IDENTITY_THRESHOLD
    (tmp_path / "settings.toml").write_text("identity_threshold = 1\n", "utf-8")
    assert load_settings(tmp_path).identity_threshold == 1.0


def test_a_threshold_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('identity_threshold = "tight"\n', "utf-8")
    with pytest.raises(SettingsError, match="'identity_threshold' must be a float"):
        load_settings(tmp_path)


@pytest.mark.parametrize("value", ["0", "-0.3", "2.5", "nan", "0.05"])
def test_the_rules_name_the_settings_file_for_a_threshold_out_of_range(
        tmp_path: Path, value: str) -> None:
    (tmp_path / "settings.toml").write_text(f"identity_threshold = {value}\n", "utf-8")
    runtime = Runtime({"STUDIO_CONFIG_DIR": str(tmp_path)})
    with pytest.raises(RuntimeConfigError) as raised:
        runtime.identity_rules()
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'settings.toml'}: identity_threshold: ")
    assert "\n" not in message


def test_the_rules_carry_the_configured_threshold(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text("identity_threshold = 0.45\n", "utf-8")
    rules = Runtime({"STUDIO_CONFIG_DIR": str(tmp_path)}).identity_rules()
    assert rules == IdentityRules(threshold=0.45)
    assert Runtime({"STUDIO_CONFIG_DIR": str(tmp_path / "none")}).identity_rules() == (
        IdentityRules())
