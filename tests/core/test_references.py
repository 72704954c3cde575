"""Reference images in core: the sheet keys, reading the files, the prompt's clause, the
fingerprint's reference part, the requests, and what each model can honour."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from pathlib import Path

import pytest

from studio.core.anchor import (
    AnchorFields,
    ReferenceImage,
    ReferenceRole,
    ReferenceStrength,
    anchor_subject,
)
from studio.core.capabilities import (
    REFERENCE_MODELS,
    ModelCapabilities,
    ReferenceControl,
    ReferenceLayout,
    ReferenceSupport,
    reference_support,
)
from studio.core.errors import SheetError
from studio.core.fingerprint import fingerprint, staleness
from studio.core.imagefile import content_hash
from studio.core.presets import PresetCatalog
from studio.core.prompt import build_request, compose_prompt, prompt_parts, reference_clause
from studio.core.reference_files import read_references, rebase_references, reference_from_file
from studio.core.references import fit_references, with_references
from studio.core.request import Stage
from studio.core.sheet import (
    Sheet,
    dump_sheet,
    load_sheet,
    parse_sheet,
    scene_reference_strength,
    scene_references,
)

HEAD = ('format = 1\n[character]\nname = "Emma"\n'
        'anchor = "Emma, 30-year-old woman, dark brown wavy hair, wearing a grey coat"\n'
        'seed = 42\n')
REFS = ('references = [\n'
        '    { image = "refs/face.png", role = "face" },\n'
        '    { image = "refs/body.png", role = "full-body" },\n'
        '    { image = "refs/coat.png", role = "outfit" },\n'
        ']\n')
SCENES = ('[[scenes]]\nname = "Studio"\nsetting = "grey backdrop"\n'
          '[[scenes]]\nname = "Street"\nsetting = "rainy street"\nreference = "light"\n'
          '[[scenes]]\nname = "Gala"\nsetting = "ballroom"\noutfit = "red evening dress"\n'
          '[[scenes]]\nname = "Plain"\nsetting = "park"\nreference = "off"\n')


def png(colour: tuple[int, int, int], size: tuple[int, int] = (4, 4)) -> bytes:
    """A tiny valid PNG written by hand (core's tests run without Pillow)."""
    raw = b"".join(b"\x00" + bytes(colour) * size[0] for _ in range(size[1]))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", size[0], size[1], 8, 2, 0, 0, 0)))
    out.write(chunk(b"IDAT", zlib.compress(raw)))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()


@pytest.fixture
def sheet_path(tmp_path: Path) -> Path:
    (tmp_path / "refs").mkdir()
    for name, colour in (("face", (200, 120, 90)), ("body", (60, 90, 160)),
                         ("coat", (30, 140, 60))):
        (tmp_path / "refs" / f"{name}.png").write_bytes(png(colour))
    path = tmp_path / "emma.sheet.toml"
    path.write_text(HEAD + REFS + SCENES, encoding="utf-8")
    return path


# ----------------------------------------------------------------------- the sheet file


def test_references_are_read_with_their_hashes(sheet_path: Path, catalog: PresetCatalog) -> None:
    sheet = load_sheet(sheet_path, catalog)
    refs = sheet.character.references
    assert [(r.path, r.role) for r in refs] == [
        ("refs/face.png", ReferenceRole.FACE), ("refs/body.png", ReferenceRole.FULL_BODY),
        ("refs/coat.png", ReferenceRole.OUTFIT)]
    assert [r.sha256 for r in refs] == [
        content_hash((sheet_path.parent / r.path).read_bytes()) for r in refs]
    assert [s.reference for s in sheet.scenes] == [
        None, ReferenceStrength.LIGHT, None, ReferenceStrength.OFF]
    # parse_sheet reads the text alone: the same sheet, hashes not known yet
    parsed = parse_sheet(sheet_path.read_text(), catalog, str(sheet_path))
    assert [r.sha256 for r in parsed.character.references] == ["", "", ""]
    assert read_references(parsed, sheet_path) == sheet


def test_what_each_scene_sends(sheet_path: Path, catalog: PresetCatalog) -> None:
    sheet = load_sheet(sheet_path, catalog)
    studio, street, gala, plain = sheet.scenes
    refs = sheet.character.references
    assert scene_references(sheet, studio) == refs
    assert scene_reference_strength(sheet, studio) is ReferenceStrength.STRONG
    assert scene_reference_strength(sheet, street) is ReferenceStrength.LIGHT
    # a scene with its own outfit does not send the outfit picture
    assert scene_references(sheet, gala) == refs[:2]
    assert scene_references(sheet, plain) == ()
    assert scene_reference_strength(sheet, plain) is ReferenceStrength.OFF
    # no references at all: every scene is off, whatever it says
    bare = dataclasses.replace(sheet, character=dataclasses.replace(sheet.character,
                                                                    references=()))
    assert {scene_reference_strength(bare, s) for s in bare.scenes} == {ReferenceStrength.OFF}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + 'references = "refs/face.png"\n',
         r":6: 'character\.references' must be a list \[\.\.\.\], not the text"),
        (HEAD + "references = [\n" + '  { image = "a.png" },\n' * 5 + "]\n",
         r":6: 'character\.references' lists 5 images, over the limit of 4; keep the few"),
        (HEAD + 'references = ["a.png"]\n',
         r"'character\.references\[1\]' must be a table, not the text \"a\.png\""),
        (HEAD + 'references = [{ role = "face" }]\n',
         r"'character\.references\[1\]\.image' is missing; name the image file"),
        (HEAD + 'references = [{ image = "" }]\n', r"'character\.references\[1\]\.image' is empty"),
        (HEAD + 'references = [{ image = "a.png", role = "portrait" }]\n',
         r"'character\.references\[1\]\.role' is \"portrait\", not a role of a reference image; "
         r"use one of \"face\", \"full-body\", \"outfit\", \"other\""),
        (HEAD + 'references = [{ image = "a.png", weight = 2 }]\n',
         r"'character\.references\[1\]' has the key \"weight\", which a reference does not take"),
        (HEAD + 'references = [{ image = "a.png" }, { image = "a.png" }]\n',
         r"'character\.references\[2\]\.image' repeats the image \"a\.png\""),
        (HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\nreference = "medium"\n',
         r":9: 'scenes\[1\]\.reference' is \"medium\", not a reference strength; use \"off\", "
         r"\"light\" or \"strong\""),
        (HEAD + '[[scenes]]\nname = "A"\nsetting = "x"\nreference = true\n',
         r":9: 'scenes\[1\]\.reference' must be text in quotes, not true"),
    ],
)
def test_bad_reference_keys_get_one_sentence(text: str, expected: str,
                                             catalog: PresetCatalog) -> None:
    with pytest.raises(SheetError, match=expected):
        parse_sheet(text, catalog, "bad.sheet.toml")


