"""What `studio render` and `studio resume` print: progress lines on stderr, the summary (or
``--json``, DESIGN.md) on stdout, the images copied to ``--out``, and the exit code.

Imported by the handlers only (``studio render --help`` stays cheap).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from studio.runtime import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from studio.render.events import RenderEvent
    from studio.render.queue import JobView


class _Stderr:
    """Progress lines on stderr (looked up at call time, so tests capturing it see them).

    Scene names and provider messages are user or server text: escaped before printing. A
    reader that went away (``2>&1 | head``) ends the progress lines, not the renders.
    """

    def __call__(self, text: str) -> None:
        from studio.core.text import for_terminal

        with contextlib.suppress(BrokenPipeError):
            print(f"studio: {for_terminal(text)}", file=sys.stderr, flush=True)

    def lines(self, texts: Iterable[str], chunk: int = 1000) -> None:
        """Each of ``texts`` as :meth:`__call__` prints it, ``chunk`` lines to a write (a
        batch's notes: one per scene of a big sheet)."""
        from studio.core.text import for_terminal

        batch = iter(texts)
        with contextlib.suppress(BrokenPipeError):
            while part := [f"studio: {for_terminal(text)}\n"
                           for text in itertools.islice(batch, chunk)]:
                print("".join(part), end="", file=sys.stderr, flush=True)


say = _Stderr()


# --------------------------------------------------------------------------- progress


def progress_printer(show_seed: bool = False) -> Any:
    """Prints each job's steps; with ``show_seed`` (takes) each line names the job's seed, so
    the takes of one scene can be told apart."""
    from studio.render.events import (
        BatchPlanned,
        JobCancelled,
        JobDone,
        JobDownloading,
        JobFailed,
        JobProcessing,
        JobSubmitted,
        JobUncertain,
        Progress,
        RateLimitWait,
    )

    state: dict[str, Any] = {"progress": None, "processing": set(), "finished": 0}

    def counts() -> str:
        # Progress follows the job event it counts, so count finished jobs here.
        state["finished"] += 1
        progress = state["progress"]
        return "" if progress is None else f" [{state['finished']}/{progress.total}]"

    def on_event(event: RenderEvent) -> None:
        if isinstance(event, Progress):
            state["progress"] = event
            return
        if isinstance(event, BatchPlanned):
            return
        if isinstance(event, RateLimitWait):
            say(event.message)
            return
        who = f"{event.job.scene} · {event.job.stage.value}"
        if show_seed:
            who += f" · seed {event.job.seed}"
        if isinstance(event, JobSubmitted):
            verb = "following again" if event.resumed else "sent"
            say(f"{who} · {verb} ({event.job.provider} job {event.request_id})")
        elif isinstance(event, JobProcessing):
            if event.job.job_id in state["processing"]:
                return
            state["processing"].add(event.job.job_id)
            eta = f", about {max(1, round(event.eta))} s" if event.eta else ""
            where = f", position {event.position + 1} in line" if event.position is not None \
                else ""
            say(f"{who} · processing{eta}{where}")
        elif isinstance(event, JobDownloading):
            say(f"{who} · downloading")
        elif isinstance(event, JobDone):
            for note in event.notes:
                say(f"{who} · note: {note}")
            say(f"{who} · done in {event.seconds:.1f} s{counts()}")
        elif isinstance(event, JobFailed):
            say(f"{who} · failed{counts()}: {event.message}")
        elif isinstance(event, JobCancelled):
            say(f"{who} · cancelled{counts()}: {event.message}")
        elif isinstance(event, JobUncertain):
            say(f"{who} · may have been billed{counts()}: {event.message}")

    return on_event


# --------------------------------------------------------------------------- output


def _slug(name: str) -> str:
    slug = re.sub(r"[^\w]+", "-", name.strip().lower()).strip("-_")
    return slug or "scene"


def copy_to_out(views: Sequence[JobView], out_dir: Path) -> dict[int, Path]:
    """Copy each finished image to ``out_dir`` as ``<scene>.<stage><ext>``; job id → file."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from studio.cli import CommandError

        raise CommandError(f"{out_dir}: cannot create the folder ({exc.strerror}).",
                           EXIT_FAILED) from None
    used: set[str] = set()
    copied: dict[int, Path] = {}
    for view in views:
        render = view.render
        if render is None or render.image_path is None:
            continue
        base = f"{_slug(view.ref.scene)}.{view.ref.stage.value}"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        target = out_dir / f"{name}{render.image_path.suffix}"
        try:
            shutil.copyfile(render.image_path, target)
        except OSError as exc:
            say(f"could not copy {view.ref.scene} to {target} ({exc.strerror}); it is kept in "
                "the library")
            continue
        copied[view.ref.job_id] = target
    return copied


def _status_word(view: JobView) -> str:
    """The result's status as ``render --json`` reports it (DESIGN.md)."""
    return view.state.result_word


def result_rows(views: Sequence[JobView], copied: Mapping[int, Path]) -> list[dict[str, Any]]:
    results = []
    for view in views:
        render = view.render
        image = copied.get(view.ref.job_id) or (render.image_path if render else None)
        ok = _status_word(view) == "ok"
        results.append({
            "scene": view.ref.scene,
            "stage": view.ref.stage.value,
            "status": _status_word(view),
            "seed": render.seed_requested if render is not None else view.ref.seed,
            # Only a seed the provider confirmed; never a copy of the one sent.
            "seed_returned": render.seed_returned if render is not None and ok else None,
            "provider": view.ref.provider,
            "model": view.ref.model,
            "image": str(image) if image is not None and ok else None,
            "seconds": None if view.seconds is None else round(view.seconds, 3),
            "error": None if ok else (view.error or None),
            "job": view.ref.job_id,
            "render": None if render is None else render.id,
            "parent": view.ref.parent_render_id,
        })
    return results


def print_summary(stage: str | None, wall: float, results: list[dict[str, Any]],
                   as_json: bool, out: TextIO, extra: Mapping[str, Any] | None = None) -> None:
    if as_json:
        data: dict[str, Any] = {"stage": stage, "wall_seconds": round(wall, 3),
                                "results": results}
        data.update(extra or {})
        print(json.dumps(data, ensure_ascii=False), file=out)
        return
    from studio.core.text import for_terminal

    for r in results:
        where = r["image"] or r["error"] or ""
        secs = f"{r['seconds']:.1f} s" if r["seconds"] is not None else "-"
        print(for_terminal(f"{r['status']:<9} {r['scene']} ({r['stage']}, {r['provider']}/"
                           f"{r['model']}, {seed_words(r)}, {secs}): {where}"), file=out)
    ok = sum(1 for r in results if r["status"] == "ok")
    print(f"{ok} of {len(results)} rendered in {wall:.1f} s", file=out)


def seed_words(result: Mapping[str, Any]) -> str:
    """``seed 77``, ``seed 77 (returned 1234)`` or ``seed 77, not confirmed`` for a rendered
    image whose provider did not say which seed it used."""
    words = f"seed {result['seed']}"
    if result["status"] != "ok":
        return words
    returned = result["seed_returned"]
    if returned is None:
        return f"{words}, not confirmed"
    return words if returned == result["seed"] else f"{words} (returned {returned})"


def exit_code(views: Sequence[JobView]) -> int:
    return EXIT_OK if all(_status_word(v) == "ok" for v in views) else EXIT_FAILED


def left_for_resume(views: Sequence[JobView]) -> None:
    left = sum(1 for v in views if not v.state.finished)
    if left:
        say(f"{left} job(s) left unfinished; run `studio resume` to finish them without "
            "sending them again.")


