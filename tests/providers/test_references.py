"""Reference images on the hosted APIs, against the fakes: the bytes that reached the API, the
field names, the strength mapping, one upload per image per provider, no key off the API's
own addresses, and the model a scene with (or without) references renders with."""

from __future__ import annotations

import asyncio
import io
import random

import pytest
from PIL import Image

from studio.core.anchor import ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.lifecycle import JobState
from studio.core.prompt import reference_clause
from studio.core.request import LoraWeight, SceneContext, Stage
from studio.providers import fal, modelslab, replicate
from studio.providers.base import Submission
from studio.providers.errors import AuthenticationError, InvalidRequestError, ReferenceMissingError
from tests.fakes.fal import FakeFal
from tests.fakes.files import MemoryReferences
from tests.fakes.fixtures import assert_no_key
from tests.fakes.sample import sample_request
from tests.fakes.server import Reply, png_bytes

FACE = png_bytes(40, 40, (220, 180, 150))
OUTFIT = png_bytes(30, 50, (20, 40, 200))


def noisy_png(side: int = 400) -> bytes:
    """A PNG that does not compress: over Replicate's 256 kB data-URI limit."""
    data = random.Random(5).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), data).save(out, format="PNG")
    return out.getvalue()


def refs(reader: MemoryReferences, *pairs: tuple[bytes, ReferenceRole]
         ) -> tuple[ReferenceImage, ...]:
    return tuple(ReferenceImage(reader.add(data), role) for data, role in pairs)


def with_refs(model: str, references: tuple[ReferenceImage, ...],
              strength: ReferenceStrength = ReferenceStrength.STRONG, **kw):  # type: ignore[no-untyped-def]
    return sample_request(model=model, references=references, reference_strength=strength,
                          **kw)


def key_in(server, key: str) -> bool:  # type: ignore[no-untyped-def]
    return any(key in str(r.headers) or key.encode() in r.body for r in server.requests)


# ---------------------------------------------------------------- fal


@pytest.fixture
def fal_files(api_key, file_host):  # type: ignore[no-untyped-def]
    server = FakeFal(api_key, files=file_host).start()
    yield server
    server.stop()


@pytest.mark.asyncio
async def test_fal_uploads_each_image_once_and_sends_the_file_urls(
        fal_files, file_host, make_provider, api_key):
    reader = MemoryReferences()
    images = refs(reader, (FACE, ReferenceRole.FACE), (OUTFIT, ReferenceRole.OUTFIT))
    provider = make_provider(fal_files, references=reader)
    results = await asyncio.gather(*(
        provider.generate(with_refs(fal.KLEIN_EDIT, images, seed=s)) for s in (1, 2, 3)))
    # One initiate and one PUT per distinct image for the whole batch.
    assert fal_files.initiations() == 2 and file_host.uploads() == 2
    assert fal_files.submits() == 3
    for rid, body in fal_files.job_bodies.items():
        assert fal_files.references[rid] == [FACE, OUTFIT]  # the very bytes, in order
        assert all(u.startswith(file_host.base_url + "/files/") for u in body["image_urls"])
        assert "image_url" not in body and "id_weight" not in body
    initiate = next(r for r in fal_files.requests if r.path == "/storage/upload/initiate")
    assert initiate.headers["authorization"] == f"Key {api_key}"
    assert initiate.json == {"content_type": "image/png",
                             "file_name": f"reference-{images[0].sha256[:16]}.png"}
    assert initiate.query["storage_type"] == ["fal-cdn-v3"]
    puts = [r for r in file_host.requests if r.method == "PUT"]
    assert sorted(r.body for r in puts) == sorted((FACE, OUTFIT))
    assert all(r.headers["content-type"] == "image/png" for r in puts)
    assert not key_in(file_host, api_key)  # the upload and file host never see the key
    # What is recorded names the images by hash, not by their public links.
    recorded = results[0].request_body["image_urls"]
    assert recorded == [f"sha256:{images[0].sha256}", f"sha256:{images[1].sha256}"]
    assert_no_key(api_key, *results)


@pytest.mark.asyncio
async def test_fal_light_strength_sends_the_face_only(fal_files, make_provider):
    reader = MemoryReferences()
    images = refs(reader, (OUTFIT, ReferenceRole.OUTFIT), (FACE, ReferenceRole.FACE))
    provider = make_provider(fal_files, references=reader)
    await provider.generate(with_refs(fal.PRO_EDIT, images, ReferenceStrength.LIGHT))
    (rid,) = fal_files.job_bodies
    assert fal_files.references[rid] == [FACE]
    body = fal_files.job_bodies[rid]
    assert body["safety_tolerance"] == "2" and "num_inference_steps" not in body
    assert "num_images" not in body


@pytest.mark.asyncio
@pytest.mark.parametrize(("strength", "weight"), [(ReferenceStrength.LIGHT, 0.6),
                                                  (ReferenceStrength.STRONG, 1.0)])
