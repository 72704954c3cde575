"""The ``studio library list|search|check|choose`` commands, as functions the CLI adapts.

Each ``library_*`` function takes an open ``Library`` and its arguments and returns a
``CommandOutput``: the text for a terminal, the JSON-able data for ``--json``, and the exit code.
The ``*_command`` functions do the same from a data dir, opening (for viewing only if another
instance is writing) and closing the library. Printing is the CLI's job::

    out = list_command(default_data_dir(environ), project=args.project)
    print(out.render(as_json=args.json), file=stdout)
    return out.exit_code
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LibraryBusyError, LibraryError, RecordNotFoundError
from .library import Library
from .models import RenderFilter, RenderRecord
from .paths import DATABASE_NAME
from .renders import render_data

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True, slots=True)
class CommandOutput:
    text: str
    data: dict[str, Any]
    exit_code: int = EXIT_OK

    def render(self, as_json: bool) -> str:
        """What to print on stdout: one JSON object with ``--json``, else the text."""
        return json.dumps(self.data, indent=None, sort_keys=True) if as_json else self.text


def open_library(data_dir: Path) -> Library | CommandOutput:
    """Open the library for a command (viewing only if another instance is writing), or the
    output explaining why it cannot be opened (exit 1)."""
    try:
        return Library.open(data_dir, if_busy="read-only")
    except LibraryError as exc:  # a newer library, a damaged file, an unusable folder
        return CommandOutput(str(exc), {"error": str(exc)}, EXIT_PROBLEMS)


def library_exists(data_dir: Path) -> bool:
    return (data_dir / DATABASE_NAME).is_file()


def open_for_reading(data_dir: Path) -> Library | CommandOutput:
    """The library opened for viewing only (it is never created nor changed), or the output
    explaining why it cannot be opened (exit 1). The caller checks ``library_exists``."""
    try:
        return Library.open(data_dir, read_only=True)
    except LibraryError as exc:
        return CommandOutput(str(exc), {"error": str(exc)}, EXIT_PROBLEMS)


def _no_library(data_dir: Path, data: dict[str, Any]) -> CommandOutput:
    return CommandOutput(f"There is no library in {data_dir} yet: nothing has been rendered or "
                         "imported there.", data)


def _line(render: RenderRecord) -> str:
    star = "*" if render.star else " "
    prompt = " ".join(render.prompt.split())
    if len(prompt) > 60:
        prompt = prompt[:57] + "..."
    scene = render.scene_name or "-"
    return (
        f"  {star}#{render.id:<6} {render.created:%Y-%m-%d %H:%M} {render.stage.value:<7} "
        f"{render.status_word:<7} {render.provider}/{render.model} seed={render.seed} "
        f"[{scene}] {prompt}"
    )


def library_list(library: Library, *, project: str | None = None, limit: int = 20) -> CommandOutput:
    """Projects and their latest renders (``limit`` per project)."""
    projects = library.projects.all()
    if project is not None:
        projects = [p for p in projects if p.name == project]
        if not projects:
            message = f"There is no project called {project!r} in the library."
            return CommandOutput(message, {"error": message}, EXIT_BAD_INPUT)
    lines = [f"Library: {library.data_dir}"]
    if library.notice:
        lines.append(library.notice)
    data_projects: list[dict[str, Any]] = []
    for record in projects:
        page = library.renders.page(RenderFilter(project_id=record.id), limit=limit)
        lines.append(f"{record.name} ({record.render_count} renders)")
        lines.extend(_line(r) for r in page.items)
        data_projects.append(
            {
                "id": record.id,
                "name": record.name,
                "render_count": record.render_count,
                "renders": [render_data(r) for r in page.items],
            }
        )
    if not projects:
        lines.append("No projects yet.")
    return CommandOutput("\n".join(lines), {"projects": data_projects})


def library_search(
    library: Library, text: str, *, project: str | None = None, limit: int = 50
) -> CommandOutput:
    """Renders whose prompt, scene, character, notes or tags match ``text``, newest first."""
    where = RenderFilter()
    if project is not None:
        record = library.projects.by_name(project)
        if record is None:
            message = f"There is no project called {project!r} in the library."
            return CommandOutput(message, {"error": message}, EXIT_BAD_INPUT)
        where = RenderFilter(project_id=record.id)
    page = library.renders.search(text, where, limit=limit)
    lines = [_line(r) for r in page.items] or [f"Nothing in the library matches {text!r}."]
    return CommandOutput(
        "\n".join(lines),
        {"query": text, "results": [render_data(r) for r in page.items]},
    )


def library_check(library: Library, *, repair: bool = True) -> CommandOutput:
    """Integrity, missing and orphan files, hash mismatches; repairs what is safe.

    Exit 0 when the library is sound (after repair), 1 when problems remain.
    """
    report = library.maintenance.check(repair=repair)
    lines = [f"Library: {library.data_dir}"]
    if library.notice and repair:
        lines.append(f"{library.notice} Nothing was repaired.")
    lines.append(
        "Database: ok" if report.integrity_ok else "Database: " + "; ".join(report.integrity)
    )
    if report.missing_files:
        lines.append(
            f"{len(report.missing_files)} image file(s) are missing; their renders are kept with "
            "their settings and marked 'missing'."
        )
    if report.hash_mismatches:
        lines.append(
            f"{len(report.hash_mismatches)} image file(s) are damaged (contents changed); their "
            "renders are marked 'damaged'."
        )
    if report.orphan_files:
        if report.repaired:
            lines.append(
                f"{len(report.orphan_files)} image file(s) no record uses: {report.orphans_moved} "
                f"from interrupted saves set aside in {library.data_dir / 'orphans'} (import them "
                "to keep them), the rest deleted."
            )
        else:
            lines.append(f"{len(report.orphan_files)} image file(s) no record uses.")
    if report.temp_files_removed:
        lines.append(f"{report.temp_files_removed} leftover temporary file(s) removed.")
    if report.renders_restored:
        lines.append(f"{report.renders_restored} render(s) have their image back.")
    sound = report.integrity_ok and not report.missing_files and not report.hash_mismatches
    if sound and (report.repaired or not report.orphan_files):
        lines.append("The library is sound.")
    data = {
        "integrity": list(report.integrity),
        "missing_files": list(report.missing_files),
        "hash_mismatches": list(report.hash_mismatches),
        "orphan_files": list(report.orphan_files),
        "temp_files_removed": report.temp_files_removed,
        "orphans_moved": report.orphans_moved,
        "renders_marked": report.renders_marked,
        "renders_restored": report.renders_restored,
        "repaired": report.repaired,
        "ok": sound,
    }
    return CommandOutput("\n".join(lines), data, EXIT_OK if sound else EXIT_PROBLEMS)


def _with_library(opened: Library | CommandOutput,
                  action: Callable[[Library], CommandOutput]) -> CommandOutput:
    if isinstance(opened, CommandOutput):
        return opened
    try:
        return action(opened)
    except LibraryError as exc:
        return CommandOutput(str(exc), {"error": str(exc)}, EXIT_PROBLEMS)
    finally:
        opened.close()


def list_command(data_dir: Path, *, project: str | None = None, limit: int = 20) -> CommandOutput:
    """``studio library list``: open the library in ``data_dir`` for viewing, list, close. It
    never creates a library."""
    if not library_exists(data_dir):
        return _no_library(data_dir, {"projects": []})
    return _with_library(open_for_reading(data_dir),
                         lambda lib: library_list(lib, project=project, limit=limit))


def search_command(
    data_dir: Path, text: str, *, project: str | None = None, limit: int = 50
) -> CommandOutput:
    """``studio library search TEXT``, for viewing only."""
    if not library_exists(data_dir):
        return _no_library(data_dir, {"query": text, "results": []})
    return _with_library(
        open_for_reading(data_dir),
        lambda lib: library_search(lib, text, project=project, limit=limit))


def check_command(data_dir: Path, *, repair: bool = True) -> CommandOutput:
    """``studio library check``: with ``repair`` the library is opened to be written (and
    refused with exit 2 if it cannot be); without, for viewing only. Neither creates one."""
    if not library_exists(data_dir):
        return _no_library(data_dir, {"integrity": [], "missing_files": [],
                                      "hash_mismatches": [], "orphan_files": [],
                                      "repaired": False, "ok": True})
    if not repair:
        return _with_library(open_for_reading(data_dir),
                             lambda lib: library_check(lib, repair=False))
    try:
        library = Library.open(data_dir, if_busy="fail")
    except LibraryBusyError:
        # Another window or command is writing: check for viewing; the report says that
        # nothing was repaired.
        return _with_library(open_library(data_dir), lambda lib: library_check(lib))
    except LibraryError as exc:
        return CommandOutput(str(exc), {"error": str(exc)}, EXIT_PROBLEMS)
    if library.read_only:  # a read-only folder or file: it cannot be repaired at all
        message = (f"{library.notice} Nothing was checked or repaired; add --no-repair to "
                   "check it without repairing anything.")
        library.close()
        return CommandOutput(message, {"error": message}, EXIT_BAD_INPUT)
    return _with_library(library, lambda lib: library_check(lib, repair=True))


def library_choose(library: Library, render_id: int) -> CommandOutput:
    """Pick ``render_id`` as the take its cell shows (and, for a preview, the one its scene's
    finals are made from). A render that cannot be picked is a sentence (exit 2)."""
    try:
        library.renders.choose_take(render_id)
        render = library.renders.get(render_id)
    except RecordNotFoundError as exc:
        message = (f"{exc} Nothing was picked; `studio status SHEET` names the render each "
                   "cell shows and `studio library list` the latest ones.")
        return CommandOutput(message, {"error": message}, EXIT_BAD_INPUT)
    except LibraryError as exc:
        return CommandOutput(str(exc), {"error": str(exc)}, EXIT_BAD_INPUT)
    stage = render.stage.value
    scene = render.scene_name or "its scene"
    text = f"Render {render.id} (seed {render.seed}) is now the {stage} take of “{scene}”"
    text += "; its finals are made from it." if stage == "preview" else "."
    return CommandOutput(text, {"render": render.id, "scene": render.scene_name,
                                "stage": stage, "seed": render.seed})


def choose_command(data_dir: Path, render_id: int) -> CommandOutput:
    """``studio library choose RENDER_ID``: a writing command. It never creates a library, and
    on one it cannot write (a read-only folder, another studio writing for longer than the
    wait) it says so and changes nothing (exit 2)."""
    if not library_exists(data_dir):
        message = (f"There is no library in {data_dir} yet, so there is no render "
                   f"{render_id} to pick; render a sheet first.")
        return CommandOutput(message, {"error": message}, EXIT_BAD_INPUT)
    try:
        library = Library.open(data_dir, if_busy="wait")
    except LibraryError as exc:
        return CommandOutput(f"{exc} Nothing was picked.", {"error": str(exc)}, EXIT_BAD_INPUT)
    if library.read_only:
        message = f"{library.notice} Nothing was picked."
        library.close()
        return CommandOutput(message, {"error": message}, EXIT_BAD_INPUT)
    try:
        return library_choose(library, render_id)
    finally:
        library.close()
