"""Building providers from env + settings, keys, `studio providers` rows, errors and values."""

from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path

import pytest

from studio.core import codec
from studio.core.settings import PROVIDER_IDS, ProviderSettings, Settings
from studio.providers.base import Submission, Timings
from studio.providers.errors import (
    AuthenticationError,
    BadResponseError,
    ContentFilteredError,
    InvalidRequestError,
    KeyRefusedError,
    MayHaveBeenBilledError,
    OutOfCreditsError,
    ProviderError,
    ProviderFailedError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimitedError,
    Redactor,
    RenderCancelled,
    Secrets,
)
from studio.providers.http.classify import parse_retry_after, rate_limit_wait, resets_in
from studio.providers.keys import find_key, no_keychain, store_key_in_file
from studio.providers.modelslab import ModelsLabProvider
from studio.providers.offline import OfflineProvider
from studio.providers.registry import (
    ProviderConfigError,
    build_providers,
    default_provider,
    format_provider_status,
    provider_status,
)
from studio.runtime import RuntimeConfigError, provider_env, provider_envs
from tests.fakes.fixtures import SECRET_KEY

# ---------------------------------------------------------------- keys


def test_env_key_wins_over_keychain_and_file(tmp_path: Path) -> None:
    store_key_in_file(tmp_path, "fal", "from-file")
    env = {"STUDIO_FAL_API_KEY": "from-env"}
    assert find_key("fal", provider_env(env, "fal").api_key, tmp_path, key_in_file=True,
                    keychain=lambda _p: "from-keychain") == "from-env"
    assert find_key("fal", None, tmp_path, key_in_file=True,
                    keychain=lambda _p: "from-keychain") == "from-keychain"
    assert find_key("fal", None, tmp_path, key_in_file=True, keychain=no_keychain) == "from-file"


def test_key_file_only_when_the_user_chose_it(tmp_path: Path) -> None:
    path = store_key_in_file(tmp_path, "replicate", "r8_secret")
    assert path.stat().st_mode & 0o777 == 0o600
    assert find_key("replicate", None, tmp_path, keychain=no_keychain) is None
    assert find_key("replicate", None, tmp_path, key_in_file=True,
                    keychain=no_keychain) == "r8_secret"


def test_key_file_readable_by_others_is_ignored(tmp_path: Path) -> None:
    path = store_key_in_file(tmp_path, "replicate", "r8_secret")
    path.chmod(0o644)
    assert find_key("replicate", None, tmp_path, key_in_file=True, keychain=no_keychain) is None


def test_keychain_failure_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.errors import NoKeyringError

    from studio.providers.keys import read_keychain

    def broken(service: str, user: str) -> str:
        assert service == "character-sheet-studio" and user == "modelslab"
        raise NoKeyringError("no backend")

    monkeypatch.setattr(keyring, "get_password", broken)
    assert read_keychain("modelslab") is None


# ---------------------------------------------------------------- registry


def build(env: dict[str, str], settings: Settings | None = None):  # type: ignore[no-untyped-def]
    return build_providers(provider_envs(env), settings or Settings(), keychain=no_keychain)


def test_all_six_providers_offline_default_without_keys() -> None:
    providers = build({})
    assert set(providers) == set(PROVIDER_IDS)
    assert [p.id for p in providers.values() if p.configured] == ["offline"]
    assert isinstance(default_provider(providers, "modelslab"), OfflineProvider)


@pytest.mark.asyncio
async def test_each_provider_is_built_on_first_look_up() -> None:
    providers = build({"STUDIO_MODELSLAB_API_KEY": "k"})
    assert "comfyui" in providers and "nowhere" not in providers and len(providers) == 8
    assert set(providers) == set(PROVIDER_IDS)
    assert providers.built() == ()  # ids and `in` build nothing
    modelslab = providers["modelslab"]
    assert providers.get("modelslab") is modelslab  # built once
    assert providers.get("nowhere") is None
    assert providers.built() == (modelslab,)
    closed: list[str] = []

    async def aclose() -> None:
        closed.append("modelslab")

    modelslab.aclose = aclose  # type: ignore[method-assign]
    await providers.aclose()
    assert closed == ["modelslab"] and providers.built() == (modelslab,)


def test_rendering_through_one_api_imports_no_other_adapter() -> None:
    # Start-up time: the adapters (ComfyUI's above all) are imported when first built.
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from studio.core.settings import Settings\n"
        "from studio.providers.keys import no_keychain\n"
        "from studio.providers.registry import build_providers\n"
        "from studio.runtime import provider_envs\n"
        "p = build_providers(provider_envs({'STUDIO_MODELSLAB_API_KEY': 'k'}), Settings(),"
        " keychain=no_keychain)\n"
        "assert p['modelslab'].configured\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('studio.providers.')"
        " and m.count('.') == 2)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    loaded = set(json.loads(out))
    assert "studio.providers.modelslab" in loaded
    others = {f"studio.providers.{p}" for p in PROVIDER_IDS if p != "modelslab"}
    assert not loaded & others


