"""Fixtures for the export tests: the example sheet as an export document, with placeholder
images drawn by the offline provider's card painter (the same cards `studio render` makes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.presets import PresetCatalog, PresetKind, load_catalog
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.core.sheet import Sheet, frame_size, load_sheet
from studio.export.model import ExportCell, SheetDocument
from studio.providers.offline import draw_card

EXPORT_DATE = "2025-06-01"
PRODUCER = "Character Sheet Studio test"


def card(sheet: Sheet, catalog: PresetCatalog, index: int, stage: Stage,
         scale: float = 0.5) -> bytes:
    """The offline placeholder PNG of scene ``index`` at ``scale`` of its framing size."""
    scene = sheet.scenes[index]
    size = frame_size(scene.framing, catalog) or (768, 1024)
    width, height = (max(64, int(size[0] * scale)) // 8 * 8, max(64, int(size[1] * scale)) // 8 * 8)
    profile = sheet.profile(stage)
    request = GenerationRequest(
        prompt=scene.setting, width=width, height=height, steps=profile.steps,
        guidance=profile.guidance, model=profile.model, seed=sheet.seed_for(scene), stage=stage,
        context=SceneContext(
            character=sheet.character.name, scene=scene.name,
            lighting=catalog.label_for(PresetKind.LIGHTING, scene.lighting),
            lens=catalog.label_for(PresetKind.LENS, scene.lens)),
    )
    return draw_card(request, sheet.seed_for(scene))


def document(sheet: Sheet, catalog: PresetCatalog, stages: dict[int, Stage | None],
             scale: float = 0.5, stale: frozenset[int] = frozenset()) -> SheetDocument:
    """An export document of ``sheet``: scene i shows a render of ``stages[i]`` (None: none)."""
    cells = []
    for i, scene in enumerate(sheet.scenes):
        stage = stages.get(i, Stage.FINAL)
        profile = sheet.profile(stage or Stage.FINAL)
        cells.append(ExportCell(
            scene=scene.name,
            lighting=catalog.label_for(PresetKind.LIGHTING, scene.lighting),
            lens=catalog.label_for(PresetKind.LENS, scene.lens),
            framing=catalog.label_for(PresetKind.FRAMING, scene.framing),
            notes=scene.notes,
            seed=sheet.seed_for(scene) if stage else None,
            model=profile.model if stage else "",
            provider="offline" if stage else "",
            image=card(sheet, catalog, i, stage, scale) if stage else None,
            stage=stage,
            out_of_date=("anchor",) if i in stale else (),
            render_id=100 + i if stage else None,
        ))
    return SheetDocument(
        title=sheet.title, character=sheet.character.name, anchor=sheet.character.anchor,
        seed=sheet.character.seed, cells=tuple(cells), anchor_version=1,
        exported=EXPORT_DATE, producer=PRODUCER,
    )


@pytest.fixture(scope="session")
def catalog() -> PresetCatalog:
    return load_catalog()


@pytest.fixture(scope="session")
def emma(catalog: PresetCatalog) -> Sheet:
    return load_sheet(Path(__file__).resolve().parents[2] / "examples" / "emma.sheet.toml",
                      catalog)


@pytest.fixture(scope="session")
def emma_doc(emma: Sheet, catalog: PresetCatalog) -> SheetDocument:
    """Finals for three scenes; the third scene has only a preview (it stands in, marked)."""
    return document(emma, catalog, {2: Stage.PREVIEW})


@pytest.fixture(scope="session")
def emma_doc_mixed(emma: Sheet, catalog: PresetCatalog) -> SheetDocument:
    """A final, a preview stand-in, a scene never rendered and an out-of-date final."""
    return document(emma, catalog, {1: Stage.PREVIEW, 2: None}, stale=frozenset({3}))


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder to export into (tmp_path also holds the redirected home folder)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder
