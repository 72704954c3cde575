"""`studio providers`: each provider, whether it is configured, its models and limits."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, TextIO


def load_providers(environ: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """The composition root's provider set for headless commands."""
    from studio.cli import CommandError
    from studio.runtime import Runtime, RuntimeConfigError

    try:
        return Runtime(environ).providers()
    except RuntimeConfigError as exc:
        raise CommandError(str(exc)) from None


def capability_lookup(environ: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """``(provider, model) -> ModelCapabilities | None`` for the prompt checks."""
    providers = load_providers(environ)

    def lookup(provider_id: str, model: str):  # type: ignore[no-untyped-def]
        provider = providers.get(provider_id)
        return None if provider is None else provider.capabilities(model)

    return lookup


def cmd_providers(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.core.text import for_terminal
    from studio.providers.loops import asyncio_thread
    from studio.providers.registry import format_provider_status, provider_status

    providers = load_providers(environ)
    with asyncio_thread():
        asyncio.run(_check_farms(providers))
    rows = provider_status(providers)
    if args.json:
        data = []
        for row in rows:
            item = asdict(row)
            item["models"] = [asdict(m) for m in row.models]
            data.append(item)
        print(json.dumps({"providers": data}, indent=2), file=out)
    else:
        # Base URLs and model names come from the environment and settings files.
        print(for_terminal(format_provider_status(rows), keep_lines=True), file=out)
    return 0


async def _check_farms(providers: Mapping[str, Any]) -> None:
    """Ask each configured ComfyUI server how it is (a few seconds at most), so the list shows
    its state; other providers are not contacted."""
    from studio.providers.comfyui import ComfyUIProvider

    for provider in providers.values():
        if isinstance(provider, ComfyUIProvider) and provider.configured:
            try:
                await provider.check_servers(seconds=3.0)
            finally:
                await provider.aclose()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("providers", help="list providers, whether each is configured, its "
                       "models and limits")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_providers)
