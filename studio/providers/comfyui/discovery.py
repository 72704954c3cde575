"""What a ComfyUI server has installed, read from ``GET /object_info`` and ``GET /system_stats``.

The node catalogue says which node classes exist (a missing class is a missing custom node),
and its combo inputs list the installed files: ``CheckpointLoaderSimple.ckpt_name`` the
all-in-one checkpoints, ``UNETLoader.unet_name`` the diffusion models, ``DualCLIPLoader`` the
text encoders, ``VAELoader`` the VAEs. :func:`graph_problems` checks a graph against it before
anything is sent, so a missing model is a sentence instead of a refused prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.providers.comfyui.wire import Graph

#: Node classes a reference image needs, per way of using it.
REDUX_NODES = ("LoadImage", "CLIPVisionLoader", "CLIPVisionEncode", "StyleModelLoader",
               "StyleModelApply")
KONTEXT_NODES = ("LoadImage", "FluxKontextImageScale", "VAEEncode", "ReferenceLatent")


def option_list(spec: Any) -> list[str] | None:
    """The choices of a combo input spec, or None when the input is not a combo.

    Older servers write ``[["a.safetensors", ...], {...}]``; newer ones may write
    ``["COMBO", {"options": [...]}]``; both are accepted.
    """
    if not isinstance(spec, list | tuple) or not spec:
        return None
    head = spec[0]
    if isinstance(head, list | tuple):
        return [item for item in head if isinstance(item, str)]
    if head == "COMBO" and len(spec) > 1 and isinstance(spec[1], Mapping):
        options = spec[1].get("options")
        if isinstance(options, list | tuple):
            return [item for item in options if isinstance(item, str)]
    return None


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node class: its inputs (name → spec) and whether each is required."""

    required: Mapping[str, Any] = field(default_factory=dict)
    optional: Mapping[str, Any] = field(default_factory=dict)

    def spec(self, name: str) -> Any:
        return self.required.get(name, self.optional.get(name))

    def has_input(self, name: str) -> bool:
        return name in self.required or name in self.optional

    def options(self, name: str) -> list[str] | None:
        return option_list(self.spec(name))


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The node classes of one server and the model files they offer."""

    nodes: Mapping[str, NodeSpec] = field(default_factory=dict)

    def has(self, *classes: str) -> bool:
        return all(name in self.nodes for name in classes)

    def files(self, class_type: str, input_name: str) -> tuple[str, ...]:
        node = self.nodes.get(class_type)
        found = node.options(input_name) if node is not None else None
        return tuple(found or ())

    @property
    def checkpoints(self) -> tuple[str, ...]:
        return self.files("CheckpointLoaderSimple", "ckpt_name")

    @property
    def unets(self) -> tuple[str, ...]:
        return self.files("UNETLoader", "unet_name")

    @property
    def clips(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.files("DualCLIPLoader", "clip_name1")
                                   + self.files("DualCLIPLoader", "clip_name2")
                                   + self.files("CLIPLoader", "clip_name")))

    @property
    def vaes(self) -> tuple[str, ...]:
        return self.files("VAELoader", "vae_name")

    @property
    def style_models(self) -> tuple[str, ...]:
        return self.files("StyleModelLoader", "style_model_name")

    @property
    def clip_visions(self) -> tuple[str, ...]:
        return self.files("CLIPVisionLoader", "clip_name")

    @property
    def has_redux(self) -> bool:
        """FLUX Redux: a style model and a CLIP vision model to encode references with."""
        return self.has(*REDUX_NODES) and bool(self.style_models) and bool(self.clip_visions)

    @property
    def has_kontext(self) -> bool:
        """FLUX Kontext's reference-latent nodes (the model itself is checked separately)."""
        return self.has(*KONTEXT_NODES)

    def summary(self) -> dict[str, Any]:
        """Plain data for status displays and ``--json``."""
        return {"checkpoints": list(self.checkpoints), "unets": list(self.unets),
                "clips": list(self.clips), "vaes": list(self.vaes),
                "kontext": self.has_kontext, "redux": self.has_redux}


