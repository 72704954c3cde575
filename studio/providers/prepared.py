"""A batch's requests prepared once per shape.

The scenes of a sheet differ in their prompts, seeds and contexts and share the rest (a few
sizes, one model, one negative, one set of reference images), and what
:meth:`Provider.prepare <studio.providers.base.Provider.prepare>` does to a request depends on
that rest alone: the prompt only matters when it is empty (refused), the seed when it is
outside the model's range (refused), and both only once the references change (the prompt's
reference clause is rewritten). :class:`BatchPreparation` therefore prepares the first
request of each shape in full and gives the others of that shape the same changes and notes,
so planning a sheet of thousands of scenes checks a few shapes instead of every scene.

A request it cannot vouch for is prepared in full, every time: one whose prompt is empty or
whose seed is outside the range the shape's model takes (the provider then says why), one
with extras, and every request of a shape whose preparation changed more than the fields the
shape is made of (its references, its prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from studio.core.request import GenerationRequest
from studio.providers.base import Provider

#: The fields a request's shape is made of and its preparation may change for every request of
#: the shape alike. Not ``references`` or ``reference_strength``: changing those rewrites the
#: prompt's reference clause, which is the request's own.
_SHAPE_CHANGES = ("model", "provider", "width", "height", "steps", "guidance", "negative",
                  "images", "loras")
#: The fields it may not change (each request's own).
_OWN = tuple(f.name for f in fields(GenerationRequest) if f.name not in _SHAPE_CHANGES)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What preparing one request of a shape did: the fields it changed, its notes, and the
    seeds the model it chose takes."""

    changes: dict[str, Any]
    notes: tuple[str, ...]
    seed_min: int
    seed_max: int


class BatchPreparation:
    """``provider.prepare`` for the requests of one batch (a plan's lifetime: the provider's
    capabilities do not change under it); the same answers, each shape prepared once."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        #: Per shape: what preparing it did, or None when it cannot be reused.
        self._shapes: dict[tuple[Any, ...], _Prepared | None] = {}

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, tuple[str, ...]]:
        """:meth:`Provider.prepare` of ``request``: the request as it will be sent and the
        notes on what was changed, or the provider's :class:`InvalidRequestError`."""
        if request.extras:
            return self.provider.prepare(request)
        key = (request.model, request.provider, request.width, request.height, request.steps,
               request.guidance, request.negative, request.stage, request.images,
               request.loras, request.references, request.reference_strength)
        shape = self._shapes.get(key, _UNSEEN)
        if shape is _UNSEEN:
            adapted, notes = self.provider.prepare(request)
            self._shapes[key] = self._learn(request, adapted, notes)
            return adapted, notes
        seed = request.seed
        if shape is None or not request.prompt.strip() or (
                seed is not None and not shape.seed_min <= seed <= shape.seed_max):
            return self.provider.prepare(request)
        return (request.with_changes(**shape.changes) if shape.changes else request,
                shape.notes)

    def _learn(self, request: GenerationRequest, adapted: GenerationRequest,
               notes: tuple[str, ...]) -> _Prepared | None:
        """What preparing ``request`` into ``adapted`` did to its shape, or None when it
        changed anything else."""
        if adapted is not request and any(getattr(adapted, name) != getattr(request, name)
                                          for name in _OWN):
            return None
        caps = self.provider.capabilities(adapted.model)
        return _Prepared(
            {name: getattr(adapted, name) for name in _SHAPE_CHANGES
             if getattr(adapted, name) != getattr(request, name)},
            notes, caps.seed_min, caps.seed_max)


_UNSEEN: Any = object()