def test_a_role_left_out_is_other(catalog: PresetCatalog) -> None:
    sheet = parse_sheet(HEAD + 'references = [{ image = "a.png" }]\n', catalog)
    assert sheet.character.references[0].role is ReferenceRole.OTHER
    assert 'role = "other"' in dump_sheet(sheet)


def _write(sheet_path: Path, name: str, data: bytes) -> None:
    (sheet_path.parent / "refs" / name).write_bytes(data)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda p: (p.parent / "refs" / "coat.png").unlink(),
         r"emma\.sheet\.toml:6: 'character\.references\[3\]\.image' names the image "
         r"refs/coat\.png, which does not exist; check the path \(it is relative to the sheet "
         r"file\)"),
        (lambda p: ((p.parent / "refs" / "coat.png").unlink(),
                    (p.parent / "refs" / "coat.png").mkdir()),
         r"names the image refs/coat\.png, which is a folder, not an image file"),
        (lambda p: _write(p, "coat.png", b"just some text, not a picture"),
         r"names the image refs/coat\.png, which is not an image the studio reads; save it as "
         r"PNG, JPEG, WebP"),
        (lambda p: _write(p, "coat.png", b""),
         r"names the image refs/coat\.png, which is an empty file"),
        (lambda p: _write(p, "coat.png", b"GIF89a" + bytes(20)),
         r"which is a GIF image; save it as PNG, JPEG, WebP"),
    ],
)
def test_a_reference_file_that_cannot_be_used_names_itself(
        sheet_path: Path, catalog: PresetCatalog, damage: object, expected: str) -> None:
    damage(sheet_path)  # type: ignore[operator]
    with pytest.raises(SheetError, match=expected):
        load_sheet(sheet_path, catalog)


