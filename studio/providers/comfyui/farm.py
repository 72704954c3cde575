"""A farm of ComfyUI servers: which one takes the next job, what each one is doing, and when a
job may move to another server. Plain state and rules; the network is elsewhere.

Dispatch: each job goes to the server with the shortest queue among those that answer and have
a free slot (``STUDIO_COMFYUI_CONCURRENCY`` jobs of this studio at once per server). A server's
queue is the studio's own jobs there plus the other prompts its last report showed (another
user's work counts too); ties go to the server that was given fewer jobs so far.

Moving a job (the rule :func:`may_move` applies, nothing else resubmits):

* A job whose server *answers* but lists its prompt neither in ``/queue`` nor in ``/history``
  is **lost** (the server restarted, or someone cleared its queue): it is sent again, with the
  same prompt id, to the least busy server.
* A job whose server *stops answering* moves only if it **never started**: the last word about
  it was "pending" (seen waiting in ``/queue``, or accepted while this process had its socket
  open, with no execution message since) and the server has not answered for ``move_after``
  seconds. A restarted ComfyUI forgets its queue, so such a prompt would never run there.
* A server that is **gone** — nothing has listened at its address for ``gone_after`` seconds
  (connections refused: its process ended) — has lost every prompt it held, started or not,
  since ComfyUI keeps its queue and history in memory; they are all sent again, as when its
  ``/history`` shows them lost.
* Any other job (it started, or its state is unknown, on a server that times out, resets
  connections or answers errors) waits for its server — after asking the other servers once
  whether an earlier run moved it there: it may still finish where it is. When the server
  answers again its ``/history`` decides; if the whole job deadline passes first, the job ends
  as timed out and stays for ``studio resume``.

So a prompt runs twice only when a server that stopped answering was merely cut off (a
network cut, or a tunnel or proxy down for longer than ``gone_after`` while ComfyUI runs on
behind it) and still runs the prompt after it moved; the studio keeps the result it follows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from studio.core.text import counted
from studio.providers.comfyui.discovery import Catalogue, SystemInfo

ServerState = Literal["unknown", "up", "down"]
#: What the studio knows about one prompt: waiting, running (or ran), or it cannot tell.
PromptState = Literal["pending", "started", "unknown"]


class FarmConfigError(ValueError):
    """The list of servers cannot be used; the message says which entry and why."""


def parse_server_urls(text: str, name: str = "STUDIO_COMFYUI_BASE_URL") -> list[str]:
    """Base URLs from one URL or a comma-separated list, each ``http(s)://host[:port][/path]``."""
    from urllib.parse import urlsplit

    urls: list[str] = []
    for raw in text.split(","):
        item = raw.strip().rstrip("/")
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FarmConfigError(
                f"{name}: “{item}” is not a server address; write http://host:8188 (several "
                "separated by commas)")
        if parts.query or parts.fragment:
            raise FarmConfigError(f"{name}: “{item}” must not have a query or fragment")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise FarmConfigError(f"{name}: “{item}” has a port that is not a number") from None
        if item not in urls:
            urls.append(item)
    return urls


def public_url(url: str) -> str:
    """``url`` without a user name or password in it (safe to store and show)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(eq=False)
class Server:
    """One server as the studio last saw it."""

    url: str
    concurrency: int = 2
    state: ServerState = "unknown"
    in_flight: set[str] = field(default_factory=set)
    #: Prompts waiting or running there, as its last report said (ours and others').
    reported_queue: int | None = None
    #: How many of ours were in flight when that report came.
    reported_ours: int = 0
    assigned: int = 0
    down_since: float | None = None
    #: Since when every attempt found nothing listening (None when the last one did not).
    refusing_since: float | None = None
    checked_at: float | None = None
    last_error: str = ""
    catalogue: Catalogue | None = None
    system: SystemInfo | None = None

    @property
    def public_url(self) -> str:
        return public_url(self.url)

    @property
    def load(self) -> int:
        foreign = 0
        if self.reported_queue is not None:
            foreign = max(0, self.reported_queue - self.reported_ours)
        return len(self.in_flight) + foreign

    @property
    def has_room(self) -> bool:
        return len(self.in_flight) < self.concurrency

    def report_queue(self, remaining: int) -> None:
        self.reported_queue = max(0, remaining)
        self.reported_ours = len(self.in_flight)

    def answered(self) -> None:
        self.state = "up"
        self.down_since = None
        self.refusing_since = None
        self.last_error = ""

    def failed(self, now: float, error: str, *, refused: bool = False) -> None:
        if self.state != "down" or self.down_since is None:
            self.down_since = now
        if not refused:
            self.refusing_since = None
        elif self.refusing_since is None:
            self.refusing_since = now
        self.state = "down"
        self.last_error = error

    def gone_for(self, now: float) -> float:
        """Seconds during which nothing has listened at the server's address (0 otherwise)."""
        return 0.0 if self.refusing_since is None else max(0.0, now - self.refusing_since)

    def silent_for(self, now: float) -> float:
        """Seconds since the server stopped answering (0 while it answers)."""
        return 0.0 if self.down_since is None else max(0.0, now - self.down_since)


class Farm:
    """The configured servers, in the order given."""

    def __init__(self, urls: Sequence[str], concurrency: int = 2) -> None:
        self.servers = [Server(url, max(1, concurrency)) for url in urls]

    def __len__(self) -> int:
        return len(self.servers)

    def find(self, url: str) -> Server | None:
        """The configured server with this URL (compared without user name and password)."""
        wanted = public_url(url.rstrip("/"))
        return next((s for s in self.servers if s.public_url == wanted), None)

    def holding(self, prompt_id: str) -> Server | None:
        return next((s for s in self.servers if prompt_id in s.in_flight), None)

    def choose(self, exclude: Iterable[Server] = ()) -> Server | None:
        """The server for the next job: answering, with room, shortest queue; None if none."""
        skip = set(map(id, exclude))
        candidates = [s for s in self.servers
                      if id(s) not in skip and s.state != "down" and s.has_room]
        if not candidates:
            return None
        order = {id(s): i for i, s in enumerate(self.servers)}
        return min(candidates, key=lambda s: (s.load, s.assigned, order[id(s)]))

    @property
    def capacity(self) -> int:
        return sum(s.concurrency for s in self.servers)

    def status(self) -> FarmStatus:
        return FarmStatus(tuple(server_status(s) for s in self.servers))


def may_move(state: PromptState, server: Server, now: float, move_after: float,
             gone_after: float) -> bool:
    """Whether a job on a server that stopped answering may be sent to another (see above)."""
    if server.state != "down":
        return False
    if server.gone_for(now) >= gone_after:
        return True
    return state == "pending" and server.silent_for(now) >= move_after


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """One server for ``studio providers`` and Settings: plain data, no secrets."""

    url: str
    state: ServerState
    queued: int | None
    in_flight: int
    concurrency: int
    gpu: str = ""
    version: str = ""
    error: str = ""
    models: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """``http://gpu1:8188: up, 2 queued, NVIDIA RTX 4090, 24 GB``."""
        parts: list[str] = [self.state if self.state != "unknown" else "not checked"]
        if self.state == "up" and self.queued is not None:
            parts.append(f"{self.queued} queued")
        if self.gpu:
            parts.append(self.gpu)
        if self.state == "down" and self.error:
            parts.append(self.error)
        return f"{self.url}: {', '.join(parts)}"


def server_status(server: Server) -> ServerStatus:
    return ServerStatus(
        url=server.public_url,
        state=server.state,
        queued=server.reported_queue,
        in_flight=len(server.in_flight),
        concurrency=server.concurrency,
        gpu=server.system.describe() if server.system else "",
        version=server.system.version if server.system else "",
        error=server.last_error,
        models=server.catalogue.summary() if server.catalogue else {},
    )


@dataclass(frozen=True, slots=True)
class FarmStatus:
    servers: tuple[ServerStatus, ...]

    @property
    def up(self) -> int:
        return sum(1 for s in self.servers if s.state == "up")

    @property
    def queued(self) -> int:
        return sum(s.queued or 0 for s in self.servers if s.state == "up")

    def sentence(self) -> str:
        """``3 servers, 2 up, 5 queued``."""
        return f"{counted(len(self.servers), 'server')}, {self.up} up, {self.queued} queued"

    def to_dict(self) -> dict[str, Any]:
        return {"servers": len(self.servers), "up": self.up, "queued": self.queued,
                "summary": self.sentence(),
                "list": [{"url": s.url, "state": s.state, "queued": s.queued,
                          "in_flight": s.in_flight, "concurrency": s.concurrency, "gpu": s.gpu,
                          "version": s.version, "error": s.error, "models": s.models,
                          "line": s.line()}
                         for s in self.servers]}
