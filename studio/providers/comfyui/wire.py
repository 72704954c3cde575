"""ComfyUI's wire format as data: the /prompt body and answers, WebSocket messages, /history,
/queue and the binary image frames. Pure functions, no I/O, nothing trusted.

Every parser is lenient about what it does not need and returns ``None`` (or an empty value)
for shapes it does not recognise, so a newer server with extra fields keeps working and a broken
one produces a sentence upstream instead of a traceback.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Binary WebSocket frame types (protocol.py): 1 a preview or SaveImageWebsocket image with a
# format word, 4 the same with a JSON metadata block naming the prompt.
FRAME_PREVIEW_IMAGE = 1
FRAME_TEXT = 3
FRAME_IMAGE_WITH_METADATA = 4
_IMAGE_FORMATS = {1: "jpeg", 2: "png"}

Graph = dict[str, dict[str, Any]]


# ---------------------------------------------------------------- /prompt


def prompt_body(graph: Graph, prompt_id: str, client_id: str) -> dict[str, Any]:
    """The ``POST /prompt`` body: the graph, our own prompt id, and the socket's client id."""
    return {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}


@dataclass(frozen=True, slots=True)
class NodeProblem:
    """One complaint of the server about one node of a graph it refused."""

    node_id: str
    class_type: str
    message: str


def node_problems(data: Mapping[str, Any]) -> list[NodeProblem]:
    """The ``node_errors`` of a refused /prompt, one entry per complaint, in node order."""
    raw = data.get("node_errors")
    out: list[NodeProblem] = []
    if not isinstance(raw, Mapping):
        return out
    for node_id, entry in raw.items():
        if not isinstance(entry, Mapping):
            continue
        class_type = str(entry.get("class_type") or "")
        errors = entry.get("errors")
        if not isinstance(errors, list) or not errors:
            out.append(NodeProblem(str(node_id), class_type, "refused"))
            continue
        for error in errors:
            if isinstance(error, Mapping):
                message = str(error.get("message") or error.get("type") or "refused")
                details = error.get("details")
                if isinstance(details, str) and details.strip():
                    message = f"{message}: {details.strip()}"
            else:
                message = str(error)
            out.append(NodeProblem(str(node_id), class_type, message))
    return out


def refusal_text(data: Mapping[str, Any], limit: int = 3) -> str:
    """A short text for a 400 answer to /prompt: the error message and the first node problems."""
    parts: list[str] = []
    error = data.get("error")
    if isinstance(error, Mapping):
        message = str(error.get("message") or error.get("type") or "").strip()
        if message:
            parts.append(message.rstrip("."))
    elif isinstance(error, str) and error.strip():
        parts.append(error.strip().rstrip("."))
    problems = node_problems(data)
    for problem in problems[:limit]:
        label = f"node {problem.node_id}" + (f" ({problem.class_type})" if problem.class_type
                                             else "")
        parts.append(f"{label}: {_shorten(problem.message)}")
    if len(problems) > limit:
        parts.append(f"and {len(problems) - limit} more")
    return "; ".join(parts) or "the server refused the workflow"