def test_a_reference_over_the_size_limit_is_refused_without_reading_it_all(
        sheet_path: Path, catalog: PresetCatalog, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.core import limits

    monkeypatch.setattr(limits, "IMAGE_FILE_MAX_BYTES", 40)
    with pytest.raises(SheetError, match=r"refs/face\.png, which is over the limit of 40 bytes "
                                         r"for an image; save a smaller copy"):
        load_sheet(sheet_path, catalog)


def test_reference_from_file_and_rebasing(sheet_path: Path, tmp_path: Path) -> None:
    ref = reference_from_file(sheet_path.parent / "refs" / "face.png", sheet_path,
                              ReferenceRole.FACE)
    assert ref.path == "refs/face.png" and ref.role is ReferenceRole.FACE
    assert ref.sha256 == content_hash((sheet_path.parent / "refs" / "face.png").read_bytes())
    outside = reference_from_file(sheet_path.parent / "refs" / "face.png", None)
    assert Path(outside.path).is_absolute()
    # saving the sheet elsewhere keeps naming the same files
    sheet = Sheet(character=dataclasses.replace(
        parse_sheet(HEAD + REFS, _catalog()).character))
    other = tmp_path / "elsewhere" / "copy.sheet.toml"
    moved = rebase_references(sheet, sheet_path, other)
    for before, after in zip(sheet.character.references, moved.character.references,
                             strict=True):
        assert (other.parent / after.path).resolve() == (sheet_path.parent / before.path
                                                         ).resolve()
    below = rebase_references(sheet, sheet_path, sheet_path.parent / "sub" / "x.sheet.toml")
    assert below.character.references[0].path == str((sheet_path.parent / "refs" / "face.png"
                                                      ).resolve())
    assert rebase_references(sheet, sheet_path, sheet_path) == sheet


def _catalog() -> PresetCatalog:
    from studio.core.presets import load_catalog

    return load_catalog()


# ----------------------------------------------------------------------- prompts


def _ref(role: ReferenceRole, n: int = 0) -> ReferenceImage:
    return ReferenceImage(f"{n:064x}", role)


F, B, W, X = (ReferenceRole.FACE, ReferenceRole.FULL_BODY, ReferenceRole.OUTFIT,
              ReferenceRole.OTHER)


@pytest.mark.parametrize(
    ("roles", "clause"),
    [
        ((), ""),
        ((F,), "the woman from the reference image"),
        ((B,), "the woman from the reference image"),
        ((W,), "the woman wearing the outfit from the reference image"),
        ((F, B), "the woman from image 2, with the face from image 1"),
        ((F, B, W), "the woman from image 2, with the face from image 1, wearing the outfit "
                    "from image 3"),
        ((F, F), "the woman with the face from images 1 and 2"),
        ((B, X, F, W), "the woman from images 1 and 2, with the face from image 3, wearing "
                       "the outfit from image 4"),
        ((F, W), "the woman with the face from image 1, wearing the outfit from image 2"),
        ((W, W), "the woman wearing the outfit from images 1 and 2"),
    ],
)
def test_the_reference_clause_numbers_the_images_sent(
        roles: tuple[ReferenceRole, ...], clause: str) -> None:
    assert reference_clause("woman", [_ref(r, i) for i, r in enumerate(roles)]) == clause


@pytest.mark.parametrize(
    ("presentation", "anchor", "subject"),
    [("man", "", "man"), ("", "Ben, 40-year-old man, beard", "man"),
     ("female", "", "woman"), ("", "Emma, 30-year-old woman", "woman"),
     ("", "Kit, silver hair", "person"), ("androgynous person", "Kit, woman", "person")],
)
def test_the_subject_comes_from_the_presentation_then_the_anchor(
        presentation: str, anchor: str, subject: str) -> None:
    assert anchor_subject(anchor, AnchorFields(presentation=presentation)) == subject


def test_prompts_and_requests_speak_to_the_references(sheet_path: Path,
                                                      catalog: PresetCatalog) -> None:
    sheet = load_sheet(sheet_path, catalog)
    studio, street, gala, plain = sheet.scenes
    parts = prompt_parts(sheet, studio, catalog)
    assert parts[0].role == "reference" and parts[1].role == "anchor"
    assert compose_prompt(sheet, studio, catalog).startswith(
        "the woman from image 2, with the face from image 1, wearing the outfit from image 3, "
        "Emma, 30-year-old woman")
    assert compose_prompt(sheet, gala, catalog).startswith(
        "the woman from image 2, with the face from image 1, Emma,")
    # a scene sending nothing keeps the guides' order unchanged
    assert compose_prompt(sheet, plain, catalog).startswith("Emma, 30-year-old woman")
    assert prompt_parts(sheet, plain, catalog)[0].role == "anchor"
    request = build_request(sheet, studio, Stage.PREVIEW, catalog)
    assert request.references == tuple(ReferenceImage(r.sha256, r.role)
                                       for r in sheet.character.references)
    assert all(r.path == "" for r in request.references)  # content, not where it is kept
    assert request.reference_strength is ReferenceStrength.STRONG
    assert request.context.subject == "woman"
    assert build_request(sheet, street, Stage.FINAL, catalog).reference_strength is (
        ReferenceStrength.LIGHT)
    off = build_request(sheet, plain, Stage.PREVIEW, catalog)
    assert off.references == () and off.reference_strength is ReferenceStrength.OFF


def test_requests_serialise_without_paths() -> None:
    from studio.core import codec
    from studio.core.request import GenerationRequest

    request = GenerationRequest(prompt="x", width=64, height=64, steps=1, guidance=0.0,
                                model="m", references=(ReferenceImage("ab" * 32, F, "/home/a"),),
                                reference_strength=ReferenceStrength.LIGHT)
    data = codec.to_data(request)
    assert data["references"] == [{"sha256": "ab" * 32, "role": "face"}]
    assert data["reference_strength"] == "light"
    back = codec.from_data(GenerationRequest, data)
    assert back.references == (ReferenceImage("ab" * 32, F),)
    # a request kept before references existed reads as sending none
    del data["references"], data["reference_strength"]
    old = codec.from_data(GenerationRequest, data)
    assert old.references == () and old.reference_strength is ReferenceStrength.OFF


# ----------------------------------------------------------------------- the fingerprint


def _stale(before: Sheet, after: Sheet, catalog: PresetCatalog) -> dict[str, tuple[str, ...]]:
    return {s.name: staleness(fingerprint(before, s, Stage.PREVIEW, catalog),
                              fingerprint(after, after.scenes[i], Stage.PREVIEW, catalog))
            for i, s in enumerate(before.scenes)}


def _with_refs(sheet: Sheet, refs: tuple[ReferenceImage, ...]) -> Sheet:
    return dataclasses.replace(sheet, character=dataclasses.replace(sheet.character,
                                                                    references=refs))


def test_changing_a_reference_marks_exactly_the_cells_that_send_it(
        sheet_path: Path, catalog: PresetCatalog) -> None:
    sheet = load_sheet(sheet_path, catalog)
    refs = sheet.character.references
    new_coat = dataclasses.replace(refs[2], sha256="c" * 64)
    assert _stale(sheet, _with_refs(sheet, (*refs[:2], new_coat)), catalog) == {
        "Studio": ("reference",), "Street": ("reference",), "Gala": (), "Plain": ()}
    new_face = dataclasses.replace(refs[0], sha256="f" * 64)
    assert _stale(sheet, _with_refs(sheet, (new_face, *refs[1:])), catalog) == {
        "Studio": ("reference",), "Street": ("reference",), "Gala": ("reference",),
        "Plain": ()}
    # a role, the order, the strength: each is a change of what is sent
    relabelled = dataclasses.replace(refs[1], role=ReferenceRole.OTHER)
    assert _stale(sheet, _with_refs(sheet, (refs[0], relabelled, refs[2])), catalog)[
        "Studio"] == ("reference",)
    assert _stale(sheet, _with_refs(sheet, (refs[1], refs[0], refs[2])), catalog)[
        "Studio"] == ("reference",)
    stronger = sheet.with_scenes((sheet.scenes[0], dataclasses.replace(
        sheet.scenes[1], reference=ReferenceStrength.STRONG), *sheet.scenes[2:]))
    assert _stale(sheet, stronger, catalog) == {
        "Studio": (), "Street": ("reference",), "Gala": (), "Plain": ()}
    # moving the files elsewhere changes nothing that is sent
    moved = _with_refs(sheet, tuple(dataclasses.replace(r, path=f"other/{r.path}")
                                    for r in refs))
    assert set(_stale(sheet, moved, catalog).values()) == {()}


def test_a_sheet_without_references_fingerprints_as_before(
        catalog: PresetCatalog) -> None:
    sheet = parse_sheet(HEAD + SCENES, catalog)
    fp = fingerprint(sheet, sheet.scenes[0], Stage.PREVIEW, catalog)
    assert fp.part("reference") == fingerprint(sheet, sheet.scenes[3], Stage.PREVIEW,
                                               catalog).part("reference")
    from studio.core.fingerprint import part_digest

    assert fp.part("reference") == part_digest("")


# ----------------------------------------------------------------------- capabilities


def _caps(support: ReferenceSupport) -> ModelCapabilities:
    return ModelCapabilities(provider="bfl", model="m", label="Model M", references=support)


def _request(roles: tuple[ReferenceRole, ...],
             strength: ReferenceStrength = ReferenceStrength.STRONG):  # type: ignore[no-untyped-def]
    from studio.core.request import GenerationRequest, SceneContext

    refs = tuple(_ref(r, i) for i, r in enumerate(roles))
    return GenerationRequest(
        prompt=f"{reference_clause('woman', refs)}, Emma, grey backdrop", width=64, height=64,
        steps=1, guidance=0.0, model="m", references=refs, reference_strength=strength,
        context=SceneContext(subject="woman"))


def test_a_model_that_takes_no_references_gets_none_with_a_note() -> None:
    fit = fit_references(_request((F, B)), _caps(ReferenceSupport()))
    assert fit.request.references == () and not fit.refusal
    assert fit.request.reference_strength is ReferenceStrength.OFF
    assert fit.request.prompt == "Emma, grey backdrop"
    assert fit.notes == ("Model M takes no reference images, so the scene's 2 reference "
                         "images were not sent; its likeness rests on the anchor and the seed "
                         "(choose a model that takes references to keep the face).",)


def test_too_many_are_cut_faces_first_and_the_prompt_renumbered() -> None:
    support = ReferenceSupport(2, "input_image")
    fit = fit_references(_request((W, B, F)), _caps(support))
    assert [r.role for r in fit.request.references] == [B, F]  # kept in the sheet's order
    assert fit.request.prompt == ("the woman from image 1, with the face from image 2, Emma, "
                                  "grey backdrop")
    assert fit.notes == ("Model M takes at most 2 reference images; sent 2 of 3, faces "
                         "first.",)
    # fitting again changes nothing
    assert fit_references(fit.request, _caps(support)) == type(fit)(fit.request)


def test_light_sends_fewer_where_that_is_the_knob() -> None:
    support = ReferenceSupport(4, "image_urls", ReferenceLayout.LIST,
                               control=ReferenceControl.COUNT)
    light = fit_references(_request((B, F, W), ReferenceStrength.LIGHT), _caps(support))
    assert [r.role for r in light.request.references] == [F] and light.notes == ()
    assert light.request.prompt == "the woman from the reference image, Emma, grey backdrop"
    strong = fit_references(_request((B, F, W)), _caps(support))
    assert strong.request == _request((B, F, W)) and strong.notes == ()


def test_roles_a_model_cannot_use_are_left_out_or_refused() -> None:
    pulid = reference_support("fal", "fal-ai/flux-pulid")
    fit = fit_references(_request((W, F)), _caps(pulid))
    assert [r.role for r in fit.request.references] == [F]
    assert fit.notes == ("Model M uses no outfit reference images, so the scene's outfit "
                         "picture was not sent.",)
    refused = fit_references(_request((W,)), _caps(pulid))
    assert refused.refusal == (
        "Model M uses only face, full-body or other reference images, and the scene sends "
        "only outfit pictures; add a face, full-body or other image to the character's "
        "references, or set reference = \"off\" for the scene.")


def test_off_sends_nothing_and_keeps_the_prompt() -> None:
    request = _request((F,), ReferenceStrength.OFF)
    fit = fit_references(request, _caps(reference_support("offline", "placeholder")))
    assert fit.request.references == ()
    plain = _request(())
    assert fit_references(plain, _caps(ReferenceSupport())).request == plain


def test_with_references_leaves_a_prompt_it_did_not_compose() -> None:
    request = _request((F, B)).with_changes(prompt="a prompt typed by hand")
    assert with_references(request, request.references[:1]).prompt == "a prompt typed by hand"


def test_the_declared_models_and_their_knobs() -> None:
    assert reference_support("fal", "fal-ai/flux/schnell").max_images == 0
    kontext = reference_support("bfl", "flux-kontext-pro")
    assert kontext.field_names(1) == ("input_image",)
    bfl = reference_support("bfl", "flux-2-pro")
    assert bfl.field_names(3) == ("input_image", "input_image_2", "input_image_3")
    assert reference_support("fal", "fal-ai/flux-2/klein/4b/edit").field_names(3) == (
        "image_urls",)
    assert bfl.count_for(ReferenceStrength.LIGHT) == 1
    assert bfl.count_for(ReferenceStrength.STRONG) == 8
    assert bfl.count_for(ReferenceStrength.OFF) == 0
    pulid = reference_support("fal", "fal-ai/flux-pulid")
    assert (pulid.control_field, pulid.control_value(ReferenceStrength.LIGHT),
            pulid.control_value(ReferenceStrength.STRONG)) == ("id_weight", 0.6, 1.0)
    modelslab = reference_support("modelslab", "flux-kontext-dev")
    assert modelslab.field_names(2) == ("init_image", "init_image_2")
    # every declared model names the field its references go in, within the studio's maximum
    for (provider, model), support in REFERENCE_MODELS.items():
        assert support.takes_references and support.field_name, (provider, model)
        if support.control is ReferenceControl.WEIGHT:
            assert support.control_field and support.strong_value is not None, model


def test_a_missing_reference_image_names_the_line_of_the_references(
        tmp_path: Path, catalog: PresetCatalog) -> None:
    path = tmp_path / "long.sheet.toml"
    scenes = "".join(f'[[scenes]]\nname = "Panel {i}"\nsetting = "a street"\n\n'
                     for i in range(200))
    path.write_text('format = 1\n\n[character]\nname = "Emma"\nanchor = "x"\nseed = 1\n'
                    'references = [{ image = "refs/face.png", role = "face" }]\n\n' + scenes,
                    encoding="utf-8")
    with pytest.raises(SheetError) as info:
        load_sheet(path, catalog)
    assert str(info.value).startswith(f"{path}:7: 'character.references[1].image' names the "
                                      "image refs/face.png, which does not exist")
