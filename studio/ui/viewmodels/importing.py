"""Images made by other tools, imported into the open sheet's project (off the GUI thread), and the
first one's settings offered as a new scene."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from studio.core.presets import PresetKind
from studio.core.sheet import Scene
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.document import SheetDocument

if TYPE_CHECKING:
    from studio.library import Library


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What one import did: the records made, a sentence per file that failed, the project, and
    the first image's settings when it had some (offered as a scene)."""

    project: str
    records: list[Any]
    errors: list[str]
    first: Path
    suggestion: Any


class ImageImport(QObject):
    """``finished(ImportOutcome)`` on the GUI thread after an import; ``failed(sentence)``."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, document: SheetDocument, background: Background,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._bg = background
        self.library: Library | None = None

    def run(self, paths: list[Path]) -> bool:
        """Import ``paths``; False (and a sentence) when there is no library to import to."""
        from studio.library.binding import project_name

        library = self.library
        if library is None:
            self.failed.emit("The library is not open, so images cannot be imported.")
            return False
        project = project_name(self._doc.sheet) or "Imported"

        def work() -> ImportOutcome:
            project_id = library.projects.ensure(project).id
            results, errors = [], []
            for path in paths:
                try:
                    results.append(library.maintenance.import_image(path, project_id))
                except Exception as exc:  # a sentence per file; the others go on
                    errors.append(str(exc))
            first = results[0].suggestion if results else None
            return ImportOutcome(project, [r.render for r in results], errors, paths[0], first)

        self._bg.run(work, self.finished.emit,
                     lambda exc: self.failed.emit(f"The images could not be imported: {exc}"),
                     owner=self, what="Importing images")
        return True

    def add_scene(self, name: str, found: Any) -> str:
        """A scene made from an imported image's settings; returns its name."""
        doc = self._doc
        anchor = doc.sheet.character.anchor.strip()
        setting = found.prompt.replace(anchor, "").strip(" ,") if anchor else found.prompt
        framing = "portrait"
        if found.width and found.height:
            w, h = found.width - found.width % 8, found.height - found.height % 8
            framing = next((p.id for p in doc.catalog.of_kind(PresetKind.FRAMING)
                            if (p.width, p.height) == (w, h)), f"{w}x{h}")
        seed = found.seed if found.seed is not None and found.seed != doc.sheet.character.seed \
            else None
        scene = doc.add_scene(Scene(name=name, setting=setting or found.prompt, framing=framing,
                                    seed=seed))
        return scene.name
