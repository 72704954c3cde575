"""The inspector's view-model: for the current card's preview or final, the render's record as the
library holds it (what was sent and what came back, the verdict, the star), read off the GUI
thread and read again when the library announces that it changed; and what the inspector's
buttons do with it (use its settings, seed or prompt, move it to the trash).

:func:`render_facts` and :func:`shown_prompt` are the one way a render's settings and prompt are
written out for reading: the inspector and the viewer both show them, so they cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from studio.core.lifecycle import Approval
from studio.core.presets import PresetKind
from studio.core.prompt import prompt_parts, reference_clause
from studio.core.request import SEED_MAX, Stage
from studio.core.sheet import Scene, frame_size
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.document import SheetDocument
from studio.ui.viewmodels.references import ROLE_LABELS
from studio.ui.viewmodels.scenes import SceneListModel
from studio.ui.viewmodels.selection import SceneSelection

if TYPE_CHECKING:  # the library opens after the window shows
    from studio.library import Library, RenderRecord
    from studio.library.changes import LibraryChange
    from studio.ui.viewmodels.changes import LibraryChanges


def parameters_text(render: RenderRecord) -> str:
    """The settings in the layout other image tools read (A1111 ``parameters``)."""
    lines = [render.prompt]
    if render.negative:
        lines.append(f"Negative prompt: {render.negative}")
    seed = render.seed if render.seed is not None else -1
    lines.append(f"Steps: {render.steps}, CFG scale: {render.guidance:g}, Seed: {seed}, "
                 f"Size: {render.width}x{render.height}, Model: {render.model}, "
                 f"Provider: {render.provider}")
    return "\n".join(lines)


#: The rows of :func:`render_facts`, in order.
FACT_LABELS = ("Scene", "Stage", "Provider", "Model", "Request id", "Seed", "Size", "Steps",
               "Guidance", "Time", "Cost", "Created", "Status", "Verdict", "References")


def render_facts(render: RenderRecord) -> list[tuple[str, str]]:
    """The render's settings and results as (label, text) rows, as the viewer shows them beside
    the image and the inspector under the prompt (the prompts apart)."""
    from studio.core import codec

    seed = "—" if render.seed_requested is None else str(render.seed_requested)
    if render.seed_returned is not None and render.seed_returned != render.seed_requested:
        seed += f" → {render.seed_returned} (returned)"
    timings = codec.to_data(render.timings)
    detail = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if v)
    verdict = " · ".join(part for part in (
        "" if render.approval is Approval.NONE else render.approval.value.title(),
        "★ starred" if render.star else "",
        "in the trash" if render.trashed is not None else "") if part) or "none"
    return list(zip(FACT_LABELS, (
        render.scene_name or "(imported)",
        render.stage.value,
        render.provider,
        render.model,
        render.request_id or "—",
        seed,
        f"{render.width}x{render.height}",
        str(render.steps),
        f"{render.guidance:g}",
        f"{render.timings.total:.1f} s" + (f" ({detail})" if detail else ""),
        "unknown" if render.cost is None else f"{render.cost:.4f}",
        render.created.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        render.status_word + (f": {render.error}" if render.error else ""),
        verdict,
        references_text(render),
    ), strict=True))


def references_text(render: RenderRecord) -> str:
    """"2 (face 1a2b3c, full body 4d5e6f), strong", or "none"."""
    refs = render.references
    if not refs:
        return "none"
    roles = ", ".join(f"{ROLE_LABELS[r.role].lower()} {r.short}" for r in refs)
    return f"{len(refs)} ({roles}), {render.reference_strength.value}"


@dataclass(frozen=True, slots=True)
class PromptText:
    """A render's prompt as shown: ``short`` has the clause that opens a prompt sent with
    reference images ("the woman from images 1 and 2, with the face from image 3, wearing
    the outfit from image 4") cut to a few words; ``full`` is the prompt as sent."""

    full: str
    short: str

    @property
    def shortened(self) -> bool:
        return self.short != self.full


def short_clause(subject: str, count: int) -> str:
    """A reference clause as shown: "[the woman from 3 reference images]"."""
    images = "the reference image" if count == 1 else f"{count} reference images"
    return f"[the {subject} from {images}]"


def shown_prompt(render: RenderRecord) -> PromptText:
    """``render``'s prompt with its reference clause, when it opens with the one its references
    make (the clause of the images actually sent), shortened to "[the woman from 3 reference
    images]"; any other prompt unchanged."""
    prompt, refs = render.prompt, render.references
    words = prompt.split(" ", 2)
    if refs and len(words) == 3 and words[0] == "the":
        subject = words[1].rstrip(",")
        clause = reference_clause(subject, refs)
        if clause and prompt.startswith(clause) and len(prompt) > len(clause):
            rest = prompt[len(clause):].lstrip(", ")
            return PromptText(prompt, f"{short_clause(subject, len(refs))} {rest}")
    return PromptText(prompt, prompt)


def setting_from_prompt(doc: SheetDocument, scene: Scene, prompt: str) -> str:
    """The scene text of ``prompt``: the prompt without the parts the sheet adds around it
    (anchor, skin, presets, quality), so using it does not repeat them."""
    text = prompt
    for part in prompt_parts(doc.sheet, scene, doc.catalog):
        if part.role != "setting" and part.text.strip():
            text = text.replace(part.text.strip(), "")
    text = re.sub(r"\s*,\s*(,\s*)+", ", ", text).strip(" ,")
    return text or scene.setting


class InspectorModel(QObject):
    """``changed`` whenever the render shown, the stage, or the error changes."""

    changed = Signal()

    def __init__(self, document: SheetDocument, model: SceneListModel,
                 selection: SceneSelection, background: Background,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._model = model
        self._selection = selection
        self._bg = background
        self._library: Library | None = None
        self.stage = Stage.PREVIEW
        self.scene_name: str | None = None
        self.record: RenderRecord | None = None
        self.error = ""
        self._asked: int | None = None  # the render id being read
        self._generation = 0  # of the newest read: older answers are dropped
        selection.changed.connect(self.refresh)
        model.cellsChanged.connect(self.refresh)
        model.modelReset.connect(self.refresh)

    def attach(self, library: Library, changes: LibraryChanges) -> None:
        """The library is open: show renders from it, and follow its announcements."""
        self._library = library
        changes.changed.connect(self._library_changed)
        self.refresh()

    @property
    def loading(self) -> bool:
        return self._asked is not None

    # ------------------------------------------------------------------ what is shown
    def set_stage(self, stage: Stage) -> None:
        if stage is not self.stage:
            self.stage = stage
            self.refresh()

    def wanted(self) -> int | None:
        """The render to show: the current card's at the chosen stage, else its other one."""
        name = self._selection.current
        if name is None or self._library is None:
            return None
        cell = self._model.cell(name)
        other = Stage.FINAL if self.stage is Stage.PREVIEW else Stage.PREVIEW
        return cell.slot(self.stage).render_id or cell.slot(other).render_id

    def refresh(self) -> None:
        name, render_id = self._selection.current, self.wanted()
        if render_id is None:
            self._show(name, None)
            return
        if self.record is not None and self.record.id == render_id and self.scene_name == name:
            return
        self._read(render_id)

    def _read(self, render_id: int, again: bool = False) -> None:
        """Read the render (``again``: even if a read of it is on its way; the newest wins)."""
        library = self._library
        if library is None or (self._asked == render_id and not again):
            return
        self._asked = render_id
        self._generation += 1
        generation = self._generation
        self._bg.run(lambda: library.renders.get(render_id),
                     lambda record: self._arrived(generation, record),
                     lambda exc: self._failed(generation, exc),
                     owner=self, what="Reading the render's settings")

    def _arrived(self, generation: int, record: RenderRecord) -> None:
        if generation != self._generation:
            return
        self._asked = None
        if self.wanted() == record.id:
            self._show(self._selection.current, record)
        else:
            self.refresh()  # the card moved on meanwhile

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self._asked = None
            self.error = f"The render's settings cannot be read: {exc}"
            self.record = None
            self.changed.emit()

    def _show(self, name: str | None, record: RenderRecord | None) -> None:
        stage = record.stage if record is not None else self.stage
        if (name, record, "", stage) == (self.scene_name, self.record, self.error, self.stage):
            return
        self.scene_name, self.record, self.error, self.stage = name, record, "", stage
        self.changed.emit()

    def _library_changed(self, change: LibraryChange) -> None:
        # The render being read may have been read before this write: read it again (the
        # older answer is dropped). Else the one shown: read it again, and it stays (and its
        # buttons work) meanwhile.
        shown = self.record.id if self.record is not None else None
        for render_id in (self._asked, shown):
            if render_id is not None and render_id in change.renders:
                self._read(render_id, again=True)
                return

    # ------------------------------------------------------------------ actions
    @property
    def scene(self) -> Scene | None:
        return self._doc.sheet.scene(self.scene_name) if self.scene_name else None

    def _seed_change(self) -> int | None:
        assert self.record is not None
        seed = self.record.seed
        if seed is None or not 0 <= seed <= SEED_MAX or seed == self._doc.sheet.character.seed:
            return None
        return seed

    def use_seed(self) -> None:
        scene = self.scene
        if scene is None or self.record is None:
            return
        self._doc.update_scene(scene.name, f"Use the seed of a render for \"{scene.name}\"",
                               merge=False, seed=self._seed_change())

    def use_prompt(self) -> None:
        scene = self.scene
        if scene is None or self.record is None:
            return
        self._doc.update_scene(scene.name, f"Use the prompt of a render for \"{scene.name}\"",
                               merge=False,
                               setting=setting_from_prompt(self._doc, scene, self.record.prompt))

    def use_all(self) -> None:
        scene, render = self.scene, self.record
        if scene is None or render is None:
            return
        doc = self._doc
        framing = scene.framing
        if frame_size(framing, doc.catalog) != (render.width, render.height):
            framing = next((p.id for p in doc.catalog.of_kind(PresetKind.FRAMING)
                            if (p.width, p.height) == (render.width, render.height)),
                           f"{render.width}x{render.height}")
        new_scene = replace(scene, setting=setting_from_prompt(doc, scene, render.prompt),
                            seed=self._seed_change(), framing=framing)
        sheet = doc.sheet.with_scenes(tuple(new_scene if s.name == scene.name else s
                                            for s in doc.sheet.scenes))
        if render.steps > 0:
            profile = replace(sheet.profile(render.stage), steps=render.steps,
                              guidance=render.guidance)
            sheet = (replace(sheet, preview=profile) if render.stage is Stage.PREVIEW
                     else replace(sheet, final=profile))
        doc.apply(sheet, f"Use all settings of a render for \"{scene.name}\"")

    def trash(self) -> None:
        """Move the render shown to the library's trash (the card then shows the one before)."""
        library, record = self._library, self.record
        if library is None or record is None:
            return

        def failed(exc: BaseException) -> None:
            self.error = f"The render could not be moved to the trash: {exc}"
            self.changed.emit()

        self._bg.run(lambda: library.renders.trash([record.id]), on_failure=failed,
                     owner=self, what="Moving the render to the trash")
