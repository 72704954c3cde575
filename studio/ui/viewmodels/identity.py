"""What the window knows of each card's renders beyond their state: the reference images a render
was sent with, and its identity score (is it still the character's face?).

:class:`RenderFacts` reads the renders the cards show from the library and scores them with
``studio.render.identity.IdentityScores``, off the GUI thread, a few renders at a time so badges
appear as they are scored (the cards' other takes too: their distances go to the scene model, so
a filmstrip can list the takes most like the character first); it reads again when the cards show
other renders, when the library announces a change (an approval can change the character's
identity) and when the reference set changes. dlib runs in a child process
(``FaceAnalysisProcess``), so the window's threads keep running while a face is measured. Where
identity scoring cannot run, ``unavailable`` says so once and everything else works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.anchor import ReferenceImage, ReferenceStrength, reference_identity
from studio.core.lifecycle import JobState
from studio.core.request import Stage
from studio.ui.viewmodels.background import Background
from studio.ui.viewmodels.scenes import SceneListModel

if TYPE_CHECKING:  # the library and dlib load after the window shows
    from studio.identity import IdentityRules, IdentityScore, IdentitySource
    from studio.library import Library
    from studio.library.changes import LibraryChange
    from studio.render.identity import IdentityScores
    from studio.ui.viewmodels.changes import LibraryChanges

log = logging.getLogger("studio.ui.identity")

#: Renders scored per piece of work: badges appear as each piece ends.
CHUNK = 6
#: Builds the face analyser (bytes to FaceAnalysis); None: dlib in a child process.
AnalyserFactory = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class RenderFact:
    """One render as its badges show it."""

    render_id: int
    references: tuple[ReferenceImage, ...] = ()
    strength: ReferenceStrength = ReferenceStrength.OFF
    score: IdentityScore | None = None  # None: not scored (yet, or scoring is unavailable)


@dataclass(slots=True)
class _Scored:
    facts: dict[int, RenderFact] = field(default_factory=dict)
    source: IdentitySource | None = None
    unavailable: str = ""


class RenderFacts(QObject):
    """``changed`` when a badge's facts, the identity source or availability changed;
    ``unavailable(sentence)`` once when identity scoring cannot run on this system."""

    changed = Signal()
    unavailable = Signal(str)

    def __init__(self, model: SceneListModel, background: Background,
                 parent: QObject | None = None, delay_ms: int = 120) -> None:
        super().__init__(parent)
        self._model = model
        self._bg = background
        self._library: Library | None = None
        self._scores: IdentityScores | None = None
        self._analyser: Any = None
        self._facts: dict[int, RenderFact] = {}
        self.source: IdentitySource | None = None
        self.rules: IdentityRules | None = None
        #: "" while scoring can run (or has not been tried); else the sentence why not.
        self.unavailable_reason = ""
        self.revision = 0
        self._scored_key: tuple[Any, ...] | None = None
        self._dirty = False
        self._generation = 0
        self._running = False
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._run)
        model.cellsChanged.connect(self._schedule)
        model.modelReset.connect(self._schedule)
        model.document.changed.connect(self._schedule)

    # ------------------------------------------------------------------ state
    def fact(self, render_id: int | None) -> RenderFact | None:
        return None if render_id is None else self._facts.get(render_id)

    def score_of(self, name: str, stage: Stage) -> IdentityScore | None:
        """The identity score of the render the card of ``name`` shows at ``stage``."""
        fact = self.fact(self._model.cell(name).slot(stage).render_id)
        return fact.score if fact is not None else None

    @property
    def busy(self) -> bool:
        """Reading or scoring, or about to (tests wait on this)."""
        return self._running or self._timer.isActive() or self._dirty

    @property
    def available(self) -> bool:
        return not self.unavailable_reason

    @property
    def analyser(self) -> Any:
        """The face analyser in use (the child process's, unless a test gave another); None
        before it is ready and after ``close``."""
        return self._analyser

    # ------------------------------------------------------------------ opening and closing
    def attach(self, library: Library, changes: LibraryChanges, rules: IdentityRules | None,
               analyser: AnalyserFactory | None = None) -> None:
        """The library is open: read and score the cards' renders from now on. ``analyser``
        builds the face analyser (tests pass a fake); None: dlib in a child process, once the
        check that it can run here has passed (on a worker)."""
        from studio.identity import IdentityRules
        from studio.render.identity import IdentityScores

        self._library = library
        rules = rules if rules is not None else IdentityRules()
        self.rules = rules
        changes.changed.connect(self._library_changed)

        def prepare() -> Any:
            if analyser is not None:
                return analyser()
            from studio.identity import FaceAnalysisProcess, identity_unavailable_reason

            reason = identity_unavailable_reason()
            if reason is not None:
                raise _Unavailable(reason)
            return FaceAnalysisProcess()

        def ready(made: Any) -> None:
            self._analyser = made
            self._scores = IdentityScores(library, made, rules)
            self._schedule(force=True)

        def failed(exc: BaseException) -> None:
            self._scores = IdentityScores(library, None, rules)  # references badges only
            self._set_unavailable(str(exc))
            self._schedule(force=True)

        self._bg.run(prepare, ready, failed, owner=self, what="Preparing identity scoring")

    def use_threshold(self, threshold: float) -> str:
        """The same-person threshold changed (the settings were saved): every badge, the
        consistency view and the inspector take the new verdicts now, judged again from the
        distances already measured (nothing is analysed again). Returns "" or, for a threshold
        no distance can be judged by, the sentence saying so (the rules stay as they were)."""
        from studio.identity import IdentityRules

        current = self.rules if self.rules is not None else IdentityRules()
        if threshold == current.threshold:
            return ""
        try:
            rules = IdentityRules(threshold=threshold, drift_margin=current.drift_margin)
        except ValueError as exc:  # StudioInputError: a sentence
            return str(exc)
        self.rules = rules
        if self._rejudge(self._facts, self.source):
            self._bump()
        return ""

    def _rejudge(self, facts: dict[int, RenderFact], source: IdentitySource | None) -> bool:
        """Verdicts under the current rules, in place; whether one changed."""
        rules = self.rules
        if rules is None or source is None:
            return False
        changed = False
        for rid, fact in facts.items():
            score = fact.score
            if score is None or score.distance is None:
                continue
            judged = score.judged_by(rules, source)
            if judged != score:
                facts[rid] = replace(fact, score=judged)
                changed = True
        return changed

    def close(self) -> Callable[[], None]:
        """Stop scoring; returns the end of the face analyser's child process, which ends an
        analysis under way and blocks until the child has gone (run it on a worker)."""
        self._closed = True
        self._timer.stop()
        analyser, self._analyser = self._analyser, None
        closer = getattr(analyser, "close", None)
        return closer if callable(closer) else _nothing

    def _set_unavailable(self, reason: str) -> None:
        reason = reason.strip()
        if not reason:
            return
        sentence = reason[0].upper() + reason[1:]
        sentence = sentence if sentence.endswith(".") else sentence + "."
        first = not self.unavailable_reason
        self.unavailable_reason = sentence
        if first:
            log.info("identity scoring unavailable: %s", sentence)
            self.unavailable.emit(sentence)
            self._bump()

    # ------------------------------------------------------------------ scheduling
    def _library_changed(self, change: LibraryChange) -> None:
        if change.renders:
            self._dirty = True  # a verdict can change the identity; a render its facts
            self._schedule()

    def _schedule(self, *_args: object, force: bool = False) -> None:
        if self._closed or self._scores is None:
            return
        if force:
            self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def _wanted(self) -> tuple[list[int], tuple[Any, ...]]:
        ids: list[int] = []
        takes: list[int] = []  # scored after every shown render, so badges come first
        for name in self._model.names():
            cell = self._model.cell(name)
            for stage in Stage:
                slot = cell.slot(stage)
                if slot.render_id is not None and slot.state is JobState.DONE:
                    ids.append(slot.render_id)
                takes += [t.render_id for t in slot.other_takes]
        ids += takes
        refs = self._model.document.sheet.character.references
        return ids, (tuple(ids), reference_identity(refs))

    def _run(self) -> None:
        scores = self._scores
        if self._closed or scores is None:
            return
        if self._running:
            self._dirty = True  # once the piece on its way ends
            return
        ids, key = self._wanted()
        if key == self._scored_key and not self._dirty:
            return
        self._dirty = False
        self._scored_key = key
        self._generation += 1
        shown = set(ids)
        self._facts = {i: f for i, f in self._facts.items() if i in shown}
        files = self._reference_files()
        self._next(self._generation, ids, files)

    def _reference_files(self) -> list[Any]:
        from studio.core.reference_files import reference_file
        from studio.render.identity import ImageFile

        doc = self._model.document
        files = []
        for ref in doc.sheet.character.references:
            if not ref.sha256:
                continue
            path = Path(ref.path)
            if not path.is_absolute() and doc.path is not None:
                path = reference_file(doc.path, ref)
            files.append(ImageFile(ref.sha256, path))
        return files

    def _next(self, generation: int, ids: Sequence[int], files: list[Any]) -> None:
        scores, library = self._scores, self._library
        if not ids or scores is None or library is None:
            self._running = False
            if self._dirty:
                self._schedule()
            return
        piece, rest = list(ids[:CHUNK]), list(ids[CHUNK:])
        self._running = True

        def work() -> _Scored:
            return _score(library, scores, piece, files)

        def done(result: _Scored) -> None:
            if generation != self._generation or self._closed:
                self._running = False
                self._schedule()
                return
            if result.unavailable:
                self._set_unavailable(result.unavailable)
                self._scores = type(scores)(library, None, self.rules)
            # Scored under the rules of when the piece started; the threshold may have changed.
            self._rejudge(result.facts, result.source)
            changed = result.source != self.source
            self.source = result.source
            for rid, fact in result.facts.items():
                if self._facts.get(rid) != fact:
                    self._facts[rid] = fact
                    changed = True
            self._model.set_take_distances({
                rid: fact.score.distance if fact.score is not None else None
                for rid, fact in result.facts.items()})
            if changed:
                self._bump()
            self._next(generation, rest, files)

        def failed(exc: BaseException) -> None:
            self._running = False
            if self._closed:  # the analyser was ended on purpose: its refusals are expected
                log.debug("identity scoring ended on closing: %s", exc)
                return
            log.warning("reading the renders' identity failed: %s", exc)

        self._bg.run(work, done, failed, owner=self, what="Scoring the renders' identity")

    def _bump(self) -> None:
        self.revision += 1
        self.changed.emit()


def _nothing() -> None:
    return None


class _Unavailable(Exception):
    """Identity scoring cannot run here; the message is the sentence."""


def _score(library: Library, scores: IdentityScores, ids: Sequence[int],
           references: Sequence[Any]) -> _Scored:
    """Worker thread: the renders' facts and scores against the character's identity."""
    from studio.identity import IdentityUnavailable
    from studio.library import LibraryError

    out = _Scored()
    try:
        records = library.renders.many(ids)
    except LibraryError as exc:
        log.info("the cards' renders cannot be read: %s", exc)
        return out
    try:
        character = next((r.character_id for r in records if r.character_id is not None), None)
        out.source = scores.source(character, references)
        for record in records:
            out.facts[record.id] = RenderFact(record.id, record.references,
                                              record.reference_strength,
                                              scores.score(record, out.source))
    except IdentityUnavailable as exc:
        out.unavailable = str(exc)
        out.facts = {r.id: RenderFact(r.id, r.references, r.reference_strength)
                     for r in records}
    return out
