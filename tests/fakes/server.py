"""A real HTTP server on 127.0.0.1, in a thread, told per test what to answer.

Each fake API (``tests/fakes/<provider>.py``) subclasses :class:`FakeServer` and registers its
default behaviour as routes; a test overrides it by queueing scripted :class:`Reply` objects on a
route (``server.script("POST", "/api/v6/images/text2img", Reply(401, {...}))``), which are used
first, in order. Every request is recorded (method, path, headers, body) so tests can count
submit POSTs and look for leaked keys.

Strings ``{base}`` inside scripted JSON are replaced with the server's own base URL, so scripted
answers can point back at it (``"fetch_result": "{base}/api/v6/images/fetch/7"``).

Hostile behaviour every fake shares, told per test (never timed by the test):

* ``Reply(drip=0.05)`` sends its body one byte at a time, ``drip`` seconds apart;
* ``server.hold("submit" | "poll" | "download", 1, 2, ...)`` holds the answer about the jobs with
  those numbers (1 = the first job the fake accepted) until :meth:`FakeServer.release` or the
  server stops; a held submit has already been accepted (counted in ``accepted``), like an API
  that took the job and has not answered yet;
* ``server.echo_key = {"id", "url", "message", "header", "logs"}`` makes the fake put the key
  it was sent into those server-controlled fields (what each means is per fake);
* :meth:`FakeServer.wait_until` blocks a test until a condition on the recorded traffic holds,
  woken by each request (never by a timer).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHUNK = 64 * 1024


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Hold the request open without answering until the server stops (client timeouts).
    stall: bool = False
    #: Stream this many bytes lazily after ``body`` (never held in memory), chunk by chunk.
    stream_size: int | None = None
    #: Send a Content-Length header with the streamed size (or a false one, to truncate).
    content_length: int | None = None
    #: Send the body one byte at a time, this many seconds apart (a drip-feeding server).
    drip: float | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


Handler = Callable[[Recorded, "re.Match[str]"], Reply]


def png_bytes(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 80, 40),
              fmt: str = "PNG") -> bytes:
    """A small real image for the fakes to serve."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format=fmt)
    return out.getvalue()


