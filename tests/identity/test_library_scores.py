"""Identity scores over the library: analyses kept by image hash across library instances, the
character's identity chosen from its references and approvals, and reading kept analyses only
without ever analysing (as studio status and exports do)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from studio.core.presets import PresetCatalog, load_catalog
from studio.core.request import Stage
from studio.core.sheet import Sheet, load_sheet
from studio.identity import (
    ANALYSIS_VERSION,
    FaceAnalysis,
    IdentityRules,
    NotScorable,
    SourceKind,
    Verdict,
)
from studio.library import Library
from studio.library.binding import SheetBinding, bind_sheet
from studio.library.models import Approval
from studio.render.identity import (
    IdentityScores,
    ImageFile,
    LibraryAnalysisCache,
    Spread,
    identity_figures,
    sheet_renders,
)

from .conftest import SheetRenders, descriptor_at, face, no_face

SHEET = """\
format = 1
title = "Likeness"

[character]
name = "Ines"
anchor = "Ines, 34-year-old woman, short black hair, green eyes"
seed = 42

[[scenes]]
name = "Studio"
setting = "neutral grey studio backdrop"

[[scenes]]
name = "Harbour"
setting = "windy harbour at dawn"
"""


_TILES = itertools.count()


def tile(code: int, axis: int = 0) -> bytes:
    """A small PNG whose colour tells ``PixelAnalyser`` what face it shows: red 0 is no face,
    red r a face ``r / 100`` from the all-zero descriptor along ``axis`` (green); blue keeps
    tiles of the same face apart."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (code, axis, next(_TILES) % 256)).save(buffer, "PNG")
    return buffer.getvalue()


