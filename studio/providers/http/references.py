"""Reference images on their way to an API: read once by hash, made once into what the API
takes, and placed in the fields the model declares.

An adapter says how one image reaches its API (:meth:`HttpProvider.stage_reference`): an
uploaded file's URL (fal's storage, Replicate's files API, ModelsLab's base64-to-URL endpoint),
a ``data:`` URI, or bare base64 (Black Forest Labs). :class:`StagedReferences` remembers what
each image became, by content hash, for the provider's lifetime, so a batch of twelve scenes
sending the same face uploads it once (concurrent jobs wait for the one upload).

Staging runs before the job is journaled as sending: an upload bills nothing and may be
repeated, while the submit is what the API bills, so a crash during an upload leaves a job that
was certainly not sent.

The body a job records (the job journal, the library, the PNG chunk) names each image as
``sha256:<hash>`` instead of its URL or bytes: a journal line stays small, and a file host's
public link is not kept.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from studio.core.anchor import ReferenceImage, ReferenceStrength
from studio.core.capabilities import ReferenceLayout, ReferenceSupport
from studio.core.references import ReferenceReader, ReferenceUnavailableError
from studio.providers.errors import ReferenceMissingError

_KINDS = ((b"\x89PNG\r\n\x1a\n", "image/png", "png"), (b"\xff\xd8\xff", "image/jpeg", "jpg"),
          (b"GIF8", "image/gif", "gif"))


@dataclass(frozen=True, slots=True)
class ReferenceFile:
    """One reference image's bytes, checked against its hash by the reader."""

    sha256: str
    data: bytes

    @property
    def mime(self) -> str:
        """The image type, from the bytes (not from any file name)."""
        if self.data[:4] == b"RIFF" and self.data[8:12] == b"WEBP":
            return "image/webp"
        return next((mime for magic, mime, _ in _KINDS if self.data.startswith(magic)),
                    "image/png")

    @property
    def file_name(self) -> str:
        """A name for upload forms: the hash's start and the type's extension."""
        ext = self.mime.split("/")[1].replace("jpeg", "jpg")
        return f"reference-{self.sha256[:16]}.{ext}"

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{self.base64()}"


def recorded(reference: ReferenceImage) -> str:
    """How a recorded body names a reference image."""
    return f"sha256:{reference.sha256}"


def reference_fields(support: ReferenceSupport, strength: ReferenceStrength,
                     values: Sequence[str]) -> dict[str, Any]:
    """The wire fields carrying ``values`` (one per image sent, in order) and the strength's
    knob, as ``support`` declares them; empty when nothing is sent."""
    if not values:
        return {}
    names = support.field_names(len(values))
    fields: dict[str, Any]
    if support.layout is ReferenceLayout.LIST:
        fields = {names[0]: list(values)}
    else:
        fields = dict(zip(names, values, strict=True))
    value = support.control_value(strength)
    if value is not None and support.control_field:
        fields[support.control_field] = value
    return fields


Stage = Callable[[ReferenceFile], Awaitable[str]]


class StagedReferences:
    """What each reference image became for one provider, by hash (see the module)."""

    def __init__(self, provider: str, reader: ReferenceReader | None) -> None:
        self.provider = provider
        self.reader = reader
        self._values: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def read(self, sha256: str) -> ReferenceFile:
        """The image's bytes from the library, on a worker thread (the read blocks)."""
        if self.reader is None:
            raise ReferenceMissingError(
                self.provider, "the request names reference images, and this provider was "
                "started without the library that holds them")
        try:
            data = await asyncio.to_thread(self.reader.reference_bytes, sha256)
        except ReferenceUnavailableError as exc:
            raise ReferenceMissingError(self.provider, str(exc)) from None
        return ReferenceFile(sha256, data)

    async def stage(self, references: Sequence[ReferenceImage], make: Stage) -> None:
        """Make every image of ``references`` ready once (``make`` turns a file into what the
        API takes); the images are made one after the other, each once per provider."""
        for ref in dict.fromkeys(r.sha256 for r in references):
            if ref in self._values:
                continue
            lock = self._locks.setdefault(ref, asyncio.Lock())
            try:
                async with lock:
                    if ref not in self._values:
                        self._values[ref] = await make(await self.read(ref))
            finally:
                # Only needed while the image is being made (a lock is bound to its loop).
                if self._locks.get(ref) is lock and not lock.locked():
                    del self._locks[ref]

    def values(self, references: Sequence[ReferenceImage]) -> list[str]:
        """What each image became, in the order given (all staged before)."""
        missing = [r.sha256[:12] for r in references if r.sha256 not in self._values]
        if missing:
            raise ReferenceMissingError(
                self.provider, f"reference image {missing[0]} was not made ready before the "
                "request was built")
        return [self._values[r.sha256] for r in references]

    def forget(self, sha256: str) -> None:
        """Drop what an image became (its upload expired or was refused)."""
        self._values.pop(sha256, None)
