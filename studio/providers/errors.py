"""Typed provider errors, each able to become a sentence for the user, and key redaction.

Every error a provider raises is a :class:`ProviderError` subclass carrying the provider id.
Error text passes through a :class:`Redactor` before it is stored on the exception, so an API key
can never reach a log line, a message box or a stored record through an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

PROVIDER_NAMES: Mapping[str, str] = {
    "modelslab": "ModelsLab",
    "replicate": "Replicate",
    "fal": "fal",
    "imageapi": "imageapi.org",
    "onemin": "1min.ai",
    "bfl": "Black Forest Labs",
    "comfyui": "ComfyUI",
    "offline": "the offline placeholder",
}

REDACTED = "[redacted]"


def provider_name(provider: str) -> str:
    """The name users know a provider by."""
    return PROVIDER_NAMES.get(provider, provider)


#: The shortest run of a key's characters that is redacted wherever it appears (a server that
#: echoes a key one character short, or cut in two, still has it caught).
KEY_RUN = 8


class Redactor:
    """Replaces every known secret (API keys) in text and JSON-like data.

    A secret is caught whole and in any letter case, and so is any run of :data:`KEY_RUN` or
    more consecutive characters of it (what a server echoing a key upper-cased, truncated or
    split would leave). Secrets shorter than that are caught whole only.
    """

    __slots__ = ("_pattern", "_secrets")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len,
                                     reverse=True))
        pieces: set[str] = set()
        for secret in self._secrets:
            if len(secret) < KEY_RUN:
                pieces.add(secret)
            else:
                pieces.update(secret[i:i + KEY_RUN] for i in range(len(secret) - KEY_RUN + 1))
        # A lookahead finds every (overlapping) start of a piece; the spans are merged after.
        alternation = "|".join(re.escape(p) for p in sorted(pieces, key=len, reverse=True))
        self._pattern = re.compile(f"(?=({alternation}))", re.IGNORECASE) if pieces else None

    def _spans(self, value: str) -> list[tuple[int, int]]:
        if self._pattern is None or not value:
            return []
        spans: list[tuple[int, int]] = []
        for match in self._pattern.finditer(value):
            start, end = match.start(1), match.end(1)
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        return spans

    def contains(self, value: str) -> bool:
        """Whether ``value`` holds a secret, or a run of one, in any case."""
        return bool(self._spans(value))

    def text(self, value: str) -> str:
        spans = self._spans(value)
        if not spans:
            return value
        out: list[str] = []
        last = 0
        for start, end in spans:
            out += [value[last:start], REDACTED]
            last = end
        out.append(value[last:])
        return "".join(out)

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


class Secrets:
    """The keys in use in this process, growing as providers look theirs up; the log file and
    the terminal pass every line through :meth:`text`."""

    __slots__ = ("_keys", "_redactor")

    def __init__(self) -> None:
        self._keys: frozenset[str] = frozenset()
        self._redactor = Redactor()

    def add(self, key: str | None) -> None:
        if key and key not in self._keys:
            # Replaced whole (never mutated), so a logging thread always sees a complete one.
            self._keys = self._keys | {key}
            self._redactor = Redactor(self._keys)

    def text(self, value: str) -> str:
        return self._redactor.text(value)

    def __repr__(self) -> str:
        return f"Secrets({len(self._keys)})"


class ProviderError(Exception):
    """A generation failed at or because of a provider. ``str()`` is safe to log and show."""

    #: What the user can do about it; subclasses override it or :meth:`advice`.
    _advice: ClassVar[str] = "Try again later, or switch this scene to another provider."
    #: Whether trying the same request again later may succeed.
    retryable: ClassVar[bool] = False
    #: For a job the provider accepted: whether it may still finish, so it is kept for
    #: ``studio resume`` (the studio could not learn how it ended, as opposed to the
    #: provider saying it failed).
    _resumable: ClassVar[bool] = False

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

    @property
    def resumable(self) -> bool:
        return self._resumable

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
    _resumable = True  # an accepted job can be followed once the key is fixed
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
    _resumable = True

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


class ReferenceMissingError(ProviderError):
    """A reference image the request names cannot be read from the library; nothing was sent."""

    _advice = ("Add the image to the character's references again (or set reference = \"off\" "
               "for the scene), then render it again.")

    def headline(self) -> str:
        return f"Nothing was sent to {provider_name(self.provider)}"


class ContentFilteredError(ProviderError):
    _advice = "Reword the prompt and render the scene again."

    def headline(self) -> str:
        return f"{provider_name(self.provider)}'s safety filter blocked the image"


class ProviderFailedError(ProviderError):
    retryable = True

    @property
    def resumable(self) -> bool:
        # Server trouble while asking about a job says nothing about the job itself.
        return self.status_code is not None and self.status_code >= 500


class ProviderUnreachable(ProviderError):
    """The provider could not be reached, or stopped answering mid-exchange."""

    retryable = True
    _resumable = True
    _advice = "Check the connection; the job may still finish: run `studio resume` later."

    def headline(self) -> str:
        return f"{provider_name(self.provider)} could not be reached"


class BadResponseError(ProviderError):
    """The provider answered something we cannot use (HTML, broken JSON, a broken image)."""

    retryable = True
    _advice = (
        "Retry the scene; if it keeps happening, check the provider's status page or base URL."
    )

    def headline(self) -> str:
        return f"{provider_name(self.provider)} sent an answer the studio cannot use"


class WebPageError(BadResponseError):
    """A web page came back where the API answers JSON: something else answered (a proxy, a
    login page, a wrong base URL), so the API did not take the request."""


class ProviderTimeout(ProviderError):
    retryable = True
    _resumable = True
    _advice = "The job may still finish: resume it later, or retry the scene."

    def headline(self) -> str:
        return f"{provider_name(self.provider)} took too long"


class KeyRefusedError(ProviderError):
    """Not sent: the provider refused the key for another job of this batch, so nothing more
    goes to it until the key is fixed."""

    retryable = True

    def headline(self) -> str:
        return f"Not sent to {provider_name(self.provider)}"

    def user_message(self, scene: str | None = None) -> str:
        what = f"“{scene}”" if scene else "the job"
        name = provider_name(self.provider)
        return (f"Not sent: the key was refused. {name} did not accept the API key for another "
                f"scene, so {what} was not sent. {self.advice()}")

    def advice(self) -> str:
        env = f"STUDIO_{self.provider.upper()}_API_KEY"
        return (f"Fix the key in Settings → Providers (or {env}), then retry the scene (from "
                "the command line, `studio resume` sends it).")


class MayHaveBeenBilledError(ProviderError):
    """The request reached the provider, which may have accepted (and billed) it, but no usable
    answer with its id came back: the job is *uncertain* and is never sent again on its own."""

    def headline(self) -> str:
        return f"{provider_name(self.provider)} may have been billed"

    def user_message(self, scene: str | None = None) -> str:
        what = f"“{scene}”" if scene else "the job"
        name = provider_name(self.provider)
        detail = self.message.rstrip(".")
        return (f"{name} may have accepted {what} and billed it, but {detail}. "
                f"{self.advice()}")

    def advice(self) -> str:
        name = provider_name(self.provider)
        return ("It is not sent again on its own: check your account on "
                f"{name}'s website, and if no image was made there, send it again with "
                "`studio resume --resend-uncertain` (or Send again in the window).")


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
    "WebPageError": "bad_response",
    "ProviderTimeout": "timeout",
    "ProviderUnreachable": "unreachable",
    "RenderCancelled": "cancelled",
    "KeyRefusedError": "key_refused",
    "MayHaveBeenBilledError": "uncertain",
}