def parse_object_info(data: Any) -> Catalogue:
    """The catalogue in an ``/object_info`` answer; classes with unreadable specs are kept
    (they exist) with no inputs."""
    nodes: dict[str, NodeSpec] = {}
    if not isinstance(data, Mapping):
        return Catalogue()
    for name, info in data.items():
        if not isinstance(name, str):
            continue
        required: Mapping[str, Any] = {}
        optional: Mapping[str, Any] = {}
        inputs = info.get("input") if isinstance(info, Mapping) else None
        if isinstance(inputs, Mapping):
            req, opt = inputs.get("required"), inputs.get("optional")
            required = dict(req) if isinstance(req, Mapping) else {}
            optional = dict(opt) if isinstance(opt, Mapping) else {}
        nodes[name] = NodeSpec(required, optional)
    return Catalogue(nodes)


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """What ``/system_stats`` says about a server: its version and its GPUs."""

    version: str = ""
    devices: tuple[tuple[str, int, int], ...] = ()  # (name, vram_total, vram_free) in bytes

    def describe(self) -> str:
        """``NVIDIA GeForce RTX 4090, 24 GB (20 GB free)``, or "" when nothing is known."""
        parts = []
        for name, total, free in self.devices:
            text = name
            if total > 0:
                text += f", {total / 2**30:.0f} GB"
                if 0 <= free <= total:
                    text += f" ({free / 2**30:.0f} GB free)"
            parts.append(text)
        return "; ".join(parts)


def parse_system_stats(data: Any) -> SystemInfo:
    if not isinstance(data, Mapping):
        return SystemInfo()
    system = data.get("system")
    version = ""
    if isinstance(system, Mapping):
        raw = system.get("comfyui_version")
        version = raw if isinstance(raw, str) else ""
    devices: list[tuple[str, int, int]] = []
    raw_devices = data.get("devices")
    if isinstance(raw_devices, list):
        for device in raw_devices:
            if not isinstance(device, Mapping):
                continue
            name = str(device.get("name") or device.get("type") or "device")
            total, free = device.get("vram_total"), device.get("vram_free")
            devices.append((" ".join(name.split())[:120],
                            total if isinstance(total, int) and not isinstance(total, bool)
                            else 0,
                            free if isinstance(free, int) and not isinstance(free, bool)
                            else -1))
    return SystemInfo(version[:40], tuple(devices))


def graph_problems(graph: Graph, catalogue: Catalogue) -> list[str]:
    """What the server would refuse in ``graph``: node classes it lacks and file choices it does
    not list, one short phrase each (``the checkpoint "x.safetensors" (node 1)``)."""
    problems: list[str] = []
    for node_id, node in graph.items():
        class_type = node.get("class_type")
        if not isinstance(class_type, str):
            problems.append(f"node {node_id} names no node class")
            continue
        spec = catalogue.nodes.get(class_type)
        if spec is None:
            problems.append(f"the node {class_type} (node {node_id}; a custom node that is not "
                            "installed?)")
            continue
        inputs = node.get("inputs")
        if not isinstance(inputs, Mapping):
            continue
        for name, value in inputs.items():
            if not isinstance(value, str) or class_type == "LoadImage":
                continue  # a link or a number; an uploaded image is newer than the catalogue
            options = spec.options(name)
            if options is not None and value not in options:
                problems.append(f"{_what(class_type, name)} \"{value}\" (node {node_id})")
    return problems


_FILE_KINDS = {
    "ckpt_name": "the checkpoint", "unet_name": "the diffusion model",
    "clip_name": "the text encoder", "clip_name1": "the text encoder",
    "clip_name2": "the text encoder", "vae_name": "the VAE", "lora_name": "the LoRA",
    "style_model_name": "the style model", "image": "the input image",
}


def _what(class_type: str, input_name: str) -> str:
    if class_type == "CLIPVisionLoader":
        return "the CLIP vision model"
    return _FILE_KINDS.get(input_name, f"the {input_name} choice")