class PixelAnalyser:
    """A fake analyser reading the face from the image's colour; counts every image it sees."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: bytes) -> FaceAnalysis:
        self.calls += 1
        with Image.open(io.BytesIO(data)) as image:
            red, green, _blue = image.convert("RGB").getpixel((0, 0))  # type: ignore[misc]
        return no_face() if red == 0 else face(descriptor_at(red / 100, green))


@pytest.fixture
def catalog() -> PresetCatalog:
    return load_catalog(user_file=None)


@pytest.fixture
def sheet_path(tmp_path: Path) -> Path:
    path = tmp_path / "ines.sheet.toml"
    path.write_text(SHEET, encoding="utf-8")
    return path


@pytest.fixture
def sheet(sheet_path: Path, catalog: PresetCatalog) -> Sheet:
    return load_sheet(sheet_path, catalog)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "library") as lib:
        yield lib


@pytest.fixture
def binding(library: Library, sheet: Sheet, sheet_path: Path,
            catalog: PresetCatalog) -> SheetBinding:
    return bind_sheet(library, sheet, sheet_path, catalog)


@pytest.fixture
def renders(library: Library, binding: SheetBinding, sheet: Sheet,
            catalog: PresetCatalog) -> SheetRenders:
    return SheetRenders(library, binding, sheet, catalog)


# ------------------------------------------------------------------ the cache


def test_analyses_are_kept_in_the_library_by_image_hash(tmp_path: Path) -> None:
    analysis = FaceAnalysis(1, descriptor_at(0.3), None, None, (640, 480))
    with Library.open(tmp_path / "library") as library:
        LibraryAnalysisCache(library.faces).put("ab" * 32, analysis)
        LibraryAnalysisCache(library.faces).put("cd" * 32, no_face(NotScorable.SEVERAL_FACES))
    with Library.open(tmp_path / "library") as library:  # another command, later
        cache = LibraryAnalysisCache(library.faces)
        assert cache.get("ab" * 32) == analysis
        assert cache.get("cd" * 32) == no_face(NotScorable.SEVERAL_FACES)
        assert cache.get("ef" * 32) is None


def test_stored_analyses_from_older_rules_or_unreadable_count_as_absent(
        library: Library) -> None:
    stale = FaceAnalysis(1, descriptor_at(0.3), None, None, version=ANALYSIS_VERSION - 1)
    library.faces.put("ab" * 32, stale.version, json.dumps(stale.to_json()))
    library.faces.put("cd" * 32, ANALYSIS_VERSION, "{not json")
    library.faces.put("ef" * 32, ANALYSIS_VERSION, json.dumps({"faces": 1}))
    cache = LibraryAnalysisCache(library.faces)
    assert [cache.get(h * 32) for h in ("ab", "cd", "ef")] == [None, None, None]


def test_a_library_open_for_viewing_keeps_analyses_for_the_run_only(tmp_path: Path) -> None:
    Library.open(tmp_path / "library").close()
    with Library.open(tmp_path / "library", read_only=True) as viewing:
        cache = LibraryAnalysisCache(viewing.faces)
        cache.put("ab" * 32, face(descriptor_at(0.1)))
        assert cache.get("ab" * 32) == face(descriptor_at(0.1))
        assert LibraryAnalysisCache(viewing.faces).get("ab" * 32) is None
        assert viewing.faces.get("ab" * 32) is None


# ------------------------------------------------------------------ the identity


def test_with_nothing_approved_there_is_no_identity(library: Library, renders: SheetRenders,
                                                    binding: SheetBinding) -> None:
    renders.add("Studio", Stage.PREVIEW, tile(30))
    scores = IdentityScores(library, PixelAnalyser())
    source = scores.source(binding.character.id)
    assert source is not None and source.kind is SourceKind.NONE
    assert scores.source(None) == source


def test_the_identity_follows_the_approvals(library: Library, renders: SheetRenders,
                                            binding: SheetBinding) -> None:
    analyser = PixelAnalyser()
    scores = IdentityScores(library, analyser)
    character = binding.character.id
    first = renders.add("Studio", Stage.PREVIEW, tile(0), Approval.APPROVED)  # no face
    renders.add("Harbour", Stage.PREVIEW, tile(20), Approval.APPROVED)
    renders.add("Studio", Stage.PREVIEW, tile(40), Approval.APPROVED)
    renders.add("Harbour", Stage.PREVIEW, tile(90), Approval.REJECTED)
    # The first approved render with a face, not the ones after it.
    source = scores.source(character)
    assert source is not None and source.kind is SourceKind.APPROVED and source.faces == 1
    assert source.descriptor == descriptor_at(0.2)

    # Approved finals win over previews, and are averaged.
    renders.add("Studio", Stage.FINAL, tile(50, 1), Approval.APPROVED)
    renders.add("Harbour", Stage.FINAL, tile(70, 1), Approval.APPROVED)
    renders.add("Harbour", Stage.FINAL, tile(99, 1))  # not approved
    source = scores.source(character)
    assert source is not None and source.kind is SourceKind.APPROVED and source.faces == 2
    assert source.descriptor == pytest.approx(descriptor_at(0.6, 1))

    # Reference images with a face win over everything; those without one are passed over.
    folder = Path(library.data_dir).parent
    refs = []
    for i, data in enumerate((tile(0), tile(10, 2))):
        path = folder / f"ref-{i}.png"
        path.write_bytes(data)
        refs.append(ImageFile(hashlib.sha256(data).hexdigest(), path))
    source = scores.source(character, refs)
    assert source is not None and source.kind is SourceKind.REFERENCES and source.faces == 1
    assert source.descriptor == descriptor_at(0.1, 2)
    assert scores.source(character, refs[:1]).kind is SourceKind.APPROVED  # type: ignore[union-attr]

    # A trashed approval no longer counts.
    library.renders.trash([first.id])
    assert scores.source(character).faces == 2  # type: ignore[union-attr]


def test_a_change_of_identity_re_scores_from_kept_analyses(library: Library, renders: SheetRenders,
                                                           binding: SheetBinding) -> None:
    analyser = PixelAnalyser()
    scores = IdentityScores(library, analyser, IdentityRules(threshold=0.6))
    shown = [renders.add("Studio", Stage.PREVIEW, tile(30)),
             renders.add("Harbour", Stage.PREVIEW, tile(0))]
    character = binding.character.id
    none = scores.source(character)
    verdicts = [r.score.verdict for r in scores.score_all(shown, none) if r.score is not None]
    assert verdicts == [Verdict.NOT_SCORABLE, Verdict.NOT_SCORABLE]
    renders.add("Studio", Stage.FINAL, tile(80), Approval.APPROVED)
    first = [s.score for s in scores.score_all(shown, scores.source(character))]
    assert first[0] is not None and first[0].distance == pytest.approx(0.5)
    assert first[0].verdict is Verdict.DRIFTING
    assert first[1] is not None and first[1].verdict is Verdict.NOT_SCORABLE
    calls = analyser.calls
    assert calls == 3
    renders.add("Harbour", Stage.FINAL, tile(30), Approval.APPROVED)
    again = [s.score for s in scores.score_all(shown, scores.source(character))]
    assert again[0] is not None and again[0].distance == pytest.approx(0.25)
    assert again[0].verdict is Verdict.SAME_PERSON
    assert analyser.calls == calls + 1  # only the new approved final was looked at
    assert identity_figures(again[0]) == {"distance": 0.25, "verdict": "same person"}
    assert identity_figures(None) is None


def test_each_image_is_analysed_once_across_instances(library: Library, renders: SheetRenders,
                                                      binding: SheetBinding) -> None:
    shown = [renders.add("Studio", Stage.PREVIEW, tile(30)),
             renders.add("Harbour", Stage.FINAL, tile(50), Approval.APPROVED)]
    first = PixelAnalyser()
    IdentityScores(library, first).score_all(
        shown, IdentityScores(library, first).source(binding.character.id))
    assert first.calls == 2  # the approved final once, though it is the identity too
    second = PixelAnalyser()
    scores = IdentityScores(library, second)
    results = scores.score_all(shown, scores.source(binding.character.id))
    assert second.calls == 0
    assert [r.score.distance for r in results] == pytest.approx([0.2, 0.0])  # type: ignore[union-attr]


def test_reading_kept_analyses_only_never_analyses(library: Library, renders: SheetRenders,
                                                   binding: SheetBinding) -> None:
    studio = renders.add("Studio", Stage.PREVIEW, tile(30))
    harbour = renders.add("Harbour", Stage.PREVIEW, tile(0))
    approved = renders.add("Harbour", Stage.FINAL, tile(50), Approval.APPROVED)
    kept = IdentityScores(library)  # no analyser: status and exports
    assert not kept.analyses_new_images
    assert kept.source(binding.character.id) is None  # the approved final is not analysed yet
    lookup = kept.lookup()
    assert [lookup(r) for r in (studio, harbour, approved)] == [None, None, None]

    analyser = PixelAnalyser()
    IdentityScores(library, analyser).render_analysis(harbour)
    # A render without a face needs no identity to be judged.
    assert IdentityScores(library).lookup()(harbour) == {"distance": None,
                                                          "verdict": "not scorable"}
    assert IdentityScores(library).lookup()(studio) is None
    scores = IdentityScores(library, analyser)
    scores.score_all([studio], scores.source(binding.character.id))
    lookup = IdentityScores(library).lookup()
    assert lookup(studio) == {"distance": 0.2, "verdict": "same person"}
    assert lookup(approved) == {"distance": 0.0, "verdict": "same person"}


def test_an_image_that_cannot_be_read_is_not_scorable_and_not_kept(
        library: Library, renders: SheetRenders) -> None:
    render = renders.add("Studio", Stage.PREVIEW, tile(30))
    assert render.image_path is not None and render.image_hash is not None
    render.image_path.unlink()
    analyser = PixelAnalyser()
    scores = IdentityScores(library, analyser)
    assert scores.render_analysis(render) == FaceAnalysis.unreadable()
    assert analyser.calls == 0 and library.faces.get(render.image_hash) is None


def test_a_damaged_image_is_not_taken_for_the_stored_one(library: Library,
                                                         renders: SheetRenders) -> None:
    render = renders.add("Studio", Stage.PREVIEW, tile(30))
    assert render.image_path is not None and render.image_hash is not None
    render.image_path.write_bytes(tile(60))
    analysis = IdentityScores(library, PixelAnalyser()).render_analysis(render)
    assert analysis is not None and analysis.descriptor == descriptor_at(0.6)
    assert library.faces.get(render.image_hash) is None  # kept under the bytes' own hash


def test_the_renders_to_score_are_in_sheet_order(library: Library, renders: SheetRenders,
                                                 sheet: Sheet, sheet_path: Path,
                                                 binding: SheetBinding) -> None:
    harbour = renders.add("Harbour", Stage.PREVIEW, tile(10))
    old = renders.add("Studio", Stage.FINAL, tile(10))
    new = renders.add("Studio", Stage.FINAL, tile(10))
    preview = renders.add("Studio", Stage.PREVIEW, tile(10))
    character, latest = sheet_renders(library, sheet, sheet_path)
    assert character == binding.character.id
    assert [r.id for r in latest] == [preview.id, new.id, harbour.id]
    _character, every = sheet_renders(library, sheet, sheet_path, every=True)
    assert [r.id for r in every] == [preview.id, old.id, new.id, harbour.id]
    assert sheet_renders(library, sheet, sheet_path.with_name("other.sheet.toml")) == (None, [])


def test_the_spread_is_over_scored_renders_only() -> None:
    from studio.identity import IdentityScore

    scores = [IdentityScore(1, 0.2, Verdict.SAME_PERSON, ""),
              IdentityScore(0, None, Verdict.NOT_SCORABLE, ""), None,
              IdentityScore(1, 0.5, Verdict.DRIFTING, "")]
    spread = Spread.of(scores)
    assert (spread.scored, spread.largest, spread.mean) == (2, 0.5, pytest.approx(0.35))
    assert Spread.of([None]).to_json() == {"scored": 0, "largest": None, "mean": None}
