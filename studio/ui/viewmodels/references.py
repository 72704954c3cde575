"""The character's reference set as the window edits it: add image files (checked off the GUI
thread by the library's one image check), reorder, set a role, remove. Every change is one
undoable step of the document, and the sheet file names each image relative to itself.

A file added to an unsaved sheet is named by its absolute path; saving the sheet puts each path
relative to the sheet's folder where it can be (``document.sheet_for_file``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from studio.core.anchor import REFERENCES_MAX, ReferenceImage, ReferenceRole, ReferenceStrength
from studio.core.presets import PresetCatalog
from studio.core.reference_files import reference_file, reference_from_file
from studio.core.request import Stage
from studio.core.settings import Settings
from studio.core.sheet import Sheet, scene_references
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.document import SheetDocument

if TYPE_CHECKING:
    from studio.providers.base import Provider

ROLE_LABELS = {ReferenceRole.FACE: "Face", ReferenceRole.FULL_BODY: "Full body",
               ReferenceRole.OUTFIT: "Outfit", ReferenceRole.OTHER: "Other"}


def checked_references(files: Sequence[Path], sheet_path: Path | None,
                       role: ReferenceRole) -> list[ReferenceImage]:
    """Each file read, checked as the library checks a reference image (format, size, pixels,
    a whole decode) and hashed; the first that cannot be used raises with its sentence.
    Blocking: run it on a worker."""
    from studio.core.imagefile import ImageFileError, read_image_file
    from studio.library.references import ReferenceImageError, check_reference_image

    out = []
    for file in files:
        try:
            check_reference_image(read_image_file(file), f"The image {file.name}")
        except ImageFileError as exc:
            raise ReferenceImageError(f"The file {file.name} {exc.problem}, so it cannot be a "
                                      f"reference image; {exc.hint}.") from None
        out.append(reference_from_file(file, sheet_path, role))
    return out


class ReferenceSet(QObject):
    """Edits ``document``'s reference set. ``message(sentence)`` when a file cannot be used (or
    the set is full); ``busy`` while files are being checked."""

    message = Signal(str)
    busyChanged = Signal(bool)
    changed = Signal()  # the set may have changed (any edit, undo or redo of the document)

    def __init__(self, document: SheetDocument, background: Background,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._bg = background
        self.busy = False
        document.changed.connect(self.changed)

    @property
    def references(self) -> tuple[ReferenceImage, ...]:
        return self._doc.sheet.character.references

    def file_of(self, reference: ReferenceImage) -> Path:
        """Where the reference's image file is."""
        path = Path(reference.path)
        if path.is_absolute() or self._doc.path is None:
            return path
        return reference_file(self._doc.path, reference)

    @property
    def room(self) -> int:
        return REFERENCES_MAX - len(self.references)

    # ------------------------------------------------------------------ edits
    def add_files(self, files: Sequence[Path]) -> bool:
        """Check ``files`` on a worker and add them as one undoable step; False when nothing
        was started (the set is full, or no file)."""
        files = [Path(f) for f in files]
        if not files or self.busy:
            return False
        if len(files) > self.room:
            self.message.emit(
                f"A character holds at most {REFERENCES_MAX} reference images; remove one "
                f"before adding {'another' if self.room == 0 else 'more'}."
                if self.room == 0 else
                f"Only {self.room} more reference image(s) fit (at most {REFERENCES_MAX}); "
                f"drop {self.room} at a time.")
            return False
        known = {self.file_of(r).resolve() for r in self.references}
        fresh = [f for f in files if f.resolve() not in known]
        if not fresh:
            self.message.emit(f"{files[0].name} is already a reference image of this character.")
            return False
        sheet_path = self._doc.path
        role = ReferenceRole.FACE if not self.references else ReferenceRole.OTHER
        self._set_busy(True)
        self._bg.run(lambda: checked_references(fresh, sheet_path, role), self._checked,
                     self._refused, owner=self, what="Checking the reference images")
        return True

    def _checked(self, added: list[ReferenceImage]) -> None:
        self._set_busy(False)
        hashes = {r.sha256 for r in self.references}
        added = [r for r in added if r.sha256 not in hashes]
        if not added:
            self.message.emit("That image is already a reference image of this character.")
            return
        refs = (self.references + tuple(added))[:REFERENCES_MAX]
        noun = "a reference image" if len(added) == 1 else f"{len(added)} reference images"
        self._apply(refs, f"Add {noun}")

    def _refused(self, exc: BaseException) -> None:
        self._set_busy(False)
        text = str(exc).strip() or type(exc).__name__
        self.message.emit(text if text.endswith(".") else text + ".")

    def move(self, index: int, to: int) -> None:
        refs = list(self.references)
        if not (0 <= index < len(refs) and 0 <= to < len(refs)) or index == to:
            return
        refs.insert(to, refs.pop(index))
        self._apply(tuple(refs), "Reorder the reference images")

    def set_role(self, index: int, role: ReferenceRole) -> None:
        refs = list(self.references)
        if not 0 <= index < len(refs) or refs[index].role is role:
            return
        refs[index] = replace(refs[index], role=role)
        self._apply(tuple(refs), f"Make a reference image the {ROLE_LABELS[role].lower()}")

    def remove(self, index: int) -> None:
        refs = list(self.references)
        if 0 <= index < len(refs):
            refs.pop(index)
            self._apply(tuple(refs), "Remove a reference image")

    def _apply(self, refs: tuple[ReferenceImage, ...], text: str) -> None:
        self._doc.set_character(text, references=refs)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busyChanged.emit(busy)