def test_a_bad_comfyui_address_is_refused_at_once() -> None:
    with pytest.raises(ProviderConfigError):
        build({"STUDIO_COMFYUI_BASE_URL": "ftp://nowhere"})


def test_env_overrides_settings() -> None:
    settings = Settings().with_provider("modelslab", ProviderSettings(
        base_url="https://gateway.example", concurrency=3, final_model="fluxgram",
        price_per_image=0.01))
    env = {"STUDIO_MODELSLAB_API_KEY": "k", "STUDIO_MODELSLAB_BASE_URL": "http://127.0.0.1:9",
           "STUDIO_MODELSLAB_CONCURRENCY": "7"}
    provider = build(env, settings)["modelslab"]
    assert isinstance(provider, ModelsLabProvider)
    assert provider.configured and provider.base_url == "http://127.0.0.1:9"
    assert provider.concurrency == 7
    assert provider.models().final == "fluxgram"
    assert provider.price_per_image == 0.01
    assert default_provider(build(env, settings), "modelslab") is not None
    from_settings = build({}, settings)["modelslab"]
    assert isinstance(from_settings, ModelsLabProvider)
    assert from_settings.base_url == "https://gateway.example" and from_settings.concurrency == 3


def test_defaults() -> None:
    providers = build({})
    assert providers["modelslab"].concurrency == 5 and providers["fal"].concurrency == 2
    assert providers["modelslab"].models().preview == "flux-schnell"
    assert providers["modelslab"].models().final == "fluxgram-v1"
    assert providers["replicate"].base_url == "https://api.replicate.com"


@pytest.mark.parametrize("value", ["zero", "0", "-2"])
def test_bad_concurrency_is_a_clear_error(value: str) -> None:
    with pytest.raises(RuntimeConfigError, match="STUDIO_FAL_CONCURRENCY"):
        build({"STUDIO_FAL_CONCURRENCY": value})


def test_modelslab_endpoints_from_env() -> None:
    provider = build({"STUDIO_MODELSLAB_ENDPOINTS": "fluxgram-v1=realtime, my-model=images"})[
        "modelslab"]
    assert isinstance(provider, ModelsLabProvider)
    assert provider.profile("fluxgram-v1").endpoint == "realtime"
    assert provider.profile("my-model").endpoint == "images"
    with pytest.raises(ProviderConfigError):
        build({"STUDIO_MODELSLAB_ENDPOINTS": "x=somewhere"})


def test_status_rows_and_text_name_all_six_without_keys() -> None:
    providers = build({"STUDIO_REPLICATE_API_KEY": SECRET_KEY})
    rows = provider_status(providers)
    assert [r.id for r in rows] == list(PROVIDER_IDS)
    assert {r.id: r.configured for r in rows}["replicate"] is True
    text = format_provider_status(rows)
    assert SECRET_KEY not in text
    assert "modelslab  ModelsLab: not configured (set STUDIO_MODELSLAB_API_KEY" in text
    assert "replicate  Replicate: configured" in text
    assert "- fluxgram-v1: steps 1-50 (default 30), guidance 1-20, negative prompt" in text
    assert "aspect ratios 1:1 16:9" in text
    assert "offline  the offline placeholder: ready" in text


# ---------------------------------------------------------------- errors and values


ALL_ERRORS = [AuthenticationError, OutOfCreditsError, RateLimitedError, InvalidRequestError,
              ContentFilteredError, ProviderFailedError, BadResponseError, ProviderTimeout,
              RenderCancelled, ProviderUnreachable, KeyRefusedError, MayHaveBeenBilledError]


@pytest.mark.parametrize("cls", ALL_ERRORS)
def test_every_error_is_a_sentence_naming_provider_scene_and_advice(cls: type) -> None:
    error = cls("fal", f"something went wrong with {SECRET_KEY}")
    assert isinstance(error, ProviderError) and error.provider == "fal"
    error.redacted(Redactor([SECRET_KEY]))
    message = error.user_message("Rooftop")
    assert "fal" in message and "“Rooftop”" in message and message.endswith(".")
    assert SECRET_KEY not in message + str(error) + repr(error) + str(error.args)
    assert error.kind != ""


def test_redactor_handles_nested_data() -> None:
    redactor = Redactor([SECRET_KEY, None, ""])
    data = {"key": SECRET_KEY, "list": [f"Bearer {SECRET_KEY}"], SECRET_KEY: 1, "n": 2}
    clean = redactor.data(data)
    assert SECRET_KEY not in json.dumps(clean) and clean["n"] == 2
    assert SECRET_KEY not in repr(redactor)


@pytest.mark.parametrize("echo", [
    SECRET_KEY, SECRET_KEY.upper(), SECRET_KEY.lower(), SECRET_KEY[:-1], SECRET_KEY[1:],
    SECRET_KEY[3:11], f"{SECRET_KEY[:10]}…{SECRET_KEY[10:]}", SECRET_KEY.swapcase()[5:20],
])
def test_redaction_catches_the_key_in_any_case_and_any_run_of_eight(echo: str) -> None:
    redactor = Redactor([SECRET_KEY])
    text = f"job id abc{echo}xyz failed"
    clean = redactor.text(text)
    assert redactor.contains(text) and "[redacted]" in clean
    lower = clean.lower()
    for i in range(len(SECRET_KEY) - 7):
        assert SECRET_KEY[i:i + 8].lower() not in lower, clean
    assert clean.startswith("job id abc") and clean.endswith("xyz failed")


