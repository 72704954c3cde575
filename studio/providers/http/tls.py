"""The TLS client context of the HTTP engine, whose trust store is read when first needed.

Reading the trust store (certifi's bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` as httpx
honours them) costs tens of milliseconds of CPU. A provider on ``http://`` (a ComfyUI server on
the local network, a stand-in on 127.0.0.1) never needs it; one on ``https://`` has it read
ahead of its first request, on the warm-up thread (:meth:`TrustOnFirstUse.load_trust`).
Whatever happens, it is read before the first TLS handshake: the context verifies certificates
and host names as ``ssl.create_default_context`` does (it is the same protocol and defaults).
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any


class TrustOnFirstUse(ssl.SSLContext):
    """A client context (certificates and host names checked) that reads its trust store on
    first use: the first TLS connection, or :meth:`load_trust`."""

    _trust_lock: threading.Lock
    _trusted: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> TrustOnFirstUse:
        context = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)
        context._trust_lock = threading.Lock()
        context._trusted = False
        return context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # PROTOCOL_TLS_CLIENT already requires a valid certificate for the host name.
        pass

    @property
    def trusted(self) -> bool:
        """Whether the trust store has been read."""
        return self._trusted

    def load_trust(self) -> None:
        """Read the trust store now (once; safe from any thread)."""
        if self._trusted:
            return
        with self._trust_lock:
            if self._trusted:
                return
            cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
            if cafile:
                self.load_verify_locations(cafile=cafile)
            elif capath:
                self.load_verify_locations(capath=capath)
            else:
                import certifi

                self.load_verify_locations(cafile=certifi.where())
            self._trusted = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self.load_trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load_trust()
        return super().wrap_socket(*args, **kwargs)
