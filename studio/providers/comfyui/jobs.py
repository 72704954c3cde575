"""What one job asks of ComfyUI, and the graph it becomes on a given server.

Model ids of the ``comfyui`` provider: ``flux-schnell`` (the built-in preview graph, a FLUX.1
schnell file chosen from the server's list), ``flux-dev`` (the built-in final graph, a FLUX.1 dev
class file chosen from the list), ``workflow:<file name>`` (the user's workflow set for the
stage), or the file name of an installed checkpoint or diffusion model (the built-in graph that
fits it, that exact file).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from studio.core.capabilities import ModelCapabilities
from studio.core.request import GenerationRequest, Stage
from studio.providers.comfyui.discovery import Catalogue, graph_problems
from studio.providers.comfyui.wire import Graph
from studio.providers.comfyui.workflows import (
    SlotValues,
    Workflow,
    WorkflowError,
    choose_model_files,
    fill,
    find_slots,
    use_split_loaders,
)

PROVIDER = "comfyui"
SCHNELL = "flux-schnell"
DEV = "flux-dev"
WORKFLOW_PREFIX = "workflow:"

_SCHNELL_CAPS = ModelCapabilities(
    provider=PROVIDER, model=SCHNELL, label="FLUX.1 schnell on ComfyUI", steps_min=1,
    steps_max=12, steps_default=4, uses_guidance=False, supports_negative=True, min_side=256,
    max_side=2048, size_multiple=16, can_cancel=True, price_per_image=0.0,
)
_DEV_CAPS = ModelCapabilities(
    provider=PROVIDER, model=DEV, label="FLUX.1 dev on ComfyUI", steps_min=1, steps_max=100,
    steps_default=30, uses_guidance=True, guidance_min=0.0, guidance_max=30.0,
    supports_negative=True, min_side=256, max_side=2048, size_multiple=16, can_cancel=True,
    price_per_image=0.0,
)


def family(model: str) -> str:
    """``schnell`` or ``dev``: which built-in graph a model id or file name runs in."""
    return "schnell" if model == SCHNELL or "schnell" in model.lower() else "dev"


def model_capabilities(model: str, workflow: Workflow | None = None) -> ModelCapabilities:
    if model.startswith(WORKFLOW_PREFIX):
        has = workflow.has if workflow is not None else (lambda _slot: True)
        return ModelCapabilities(
            provider=PROVIDER, model=model, label=f"the ComfyUI workflow {model[9:]}",
            steps_min=1, steps_max=200, steps_default=20, uses_guidance=has("guidance"),
            guidance_min=0.0, guidance_max=100.0, supports_negative=has("negative"),
            min_side=64, max_side=4096, size_multiple=8, can_cancel=True, price_per_image=0.0)
    base = _SCHNELL_CAPS if family(model) == "schnell" else _DEV_CAPS
    if model in (SCHNELL, DEV):
        return base
    return replace(base, model=model, label=model)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """The adapted request, as kept in a Submission so the job can be rebuilt elsewhere."""

    prompt: str
    negative: str
    seed: int | None
    width: int
    height: int
    steps: int
    guidance: float
    model: str
    stage: str

    @classmethod
    def from_request(cls, request: GenerationRequest) -> JobSpec:
        return cls(request.prompt, request.negative, request.seed, request.width,
                   request.height, request.steps, request.guidance, request.model,
                   request.stage.value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        seed = data.get("seed")
        return cls(
            prompt=str(data["prompt"]), negative=str(data.get("negative") or ""),
            seed=seed if isinstance(seed, int) else None, width=int(data["width"]),
            height=int(data["height"]), steps=int(data["steps"]),
            guidance=float(data.get("guidance") or 0.0), model=str(data["model"]),
            stage=str(data.get("stage") or Stage.PREVIEW.value))


@dataclass(frozen=True, slots=True)
class BuiltGraph:
    graph: Graph
    notes: tuple[str, ...]
    model_file: str  # the file loaded ("" for a user workflow)


def build_graph(spec: JobSpec, workflow: Workflow, catalogue: Catalogue, prompt_id: str,
                server: str) -> BuiltGraph:
    """The graph for ``spec`` on a server with ``catalogue``; WorkflowError (a sentence) when
    the server lacks a model or node the graph needs."""
    values = SlotValues(prompt=spec.prompt, negative=spec.negative, seed=spec.seed,
                        width=spec.width, height=spec.height, steps=spec.steps,
                        guidance=spec.guidance)
    model_file = ""
    graph = workflow.graph
    if workflow.builtin:
        wanted = "" if spec.model in (SCHNELL, DEV) else spec.model
        files = choose_model_files(wanted, family(spec.model), catalogue, server)
        model_file = files.main
        values = replace(values, model=model_file)
        if files.unet is not None:
            graph = use_split_loaders(graph, files)
            workflow = replace(workflow, graph=graph, slots=find_slots(graph, workflow.name))
        if not workflow.has("guidance"):
            values = replace(values, guidance=None)
    filled, notes = fill(workflow, values, prompt_id)
    problems = graph_problems(filled, catalogue)
    if problems:
        shown = "; ".join(problems[:4]) + (f" and {len(problems) - 4} more"
                                           if len(problems) > 4 else "")
        raise WorkflowError(f"the ComfyUI server {server} does not have {shown}; install what "
                            "is missing or choose another model or workflow")
    return BuiltGraph(filled, notes, model_file)
