"""A file host on its own origin, and what the fakes make of the reference images they get.

:class:`FakeFileHost` stands for the hosts an API hands files to and from: fal's signed upload
URLs (``PUT /upload/<name>``) and CDN (``GET /files/<name>``), Black Forest Labs' delivery host
for ``result.sample``. It checks no key; a test asserts that none ever reached it.

:func:`reference_bytes` turns a reference value as an API receives it (a ``data:`` URI, bare
base64, or a URL on one of the given servers) back into the bytes, the way the API's runner
would download or decode it, so a test can compare them with the reference file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from urllib.parse import urlsplit

from tests.fakes.server import FakeServer, Recorded, Reply


def serve_uploads(server: FakeServer) -> None:
    """Let ``server`` take ``PUT /upload/<name>`` (a signed upload URL): the bytes are then
    served at ``/files/<name>``."""

    def put(req: Recorded, match: re.Match[str]) -> Reply:
        server.images[match["name"]] = (req.body, req.headers.get("content-type", ""))
        return Reply(200, body=b"", content_type="text/plain")

    server.route("PUT", r"/upload/(?P<name>[^/?]+)", put)


class FakeFileHost(FakeServer):
    """Upload URLs and public files on an origin of their own (no key)."""

    name = "files"

    def __init__(self) -> None:
        super().__init__(api_key="")
        serve_uploads(self)

    def uploads(self) -> int:
        return self.count("PUT", r"/upload/.+")


def reference_bytes(value: object, *servers: FakeServer) -> bytes | None:
    """The image bytes ``value`` names: decoded from a data URI or base64, or looked up on the
    server whose ``/files/<name>`` (or any path ending in a stored name) it points at."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("data:"):
        head, _, payload = value.partition(",")
        if ";base64" not in head:
            return None
        value = payload.strip()
    elif value.startswith(("http://", "https://")):
        parts = urlsplit(value)
        name = parts.path.rsplit("/", 1)[-1]
        for server in servers:
            if f"{parts.scheme}://{parts.netloc}" == server.base_url and name in server.images:
                return server.images[name][0]
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


class MemoryReferences:
    """A :class:`~studio.core.references.ReferenceReader` over bytes held in memory (the
    library's image store in the provider tests); counts the reads."""

    def __init__(self, *images: bytes) -> None:
        self.images = {hashlib.sha256(data).hexdigest(): data for data in images}
        self.reads = 0

    def add(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.images[sha] = data
        return sha

    def reference_bytes(self, sha256: str) -> bytes:
        from studio.core.references import ReferenceUnavailableError

        self.reads += 1
        try:
            return self.images[sha256]
        except KeyError:
            raise ReferenceUnavailableError(
                f"Reference image {sha256[:12]} is not in the library; add it to the "
                "character again.") from None
