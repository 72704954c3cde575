"""Building the providers from the environment and settings, and describing them.

The composition root (``studio.runtime``) reads each provider's environment and calls
:func:`build_providers` once; the :class:`Providers` mapping is passed down. What the
environment says (``STUDIO_<ID>_API_KEY``, ``_BASE_URL``, ``_CONCURRENCY``, ``_TIMEOUT``) wins
over settings; settings win over the built-in defaults.

Each provider is built, and its adapter module imported, the first time it is looked up: a
command that renders through one API does not pay for importing the seven others (ComfyUI's
alone is a tenth of a start-up). Settings that cannot be used are still refused at once, by
:func:`build_providers`.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.capabilities import ModelCapabilities
from studio.core.references import ReferenceReader
from studio.core.settings import PROVIDER_IDS, ProviderEnv, Settings
from studio.providers.base import Clock, Provider
from studio.providers.errors import Secrets, provider_name
from studio.providers.keys import Keychain, env_name, find_key, missing_setup

if TYPE_CHECKING:
    import httpx

    from studio.providers.comfyui.provider import ComfyUIProvider
    from studio.providers.http import Deadlines, HttpProvider, RetryPolicy
    from studio.providers.modelslab import Endpoint

#: Where each hosted API's adapter lives (module, class), imported when it is first built.
REMOTE_CLASSES: Mapping[str, tuple[str, str]] = {
    "modelslab": ("studio.providers.modelslab", "ModelsLabProvider"),
    "replicate": ("studio.providers.replicate", "ReplicateProvider"),
    "fal": ("studio.providers.fal", "FalProvider"),
    "imageapi": ("studio.providers.imageapi", "ImageApiProvider"),
    "onemin": ("studio.providers.onemin", "OneMinProvider"),
    "bfl": ("studio.providers.bfl", "BflProvider"),
}

assert set(REMOTE_CLASSES) | {"comfyui", "offline"} == set(PROVIDER_IDS)


def remote_class(provider_id: str) -> type[HttpProvider]:
    """The adapter class of a hosted API (its module imported now)."""
    module, name = REMOTE_CLASSES[provider_id]
    cls: type[HttpProvider] = getattr(importlib.import_module(module), name)
    return cls


class Providers(Mapping[str, Provider]):
    """Every provider by id, configured or not; each is built on its first look-up.

    Iterating the ids and ``in`` build nothing; ``[id]``, ``get`` and ``values`` build what they
    return. :meth:`aclose` closes the providers that were built.
    """

    def __init__(self, builders: Mapping[str, Callable[[], Provider]]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, Provider] = {}

    def __getitem__(self, provider_id: str) -> Provider:
        provider = self._built.get(provider_id)
        if provider is None:
            provider = self._built[provider_id] = self._builders[provider_id]()
        return provider

    def __contains__(self, provider_id: object) -> bool:
        return provider_id in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)

    def built(self) -> tuple[Provider, ...]:
        """The providers looked up so far (the only ones holding connections)."""
        return tuple(self._built.values())

    async def aclose(self) -> None:
        """Release the network resources of every provider built."""
        for provider in self.built():
            await provider.aclose()


class ProviderConfigError(ValueError):
    """An environment variable has a value the studio cannot use; the message says which."""


def _comfyui(
    env: ProviderEnv,
    settings: Settings,
    config_dir: Path | None,
    keychain: Keychain | None,
    clock: Clock | None,
    deadline: float | None,
    secrets: Secrets | None,
) -> Callable[[], ComfyUIProvider]:
    """``STUDIO_COMFYUI_BASE_URL`` (one URL or a comma-separated farm), the optional key for
    an authenticating proxy, per-server concurrency, the exchange timeout and the workflow files
    ``STUDIO_COMFYUI_WORKFLOW_PREVIEW`` / ``_FINAL``. The server list is checked now; the
    provider is built by the returned function."""
    ps = settings.provider("comfyui")
    urls: list[str] = []
    raw = env.base_url or ps.base_url or ""
    if raw.strip():  # nothing configured: nothing to check, and no farm code to import
        from studio.providers.comfyui.farm import FarmConfigError, parse_server_urls

        where = env_name("comfyui", "BASE_URL") if env.base_url \
            else "Settings → Providers → ComfyUI"
        try:
            urls = list(parse_server_urls(raw, where))
        except FarmConfigError as exc:
            raise ProviderConfigError(str(exc)) from None
    kwargs: dict[str, Any] = {}
    timeout = env.timeout if env.timeout is not None else ps.timeout
    if timeout is not None:
        kwargs["exchange_seconds"] = timeout
    if deadline is not None:
        kwargs["deadline"] = deadline

    def workflow(name: str) -> Path | None:
        raw = env.extra.get(name, "").strip()
        return Path(raw).expanduser() if raw else None

    look_up = functools.partial(find_key, "comfyui", env.api_key, config_dir,
                                key_in_file=ps.key_in_file, keychain=keychain)

    def key() -> str | None:
        found = look_up()
        if secrets is not None:
            secrets.add(found)  # the log redacts it too
        return found

    def build() -> ComfyUIProvider:
        from studio.providers.comfyui.provider import ComfyUIProvider

        return ComfyUIProvider(
            base_urls=urls,
            api_key=key,
            concurrency=env.concurrency or ps.concurrency,
            price_per_image=ps.price_per_image,
            preview_model=ps.preview_model,
            final_model=ps.final_model,
            workflow_preview=workflow("WORKFLOW_PREVIEW"),
            workflow_final=workflow("WORKFLOW_FINAL"),
            clock=clock,
            **kwargs,
        )

    return build


def _modelslab_endpoints(env: ProviderEnv) -> dict[str, Endpoint]:
    """``STUDIO_MODELSLAB_ENDPOINTS="fluxgram-v1=images,flux-schnell=realtime"``."""
    name = env_name("modelslab", "ENDPOINTS")
    out: dict[str, Endpoint] = {}
    for item in env.extra.get("ENDPOINTS", "").split(","):
        model, sep, endpoint = item.strip().partition("=")
        if not item.strip():
            continue
        endpoint = endpoint.strip()
        if not sep or endpoint not in ("images", "realtime"):
            raise ProviderConfigError(
                f"{name}: write model=images or model=realtime, not {item.strip()!r}")
        out[model.strip()] = "images" if endpoint == "images" else "realtime"
    return out


def build_providers(
    envs: Mapping[str, ProviderEnv],
    settings: Settings,
    config_dir: Path | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
    *,
    clock: Clock | None = None,
    keychain: Keychain | None = None,
    retry: RetryPolicy | None = None,
    deadlines: Deadlines | None = None,
    job_deadline: float | None = None,
    rate_limit_patience: float | None = None,
    secrets: Secrets | None = None,
    references: ReferenceReader | None = None,
) -> Providers:
    """Every provider, keyed by id, configured or not (``Provider.configured`` tells), each
    built on first look-up; a setting that cannot be used raises ProviderConfigError now.

    Each exchange's deadline is ``STUDIO_<ID>_TIMEOUT``, else the provider's ``timeout`` in
    Settings, else the provider's built-in one per phase (``deadlines`` replaces those, for
    tests). ``secrets`` learns each key as it is looked up, for the log's redaction.
    ``references`` reads reference images by hash for the providers that send them.
    """
    builders: dict[str, Callable[[], Provider]] = {}
    for pid in REMOTE_CLASSES:
        ps = settings.provider(pid)
        env = envs.get(pid) or ProviderEnv()
        kwargs: dict[str, Any] = {
            "api_key": functools.partial(find_key, pid, env.api_key, config_dir,
                                         key_in_file=ps.key_in_file, keychain=keychain),
            "base_url": env.base_url or ps.base_url,
            "concurrency": env.concurrency or ps.concurrency,
            "price_per_image": ps.price_per_image,
            "preview_model": ps.preview_model,
            "final_model": ps.final_model,
            "clock": clock,
            "transport": http_transport,
            "retry": retry,
            "timeout": env.timeout if env.timeout is not None else ps.timeout,
            "deadlines": deadlines,
            "secrets": secrets,
            "references": references,
        }
        if job_deadline is not None:
            kwargs["job_deadline"] = job_deadline
        if rate_limit_patience is not None:
            kwargs["rate_limit_patience"] = rate_limit_patience
        if pid == "modelslab":
            kwargs["endpoints"] = _modelslab_endpoints(env)
        if pid == "fal" and env.extra.get("STORAGE_URL", "").strip():
            # ``STUDIO_FAL_STORAGE_URL``: where reference images are uploaded (fal's storage
            # API; by default rest.fal.ai, or the base URL when one is set).
            kwargs["storage_url"] = env.extra["STORAGE_URL"].strip()
        builders[pid] = functools.partial(_build_remote, pid, kwargs)
    builders["comfyui"] = _comfyui(envs.get("comfyui") or ProviderEnv(), settings, config_dir,
                                   keychain, clock, job_deadline, secrets)
    builders["offline"] = functools.partial(_offline, references)
    return Providers(builders)


def _build_remote(provider_id: str, kwargs: Mapping[str, Any]) -> Provider:
    return remote_class(provider_id)(**kwargs)


def _offline(references: ReferenceReader | None) -> Provider:
    from studio.providers.offline import OfflineProvider

    return OfflineProvider(references=references)


def default_provider(providers: Mapping[str, Provider], wanted: str | None) -> Provider:
    """``wanted`` when it is configured, else the offline placeholder (no key, no network)."""
    chosen = providers.get(wanted or "")
    if chosen is not None and chosen.configured:
        return chosen
    return providers["offline"]


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """One row of ``studio providers``."""

    id: str
    name: str
    configured: bool
    base_url: str
    concurrency: int
    preview_model: str
    final_model: str
    models: tuple[ModelCapabilities, ...]
    #: For a farm (ComfyUI): each server's state, from :meth:`FarmStatus.to_dict`.
    servers: dict[str, Any] | None = None
    #: Seconds one whole exchange may take, per phase (None: no network).
    deadlines: dict[str, float] | None = None


def capability_summary(caps: ModelCapabilities) -> str:
    """``steps 1-4 (default 4), no guidance, no negative, aspect ratios 1:1 16:9 …, cancel``."""
    parts = [f"steps {caps.steps_min}-{caps.steps_max} (default {caps.steps_default})"]
    parts.append(f"guidance {caps.guidance_min:g}-{caps.guidance_max:g}"
                 if caps.uses_guidance else "no guidance")
    parts.append("negative prompt" if caps.supports_negative else "no negative prompt")
    if caps.takes_aspect_ratio:
        parts.append("aspect ratios " + " ".join(caps.aspect_ratios))
    else:
        parts.append(f"sides {caps.min_side}-{caps.max_side} px, multiple of {caps.size_multiple}")
    if caps.supports_lora:
        parts.append("LoRA")
    parts.append("cancel" if caps.can_cancel else "no cancel")
    if caps.replaced_seeds:
        seeds = ", ".join(str(seed) for seed in caps.replaced_seeds)
        parts.append(f"seed {seeds} replaced by a random seed")
    if caps.price_per_image is not None:
        parts.append(f"{caps.price_per_image:g} per image")
    return ", ".join(parts)


def provider_status(providers: Mapping[str, Provider]) -> list[ProviderStatus]:
    from studio.providers.comfyui.provider import ComfyUIProvider
    from studio.providers.http import HttpProvider

    rows = []
    for pid in PROVIDER_IDS:
        provider = providers.get(pid)
        if provider is None:
            continue
        choice = provider.models()
        ids = dict.fromkeys((*provider.model_ids(), choice.preview, choice.final))
        rows.append(ProviderStatus(
            id=pid,
            name=provider_name(pid),
            configured=provider.configured,
            base_url=getattr(provider, "base_url", "") or "local",
            concurrency=provider.concurrency,
            preview_model=choice.preview,
            final_model=choice.final,
            models=tuple(provider.capabilities(m) for m in ids),
            servers=provider.farm_status().to_dict()
            if isinstance(provider, ComfyUIProvider) and provider.configured else None,
            deadlines=asdict(provider.deadlines) if isinstance(provider, HttpProvider)
            else None,
        ))
    return rows


def format_provider_status(rows: list[ProviderStatus]) -> str:
    """The text ``studio providers`` prints: one block per provider, no keys."""
    out: list[str] = []
    for row in rows:
        if row.id == "offline":
            state = "ready (no key needed; the default when no key is configured)"
        elif row.configured:
            state = "configured"
            if row.servers is not None:
                state += f": {row.servers['summary']}"
        else:
            state = f"not configured ({missing_setup(row.id)[1]})"
        out.append(f"{row.id}  {row.name}: {state}")
        for server in (row.servers or {}).get("list", ()):
            out.append(f"    server {server['line']}")
        out.append(f"    endpoint {row.base_url}, up to {row.concurrency} at once")
        if row.deadlines:
            d = row.deadlines
            out.append(f"    each exchange within: submit {d['submit']:g} s, status check "
                       f"{d['poll']:g} s, download {d['download']:g} s")
        out.append(f"    preview {row.preview_model}, final {row.final_model}")
        for caps in row.models:
            out.append(f"    - {caps.model}: {capability_summary(caps)}")
    return "\n".join(out)