async def test_fal_pulid_maps_strength_to_id_weight(fal_files, make_provider, strength, weight):
    reader = MemoryReferences()
    images = refs(reader, (OUTFIT, ReferenceRole.OUTFIT), (FACE, ReferenceRole.FACE))
    provider = make_provider(fal_files, references=reader)
    result = await provider.generate(with_refs(fal.PULID, images, strength))
    (rid,) = fal_files.job_bodies
    body = fal_files.job_bodies[rid]
    assert body["id_weight"] == weight and fal_files.references[rid] == [FACE]
    assert isinstance(body["reference_image_url"], str)
    assert any("outfit" in note for note in result.notes)  # PuLID uses no outfit picture


@pytest.mark.asyncio
async def test_fal_kontext_takes_one_image_url_and_an_aspect_ratio(fal_files, make_provider):
    reader = MemoryReferences()
    images = refs(reader, (FACE, ReferenceRole.FACE), (OUTFIT, ReferenceRole.OUTFIT))
    provider = make_provider(fal_files, references=reader)
    clause = reference_clause("woman", images)
    assert clause == "the woman with the face from image 1, wearing the outfit from image 2"
    result = await provider.generate(with_refs(
        fal.KONTEXT, images, width=1024, height=1024, prompt=f"{clause}, Emma, 30",
        context=SceneContext(scene="Headshot", subject="woman")))
    (rid,) = fal_files.job_bodies
    body = fal_files.job_bodies[rid]
    assert fal_files.references[rid] == [FACE] and body["aspect_ratio"] == "1:1"
    assert "image_size" not in body and "image_urls" not in body
    assert any("at most one reference image" in note for note in result.notes)
    # The prompt speaks of the one image actually sent.
    assert body["prompt"] == "the woman from the reference image, Emma, 30"


@pytest.mark.asyncio
async def test_fal_refused_upload_key_sends_nothing(fal_files, make_provider, file_host):
    reader = MemoryReferences()
    images = refs(reader, (FACE, ReferenceRole.FACE))
    provider = make_provider(fal_files, references=reader)
    fal_files.script("POST", "/storage/upload/initiate", Reply(401, {"detail": "No user found"}))
    journal: list[JobState] = []

    async def note(state: JobState) -> None:
        journal.append(state)

    with pytest.raises(AuthenticationError):
        await provider.submit(with_refs(fal.KLEIN_EDIT, images), journal=note)
    # The upload came before the job was journaled as sending: certainly not sent.
    assert journal == [] and fal_files.submits() == 0 and file_host.uploads() == 0
    with pytest.raises(Exception) as again:
        await provider.submit(with_refs(fal.KLEIN_EDIT, images))
    assert "refused" in str(again.value) and fal_files.initiations() == 1


@pytest.mark.asyncio
async def test_a_missing_reference_is_a_sentence_and_nothing_is_sent(fal_files, make_provider):
    provider = make_provider(fal_files, references=MemoryReferences())
    image = ReferenceImage("0" * 64, ReferenceRole.FACE)
    with pytest.raises(ReferenceMissingError) as info:
        await provider.submit(with_refs(fal.KLEIN_EDIT, (image,)))
    assert "not in the library" in info.value.user_message("Headshot")
    assert fal_files.requests == []


@pytest.mark.asyncio
async def test_reference_off_sends_no_reference_and_uses_the_text_model(fal_files,
                                                                        make_provider):
    provider = make_provider(fal_files, references=MemoryReferences(FACE))
    # The stage's model is an edit model (set in Settings); the scene sends none.
    result = await provider.generate(sample_request(model=fal.KLEIN_EDIT))
    assert result.model == fal.SCHNELL and "needs a reference image" in result.notes[0]
    assert fal_files.initiations() == 0
    (rid,) = fal_files.job_bodies
    assert not {"image_urls", "image_url", "reference_image_url"} & set(fal_files.job_bodies[rid])


def test_the_default_model_hands_a_scene_with_references_to_the_reference_model():
    provider = fal.FalProvider(api_key="k")
    images = (ReferenceImage("a" * 64, ReferenceRole.FACE),)
    preview, notes = provider.prepare(with_refs(fal.SCHNELL, images))
    assert preview.model == fal.KLEIN_EDIT and preview.references == images
    assert "takes no reference images" in notes[0] and 'reference = "off"' in notes[0]
    assert provider.prepare(preview)[0] == preview  # idempotent
    final, _ = provider.prepare(with_refs(fal.LORA, images, stage=Stage.FINAL))
    assert final.model == fal.PRO_EDIT
    # A model the user picked (with LoRA weights) keeps the scene; its references are left out.
    kept, notes = provider.prepare(with_refs(fal.LORA, images, stage=Stage.FINAL,
                                             loras=(LoraWeight("x/y"),)))
    assert kept.model == fal.LORA and kept.references == ()
    assert kept.reference_strength is ReferenceStrength.OFF
    assert "takes no reference images, so the scene's one reference image was not sent" in \
        notes[0]


