"""The engine's TLS context reads its trust store only when a TLS connection needs it, and still
checks every certificate: a server whose certificate is not trusted is refused, one whose
certificate is in the trust store (``SSL_CERT_FILE``) is reached."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from studio.providers.http.exchange import Auth, Deadlines, Exchanger, NotSent, Phase
from studio.providers.http.tls import TrustOnFirstUse


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    """A self-signed certificate (and its key beside it) for 127.0.0.1."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True)
    return tmp_path / "cert.pem"


@pytest.fixture
def https_url(certificate: Path) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, certificate.with_name("key.pem"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/hello"
    server.shutdown()
    server.server_close()
    thread.join()


def _exchanger() -> Exchanger:
    return Exchanger("modelslab", "http://127.0.0.1:9", auth=Auth.in_body("key"),
                     key=lambda: "k", deadlines=Deadlines(10.0, 10.0, 10.0))


def test_the_context_checks_certificates_and_reads_no_trust_store_until_asked() -> None:
    context = TrustOnFirstUse()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert not context.trusted and context.cert_store_stats()["x509_ca"] == 0
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.org")
    assert context.trusted and context.cert_store_stats()["x509_ca"] > 0


@pytest.mark.asyncio
async def test_a_server_whose_certificate_is_not_trusted_is_refused(
    https_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    exchanger = _exchanger()
    try:
        assert not exchanger.tls.trusted
        with pytest.raises(NotSent):
            await exchanger.send(Phase.DOWNLOAD, "GET", https_url)
        assert exchanger.tls.trusted  # read before the handshake that failed
    finally:
        await exchanger.aclose()


@pytest.mark.asyncio
async def test_a_server_whose_certificate_is_trusted_is_reached(
    https_url: str, certificate: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    exchanger = _exchanger()
    try:
        answer = await exchanger.send(Phase.DOWNLOAD, "GET", https_url)
        assert (answer.status, answer.body) == (200, b"hello")
    finally:
        await exchanger.aclose()