def _shorten(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- /history and /view


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A file the server wrote, as /history and ``executed`` name it; fetched through /view."""

    filename: str
    subfolder: str = ""
    type: str = "output"

    def view_params(self) -> dict[str, str]:
        return {"filename": self.filename, "subfolder": self.subfolder, "type": self.type}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A finished prompt as /history keeps it."""

    prompt_id: str
    status: str  # "success", "error" or "" when the server does not say
    completed: bool
    images: tuple[ImageRef, ...]
    error: str = ""
    interrupted: bool = False
    cached_nodes: tuple[str, ...] = ()


def _image_refs(output: Any) -> list[ImageRef]:
    refs: list[ImageRef] = []
    if not isinstance(output, Mapping):
        return refs
    images = output.get("images")
    if not isinstance(images, list):
        return refs
    for item in images:
        if not isinstance(item, Mapping):
            continue
        name = item.get("filename")
        if not isinstance(name, str) or not name:
            continue
        subfolder = item.get("subfolder")
        kind = item.get("type")
        refs.append(ImageRef(name, subfolder if isinstance(subfolder, str) else "",
                             kind if isinstance(kind, str) and kind else "output"))
    return refs


def parse_history(data: Any, prompt_id: str) -> HistoryEntry | None:
    """The entry for ``prompt_id`` in a ``GET /history/{id}`` answer; None while it has none."""
    if not isinstance(data, Mapping):
        return None
    entry = data.get(prompt_id)
    if not isinstance(entry, Mapping):
        return None
    images: list[ImageRef] = []
    outputs = entry.get("outputs")
    if isinstance(outputs, Mapping):
        for output in outputs.values():
            images.extend(_image_refs(output))
    # Saved files first: a PreviewImage node's temp file is only a fallback.
    images.sort(key=lambda ref: ref.type != "output")
    status_block = entry.get("status")
    status, completed, error, interrupted = "", True, "", False
    cached: list[str] = []
    if isinstance(status_block, Mapping):
        status = str(status_block.get("status_str") or "")
        completed = bool(status_block.get("completed", True))
        messages = status_block.get("messages")
        if isinstance(messages, list):
            for message in messages:
                if not (isinstance(message, list | tuple) and len(message) == 2):
                    continue
                kind, body = message
                if not isinstance(body, Mapping):
                    continue
                if kind == "execution_error":
                    error = execution_error_text(body)
                elif kind == "execution_interrupted":
                    interrupted = True
                elif kind == "execution_cached":
                    nodes = body.get("nodes")
                    if isinstance(nodes, list):
                        cached.extend(str(n) for n in nodes)
    return HistoryEntry(prompt_id, status, completed, tuple(images), error, interrupted,
                        tuple(cached))


def execution_error_text(data: Mapping[str, Any]) -> str:
    """``node 5 (KSampler): OutOfMemoryError: …`` from an ``execution_error`` body."""
    node = str(data.get("node_id") or "")
    node_type = str(data.get("node_type") or "")
    kind = str(data.get("exception_type") or "").rsplit(".", 1)[-1]
    message = _shorten(str(data.get("exception_message") or "").strip(), 300)
    where = f"node {node}" + (f" ({node_type})" if node_type else "") if node else ""
    what = f"{kind}: {message}" if kind and message else (message or kind or "an error")
    return f"{where}: {what}" if where else what


# ---------------------------------------------------------------- /queue


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """Prompt ids running and waiting on a server, in order."""

    running: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.running) + len(self.pending)

    def position(self, prompt_id: str) -> int | None:
        """0-based place among the waiting prompts, or None when it is not waiting."""
        try:
            return self.pending.index(prompt_id)
        except ValueError:
            return None


def _queue_ids(items: Any) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    if not isinstance(items, list):
        return out
    for item in items:
        # [number, prompt_id, prompt, extra_data, outputs_to_execute]
        if isinstance(item, list | tuple) and len(item) >= 2 and isinstance(item[1], str):
            number = item[0] if isinstance(item[0], int | float) else 0
            out.append((float(number), item[1]))
    return out


def parse_queue(data: Any) -> QueueSnapshot | None:
    if not isinstance(data, Mapping) or not (
        "queue_running" in data or "queue_pending" in data
    ):
        return None
    running = _queue_ids(data.get("queue_running"))
    # The server keeps pending prompts in a heap; their number is the execution order.
    pending = sorted(_queue_ids(data.get("queue_pending")))
    return QueueSnapshot(tuple(pid for _, pid in running), tuple(pid for _, pid in pending))


# ---------------------------------------------------------------- WebSocket


@dataclass(frozen=True, slots=True)
class Status:
    queue_remaining: int | None
    sid: str = ""


@dataclass(frozen=True, slots=True)
class ExecutionStart:
    prompt_id: str


