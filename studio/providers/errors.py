"""Typed provider errors, each able to become a sentence for the user, and key redaction.

Every error a provider raises is a :class:`ProviderError` subclass carrying the provider id.
Error text passes through a :class:`Redactor` before it is stored on the exception, so an API key
can never reach a log line, a message box or a stored record through an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

PROVIDER_NAMES: Mapping[str, str] = {
    "modelslab": "ModelsLab",
    "replicate": "Replicate",
    "fal": "fal",
    "imageapi": "imageapi.org",
    "onemin": "1min.ai",
    "comfyui": "ComfyUI",
    "offline": "the offline placeholder",
}

REDACTED = "[redacted]"


def provider_name(provider: str) -> str:
    """The name users know a provider by."""
    return PROVIDER_NAMES.get(provider, provider)


class Redactor:
    """Replaces every known secret (API keys) in text and JSON-like data."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a key that contains another key is removed whole.
        self._secrets = tuple(
            sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        )

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        """A deep copy of JSON-like ``value`` with secrets replaced in every string."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

    def __repr__(self) -> str:  # never show the secrets themselves
        return f"Redactor({len(self._secrets)} secrets)"


class ProviderError(Exception):
    """A generation failed at or because of a provider. ``str()`` is safe to log and show."""

    #: What the user can do about it; subclasses override it or :meth:`advice`.
    _advice: ClassVar[str] = "Try again later, or switch this scene to another provider."
    #: Whether trying the same request again later may succeed.
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        request_id: str | None = None,
        status_code: int | None = None,
    ) -> None:
        self.provider = provider
        self.message = message.strip() or "no details given"
        self.request_id = request_id
        self.status_code = status_code
        super().__init__(self.message)

    @property
    def kind(self) -> str:
        """A short stable name for records and ``--json`` output."""
        return _KIND_BY_CLASS.get(type(self).__name__, "provider_failed")

    def headline(self) -> str:
        return f"{provider_name(self.provider)} could not generate the image"

    def user_message(self, scene: str | None = None) -> str:
        """One sentence or two: what failed, for which scene, and what to do next."""
        where = f" for scene “{scene}”" if scene else ""
        detail = self.message.rstrip(".")
        return f"{self.headline()}{where}: {detail}. {self.advice()}"

    def advice(self) -> str:
        return self._advice

    def redacted(self, redactor: Redactor) -> ProviderError:
        self.message = redactor.text(self.message)
        self.args = (self.message,)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, message={self.message!r})"


class AuthenticationError(ProviderError):
    def headline(self) -> str:
        return f"{provider_name(self.provider)} did not accept the API key"

    def advice(self) -> str:
        env = f"STUDIO_{self.provider.upper()}_API_KEY"
        return f"Check the key in Settings → Providers (or {env}) and try again."


class OutOfCreditsError(ProviderError):
    _advice = "Add credit or a payment method on the provider's website, then retry the scene."

    def headline(self) -> str:
        return f"{provider_name(self.provider)} has no credit left for this account"


class RateLimitedError(ProviderError):
    retryable = True

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retry_after: float | None = None,
        request_id: str | None = None,
        status_code: int | None = 429,
    ) -> None:
        super().__init__(provider, message, request_id=request_id, status_code=status_code)
        self.retry_after = retry_after

    def headline(self) -> str:
        return f"{provider_name(self.provider)} is busy and asked us to slow down"

    def advice(self) -> str:
        if self.retry_after:
            return f"Retry the scene in about {max(1, round(self.retry_after))} seconds."
        return "Retry the scene in a minute, or lower the provider's concurrency in Settings."


class InvalidRequestError(ProviderError):
    """The request cannot be honoured as asked (refused before sending, or by the provider)."""

    _advice = "Change the scene's size, steps or model and render it again."

    def headline(self) -> str:
        return f"{provider_name(self.provider)} cannot render this request"


class ContentFilteredError(ProviderError):
    _advice = "Reword the prompt and render the scene again."

    def headline(self) -> str:
        return f"{provider_name(self.provider)}'s safety filter blocked the image"


class ProviderFailedError(ProviderError):
    retryable = True


class BadResponseError(ProviderError):
    """The provider answered something we cannot use (HTML, broken JSON, a broken image)."""

    retryable = True
    _advice = (
        "Retry the scene; if it keeps happening, check the provider's status page or base URL."
    )

    def headline(self) -> str:
        return f"{provider_name(self.provider)} sent an answer the studio cannot use"


class ProviderTimeout(ProviderError):
    retryable = True
    _advice = "The job may still finish: resume it later, or retry the scene."

    def headline(self) -> str:
        return f"{provider_name(self.provider)} took too long"


class RenderCancelled(ProviderError):
    _advice = "Render the scene again when you want it."

    def headline(self) -> str:
        return f"The render on {provider_name(self.provider)} was cancelled"


_KIND_BY_CLASS = {
    "AuthenticationError": "authentication",
    "OutOfCreditsError": "out_of_credits",
    "RateLimitedError": "rate_limited",
    "InvalidRequestError": "invalid_request",
    "ContentFilteredError": "content_filtered",
    "ProviderFailedError": "provider_failed",
    "BadResponseError": "bad_response",
    "ProviderTimeout": "timeout",
    "RenderCancelled": "cancelled",
}
