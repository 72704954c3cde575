"""The provider-neutral request as JSON data, kept on each library job so a job never accepted
before a crash can be submitted once after it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.core.request import GenerationRequest, LoraWeight, SceneContext, Stage

REQUEST_FORMAT = 1


def request_to_dict(request: GenerationRequest) -> dict[str, Any]:
    return {
        "format": REQUEST_FORMAT,
        "prompt": request.prompt,
        "negative": request.negative,
        "width": request.width,
        "height": request.height,
        "steps": request.steps,
        "guidance": request.guidance,
        "model": request.model,
        "seed": request.seed,
        "stage": request.stage.value,
        "images": request.images,
        "loras": [{"path": lw.path, "scale": lw.scale} for lw in request.loras],
        "extras": dict(request.extras),
        "context": {
            "character": request.context.character,
            "scene": request.context.scene,
            "lighting": request.context.lighting,
            "lens": request.context.lens,
            "framing": request.context.framing,
        },
    }


def request_from_dict(data: Mapping[str, Any]) -> GenerationRequest:
    """The request back; ValueError when the data is not one (damaged or from a newer studio)."""
    version = data.get("format")
    if version != REQUEST_FORMAT:
        raise ValueError(f"unknown request format {version!r}")
    try:
        ctx = data.get("context") or {}
        seed = data.get("seed")
        return GenerationRequest(
            prompt=str(data["prompt"]),
            negative=str(data.get("negative", "")),
            width=int(data["width"]),
            height=int(data["height"]),
            steps=int(data["steps"]),
            guidance=float(data["guidance"]),
            model=str(data["model"]),
            seed=None if seed is None else int(seed),
            stage=Stage(data.get("stage", "preview")),
            images=int(data.get("images", 1)),
            loras=tuple(LoraWeight(str(lw["path"]), float(lw.get("scale", 0.8)))
                        for lw in data.get("loras", ())),
            extras=dict(data.get("extras") or {}),
            context=SceneContext(**{k: str(ctx.get(k, "")) for k in
                                    ("character", "scene", "lighting", "lens", "framing")}),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the stored request is incomplete ({exc!r})") from None
