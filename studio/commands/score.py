"""`studio score`: how far each of a sheet's renders is from the character's face.

Scores the sheet's latest renders (every kept one with ``--all``) against the character's
identity (its reference images, else its approved renders) or against one photograph
(``--reference``), prints scene, stage, faces, distance and verdict per render and then the
sheet's spread. Face analyses are kept in the library, so each image is analysed once; the
status command and exports report them. Reads the library, never creates one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from studio.core.sheet import Sheet
    from studio.identity import Analyse, IdentityRules, IdentitySource
    from studio.render.identity import RenderScore, Spread
    from studio.runtime import Runtime

SCORE_HELP = """\
Verdicts: "same person" (distance under the threshold, 0.6 unless identity_threshold in the
settings or --threshold says otherwise), "drifting" (the last 0.1 under it), "different person"
(at or over it), "not scorable" (no face, several faces of similar size, a face the detector
does not know, or no identity to compare with). Distances are between dlib face descriptors;
0.6 is dlib's published threshold.

The identity is the mean face of the character's reference images, else of its approved finals,
else its first approved render; --reference IMAGE uses one photograph instead. Each image is
analysed once (about a quarter of a second) and the analysis kept in the library, where
studio status and exports read it.

Exit codes: 0 scored, 2 bad input (an unreadable sheet, a reference photograph without one clear
face) or identity scoring not available on this system.
"""


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _faces(count: int | None) -> str:
    if count is None:
        return "-"
    if count == 0:
        return "no face"
    return "1 face" if count == 1 else f"{count} faces"


def _result_line(result: RenderScore) -> str:
    from studio.core.text import for_terminal

    render, score = result.render, result.score
    assert score is not None  # the command analyses every render it scores
    distance = "-" if score.distance is None else f"{score.distance:.3f}"
    verdict = score.explanation if score.distance is None else score.verdict.value
    return for_terminal(f"  {render.scene_name:<24} {render.stage.value:<7} #{render.id:<6} "
                        f"{_faces(score.faces):<8} {distance:>6}  {verdict}")


def _header(sheet_path: Path, source: IdentitySource, threshold: float, margin: float) -> str:
    from studio.core.text import for_terminal
    from studio.identity import SourceKind

    if source.kind is SourceKind.NONE:
        against = ("no identity yet (approve a render or add reference images with the face, "
                   "or score against a photograph with --reference IMAGE)")
    else:
        against = f"identity from {source.describe()}"
    return for_terminal(f"{sheet_path}: {against}; same person under {threshold:.2f}, "
                        f"drifting from {threshold - margin:.2f}.")


def _spread_line(spread: Spread, total: int) -> str:
    unscored = total - spread.scored
    if spread.largest is None or spread.mean is None:
        return f"{total} render(s), none scored."
    tail = f"; {unscored} not scorable" if unscored else ""
    return (f"Spread: largest distance {spread.largest:.3f}, mean {spread.mean:.3f} over "
            f"{spread.scored} scored render(s){tail}.")


def _reference_source(path: Path, analyse: Analyse) -> IdentitySource:
    """The photograph given with --reference as the identity; a sentence (exit 2) when it
    cannot be read or shows no single clear face."""
    from studio.cli import CommandError
    from studio.identity import NotScorable, identity_from_file, read_image

    analysis = analyse(read_image(path))
    if analysis.problem is NotScorable.UNREADABLE:
        raise CommandError(f"The reference {path} cannot be read as an image; give a PNG, "
                           "JPEG or WebP photograph of the face.")
    if analysis.problem is NotScorable.NO_FACE:
        raise CommandError(f"No face was found in the reference {path}; give a photograph in "
                           "which the face is clearly visible, seen from the front.")
    if analysis.problem is NotScorable.SEVERAL_FACES:
        raise CommandError(f"The reference {path} shows {analysis.faces} faces of similar size; "
                           "give a photograph of the character's face alone (crop it).")
    return identity_from_file(analysis)


def _score_sheet(runtime: Runtime, sheet: Sheet, sheet_path: Path, analyse: Analyse,
                 rules: IdentityRules, given: IdentitySource | None, *,
                 every: bool) -> tuple[IdentitySource, list[RenderScore]]:
    """The identity (``given``, else the character's own) and the sheet's renders scored
    against it; no renders when there is no library (none is created)."""
    from studio.cli import CommandError
    from studio.core.text import for_terminal
    from studio.identity import NO_IDENTITY
    from studio.library import LibraryError, LibraryReadOnlyError
    from studio.render.identity import IdentityScores, sheet_reference_images, sheet_renders
    from studio.runtime import EXIT_BAD_INPUT

    if not runtime.library_exists():
        return given or NO_IDENTITY, []
    try:
        try:
            # Opened to write, to keep the analyses.
            library = runtime.open_library(purpose="write", if_busy="read-only")
        except LibraryReadOnlyError as exc:
            # Another window or command writes, or the folder cannot be written: scoring
            # only reads, so it goes on, and the analyses made now are not kept.
            print(for_terminal(f"studio: {exc} Face analyses made now are not kept."),
                  file=sys.stderr)
            library = runtime.open_library(purpose="read")
    except LibraryError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from None
    try:
        scores = IdentityScores(library, analyse, rules)
        character_id, renders = sheet_renders(library, sheet, sheet_path, every=every)
        if given is None:
            # The character's reference set as the sheet names it, read through the library.
            references = sheet_reference_images(library, sheet, sheet_path)
            given = scores.source(character_id, references)
        source = given or NO_IDENTITY
        return source, scores.score_all(renders, source)
    except LibraryError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from None
    finally:
        library.close()


def cmd_score(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    from studio.cli import CommandError
    from studio.core.errors import StudioInputError
    from studio.core.sheet import load_sheet
    from studio.identity import (
        DlibFaceAnalyser,
        IdentityRules,
        IdentityUnavailable,
        identity_unavailable_reason,
    )
    from studio.render.identity import Spread
    from studio.runtime import EXIT_BAD_INPUT, EXIT_OK, Runtime, RuntimeConfigError

    runtime = Runtime(environ)
    try:
        catalog = runtime.catalog
        rules = runtime.identity_rules() if args.threshold is None else None
    except RuntimeConfigError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from None
    if rules is None:
        try:
            rules = IdentityRules(threshold=args.threshold)
        except StudioInputError as exc:
            raise CommandError(f"--threshold: {exc}.", EXIT_BAD_INPUT) from None
    sheet_path = Path(args.sheet)
    sheet = load_sheet(sheet_path, catalog)
    reason = identity_unavailable_reason()
    if reason is not None:
        raise CommandError(reason, EXIT_BAD_INPUT)
    analyser = DlibFaceAnalyser()
    try:
        given = (None if args.reference is None
                 else _reference_source(Path(args.reference), analyser))
        source, results = _score_sheet(runtime, sheet, sheet_path, analyser, rules, given,
                                       every=args.all)
    except IdentityUnavailable as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from None
    spread = Spread.of(r.score for r in results)
    if args.json:
        data = {"sheet": str(sheet_path), "identity_source": source.kind.value,
                "identity_faces": source.faces, "threshold": rules.threshold,
                "drift_margin": rules.drift_margin,
                "results": [r.to_json() for r in results], "spread": spread.to_json()}
        print(json.dumps(data, ensure_ascii=False), file=out)
        return EXIT_OK
    print(_header(sheet_path, source, rules.threshold, rules.drift_margin), file=out)
    if not results:
        from studio.core.text import for_terminal

        print(for_terminal(f"Nothing to score: {sheet_path} has no renders in the library yet; "
                           f"render it first, e.g. studio render {sheet_path} --stage preview."),
              file=out)
        return EXIT_OK
    for result in results:
        print(_result_line(result), file=out)
    print(_spread_line(spread, len(results)), file=out)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "score", help="identity distance and verdict of each render of a sheet",
        description="Score SHEET's latest renders (every kept render with --all) against the "
        "character's face: faces found, distance and verdict per render, then the spread.",
        epilog=SCORE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sheet", metavar="SHEET", help="a *.sheet.toml file")
    p.add_argument("--all", action="store_true",
                   help="every kept render of the sheet, not only each scene's latest")
    p.add_argument("--reference", metavar="IMAGE",
                   help="score against this photograph of the face instead of the character's "
                   "reference images and approved renders")
    p.add_argument("--threshold", type=_threshold, metavar="DISTANCE",
                   help="the same-person threshold for this run (default: identity_threshold "
                   "in the settings, else 0.6)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd_score)
