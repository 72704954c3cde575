"""Reference images on their way to a model: where their bytes come from, and what a model can
honour of the references a request carries.

**Bytes travel beside the request, not in it.** A :class:`~studio.core.request.GenerationRequest`
names each image by its content hash and role (:class:`~studio.core.anchor.ReferenceImage`). A
provider is built with a :class:`ReferenceReader` (the library's image store implements it:
``studio.library.references``) and reads the bytes by hash when it sends the request, on a
worker thread since the read blocks. The library stores every reference image before a render of
it is planned (binding a sheet does), keeps it as long as an anchor version lists it, and checks
the bytes against the hash on every read, so a job resumed in another process sends the very
same images or fails with a sentence.

**What a model can honour** is decided before anything is sent, by :func:`fit_references`
from the model's declared :class:`~studio.core.capabilities.ReferenceSupport`: too many images
are cut to the model's maximum (faces first), roles it cannot use are left out, light strength
sends fewer images where that is the model's knob, a model that takes none gets the request
without them (each with a note saying so), and a request left with nothing the model can use is
refused with a sentence. The prompt's reference clause is rewritten to number the images that
are actually sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.capabilities import ModelCapabilities
from studio.core.errors import StudioInputError
from studio.core.prompt import reference_clause
from studio.core.request import GenerationRequest


class ReferenceUnavailableError(StudioInputError):
    """A reference image's bytes cannot be read by its hash (not stored, file gone or damaged);
    the message says which image and what to do."""


class ReferenceReader(Protocol):
    """Reads a reference image's bytes by the sha256 a request names it by (blocking)."""

    def reference_bytes(self, sha256: str) -> bytes:
        """The image's bytes, checked against ``sha256``; :class:`ReferenceUnavailableError`
        when they cannot be had."""
        ...


#: Which images a model keeps first when it cannot take them all (identity first).
_ROLE_ORDER = {ReferenceRole.FACE: 0, ReferenceRole.FULL_BODY: 1, ReferenceRole.OTHER: 2,
               ReferenceRole.OUTFIT: 3}

_ROLE_WORDS = {ReferenceRole.FACE: "face", ReferenceRole.FULL_BODY: "full-body",
               ReferenceRole.OUTFIT: "outfit", ReferenceRole.OTHER: "other"}


@dataclass(frozen=True, slots=True)
class ReferenceFit:
    """What a model makes of a request's references: the request as it will be sent, notes
    on what changed, or ``refusal`` (a sentence) when it cannot be sent at all."""

    request: GenerationRequest
    notes: tuple[str, ...] = ()
    refusal: str = ""


def _count_words(count: int) -> str:
    return "one reference image" if count == 1 else f"{count} reference images"


def _roles(roles: Iterable[ReferenceRole]) -> str:
    """"face", "face and outfit", "face, full-body and other"."""
    words = list(dict.fromkeys(_ROLE_WORDS[r] for r in roles))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def with_references(request: GenerationRequest,
                    references: tuple[ReferenceImage, ...]) -> GenerationRequest:
    """``request`` sending ``references`` instead (a subset, in their order), its prompt's
    reference clause rewritten to match; a prompt that does not open with the clause of the
    references it had is left as it is."""
    if references == request.references:
        return request
    subject = request.context.subject or "person"
    old = reference_clause(subject, request.references)
    prompt = request.prompt
    if old and prompt.startswith(old):
        rest = prompt[len(old):].lstrip(", ")
        new = reference_clause(subject, references)
        prompt = f"{new}, {rest}" if new and rest else (new or rest)
    strength = request.reference_strength if references else ReferenceStrength.OFF
    return request.with_changes(references=references, reference_strength=strength,
                                prompt=prompt)


def fit_references(request: GenerationRequest, caps: ModelCapabilities) -> ReferenceFit:
    """The references of ``request`` as ``caps``'s model can take them (see the module's
    docstring). Pure: the same request and capabilities always give the same answer, and a
    request already fitted fits unchanged."""
    refs = request.references
    model = caps.label or caps.model
    if not refs or request.reference_strength is ReferenceStrength.OFF:
        if refs or request.reference_strength is not ReferenceStrength.OFF:
            return ReferenceFit(with_references(request, ()))
        return ReferenceFit(request)
    support = caps.references
    if not support.takes_references:
        return ReferenceFit(with_references(request, ()), (
            f"{model} takes no reference images, so the scene's {_count_words(len(refs))} "
            f"{'was' if len(refs) == 1 else 'were'} not sent; its likeness rests on the anchor "
            "and the seed (choose a model that takes references to keep the face).",))
    usable = tuple(r for r in refs if r.role in support.roles)
    if not usable:
        wanted = _roles(role for role in ReferenceRole if role in support.roles)
        return ReferenceFit(request, refusal=(
            f"{model} uses only {wanted} reference images, and the scene sends only "
            f"{_roles(r.role for r in refs)} pictures; add a {wanted} image to the character's "
            "references, or set reference = \"off\" for the scene."))
    notes: list[str] = []
    if len(usable) < len(refs):
        left = [r for r in refs if r not in usable]
        notes.append(f"{model} uses no {_roles(r.role for r in left)} reference images, so the "
                     f"scene's {_roles(r.role for r in left)} "
                     f"{'picture was' if len(left) == 1 else 'pictures were'} not sent.")
    most = support.count_for(request.reference_strength)
    ranked = sorted(range(len(usable)), key=lambda i: (_ROLE_ORDER[usable[i].role], i))
    keep = sorted(ranked[:most])
    chosen = tuple(usable[i] for i in keep)
    if len(chosen) < len(usable) and len(usable) > support.max_images:
        notes.append(f"{model} takes at most {_count_words(support.max_images)}; sent "
                     f"{len(chosen)} of {len(usable)}, faces first.")
    return ReferenceFit(with_references(request, chosen), tuple(notes))
