"""The one error classifier: an HTTP status and a provider's message become a typed
:class:`~studio.providers.errors.ProviderError`, and a throttled answer says how long to wait.

Every API has its own error envelope (ModelsLab's ``message``/``messege``, Replicate's
problem+json ``detail``, fal's ``detail`` list, 1min.ai's ``errorCode``); the adapters pick the
text out, and this module decides what kind of failure it is.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from typing import Any

from studio.providers.errors import (
    AuthenticationError,
    BadResponseError,
    ContentFilteredError,
    InvalidRequestError,
    OutOfCreditsError,
    ProviderError,
    ProviderFailedError,
    RateLimitedError,
)

#: Replicate's 429 body: "Request was throttled. Your rate limit resets in ~30s."
_RESETS_IN = re.compile(r"resets? in\s*~?\s*(\d+(?:\.\d+)?)\s*(s|sec|seconds?|m|min|minutes?)\b",
                        re.IGNORECASE)
_INVALID_WORDS = ("must be", "is required", "invalid", "not found", "not supported",
                  "unsupported", "out of range", "too long", "too large")


def as_int(value: Any) -> int | None:
    """A whole number from JSON that may carry it as a number or as digits in a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 30:
        return int(value.strip())
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and len(value) < 40:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if number == number and abs(number) != float("inf") else None


def first_text(data: Mapping[str, Any], *keys: str) -> str:
    """The first non-empty string (or a string inside a ``{"message": ...}``, or a FastAPI
    ``detail`` list joined) under ``keys``."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, Mapping):
            value = value.get("message") or value.get("detail")
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value:
            return "; ".join(_detail_item(v) for v in value[:20])
    return ""


def _detail_item(item: Any) -> str:
    if isinstance(item, Mapping):
        loc = item.get("loc")
        where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
        msg = str(item.get("msg") or item.get("message") or item.get("description") or item)
        return f"{where}: {msg}" if where else msg
    return str(item)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    seconds = as_float(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def resets_in(text: str) -> float | None:
    """The wait a throttling message announces ("resets in ~30s"), in seconds."""
    match = _RESETS_IN.search(text)
    if match is None:
        return None
    amount = float(match.group(1))
    return amount * 60 if match.group(2).lower().startswith("m") else amount


def rate_limit_wait(headers: Mapping[str, str], data: Any, text: str, now: float) -> float | None:
    """How long a throttled answer asks the client to wait, from (in this order) its
    ``Retry-After`` header, a ``retry_after`` body field (ModelsLab), an ``X-RateLimit-Reset``
    unix time, or a "resets in ~Ns" message (Replicate); None when it says nothing."""
    wait = parse_retry_after(headers.get("retry-after"), now)
    if wait is not None:
        return wait
    if isinstance(data, Mapping):
        body = as_float(data.get("retry_after"))
        if body is not None and body >= 0:
            return body
    reset = as_float(headers.get("x-ratelimit-reset"))
    if reset is not None and reset > 1_000_000_000:  # unix seconds, not a count
        return max(0.0, reset - now)
    return resets_in(text)


def looks_invalid(message: str) -> bool:
    """Whether an error text without an HTTP error status is about the request itself."""
    lower = message.lower()
    return any(word in lower for word in _INVALID_WORDS)


def classify(provider: str, status: int | None, message: str, *,
             retry_after: float | None = None) -> ProviderError:
    """A typed error from an HTTP status and/or the provider's message text."""
    lower = message.lower()
    if status == 429 or "rate limit" in lower or "too many requests" in lower \
            or "throttled" in lower or "queue full" in lower:
        return RateLimitedError(provider, message, retry_after=retry_after, status_code=status)
    if status == 402 or "credit" in lower or "billing" in lower or "balance" in lower \
            or "subscription" in lower or "quota" in lower:
        return OutOfCreditsError(provider, message, status_code=status)
    if status in (401, 403) or "api key" in lower or "unauthori" in lower \
            or "unauthenticated" in lower or "auth token" in lower:
        return AuthenticationError(provider, message, status_code=status)
    if "nsfw" in lower or "safety" in lower or "content policy" in lower:
        return ContentFilteredError(provider, message, status_code=status)
    if status in (400, 404, 413, 422) or (status is None and looks_invalid(lower)):
        return InvalidRequestError(provider, message, status_code=status)
    if status is not None and 300 <= status < 400:
        return BadResponseError(provider, f"unexpected redirect (HTTP {status})",
                                status_code=status)
    if status is not None and status >= 500:
        return ProviderFailedError(provider, f"{message} (HTTP {status})", status_code=status)
    return ProviderFailedError(provider, message, status_code=status)
