"""A batch's requests prepared once per shape give exactly what the provider's own ``prepare``
gives each request: the same request, the same notes, the same refusal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.prompt import reference_clause
from studio.core.request import GenerationRequest, LoraWeight, SceneContext, Stage
from studio.providers import fal
from studio.providers.base import Provider
from studio.providers.errors import InvalidRequestError
from studio.providers.modelslab import ModelsLabProvider
from studio.providers.offline import OfflineProvider
from studio.providers.onemin import OneMinProvider
from studio.providers.prepared import BatchPreparation
from tests.fakes.sample import sample_request

FACE = ReferenceImage("a" * 64, ReferenceRole.FACE)
BODY = ReferenceImage("b" * 64, ReferenceRole.FULL_BODY)
OUTFIT = ReferenceImage("c" * 64, ReferenceRole.OUTFIT)
PROVIDERS: dict[str, Provider] = {
    "modelslab": ModelsLabProvider(api_key="k"),
    "fal": fal.FalProvider(api_key="k"),
    "onemin": OneMinProvider(api_key="k"),
    "offline": OfflineProvider(),
}


def outcome(prepare: Any, request: GenerationRequest) -> object:
    """What preparing ``request`` gives: the request and notes, or the refusal's words."""
    try:
        return prepare(request)
    except InvalidRequestError as exc:
        return ("refused", exc.user_message("Panel"))


def same_as_the_provider(provider: Provider, requests: Sequence[GenerationRequest]) -> None:
    batch = BatchPreparation(provider)
    for request in requests:
        assert outcome(batch.prepare, request) == outcome(provider.prepare, request), request


references = st.sampled_from([(), (FACE,), (FACE, BODY), (OUTFIT,), (FACE, BODY, OUTFIT, BODY)])


@st.composite
def requests(draw: st.DrawFn, provider: Provider) -> GenerationRequest:
    refs = draw(references)
    subject = draw(st.sampled_from(["woman", "person"]))
    clause = reference_clause(subject, refs)
    own = draw(st.sampled_from(["street corner, medium shot", "", "   ", "rooftop at dusk"]))
    prompt = draw(st.sampled_from([own, f"{clause}, {own}" if clause else own]))
    return sample_request(
        prompt=prompt,
        model=draw(st.sampled_from([*provider.model_ids()[:4], "someone/else"])),
        width=draw(st.sampled_from([512, 768, 1024, 2048, 64, 100])),
        height=draw(st.sampled_from([512, 1344, 1024, 4000])),
        steps=draw(st.sampled_from([0, 4, 28, 500])),
        guidance=draw(st.sampled_from([0.0, 3.5, 40.0])),
        negative=draw(st.sampled_from(["", "blurry, extra fingers"])),
        seed=draw(st.sampled_from([None, 0, 42, 7, -1, 2**32, 2**40])),
        stage=draw(st.sampled_from(list(Stage))),
        images=draw(st.sampled_from([1, 1, 2, 9])),
        loras=draw(st.sampled_from([(), (LoraWeight("x/y"),), (LoraWeight("x/y", 5.0),),
                                    (LoraWeight("a"), LoraWeight("b"))])),
        references=refs,
        reference_strength=(draw(st.sampled_from([ReferenceStrength.LIGHT,
                                                  ReferenceStrength.STRONG]))
                            if refs else ReferenceStrength.OFF),
        context=SceneContext(scene=draw(st.sampled_from(["Panel 1", "Panel 2"])),
                             subject=subject),
    )


@pytest.mark.parametrize("name", sorted(PROVIDERS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_request_of_a_batch_prepares_as_the_provider_prepares_it(name: str,
                                                                      data: st.DataObject
                                                                      ) -> None:
    provider = PROVIDERS[name]
    # Few shapes, many requests: most of them are prepared from a shape seen before.
    shapes = data.draw(st.lists(requests(provider), min_size=1, max_size=4))
    batch = data.draw(st.lists(st.builds(
        lambda shape, prompt, seed, scene: shape.with_changes(
            prompt=prompt or shape.prompt, seed=seed,
            context=SceneContext(scene=scene, subject=shape.context.subject)),
        st.sampled_from(shapes), st.sampled_from([None, "", " ", "a harbour at night"]),
        st.sampled_from([None, 1, 99, -5, 2**33]), st.sampled_from(["A", "B"])),
        max_size=12))
    same_as_the_provider(provider, [*shapes, *batch])


def test_a_shape_prepared_once_gives_its_changes_and_notes_to_the_others() -> None:
    provider = PROVIDERS["modelslab"]
    calls: list[GenerationRequest] = []

    class Counting(ModelsLabProvider):
        def prepare(self, request: GenerationRequest
                    ) -> tuple[GenerationRequest, tuple[str, ...]]:
            calls.append(request)
            return super().prepare(request)

    batch = BatchPreparation(Counting(api_key="k"))
    tall = [sample_request(width=768, height=1344, prompt=f"panel {i}", seed=i,
                           context=SceneContext(scene=f"Panel {i}")) for i in range(50)]
    for request in tall:
        adapted, notes = batch.prepare(request)
        assert (adapted, notes) == provider.prepare(request)
        assert (adapted.width, adapted.height, adapted.prompt, adapted.seed) == (
            584, 1024, request.prompt, request.seed)
        assert adapted.context == request.context and "768x1344" in notes[0]
    assert len(calls) == 1
    # Another shape is prepared on its own: its own size, no note.
    square, notes = batch.prepare(sample_request(width=1024, height=1024))
    assert (square.width, square.height, notes) == (1024, 1024, ())
    assert len(calls) == 2
    # What the shape cannot vouch for goes to the provider: an empty prompt, a seed out of
    # range (each refused as the provider refuses it).
    for odd in (tall[0].with_changes(prompt="  "), tall[0].with_changes(seed=2**40)):
        with pytest.raises(InvalidRequestError):
            batch.prepare(odd)
    assert len(calls) == 4


def test_a_shape_whose_references_change_prepares_every_request_in_full() -> None:
    # A LoRA model picked on purpose keeps the scene and leaves its references out.
    provider = PROVIDERS["fal"]
    clause = reference_clause("woman", (FACE,))
    first, second = (sample_request(prompt=f"{clause}, {words}", references=(FACE,),
                                    reference_strength=ReferenceStrength.STRONG,
                                    model=fal.LORA, loras=(LoraWeight("x/y"),),
                                    context=SceneContext(subject="woman"))
                     for words in ("street corner", "rooftop"))
    batch = BatchPreparation(provider)
    one, two = batch.prepare(first)[0], batch.prepare(second)[0]
    # Each prompt lost its own clause, not the first request's words.
    assert (one.prompt, two.prompt) == ("street corner", "rooftop")
    assert one.references == two.references == ()
    # The same request without the clause keeps its prompt as the provider keeps it.
    plain = second.with_changes(prompt="rooftop")
    assert batch.prepare(plain) == provider.prepare(plain)
