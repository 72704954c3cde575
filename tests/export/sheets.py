"""Export documents of the example sheet for tests, with placeholder images drawn by the
offline provider's card painter (the same cards `studio render` makes)."""

from __future__ import annotations

from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import GenerationRequest, SceneContext, Stage
from studio.core.sheet import Sheet, frame_size
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
            group=scene.group, outfit=scene.outfit,
        ))
    return SheetDocument(
        title=sheet.title, character=sheet.character.name, anchor=sheet.character.anchor,
        seed=sheet.character.seed, cells=tuple(cells), anchor_version=1,
        exported=EXPORT_DATE, producer=PRODUCER, template=sheet.template,
    )
