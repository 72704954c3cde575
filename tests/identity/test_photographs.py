"""dlib on real photographs: the astronaut portrait is the reference; what a render pipeline
does to a face (mirroring, cropping, rescaling, exposure, recompression, EXIF rotation) must
keep it the same person, and photographs without a face must not be scored."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image, ImageEnhance, ImageOps

from studio.identity import (
    DlibFaceAnalyser,
    FaceAnalysis,
    IdentityScorer,
    IdentitySource,
    NotScorable,
    SourceKind,
    Verdict,
    identity_from_file,
)
from studio.identity.faces import DETECTION_SIDE, FINE_DETECTION_SIDE
from studio.identity.images import decode_image

from .conftest import encode, photograph, png_chunk


@pytest.fixture(scope="module")
def reference(analyser: DlibFaceAnalyser, astronaut: Image.Image) -> FaceAnalysis:
    analysis = analyser.analyse(encode(astronaut))
    assert analysis.scorable and analysis.faces == 1
    return analysis


@pytest.fixture(scope="module")
def identity(reference: FaceAnalysis) -> IdentitySource:
    source = identity_from_file(reference)
    assert source.kind is SourceKind.FILE
    return source


def _on_canvas(image: Image.Image, side: int, at: tuple[int, int]) -> Image.Image:
    canvas = Image.new("RGB", (1024, 1024), (96, 96, 96))
    canvas.paste(image.resize((side, side), Image.Resampling.LANCZOS), at)
    return canvas


VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "mirror image": ImageOps.mirror,
    "head crop": lambda im: im.crop((120, 20, 330, 230)),
    "upper-body crop": lambda im: im.crop((60, 0, 460, 400)),
    "off-centre crop": lambda im: im.crop((40, 30, 420, 512)),
    "down to 256 px": lambda im: im.resize((256, 256), Image.Resampling.LANCZOS),
    "down to 160 px": lambda im: im.resize((160, 160), Image.Resampling.LANCZOS),
    "up to 1024 px": lambda im: im.resize((1024, 1024), Image.Resampling.BICUBIC),
    "up to 1536 px": lambda im: im.resize((1536, 1536), Image.Resampling.BICUBIC),
    "darker (x0.6)": lambda im: ImageEnhance.Brightness(im).enhance(0.6),
    "brighter (x1.4)": lambda im: ImageEnhance.Brightness(im).enhance(1.4),
    "lower contrast (x0.6)": lambda im: ImageEnhance.Contrast(im).enhance(0.6),
    # A 1024 px render whose face is about a tenth of its width (the astronaut's face is 88 of
    # her 512 px, so at 594 px it is 102 px wide).
    "face a tenth of a 1024 render": lambda im: _on_canvas(im, 594, (300, 260)),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_astronaut_stays_the_same_person(
    name: str, astronaut: Image.Image, analyser: DlibFaceAnalyser, identity: IdentitySource,
) -> None:
    scorer = IdentityScorer(analyser)
    score = scorer.score(encode(VARIANTS[name](astronaut)), identity)
    assert score.faces == 1
    assert score.verdict is Verdict.SAME_PERSON, score.explanation
    assert score.distance is not None and score.distance < 0.5


def test_a_recompressed_jpeg_is_the_same_person(
    astronaut: Image.Image, analyser: DlibFaceAnalyser, identity: IdentitySource,
) -> None:
    score = IdentityScorer(analyser).score(encode(astronaut, "JPEG", quality=40), identity)
    assert score.verdict is Verdict.SAME_PERSON, score.explanation


def test_the_face_is_found_where_it_is(analyser: DlibFaceAnalyser, reference: FaceAnalysis,
                                       astronaut: Image.Image) -> None:
    # Her face spans roughly x 175-270, y 80-175 of the 512 px portrait.
    box = reference.box
    assert box is not None
    assert 150 <= box.left <= 200 and 60 <= box.top <= 110
    assert 75 <= box.width <= 120 and 75 <= box.height <= 120
    assert reference.image_size == (512, 512)
    # In a tenth-of-the-width render, the box is reported in the render's own pixels.
    small = analyser.analyse(encode(VARIANTS["face a tenth of a 1024 render"](astronaut)))
    assert small.box is not None and small.image_size == (1024, 1024)
    assert 80 <= small.box.width <= 140 and small.box.left > 300


def test_an_exif_rotated_photograph_is_read_upright(
    astronaut: Image.Image, analyser: DlibFaceAnalyser, identity: IdentitySource,
) -> None:
    # Stored lying on its side with orientation 6 ("rotate 90° clockwise to view"), as cameras do.
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = astronaut.transpose(Image.Transpose.ROTATE_90)
    data = encode(stored, "JPEG", quality=92, exif=exif.tobytes())
    analysis = analyser.analyse(data)
    assert analysis.image_size == (512, 512)
    score = IdentityScorer(analyser).judge(analysis, identity)
    assert score.verdict is Verdict.SAME_PERSON, score.explanation


def test_a_large_jpeg_is_measured_on_a_reduced_decode_and_reported_in_its_own_pixels(
    astronaut: Image.Image, analyser: DlibFaceAnalyser, identity: IdentitySource,
) -> None:
    # A camera-sized photograph, stored turned on its side: decoded at a quarter scale (still
    # over 1024 px long), read upright, the face's box in the photograph's own pixels.
    canvas = Image.new("RGB", (4200, 3000), (90, 90, 90))
    canvas.paste(astronaut.resize((2816, 2816), Image.Resampling.BICUBIC), (1000, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(canvas.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90,
                  exif=exif.tobytes())
    decoded = decode_image(data)
    assert decoded is not None and decoded.size == (4200, 3000)
    assert 1024 <= max(decoded.pixels.size) < 2048 and decoded.scale[0] == pytest.approx(4, 0.01)
    analysis = analyser.analyse(data)
    assert analysis.image_size == (4200, 3000)
    box, times = analysis.box, 2816 / 512
    assert box is not None  # her face: x 175-270, y 80-175 of 512 px, 5.5 times as large
    assert 1000 + times * 150 <= box.left <= 1000 + times * 200
    assert 100 + times * 60 <= box.top <= 100 + times * 110
    assert times * 75 <= box.width <= times * 120
    score = IdentityScorer(analyser).judge(analysis, identity)
    assert score.verdict is Verdict.SAME_PERSON, score.explanation


def test_only_a_small_face_is_searched_for_again_at_the_finer_size(
    astronaut: Image.Image, identity: IdentitySource,
) -> None:
    searched: list[int] = []

    class Recording(DlibFaceAnalyser):
        def _search(self, grey, decoded, side):  # type: ignore[no-untyped-def]
            searched.append(side)
            return super()._search(grey, decoded, side)

    recording = Recording()
    portrait = encode(VARIANTS["up to 1024 px"](astronaut))
    assert IdentityScorer(recording).score(portrait, identity).verdict is Verdict.SAME_PERSON
    assert searched == [DETECTION_SIDE]
    searched.clear()
    small = encode(VARIANTS["face a tenth of a 1024 render"](astronaut))
    assert IdentityScorer(recording).score(small, identity).verdict is Verdict.SAME_PERSON
    assert searched == [DETECTION_SIDE, FINE_DETECTION_SIDE]
    searched.clear()
    assert recording.analyse(encode(photograph("coffee"))).problem is NotScorable.NO_FACE
    assert searched == [DETECTION_SIDE, FINE_DETECTION_SIDE]


@pytest.mark.parametrize("name", ["chelsea", "coffee"])
def test_a_cat_and_a_coffee_are_not_scorable(
    name: str, analyser: DlibFaceAnalyser, identity: IdentitySource,
) -> None:
    analysis = analyser.analyse(encode(photograph(name)))
    assert analysis.faces == 0 and analysis.problem is NotScorable.NO_FACE
    score = IdentityScorer(analyser).judge(analysis, identity)
    assert score.verdict is Verdict.NOT_SCORABLE and score.distance is None
    assert "no face" in score.explanation


def _head(astronaut: Image.Image, side: int) -> Image.Image:
    return astronaut.crop((100, 0, 400, 300)).resize((side, side), Image.Resampling.LANCZOS)


def test_two_faces_of_the_same_size_are_several_faces(
    astronaut: Image.Image, analyser: DlibFaceAnalyser, identity: IdentitySource,
) -> None:
    pair = Image.new("RGB", (600, 300))
    pair.paste(_head(astronaut, 300), (0, 0))
    pair.paste(ImageOps.mirror(_head(astronaut, 300)), (300, 0))
    analysis = analyser.analyse(encode(pair))
    assert analysis.faces == 2 and analysis.problem is NotScorable.SEVERAL_FACES
    assert analysis.descriptor is None and analysis.box is not None
    score = IdentityScorer(analyser).judge(analysis, identity)
    assert score.verdict is Verdict.NOT_SCORABLE and score.distance is None


def test_a_clearly_smaller_second_face_leaves_the_largest_scored(
    astronaut: Image.Image, analyser: DlibFaceAnalyser, identity: IdentitySource,
) -> None:
    # 21/32 as wide: a face in the background, large enough for the first search to find (so
    # it is seen and set aside, not missed), its box two pyramid levels under the largest's.
    pair = Image.new("RGB", (530, 320), (40, 40, 40))
    pair.paste(_head(astronaut, 320), (0, 0))
    pair.paste(_head(astronaut, 210), (320, 55))
    analysis = analyser.analyse(encode(pair))
    assert analysis.faces == 2 and analysis.scorable
    assert analysis.box is not None and analysis.box.left < 320
    score = IdentityScorer(analyser).judge(analysis, identity)
    assert score.verdict is Verdict.SAME_PERSON, score.explanation


def test_bytes_that_are_not_an_image_are_unreadable(analyser: DlibFaceAnalyser) -> None:
    assert analyser.analyse(b"not an image").problem is NotScorable.UNREADABLE
    assert analyser.analyse(b"").problem is NotScorable.UNREADABLE


def test_an_image_claiming_a_gigapixel_is_refused_before_decoding(
    analyser: DlibFaceAnalyser,
) -> None:
    header = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 2, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
           + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))
    assert analyser.analyse(png).problem is NotScorable.UNREADABLE


def test_an_analysis_survives_the_trip_through_json(reference: FaceAnalysis) -> None:
    stored = json.loads(json.dumps(reference.to_json()))
    again = FaceAnalysis.from_json(stored)
    assert again == reference