def bomb_png(side: int = 20_000) -> bytes:
    """A tiny PNG that claims ``side``×``side`` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(
        b"IEND", b"")


class _LoopbackServer(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of a dozen connections (a 12-wide
    # render) would see SYNs dropped and retried by the kernel a second later.
    request_queue_size = 128


class FakeServer:
    """Base of the fake APIs. Use as a context manager or call start()/stop()."""

    name = "fake"

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.images: dict[str, tuple[bytes, str]] = {}
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._scripts: dict[tuple[str, str], deque[Reply]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        #: Prompts of the jobs this fake accepted, in order (job number = index + 1).
        self.accepted: list[str] = []
        self.job_numbers: dict[str, int] = {}
        self.file_jobs: dict[str, str] = {}
        self.echo_key: set[str] = set()
        self._holds: dict[str, set[int]] = {"submit": set(), "poll": set(), "download": set()}
        #: (phase, job number) of every answer held so far.
        self.held: list[tuple[str, int]] = []
        self._released = threading.Event()
        self._seen = threading.Condition()
        self.route("GET", r"/files/(?P<name>[^/?]+)", self._serve_file)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeServer:
        server = _LoopbackServer(("127.0.0.1", self._port()), self._handler_class())
        server.daemon_threads = False
        server.block_on_close = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-server", daemon=True)
        self._thread.start()
        return self

    def _port(self) -> int:
        return 0

    def stop(self) -> None:
        self._stopping.set()
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join(5)
        self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ scripting

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Default behaviour for requests whose path fully matches ``pattern`` (regex)."""
        self._routes.insert(0, (method, re.compile(pattern), handler))

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Answer the next requests to exactly ``path`` with ``replies``, in order."""
        with self._lock:
            self._scripts.setdefault((method, path), deque()).extend(replies)

    def add_image(self, name: str, data: bytes, content_type: str = "image/png",
                  job_id: str | None = None) -> str:
        """Serve ``data`` at ``/files/<name>``; returns the full URL. ``job_id`` ties the file
        to a job (for holds)."""
        self.images[name] = (data, content_type)
        if job_id is not None:
            self.file_jobs[name] = job_id
        return f"{self.base_url}/files/{name}"

    # ------------------------------------------------------------ jobs, holds, echoes

    def accept(self, job_id: str, prompt: str) -> int:
        """Count a job as accepted (the API took it, billed); returns its number."""
        with self._lock:
            self.accepted.append(prompt)
            number = len(self.accepted)
            self.job_numbers[job_id] = number
        return number

    def accepted_count(self, marker: str) -> int:
        """How many accepted jobs had ``marker`` in their prompt (the same job sent twice
        shows 2)."""
        return sum(1 for prompt in self.accepted if marker.lower() in prompt.lower())

    def hold(self, phase: str, *numbers: int) -> None:
        """Hold the answers of ``phase`` about these job numbers until :meth:`release`."""
        with self._lock:
            self._released.clear()
            self._holds[phase].update(numbers)

    def release(self) -> None:
        """Answer every held request and hold nothing more."""
        with self._lock:
            for numbers in self._holds.values():
                numbers.clear()
            self._released.set()

    def hold_point(self, phase: str, job_id: str | None) -> None:
        """Called by a fake before it answers about ``job_id``: blocks while it is held."""
        number = self.job_numbers.get(job_id or "")
        with self._lock:
            held = number is not None and number in self._holds[phase]
            if held:
                self.held.append((phase, number or 0))
        if not held:
            return
        self._notify()
        while not self._released.is_set() and not self._stopping.is_set():
            self._released.wait(0.05)

    def echoed(self, field: str, value: str) -> str:
        """``value`` with the key appended when the fake echoes it into ``field``."""
        return f"{value}-{self.api_key}" if field in self.echo_key else value

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Block until ``condition`` holds, woken by each request and held answer."""
        with self._seen:
            return self._seen.wait_for(condition, timeout)

    def _notify(self) -> None:
        with self._seen:
            self._seen.notify_all()

    def count(self, method: str, path_pattern: str) -> int:
        """How many requests matched (regex, full match on the path)."""
        rx = re.compile(path_pattern)
        return sum(1 for r in self.requests if r.method == method and rx.fullmatch(r.path))

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.requests]

    def _serve_file(self, req: Recorded, match: re.Match[str]) -> Reply:
        found = self.images.get(match["name"])
        if found is None:
            return Reply(404, body=b"Not Found", content_type="text/plain")
        self.hold_point("download", self.file_jobs.get(match["name"]))
        data, ctype = found
        headers = {"X-Served-For": self.api_key} if "header" in self.echo_key else {}
        return Reply(200, body=data, content_type=ctype, headers=headers)

    # ------------------------------------------------------------ dispatch

    def _dispatch(self, req: Recorded) -> Reply:
        try:
            return self._route(req)
        finally:
            self._notify()

    def _route(self, req: Recorded) -> Reply:
        with self._lock:
            self.requests.append(req)
            queue = self._scripts.get((req.method, req.path))
            if queue:
                return queue.popleft()
        self._notify()
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(req.path)
            if method == req.method and match:
                return handler(req, match)
        return Reply(404, json={"detail": f"no route for {req.method} {req.path}"})

    def _substitute(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{base}", self.base_url)
        if isinstance(value, dict):
            return {k: self._substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(v) for v in value]
        return value

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                reply = fake._dispatch(req)
                # The client may give up (size caps, timeouts): that is the point of some tests.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError,
                                         ConnectionAbortedError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.stall:
                    fake._stopping.wait()
                    return
                if reply.json is not None:
                    payload = json.dumps(fake._substitute(reply.json)).encode()
                    ctype = reply.content_type or "application/json"
                else:
                    payload = reply.body or b""
                    ctype = reply.content_type or "application/octet-stream"
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                for key, value in reply.headers.items():
                    self.send_header(key, fake._substitute(value))
                if reply.stream_size is None:
                    length = reply.content_length if reply.content_length is not None else len(
                        payload)
                    self.send_header("Content-Length", str(length))
                    self.end_headers()
                    if reply.drip is None:
                        self.wfile.write(payload)
                        return
                    for i in range(len(payload)):
                        self.wfile.write(payload[i:i + 1])
                        self.wfile.flush()
                        if fake._stopping.wait(reply.drip):
                            return
                    return
                if reply.content_length is not None:
                    self.send_header("Content-Length", str(reply.content_length))
                self.end_headers()
                self.wfile.write(payload)
                remaining = reply.stream_size
                zeros = b"\0" * CHUNK
                while remaining > 0 and not fake._stopping.is_set():
                    n = min(CHUNK, remaining)
                    self.wfile.write(zeros[:n])
                    remaining -= n
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        return _Handler
