"""Which provider a stage renders with: named, the sheet's, the Settings default, else offline."""

from __future__ import annotations

import pytest

from studio.core.request import Stage
from studio.core.settings import Settings
from studio.providers.keys import no_keychain
from studio.providers.registry import build_providers
from studio.render.plan import MissingKeyError, choose_provider
from studio.runtime import provider_envs


def providers(**keys: str):  # type: ignore[no-untyped-def]
    env = {f"STUDIO_{pid.upper()}_API_KEY": key for pid, key in keys.items()}
    return build_providers(provider_envs(env), Settings(), keychain=no_keychain)


def test_the_sheets_provider_when_it_has_a_key() -> None:
    choice = choose_provider(providers(modelslab="k", fal="f"), Stage.PREVIEW, "modelslab",
                             "flux-schnell", default_provider_id="fal")
    assert (choice.provider.id, choice.model, choice.note) == ("modelslab", "flux-schnell", "")


def test_the_settings_default_when_the_sheets_provider_has_no_key() -> None:
    choice = choose_provider(providers(fal="f"), Stage.PREVIEW, "modelslab", "flux-schnell",
                             default_provider_id="fal")
    assert choice.provider.id == "fal"
    assert choice.model == choice.provider.models().preview  # fal's own Schnell id
    assert "default preview provider fal from Settings" in choice.note


def test_offline_when_neither_has_a_key() -> None:
    choice = choose_provider(providers(), Stage.FINAL, "modelslab", "fluxgram-v1",
                             default_provider_id="replicate")
    assert choice.provider.id == "offline"
    assert "offline placeholder" in choice.note


def test_a_named_provider_without_a_key_is_refused() -> None:
    with pytest.raises(MissingKeyError, match="STUDIO_REPLICATE_API_KEY"):
        choose_provider(providers(fal="f"), Stage.PREVIEW, "fal", "fal-ai/flux/schnell",
                        provider_id="replicate", default_provider_id="fal")