def test_redaction_leaves_other_text_alone() -> None:
    redactor = Redactor([SECRET_KEY])
    text = "a seven: " + SECRET_KEY[:7] + ", spaced: " + " ".join(SECRET_KEY)
    assert redactor.text(text) == text and not redactor.contains(text)
    assert Redactor([None, "", "abc"]).text("abc abc") == "abc abc"  # too short to be a key


def test_secrets_grow_as_keys_are_looked_up() -> None:
    secrets = Secrets()
    assert secrets.text(SECRET_KEY) == SECRET_KEY
    providers = build_providers(provider_envs({"STUDIO_FAL_API_KEY": SECRET_KEY}), Settings(),
                                keychain=no_keychain, secrets=secrets)
    assert providers["fal"].configured
    assert secrets.text(f"x {SECRET_KEY.upper()} y") == "x [redacted] y"
    assert SECRET_KEY not in repr(secrets)


def test_throttle_hints() -> None:
    now = time.time()
    detail = "Request was throttled. Your rate limit resets in ~30s."
    assert resets_in(detail) == 30
    assert resets_in("limit resets in 2 minutes") == 120
    assert resets_in("slow down") is None
    assert rate_limit_wait({}, {"detail": detail}, detail, now) == 30
    assert rate_limit_wait({"retry-after": "4"}, None, detail, now) == 4
    assert rate_limit_wait({}, {"retry_after": 7}, "", now) == 7
    assert rate_limit_wait({"x-ratelimit-reset": str(now + 12)}, None, "", now) == \
        pytest.approx(12, abs=1)
    assert rate_limit_wait({}, None, "Too many requests", now) is None


def test_retry_after_forms() -> None:
    now = time.time()
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after("1.5", now) == 1.5
    date = email.utils.formatdate(now + 60, usegmt=True)
    assert 55 < (parse_retry_after(date, now) or 0) <= 60
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_submission_round_trip() -> None:
    submission = Submission(
        provider="fal", model="fal-ai/flux/schnell", request_id="r1", submitted_at=1.0,
        submit_seconds=0.2, request_body={"prompt": "p", "nested": {"a": [1, 2]}},
        notes=("n",), seed=3, width=512, height=768, poll_url="https://q/s", outputs=("u",),
        info={"state": "submitted", "position": 2}, seed_returned=None,
    )
    text = codec.dumps(submission)
    assert codec.loads(Submission, text) == submission
    assert Submission.from_data(json.loads(text)) == submission
    # A journal written before the codec (a "format" key, no seed_returned) still loads.
    old = {k: v for k, v in json.loads(text).items() if k != "seed_returned"}
    assert Submission.from_data({**old, "format": 1}) == submission
    with pytest.raises(codec.CodecError, match="request_id"):
        Submission.from_data({**old, "request_id": 7})


def test_timings_total() -> None:
    assert Timings(1, 2, 3, 4).total == 10


@pytest.mark.asyncio
async def test_built_provider_reaches_a_fake_through_the_given_transport(
    modelslab_server, fast_clock
) -> None:
    import httpx

    from tests.fakes.sample import sample_request

    class CountingTransport(httpx.AsyncHTTPTransport):
        calls = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            CountingTransport.calls += 1
            return await super().handle_async_request(request)

    env = {"STUDIO_MODELSLAB_API_KEY": SECRET_KEY,
           "STUDIO_MODELSLAB_BASE_URL": modelslab_server.base_url}
    providers = build_providers(provider_envs(env), Settings(),
                                http_transport=CountingTransport(),
                                clock=fast_clock, keychain=no_keychain)
    try:
        result = await default_provider(providers, "modelslab").generate(sample_request())
    finally:
        for provider in providers.values():
            await provider.aclose()
    assert result.provider == "modelslab"
    assert CountingTransport.calls == 3  # submit, fetch, image
    # The given clock waited the eta (counted from the acceptance) before the one fetch.
    assert fast_clock.sleeps == [pytest.approx(0.05, abs=0.02)]


def test_the_keychain_is_asked_only_for_providers_in_use() -> None:
    asked: list[str] = []

    def keychain(provider_id: str) -> str | None:
        asked.append(provider_id)
        return "from-keychain" if provider_id == "fal" else None

    providers = build_providers(provider_envs({"STUDIO_MODELSLAB_API_KEY": "k"}), Settings(),
                                keychain=keychain)
    assert asked == []
    assert providers["modelslab"].configured and asked == []  # the environment answers
    assert providers["fal"].configured and asked == ["fal"]
    assert providers["fal"].configured and asked == ["fal"]  # asked once
    assert not providers["replicate"].configured and asked == ["fal", "replicate"]
