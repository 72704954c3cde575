"""Previews of a whole sheet planned before anything is sent, recorded in parts while the first
ones are sent.

Everything a user is promised before a request leaves still holds: the sheet was read and
checked whole, every take of every scene is composed and accepted by the provider here (a
refusal anywhere is a sentence and nothing is sent), and the count, the cost and the
provider's notes are known for the whole batch. What waits is the library's share: each scene is
recorded (with what it sends now, its fingerprints) just before its jobs are journaled, in the
chunks the queue journals (:meth:`RenderQueue.add_planned`), so the first request of a sheet of
thousands of scenes leaves without waiting for the last scene to be recorded.
:meth:`StagedPreviews.finish` then records the sheet's other scenes and removes those it no
longer lists, as :func:`~studio.library.binding.bind_sheet` does at once.

The jobs and their drafts are those :func:`~studio.render.plan.plan_previews` makes for the same
sheet (same requests, notes, fingerprints and records), in sheet order.

Blocking (library writes): the queue runs :meth:`StagedPreviews.record` in a worker thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.core.fingerprint import SheetFingerprints
from studio.core.presets import PresetCatalog
from studio.core.prompt import SheetPrompts
from studio.core.request import GenerationRequest, Stage
from studio.core.sheet import Scene, Sheet
from studio.library import Library, RenderDraft
from studio.library.binding import SheetBinding, adopt_legacy_renders, bind_head, scene_spec_of
from studio.library.models import SceneRecord
from studio.providers.prepared import BatchPreparation
from studio.render.plan import JobSpec, ProviderChoice, check_takes, prepare_takes, selected_scenes


@dataclass(frozen=True, slots=True)
class PlannedImage:
    """One take of a scene as the provider will take it, before the library records it."""

    source: Scene
    request: GenerationRequest
    notes: tuple[str, ...] = ()

    @property
    def scene(self) -> str:
        return self.source.name

    @property
    def provider(self) -> str:
        return self.request.provider


class StagedPreviews:
    """The previews of the named scenes of a sheet (all when none are named), ``takes`` of
    each: planned whole when made, recorded chunk by chunk (:meth:`record`)."""

    def __init__(self, library: Library, sheet: Sheet, path: Path, catalog: PresetCatalog,
                 choice: ProviderChoice, scenes: Sequence[str] | None = None, *,
                 takes: int = 1) -> None:
        check_takes(takes)
        selected = selected_scenes(sheet, scenes)
        self._library = library
        # The sheet's own records first (its reference images checked and stored): the
        # requests name the images by the hashes stored.
        self._head = bind_head(library, sheet, path)
        self._catalog = catalog
        self.sheet = self._head.bound or sheet
        prompts = SheetPrompts(self.sheet, catalog)
        self._fingerprints = SheetFingerprints(self.sheet, catalog, prompts)
        by_name = {s.name: s for s in self.sheet.scenes}
        preparation = BatchPreparation(choice.provider)
        self.jobs: tuple[PlannedImage, ...] = tuple(
            PlannedImage(scene, adapted, notes)
            for scene in (by_name[s.name] for s in selected)
            for adapted, notes in prepare_takes(
                choice, scene, prompts.request(scene, Stage.PREVIEW, model=choice.model,
                                               provider=choice.provider.id), takes,
                preparation=preparation))
        self.notes: tuple[str, ...] = (choice.note,) if choice.note else ()
        self._positions: dict[str, int] | None = None
        self._recorded: dict[str, SceneRecord] = {}
        self._binding: SheetBinding | None = None

    @property
    def binding(self) -> SheetBinding:
        """The sheet's records: every scene once :meth:`finish` has run, else those recorded
        so far."""
        return self._binding or dataclasses.replace(self._head, scenes=dict(self._recorded))

    def record(self, start: int, stop: int) -> list[JobSpec]:
        """The jobs ``jobs[start:stop]``, their scenes recorded first (once each)."""
        images = self.jobs[start:stop]
        self._record_scenes(dict.fromkeys(image.source for image in images))
        head = self._head
        return [JobSpec(RenderDraft(
            request=image.request,
            project_id=head.project.id,
            sheet_id=head.sheet.id,
            scene_id=self._recorded[image.scene].id,
            anchor_version_id=head.anchor.id,
            fingerprint=self._recorded[image.scene].fingerprint(Stage.PREVIEW),
        ), image.notes) for image in images]

    def finish(self) -> SheetBinding:
        """Record the sheet's scenes not recorded yet, remove those it no longer lists, and
        adopt the fingerprints of renders made before they were kept: the library then holds
        the sheet as :func:`~studio.library.binding.bind_sheet` leaves it."""
        self._record_scenes(self.sheet.scenes)
        self._library.sheets.keep_scenes(self._head.sheet.id, self._recorded.keys())
        self._binding = adopt_legacy_renders(
            self._library, dataclasses.replace(
                self._head, scenes={s.name: self._recorded[s.name] for s in self.sheet.scenes}),
            self._catalog)
        return self._binding

    def _record_scenes(self, scenes: Sequence[Scene] | dict[Scene, None]) -> None:
        fresh = [scene for scene in scenes if scene.name not in self._recorded]
        if not fresh:
            return
        if self._positions is None:
            self._positions = {s.name: i for i, s in enumerate(self.sheet.scenes)}
        positions = self._positions
        records = self._library.sheets.record_scenes(self._head.sheet.id, [
            (positions[scene.name], scene_spec_of(scene, self._fingerprints))
            for scene in fresh])
        self._recorded.update((r.name, r) for r in records)
