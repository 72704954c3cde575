"""Photographs for the identity tests, all shipped inside scikit-image's wheel (public domain:
NASA's astronaut portrait, a cat, a cup of coffee), and one dlib analyser for the session (its
models take about a second to read)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image

from studio.core.fingerprint import fingerprint
from studio.core.presets import PresetCatalog
from studio.core.prompt import build_request
from studio.core.request import Stage
from studio.core.sheet import Sheet
from studio.identity import Descriptor, DlibFaceAnalyser, FaceAnalysis, NotScorable
from studio.library import Library
from studio.library.binding import SheetBinding
from studio.library.models import Approval, RenderDraft, RenderRecord

skimage_data = pytest.importorskip("skimage.data", reason="install the test extra (scikit-image)")


def photograph(name: str) -> Image.Image:
    """One of scikit-image's bundled photographs (read from the installed package, no network)."""
    return Image.fromarray(getattr(skimage_data, name)())


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC."""
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    return photograph("astronaut")


@pytest.fixture(scope="session")
def analyser() -> DlibFaceAnalyser:
    face_analyser = DlibFaceAnalyser()
    face_analyser.load()
    return face_analyser


def descriptor_at(distance: float, axis: int = 0) -> Descriptor:
    """A descriptor ``distance`` away from the all-zero one, along one axis."""
    values = [0.0] * 128
    values[axis] = distance
    return tuple(values)


def face(descriptor: Descriptor) -> FaceAnalysis:
    return FaceAnalysis(faces=1, descriptor=descriptor, box=None, problem=None)


def no_face(problem: NotScorable = NotScorable.NO_FACE) -> FaceAnalysis:
    return FaceAnalysis(faces=0 if problem is NotScorable.NO_FACE else 2, descriptor=None,
                        box=None, problem=problem)


class CountingAnalyser:
    """A fake analyser: each image's bytes name its analysis; counts every call."""

    def __init__(self, analyses: dict[bytes, FaceAnalysis]) -> None:
        self.analyses = analyses
        self.calls: list[bytes] = []

    def __call__(self, data: bytes) -> FaceAnalysis:
        self.calls.append(data)
        return self.analyses[data]


@pytest.fixture
def counting() -> Callable[[dict[bytes, FaceAnalysis]], CountingAnalyser]:
    return CountingAnalyser


class SheetRenders:
    """Records images as renders of a sheet's scenes, as the render queue would."""

    def __init__(self, library: Library, binding: SheetBinding, sheet: Sheet,
                 catalog: PresetCatalog) -> None:
        self.library, self.binding, self.sheet, self.catalog = library, binding, sheet, catalog

    def add(self, scene: str, stage: Stage, image: bytes,
            approval: Approval = Approval.NONE) -> RenderRecord:
        sc = self.sheet.scene(scene)
        assert sc is not None
        request = build_request(self.sheet, sc, stage, self.catalog).with_changes(
            provider="offline")
        draft = RenderDraft(request=request, project_id=self.binding.project.id,
                            sheet_id=self.binding.sheet.id,
                            scene_id=self.binding.scenes[scene].id,
                            anchor_version_id=self.binding.anchor.id,
                            fingerprint=fingerprint(self.sheet, sc, stage, self.catalog))
        render = self.library.renders.record(draft, image)
        if approval is not Approval.NONE:
            self.library.renders.set_approval([render.id], approval)
            render = self.library.renders.get(render.id)
        return render