def test_a_model_that_cannot_use_the_roles_is_refused_before_sending():
    provider = fal.FalProvider(api_key="k")
    images = (ReferenceImage("b" * 64, ReferenceRole.OUTFIT),)
    with pytest.raises(InvalidRequestError) as info:
        provider.prepare(with_refs(fal.PULID, images))
    assert "nothing was sent" in info.value.user_message("Headshot")


# ---------------------------------------------------------------- Replicate


@pytest.mark.asyncio
async def test_replicate_small_images_go_inline_large_ones_through_the_files_api(
        replicate_server, make_provider, api_key):
    big = noisy_png()
    assert len(big) > replicate.DATA_URI_MAX
    reader = MemoryReferences()
    small = refs(reader, (FACE, ReferenceRole.FACE))
    large = refs(reader, (big, ReferenceRole.FULL_BODY))
    provider = make_provider(replicate_server, references=reader)
    kontext = await provider.generate(with_refs(replicate.KONTEXT_PRO, small))
    both = small + large
    results = await asyncio.gather(*(provider.generate(with_refs(replicate.FLUX2_PRO, both,
                                                                 seed=s)) for s in (1, 2)))
    first, *rest = sorted(replicate_server.inputs)
    assert replicate_server.inputs[first]["input_image"].startswith("data:image/png;base64,")
    assert replicate_server.inputs[first]["safety_tolerance"] == 2
    assert replicate_server.references[first] == [FACE]
    assert kontext.image and replicate_server.uploads() == 1  # the large one, once
    upload = next(r for r in replicate_server.requests if r.path == "/v1/files")
    assert upload.headers["authorization"] == f"Bearer {api_key}"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    for pid in rest:
        sent = replicate_server.inputs[pid]
        assert replicate_server.references[pid] == [FACE, big]
        assert sent["input_images"][1] == f"{replicate_server.base_url}/v1/files/" + \
            sent["input_images"][1].rsplit("/", 1)[-1]
        assert sent["aspect_ratio"] == "custom" and (sent["width"], sent["height"]) == (512, 768)
        assert "go_fast" not in sent and "num_outputs" not in sent
    assert results[0].request_body["input"]["input_images"][0] == f"sha256:{small[0].sha256}"
    assert_no_key(api_key, kontext, *results)


# ---------------------------------------------------------------- ModelsLab


@pytest.mark.asyncio
@pytest.mark.parametrize(("strength", "value"), [(ReferenceStrength.LIGHT, 0.75),
                                                 (ReferenceStrength.STRONG, 0.5)])
async def test_modelslab_kontext_turns_images_into_urls_once(modelslab_server, make_provider,
                                                             strength, value):
    reader = MemoryReferences()
    images = refs(reader, (FACE, ReferenceRole.FACE), (OUTFIT, ReferenceRole.OUTFIT))
    provider = make_provider(modelslab_server, references=reader)
    await asyncio.gather(*(provider.generate(with_refs(modelslab.KONTEXT, images, strength,
                                                       seed=s)) for s in (1, 2)))
    assert modelslab_server.conversions() == 2 and modelslab_server.submits() == 2
    assert modelslab_server.count("POST", "/api/v6/images/img2img") == 2
    for job, body in modelslab_server.job_bodies.items():
        assert modelslab_server.references[job] == [FACE, OUTFIT]
        assert body["strength"] == value and "guidance" in body
        assert "guidance_scale" not in body and body["model_id"] == "flux-kontext-dev"
        assert body["init_image"].startswith(modelslab_server.base_url + "/files/")
        assert body["init_image_2"].startswith(modelslab_server.base_url + "/files/")
    converted = [r.json for r in modelslab_server.requests
                 if r.path.endswith("base64_to_url")]
    assert all(c["init_image"].startswith("data:image/png;base64,") for c in converted)


# ---------------------------------------------------------------- the cost


def test_estimates_add_what_references_cost_where_the_api_bills_them():
    from studio.providers.bfl import BflProvider

    caps = BflProvider(api_key="k").capabilities("flux-2-pro")
    assert caps.price_for(0) == pytest.approx(0.03)
    assert caps.price_for(2) == pytest.approx(0.06)
    assert caps.price_for(20) == pytest.approx(0.03 + 8 * 0.015)  # at most 8 are sent
    klein = fal.FalProvider(api_key="k").capabilities(fal.KLEIN_EDIT)
    assert klein.price_for(3) == klein.price_per_image  # fal's input pricing is not known


def test_submission_of_a_reference_job_round_trips():
    sub = Submission(provider="fal", model=fal.KLEIN_EDIT, request_id="r", submitted_at=1.0,
                     submit_seconds=0.1, request_body={"image_urls": ["sha256:ab"]},
                     info={"state": "submitted", "references": 1})
    assert Submission.from_data(sub.to_data()) == sub