@dataclass(frozen=True, slots=True)
class ReferenceCost:
    """What a stage's batch sends in reference images, and what they add to its price where
    the model's API bills input images (None: the model lists no price for them)."""

    images: int
    scenes: int
    cost: float | None
    model: str

    def sentence(self) -> str:
        if self.images == 0:
            return ""
        sent = (f"{self.images} reference image{'s' if self.images != 1 else ''} over "
                f"{self.scenes} scene{'s' if self.scenes != 1 else ''}")
        if self.cost is None:
            return f"References: {sent}; {self.model} lists no extra price for them."
        if self.cost == 0:
            return f"References: {sent}, at no extra cost."
        return f"References: {sent} add about {self.cost:.2f}."


def reference_cost(sheet: Sheet, stage: Stage, catalog: PresetCatalog,
                   providers: Mapping[str, Provider], settings: Settings) -> ReferenceCost:
    """The reference images every scene of ``sheet`` sends at ``stage``, as the provider the
    batch would use prepares each request (its strength, the model's roles and limits, and the
    provider's switch to its reference model), and what they add at the model's price per
    reference (as the queue's estimate counts them)."""
    from studio.core.prompt import build_request
    from studio.render import choose_provider

    profile = sheet.profile(stage)
    choice = choose_provider(providers, stage, profile.provider, profile.model,
                             default_provider_id=settings.stage_provider(stage))
    provider = choice.provider
    images = scenes = 0
    cost: float | None = 0.0
    models: dict[str, None] = {}
    for scene in sheet.scenes:
        if not scene_references(sheet, scene):
            continue
        request = build_request(sheet, scene, stage, catalog).with_changes(
            model=choice.model, provider=provider.id)
        try:
            adapted, _notes = provider.prepare(request)
        except Exception:  # refused: nothing is sent for it (the render says why)
            continue
        support = provider.capabilities(adapted.model).references
        sent = min(len(adapted.references), support.max_images)
        if not sent or adapted.reference_strength is ReferenceStrength.OFF:
            continue
        images += sent
        scenes += 1
        models[adapted.model] = None
        price = support.price_per_reference
        cost = None if cost is None or price is None else round(cost + price * sent, 6)
    return ReferenceCost(images, scenes, cost, ", ".join(models) or choice.model)
