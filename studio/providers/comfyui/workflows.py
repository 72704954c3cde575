"""Workflows as data: API-format ComfyUI graphs with named slots the studio fills.

A slot is named in a node's title, which ComfyUI's "Export (API)" keeps as
``"_meta": {"title": ...}``: the title contains ``studio:`` followed by one or more slot names,
separated by commas, each optionally with ``=input`` to say which input of the node it sets::

    "5": {"class_type": "KSampler", "_meta": {"title": "Sampler studio:seed,steps"}, ...}
    "9": {"class_type": "CLIPTextEncode", "_meta": {"title": "studio:prompt=text"}, ...}

Slots: ``prompt``, ``negative`` (text), ``seed``, ``width``, ``height``, ``steps``, ``guidance``,
``reference`` (a ``LoadImage`` node; several are filled in order) and, in the built-in graphs
only, ``model`` (the checkpoint or diffusion model file chosen from the server's list). Without
``=input`` the usual input of the slot is used (``text`` for prompts, ``seed`` or ``noise_seed``,
``guidance`` or ``cfg``, ``image`` for references). A graph is otherwise sent unchanged, except
that each ``SaveImage`` node's ``filename_prefix`` is made unique per job, so the server always
writes a fresh file instead of answering from its cache with no image.

The built-in graphs live in ``resources/comfyui/`` (``preview.json``: FLUX.1 schnell, 4 steps,
cfg 1, euler/simple; ``final.json``: a FLUX.1 dev class model, 30 steps, FLUX guidance) with an
all-in-one checkpoint loader; :func:`use_split_loaders` swaps it for separate diffusion model,
text encoder and VAE loaders when that is what the server has.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.providers.comfyui.discovery import Catalogue
from studio.providers.comfyui.wire import Graph

SLOT_NAMES = ("prompt", "negative", "seed", "width", "height", "steps", "guidance",
              "reference", "model")
#: The input each slot sets when the title does not name one, first match wins.
DEFAULT_INPUTS: Mapping[str, tuple[str, ...]] = {
    "prompt": ("text", "prompt", "positive"),
    "negative": ("text", "prompt", "negative"),
    "seed": ("seed", "noise_seed"),
    "width": ("width",),
    "height": ("height",),
    "steps": ("steps",),
    "guidance": ("guidance", "cfg"),
    "reference": ("image",),
    "model": ("ckpt_name", "unet_name"),
}
MAX_WORKFLOW_BYTES = 4 * 1024 * 1024
_SLOT_RE = re.compile(r"studio:\s*([a-z_]+(?:=[A-Za-z0-9_.]+)?(?:\s*,\s*[a-z_]+"
                      r"(?:=[A-Za-z0-9_.]+)?)*)")


class WorkflowError(ValueError):
    """A workflow cannot be used; the message is a sentence saying what to fix."""


@dataclass(frozen=True, slots=True)
class SlotTarget:
    node_id: str
    input: str


@dataclass(frozen=True, slots=True)
class Workflow:
    """A graph and where its slots are."""

    name: str
    graph: Graph
    slots: Mapping[str, tuple[SlotTarget, ...]] = field(default_factory=dict)
    builtin: bool = False

    def has(self, slot: str) -> bool:
        return bool(self.slots.get(slot))


def find_slots(graph: Graph, name: str = "the workflow") -> dict[str, tuple[SlotTarget, ...]]:
    """Every slot marked in the node titles of ``graph``; WorkflowError for unknown slot names
    or slots on nodes that have no matching input."""
    found: dict[str, list[SlotTarget]] = {}
    for node_id, node in graph.items():
        meta = node.get("_meta")
        title = meta.get("title") if isinstance(meta, Mapping) else None
        if not isinstance(title, str):
            continue
        match = _SLOT_RE.search(title)
        if match is None:
            continue
        inputs = node.get("inputs")
        inputs = inputs if isinstance(inputs, Mapping) else {}
        for item in match.group(1).split(","):
            slot, _, explicit = item.strip().partition("=")
            if slot not in SLOT_NAMES:
                raise WorkflowError(
                    f"{name}: node {node_id} is titled with an unknown slot “{slot}”; use "
                    f"{', '.join(SLOT_NAMES)}")
            target = explicit or next((i for i in DEFAULT_INPUTS[slot] if i in inputs), "")
            if not target:
                raise WorkflowError(
                    f"{name}: node {node_id} is marked studio:{slot} but has none of the inputs "
                    f"{', '.join(DEFAULT_INPUTS[slot])}; name the input, e.g. "
                    f"studio:{slot}=<input>")
            found.setdefault(slot, []).append(SlotTarget(str(node_id), target))
    return {slot: tuple(targets) for slot, targets in found.items()}


def parse_graph(data: Any, name: str) -> Graph:
    """An API-format graph from parsed JSON; WorkflowError for the UI format and other shapes."""
    if isinstance(data, Mapping) and isinstance(data.get("prompt"), Mapping):
        data = data["prompt"]  # a saved /prompt body
    if isinstance(data, Mapping) and isinstance(data.get("nodes"), list) and "links" in data:
        raise WorkflowError(
            f"{name} is in ComfyUI's editor format; save it with “Export (API)” and use that "
            "file")
    if not isinstance(data, Mapping) or not data:
        raise WorkflowError(f"{name} is not a ComfyUI workflow in API format (a JSON object of "
                            "nodes)")
    graph: Graph = {}
    for node_id, node in data.items():
        if not isinstance(node, Mapping) or not isinstance(node.get("class_type"), str) \
                or not isinstance(node.get("inputs", {}), Mapping):
            raise WorkflowError(
                f"{name}: node {node_id} has no class_type and inputs; export the workflow "
                "with “Export (API)”")
        graph[str(node_id)] = copy.deepcopy(dict(node))
    return graph


def load_workflow(path: Path) -> Workflow:
    """A user's workflow file; WorkflowError (a sentence) when it cannot be used."""
    label = f"The ComfyUI workflow {path}"
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_WORKFLOW_BYTES + 1)
    except OSError as exc:
        raise WorkflowError(f"{label} cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_WORKFLOW_BYTES:
        raise WorkflowError(f"{label} is larger than 4 MB; it is not a workflow")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise WorkflowError(f"{label} nests far too deep to be a workflow") from None
    except ValueError as exc:
        raise WorkflowError(f"{label} is not valid JSON ({exc})") from None
    graph = parse_graph(data, label)
    slots = find_slots(graph, label)
    if not slots.get("prompt"):
        raise WorkflowError(
            f"{label} has no prompt slot; title its prompt node “studio:prompt” so the studio "
            "can set the scene's prompt")
    return Workflow(path.name, graph, slots)


def builtin_workflow(path: Path) -> Workflow:
    """A graph shipped in ``resources/comfyui``."""
    workflow = load_workflow(path)
    return Workflow(workflow.name, workflow.graph, workflow.slots, builtin=True)


@dataclass(frozen=True, slots=True)
class SlotValues:
    prompt: str
    negative: str = ""
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance: float | None = None
    references: tuple[str, ...] = ()
    model: str | None = None


def fill(workflow: Workflow, values: SlotValues, unique: str) -> tuple[Graph, tuple[str, ...]]:
    """A copy of the graph with the slots set, and notes on what the workflow could not take.

    ``unique`` (the prompt id) makes every SaveImage file prefix unique to the job.
    """
    graph = copy.deepcopy(workflow.graph)
    notes: list[str] = []
    plain: dict[str, Any] = {
        "prompt": values.prompt, "negative": values.negative, "seed": values.seed,
        "width": values.width, "height": values.height, "steps": values.steps,
        "guidance": values.guidance, "model": values.model,
    }
    for slot, value in plain.items():
        targets = workflow.slots.get(slot, ())
        if value is None or (slot == "negative" and value == "" and not targets):
            continue
        if not targets:
            if slot != "model":
                notes.append(_missing_note(workflow.name, slot))
            continue
        for target in targets:
            graph[target.node_id].setdefault("inputs", {})[target.input] = value
    slots = workflow.slots.get("reference", ())
    if values.references:
        if len(values.references) > len(slots) and slots:
            notes.append(f"The workflow {workflow.name} has {len(slots)} reference slot(s); "
                         f"only the first {len(slots)} of {len(values.references)} reference "
                         "images were used.")
        for target, name in zip(slots, values.references, strict=False):
            graph[target.node_id].setdefault("inputs", {})[target.input] = name
    for node in graph.values():
        if node.get("class_type") == "SaveImage":
            inputs = node.setdefault("inputs", {})
            prefix = str(inputs.get("filename_prefix") or "studio")
            inputs["filename_prefix"] = f"{prefix}-{unique[:12]}"
    return graph, tuple(notes)


def _missing_note(name: str, slot: str) -> str:
    what = {
        "negative": "no negative prompt slot, so the negative prompt was not used",
        "seed": "no seed slot, so the workflow's own seed was used",
        "width": "no width slot, so the workflow's own size was used",
        "height": "no height slot, so the workflow's own size was used",
        "steps": "no steps slot, so the workflow's own steps were used",
        "guidance": "no guidance slot, so the workflow's own guidance was used",
    }.get(slot, f"no {slot} slot")
    return f"The workflow {name} has {what}."


# ---------------------------------------------------------------- model files


#: Words of model files that are not plain text-to-image FLUX models.
_SPECIAL = ("kontext", "fill", "redux", "depth", "canny", "inpaint", "controlnet", "lora")


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """The files a built-in graph loads: an all-in-one checkpoint, or a diffusion model with
    its two text encoders and VAE."""

    checkpoint: str | None = None
    unet: str | None = None
    clip_l: str | None = None
    t5: str | None = None
    vae: str | None = None

    @property
    def main(self) -> str:
        return self.checkpoint or self.unet or ""


def _family_match(name: str, family: str) -> bool:
    low = name.lower()
    if "flux" not in low and "schnell" not in low:
        return False
    if family == "schnell":
        return "schnell" in low
    return "schnell" not in low and not any(word in low for word in _SPECIAL)


def _rank(name: str, family: str) -> tuple[int, str]:
    low = name.lower()
    # Prefer the plain "dev" file over fine-tunes, and fp8 files (they fit more GPUs).
    return (0 if family in low else 1) + (0 if "fp8" in low else 1), low


def choose_model_files(wanted: str, family: str, catalogue: Catalogue,
                       server: str) -> ModelFiles:
    """The files to load for ``wanted`` (a file name, or "" to pick the family's best) from what
    the server lists; WorkflowError naming what is installed when nothing fits."""
    label = "FLUX.1 schnell" if family == "schnell" else "FLUX.1 dev class"
    if wanted:
        if wanted in catalogue.checkpoints:
            return ModelFiles(checkpoint=wanted)
        if wanted in catalogue.unets:
            return _split(wanted, catalogue, server)
        raise WorkflowError(
            f"the ComfyUI server {server} does not list the model “{wanted}” among its "
            f"checkpoints or diffusion models ({_installed(catalogue)}); install it or choose "
            "an installed one with --model")
    checkpoints = sorted((n for n in catalogue.checkpoints if _family_match(n, family)),
                         key=lambda n: _rank(n, family))
    if checkpoints:
        return ModelFiles(checkpoint=checkpoints[0])
    unets = sorted((n for n in catalogue.unets if _family_match(n, family)),
                   key=lambda n: _rank(n, family))
    if unets:
        return _split(unets[0], catalogue, server)
    example = ("flux1-schnell-fp8.safetensors" if family == "schnell"
               else "flux1-dev-fp8.safetensors")
    raise WorkflowError(
        f"the ComfyUI server {server} lists no {label} model ({_installed(catalogue)}); put "
        f"one such as {example} in its models/checkpoints folder, or name an installed model "
        "with --model")


def _split(unet: str, catalogue: Catalogue, server: str) -> ModelFiles:
    clips = catalogue.clips
    clip_l = next((c for c in clips if "clip_l" in c.lower()), None)
    t5 = next((c for c in clips if "t5" in c.lower()), None)
    vaes = catalogue.vaes
    vae = next((v for v in vaes if "flux" in v.lower() or v.lower().startswith("ae.")), None)
    missing = [what for what, found in (("clip_l", clip_l), ("a t5xxl text encoder", t5),
                                        ("the FLUX VAE (ae.safetensors)", vae)) if not found]
    if missing or not catalogue.has("UNETLoader", "DualCLIPLoader", "VAELoader"):
        raise WorkflowError(
            f"the ComfyUI server {server} has the diffusion model “{unet}” but not "
            f"{', '.join(missing) or 'the UNETLoader, DualCLIPLoader and VAELoader nodes'} "
            "to run it; install them or use an all-in-one checkpoint")
    return ModelFiles(unet=unet, clip_l=clip_l, t5=t5, vae=vae)


def _installed(catalogue: Catalogue) -> str:
    files = [*catalogue.checkpoints, *catalogue.unets]
    if not files:
        return "it lists none"
    shown = ", ".join(files[:6]) + (f" and {len(files) - 6} more" if len(files) > 6 else "")
    return f"installed: {shown}"


def use_split_loaders(graph: Graph, files: ModelFiles) -> Graph:
    """``graph`` with its CheckpointLoaderSimple replaced by UNET, dual CLIP and VAE loaders,
    every link to the checkpoint's MODEL, CLIP and VAE outputs moved to the new nodes."""
    out = copy.deepcopy(graph)
    loader = next((nid for nid, node in out.items()
                   if node.get("class_type") == "CheckpointLoaderSimple"), None)
    if loader is None or files.unet is None:
        return out
    meta = out[loader].get("_meta")
    del out[loader]
    ids = fresh_ids(out, 3)
    out[ids[0]] = {"class_type": "UNETLoader",
                   "inputs": {"unet_name": files.unet, "weight_dtype": "default"}}
    if isinstance(meta, Mapping):
        out[ids[0]]["_meta"] = dict(meta)
    out[ids[1]] = {"class_type": "DualCLIPLoader",
                   "inputs": {"clip_name1": files.clip_l, "clip_name2": files.t5,
                              "type": "flux"}}
    out[ids[2]] = {"class_type": "VAELoader", "inputs": {"vae_name": files.vae}}
    # CheckpointLoaderSimple outputs 0 MODEL, 1 CLIP, 2 VAE; each new loader has one output.
    relink = {0: ids[0], 1: ids[1], 2: ids[2]}
    for node in out.values():
        for name, value in node.get("inputs", {}).items():
            if is_link(value) and value[0] == loader and value[1] in relink:
                node["inputs"][name] = [relink[value[1]], 0]
    return out


def is_link(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], int) and not isinstance(value[1], bool))


def fresh_ids(graph: Graph, count: int) -> list[str]:
    """``count`` node ids not used in ``graph`` (numbers after the highest one)."""
    numbers = [int(k) for k in graph if k.isdigit()]
    start = max(numbers, default=0) + 1
    return [str(start + i) for i in range(count)]


def links_to(graph: Graph, node_id: str, output: int = 0) -> list[tuple[str, str]]:
    """(node, input) pairs that read output ``output`` of ``node_id``."""
    return [(nid, name) for nid, node in graph.items()
            for name, value in node.get("inputs", {}).items()
            if is_link(value) and value[0] == node_id and value[1] == output]


def slot_nodes(workflow: Workflow, slot: str) -> Sequence[str]:
    return [t.node_id for t in workflow.slots.get(slot, ())]