@dataclass(frozen=True, slots=True)
class ExecutionCached:
    prompt_id: str
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Executing:
    """A node started; ``node`` None means the prompt is finished (success or not)."""

    prompt_id: str
    node: str | None


@dataclass(frozen=True, slots=True)
class Progress:
    prompt_id: str
    value: int
    max: int


@dataclass(frozen=True, slots=True)
class Executed:
    prompt_id: str
    node: str
    images: tuple[ImageRef, ...]


@dataclass(frozen=True, slots=True)
class ExecutionSuccess:
    prompt_id: str


@dataclass(frozen=True, slots=True)
class ExecutionError:
    prompt_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ExecutionInterrupted:
    prompt_id: str


Message = (Status | ExecutionStart | ExecutionCached | Executing | Progress | Executed
           | ExecutionSuccess | ExecutionError | ExecutionInterrupted)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def parse_message(text: str | bytes) -> Message | None:
    """One text frame as a typed message; None for types we do not use or broken frames."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(frame, Mapping):
        return None
    kind = frame.get("type")
    data = frame.get("data")
    if not isinstance(kind, str) or not isinstance(data, Mapping):
        return None
    if kind == "status":
        status = data.get("status")
        info = status.get("exec_info") if isinstance(status, Mapping) else None
        remaining = _int(info.get("queue_remaining")) if isinstance(info, Mapping) else None
        sid = data.get("sid")
        return Status(remaining, sid if isinstance(sid, str) else "")
    prompt_id = data.get("prompt_id")
    if not isinstance(prompt_id, str):
        return None
    if kind == "execution_start":
        return ExecutionStart(prompt_id)
    if kind == "execution_cached":
        nodes = data.get("nodes")
        return ExecutionCached(prompt_id, tuple(str(n) for n in nodes)
                               if isinstance(nodes, list) else ())
    if kind == "executing":
        node = data.get("node")
        return Executing(prompt_id, None if node is None else str(node))
    if kind == "progress":
        value, top = _int(data.get("value")), _int(data.get("max"))
        if value is None or top is None:
            return None
        return Progress(prompt_id, value, top)
    if kind == "executed":
        return Executed(prompt_id, str(data.get("node") or ""),
                        tuple(_image_refs(data.get("output"))))
    if kind == "execution_success":
        return ExecutionSuccess(prompt_id)
    if kind == "execution_error":
        return ExecutionError(prompt_id, execution_error_text(data))
    if kind == "execution_interrupted":
        return ExecutionInterrupted(prompt_id)
    return None


@dataclass(frozen=True, slots=True)
class ImageFrame:
    """An image sent over the socket (previews, SaveImageWebsocket output)."""

    format: str
    data: bytes
    prompt_id: str | None = None
    node_id: str | None = None


def parse_binary(frame: bytes) -> ImageFrame | None:
    """A binary frame as an image; None for text frames, unknown types and truncated data."""
    if len(frame) < 8:
        return None
    (kind,) = struct.unpack(">I", frame[:4])
    if kind == FRAME_PREVIEW_IMAGE:
        (fmt,) = struct.unpack(">I", frame[4:8])
        name = _IMAGE_FORMATS.get(fmt)
        return ImageFrame(name, frame[8:]) if name else None
    if kind == FRAME_IMAGE_WITH_METADATA:
        (length,) = struct.unpack(">I", frame[4:8])
        if length > len(frame) - 8:
            return None
        try:
            meta = json.loads(frame[8:8 + length])
        except (ValueError, RecursionError):
            return None
        if not isinstance(meta, Mapping):
            return None
        mime = str(meta.get("image_type") or "")
        name = "png" if mime.endswith("png") else "jpeg" if mime.endswith(("jpeg", "jpg")) \
            else ""
        if not name:
            return None
        pid, node = meta.get("prompt_id"), meta.get("node_id")
        return ImageFrame(name, frame[8 + length:], pid if isinstance(pid, str) else None,
                          node if isinstance(node, str) else None)
    return None
