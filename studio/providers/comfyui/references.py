"""Reference images for ComfyUI: uploaded through ``/upload/image`` and wired into the graph.

A user's workflow takes them in its ``studio:reference`` slots (``LoadImage`` nodes), in order.
A built-in graph gets them through FLUX Kontext (``ReferenceLatent`` fed by a VAE-encoded,
Kontext-scaled image; only with a Kontext model) or FLUX Redux (``StyleModelApply`` with a CLIP
vision encoding of each image), whichever the server has; each reference extends the positive
conditioning chain right after the prompt encoder. The render request does not carry references
yet; :func:`attach_references` is the one entry point for when it does.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from studio.providers.comfyui.discovery import Catalogue
from studio.providers.comfyui.wire import Graph
from studio.providers.comfyui.workflows import (
    Workflow,
    WorkflowError,
    fresh_ids,
    is_link,
    links_to,
)

ReferenceMode = Literal["slots", "kontext", "redux"]
#: Uploads one image (name, bytes) and returns the name the server gave it.
Uploader = Callable[[str, bytes], Awaitable[str]]


def reference_mode(workflow: Workflow, catalogue: Catalogue, model: str,
                   server: str) -> ReferenceMode:
    """How references reach this graph on this server; WorkflowError when they cannot."""
    if workflow.has("reference"):
        return "slots"
    if not workflow.builtin:
        raise WorkflowError(
            f"the workflow {workflow.name} has no reference slot; title a LoadImage node "
            "“studio:reference” to use reference images with it")
    if "kontext" in model.lower() and catalogue.has_kontext:
        return "kontext"
    if catalogue.has_redux:
        return "redux"
    raise WorkflowError(
        f"the ComfyUI server {server} has neither FLUX Redux (StyleModelApply with a style "
        "model and a CLIP vision model) nor a FLUX Kontext model with its nodes, so reference "
        "images cannot be used there; install one or render without references")


def _prompt_node(graph: Graph, workflow: Workflow) -> str:
    targets = workflow.slots.get("prompt", ())
    if not targets:
        raise WorkflowError(f"the workflow {workflow.name} has no prompt slot")
    return targets[0].node_id


def _relink(graph: Graph, source: str, new_source: str, skip: set[str]) -> None:
    for node_id, name in links_to(graph, source):
        if node_id not in skip:
            graph[node_id]["inputs"][name] = [new_source, 0]


def _prefer(files: Sequence[str], word: str) -> str:
    return next((f for f in files if word in f.lower()), files[0])


def wire_redux(graph: Graph, workflow: Workflow, catalogue: Catalogue,
               names: Sequence[str], strength: float = 1.0) -> Graph:
    """``graph`` with each uploaded image applied through FLUX Redux to the prompt."""
    out = copy.deepcopy(graph)
    prompt = _prompt_node(out, workflow)
    encode_spec = catalogue.nodes["CLIPVisionEncode"]
    apply_spec = catalogue.nodes["StyleModelApply"]
    vision, style = fresh_ids(out, 2)
    out[vision] = {"class_type": "CLIPVisionLoader",
                   "inputs": {"clip_name": _prefer(catalogue.clip_visions, "sigclip")}}
    out[style] = {"class_type": "StyleModelLoader",
                  "inputs": {"style_model_name": _prefer(catalogue.style_models, "redux")}}
    added = {vision, style}
    last = prompt
    for name in names:
        load, encode, apply = fresh_ids(out, 3)
        out[load] = {"class_type": "LoadImage", "inputs": {"image": name}}
        out[encode] = {"class_type": "CLIPVisionEncode",
                       "inputs": {"clip_vision": [vision, 0], "image": [load, 0]}}
        if encode_spec.has_input("crop"):  # newer servers only
            out[encode]["inputs"]["crop"] = "center"
        out[apply] = {"class_type": "StyleModelApply",
                      "inputs": {"conditioning": [last, 0], "style_model": [style, 0],
                                 "clip_vision_output": [encode, 0]}}
        if apply_spec.has_input("strength"):
            out[apply]["inputs"]["strength"] = strength
        if apply_spec.has_input("strength_type"):
            out[apply]["inputs"]["strength_type"] = "multiply"
        added |= {load, encode, apply}
        last = apply
    _relink(out, prompt, last, added)
    return out


def wire_kontext(graph: Graph, workflow: Workflow, names: Sequence[str]) -> Graph:
    """``graph`` with each uploaded image as a Kontext reference latent on the prompt."""
    out = copy.deepcopy(graph)
    prompt = _prompt_node(out, workflow)
    vae = next((node["inputs"]["vae"] for node in out.values()
                if node.get("class_type") == "VAEDecode"
                and is_link(node.get("inputs", {}).get("vae"))), None)
    if vae is None:
        raise WorkflowError(f"the workflow {workflow.name} has no VAE to encode references with")
    added: set[str] = set()
    last = prompt
    for name in names:
        load, scale, encode, reference = fresh_ids(out, 4)
        out[load] = {"class_type": "LoadImage", "inputs": {"image": name}}
        out[scale] = {"class_type": "FluxKontextImageScale", "inputs": {"image": [load, 0]}}
        out[encode] = {"class_type": "VAEEncode", "inputs": {"pixels": [scale, 0], "vae": vae}}
        out[reference] = {"class_type": "ReferenceLatent",
                          "inputs": {"conditioning": [last, 0], "latent": [encode, 0]}}
        added |= {load, scale, encode, reference}
        last = reference
    _relink(out, prompt, last, added)
    return out


def wire_slots(graph: Graph, workflow: Workflow, names: Sequence[str]) -> Graph:
    out = copy.deepcopy(graph)
    for target, name in zip(workflow.slots.get("reference", ()), names, strict=False):
        out[target.node_id].setdefault("inputs", {})[target.input] = name
    return out


async def attach_references(
    upload: Uploader,
    graph: Graph,
    workflow: Workflow,
    catalogue: Catalogue,
    references: Sequence[tuple[str, bytes]],
    *,
    model: str,
    server: str,
) -> tuple[Graph, ReferenceMode | None]:
    """Upload ``references`` (name, image bytes) and wire them into ``graph``.

    The way is chosen before anything is uploaded, so a server that cannot take references
    gets nothing. Returns the new graph and the way used (None without references).
    """
    if not references:
        return graph, None
    mode = reference_mode(workflow, catalogue, model, server)
    names = [await upload(name, data) for name, data in references]
    if mode == "slots":
        return wire_slots(graph, workflow, names), mode
    if mode == "kontext":
        return wire_kontext(graph, workflow, names), mode
    return wire_redux(graph, workflow, catalogue, names), mode
