"""What can be done with any image the window shows (a card's preview or final, a library
render, a consistency tile, a side of a compare): open it in the viewer, compare it with another,
give it a verdict or a star, finalize or re-render its scene, use it as a reference of the
character, show its file, move it to the trash.

An image is an :class:`ImageItem` (its file, and its render in the library when it has one).
:class:`ImageActions` does the work: verdicts, stars and the trash are written to the library by
render id (every view follows the library's announcement); finalize and re-render go through the
rendering view-model, for the open sheet's scenes; "Use as reference" adds the render to the
character's reference set through the document, one undoable edit saved with the sheet.
:class:`ComparePicks` holds the images chosen as A and B for a compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from studio.core.anchor import REFERENCES_MAX, ReferenceImage, ReferenceRole
from studio.core.lifecycle import Approval
from studio.core.request import Stage
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.document import SheetDocument

if TYPE_CHECKING:
    from studio.library import Library
    from studio.ui.viewmodels.studio import StudioRendering


@dataclass(frozen=True, slots=True)
class ImageItem:
    """One image as the viewer and compare show it. ``render_id`` is its render in the library
    (None for a file the library does not know); ``scene`` and ``stage`` say which card of the
    open sheet it is, when it is one."""

    path: Path
    title: str
    render_id: int | None = None
    scene: str | None = None
    stage: Stage | None = None


def choose_role(taken: tuple[ReferenceImage, ...]) -> ReferenceRole:
    """The role a new reference gets: face while the set has none, else other (the character
    panel changes it)."""
    return (ReferenceRole.OTHER if any(r.role is ReferenceRole.FACE for r in taken)
            else ReferenceRole.FACE)


class ImageActions(QObject):
    """The actions on images; ``message(text, level)`` says what happened or why not, in one
    sentence."""

    message = Signal(str, str)

    def __init__(self, document: SheetDocument, rendering: StudioRendering,
                 background: Background, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._rendering = rendering
        self._bg = background
        self._working = 0

    @property
    def library(self) -> Library | None:
        return self._rendering.library

    @property
    def busy(self) -> bool:
        return self._working > 0

    # ------------------------------------------------------------------ library writes
    def _ids(self, items: list[ImageItem]) -> list[int]:
        return [i.render_id for i in items if i.render_id is not None]

    def _write(self, fn: Callable[[Library, list[int]], Any], items: list[ImageItem],
               what: str) -> None:
        library, ids = self.library, self._ids(items)
        if library is None or not ids:
            if items and not ids:
                self.message.emit(f"{what} is only for renders in the library; this image is "
                                  "not one.", "info")
            return
        self._working += 1

        def ended(_result: object = None) -> None:
            self._working -= 1

        def failed(exc: BaseException) -> None:
            ended()
            self.message.emit(f"{what} failed: {exc}", "error")

        self._bg.run(lambda: fn(library, ids), ended, failed, owner=self, what=what,
                     in_order=True)

    def set_approval(self, items: list[ImageItem], approval: Approval) -> None:
        """Give the renders ``approval``; the same verdict again takes it back (as on cards)."""
        self._write(lambda library, ids: library.renders.toggle_approval(ids, approval), items,
                    "Saving the verdict")

    def toggle_star(self, items: list[ImageItem]) -> None:
        """Star the renders, or unstar them when every one is starred."""
        self._write(lambda library, ids: library.renders.toggle_star(ids), items,
                    "Saving the star")

    def trash(self, items: list[ImageItem]) -> None:
        self._write(lambda library, ids: library.renders.trash(ids), items,
                    "Moving the render to the trash")

    # ------------------------------------------------------------------ the open sheet
    def scene_of(self, item: ImageItem) -> str | None:
        """The open sheet's scene the image is a card of, if it still is one."""
        if item.scene is not None and self._doc.sheet.scene(item.scene) is not None:
            return item.scene
        return None

    def can_render(self, item: ImageItem) -> bool:
        return self.scene_of(item) is not None and self._rendering.renderer is not None

    def finalize(self, item: ImageItem) -> None:
        """Render the final of the image's scene (made from the scene's chosen preview)."""
        self._render(item, "finalize", "finalized")

    def rerender(self, item: ImageItem) -> None:
        """Render the image's scene again at the image's stage."""
        self._render(item, "finalize" if item.stage is Stage.FINAL else "preview", "re-rendered")

    def _render(self, item: ImageItem, kind: str, done: str) -> None:
        scene = self.scene_of(item)
        if scene is None:
            self.message.emit(f"“{item.title}” is not a scene of the open sheet, so it cannot "
                              f"be {done} from here: open its sheet first.", "info")
            return
        if self._rendering.renderer is None:
            self.message.emit("Rendering is not available yet: the library is still opening "
                              "or could not be opened (see the message above).", "info")
            return
        self._rendering.render_scenes(kind, [scene])

    # ------------------------------------------------------------------ references
    def reference_refusal(self, item: ImageItem) -> str:
        """Why the image cannot be added to the reference set now ("" when it can)."""
        refs = self._doc.sheet.character.references
        if item.render_id is None:
            return ("Only renders in the library can be used as references; add this file "
                    "to the character's references in the Character panel instead.")
        if self.library is None:
            return "The library is not open yet, so its renders cannot be used as references."
        if len(refs) >= REFERENCES_MAX:
            return (f"The character already has {REFERENCES_MAX} reference images, the most "
                    "it can hold: remove one in the Character panel first.")
        return ""

    def use_as_reference(self, item: ImageItem) -> None:
        """Add the render to the character's reference set: stored in the library by hash, copied
        beside the sheet file (when it has one) so the sheet names it by a relative path; then
        one undoable edit of the sheet."""
        refusal = self.reference_refusal(item)
        library = self.library
        if refusal or library is None or item.render_id is None:
            self.message.emit(refusal, "info")
            return
        render_id = item.render_id
        sheet_path = self._doc.path
        role = choose_role(self._doc.sheet.character.references)

        def work() -> ReferenceImage:
            ref = library.references.from_render(render_id, role)
            if sheet_path is not None:
                return library.references.copy_beside(ref.sha256, sheet_path, role)
            return ref  # an unsaved sheet names the library's file; saving rebases it

        def failed(exc: BaseException) -> None:
            self._working -= 1
            self.message.emit(f"“{item.title}” could not be used as a reference: {exc}",
                              "error")

        self._working += 1
        self._bg.run(work, lambda ref: self._add_reference(item, ref), failed, owner=self,
                     what="Using the render as a reference")

    def _add_reference(self, item: ImageItem, ref: ReferenceImage) -> None:
        self._working -= 1
        character = self._doc.sheet.character
        refs = character.references
        if any(r.sha256 == ref.sha256 for r in refs):
            self.message.emit(f"“{item.title}” is already one of the character's references.",
                              "info")
            return
        if len(refs) >= REFERENCES_MAX:  # another was added meanwhile
            self.message.emit(self.reference_refusal(item), "info")
            return
        role = choose_role(refs)
        self._doc.set_character(f"Use “{item.title}” as a reference", None,
                                references=(*refs, replace(ref, role=role)))
        self.message.emit(f"“{item.title}” is now a {role.value} reference of "
                          f"{character.name or 'the character'}.", "ok")


class ComparePicks(QObject):
    """The images picked as A and B of a compare; ``changed`` after each pick."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.a: ImageItem | None = None
        self.b: ImageItem | None = None

    def set_a(self, item: ImageItem) -> None:
        self.a = item
        self.changed.emit()

    def set_b(self, item: ImageItem) -> None:
        self.b = item
        self.changed.emit()

    def swap(self) -> None:
        self.a, self.b = self.b, self.a
        self.changed.emit()

    def compare_with(self, item: ImageItem) -> tuple[ImageItem, ImageItem] | None:
        """"Compare with…": the pair (A, ``item``) when an A is picked (and is another image);
        else ``item`` becomes A and None says a B is still to be picked."""
        if self.a is None or self.a.path == item.path:
            self.set_a(item)
            return None
        self.set_b(item)
        return self.a, item
