"""`studio render` and `studio resume`: the render queue driven from a terminal.

Progress goes to stderr, one line per step of each job; the summary (or, with ``--json``, one
JSON object, DESIGN.md) to stdout. Exit codes: 0 every image rendered, 1 some failed, were
cancelled or are uncertain (the rest are kept), 2 bad input (nothing sent).

A job is *uncertain* when its request reached the provider and no answer with its id came back
(a crash mid-send, a held call cut off): the provider may have billed it. It is never sent
again on its own; ``studio resume`` lists such jobs and ``studio resume --resend-uncertain``
sends them again.

Importing this module stays cheap: the render layer, the providers and the library are imported
inside the handlers.
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from studio.library import Library
    from studio.providers.registry import Providers
    from studio.render.budget import BatchEstimate
    from studio.render.queue import RenderQueue
    from studio.render.staged import StagedPreviews
    from studio.runtime import Runtime

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

RENDER_HELP = """\
Which provider renders: --provider when given (exit 2, nothing sent, if it has no API key);
else the sheet's provider for the stage when its key is configured; else the offline
placeholder, with a note on stderr (offline is the default where no key is configured).

Finals reuse each scene's preview (the take picked with `studio library choose`, else the latest
approved one, else the latest): the same anchor version, prompt and seed, with the final stage's
model, steps, guidance and negative prompt, linked to that preview. A scene with no preview is
finalized from the sheet.

--takes N renders N takes of each scene, with the seeds that follow the scene's: seed, seed+1,
... (within the model's seed range, passing over seeds it would replace by a random one; for
finals, from the preview's seed). Each take is kept with the seed it was sent with; a take is out
of date only when the scene's own seed (or anything else it was made from) changes. The cell
shows the latest take until one is picked with `studio library choose RENDER_ID`.

Before sending, the number of requests and (where a price per image is set) the cost are printed;
a budget cap (--budget-cap, or budget_cap in settings) refuses a batch that would pass it.

Exit codes: 0 all rendered, 1 some failed, were cancelled or may have been billed without an
image ("uncertain"; the rest are kept), 2 bad input or a missing key (nothing sent). Interrupted
renders are finished by `studio resume`, which never sends a job twice.

A seed the provider did not confirm is shown as "not confirmed" (seed_returned null in --json).
"""


def _command_error(message: str, code: int = EXIT_BAD_INPUT) -> Exception:
    from studio.cli import CommandError

    return CommandError(message, code)


# --------------------------------------------------------------------------- composition


def _runtime(environ: Mapping[str, str]) -> tuple[Runtime, Providers]:
    """The composition root and its providers; a bad setting is a sentence (exit 2)."""
    from studio.runtime import Runtime, RuntimeConfigError

    runtime = Runtime(environ)
    try:
        return runtime, runtime.providers()
    except RuntimeConfigError as exc:
        raise _command_error(str(exc)) from None


def _open_library(runtime: Runtime) -> Library:
    from studio.library import LibraryError

    try:
        return runtime.open_library()
    except LibraryError as exc:
        raise _command_error(f"{exc} Nothing was sent.") from None


async def _drive(queue: RenderQueue, start: Any, providers: Providers) -> None:
    """Run ``start`` (add or resume) then wait; on interruption leave jobs for resume."""
    try:
        await start()
        await queue.wait()
    finally:
        await queue.aclose()
        await providers.aclose()  # only those this command built


def _run_batch(queue: RenderQueue, start: Any, providers: Providers) -> None:
    """Drive the queue to the end; on Ctrl-C say how many jobs `studio resume` will finish."""
    import asyncio

    from studio.commands.render_report import left_for_resume
    from studio.providers.loops import asyncio_thread

    try:
        with asyncio_thread():
            asyncio.run(_drive(queue, start, providers))
    except KeyboardInterrupt:
        left_for_resume(queue.jobs())
        raise


class CollectorPause:
    """The cyclic garbage collector held back while a sheet is read and planned.

    Reading and planning a sheet makes a few objects per scene that all live as long as the
    batch, and no cycles to collect; yet the collector walks them again and again as they are
    made (a quarter of a 20,000-scene sheet's time to its first request). It is paused while
    they are made; once the batch starts (:meth:`resume`) they are set aside from its walks
    (``gc.freeze``) for the batch, and given back to it when the command ends (:meth:`close`).
    A collector someone else paused or froze is left as it is.
    """

    def __init__(self) -> None:
        self._paused = gc.isenabled() and not gc.get_freeze_count()
        self._frozen = False
        if self._paused:
            gc.disable()

    def resume(self) -> None:
        """Collect again; what was made while paused stays out of the walks until
        :meth:`close`."""
        if self._paused:
            gc.freeze()
            self._frozen = True
            self._paused = False
            gc.enable()

    def close(self) -> None:
        """Collect again, everything in the collector's sight as before the pause."""
        if self._paused:
            self._paused = False
            gc.enable()
        if self._frozen:
            self._frozen = False
            gc.unfreeze()


# --------------------------------------------------------------------------- render


def cmd_render(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    collector = CollectorPause()
    try:
        return _render(args, environ, out, collector)
    finally:
        collector.close()


def _render(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO,
            collector: CollectorPause) -> int:
    """:func:`cmd_render`, the sheet read and planned while ``collector`` is paused (resumed
    as the batch starts)."""

    from studio.commands.render_report import (
        copy_to_out,
        exit_code,
        print_summary,
        progress_printer,
        result_rows,
        say,
    )
    from studio.core.request import Stage
    from studio.core.sheet import load_sheet
    from studio.library.binding import bind_sheet
    from studio.render.budget import settings_prices
    from studio.render.plan import (
        RenderInputError,
        RenderPlan,
        all_notes,
        check_takes,
        choose_provider,
        out_of_date_cells,
        plan_finals,
    )
    from studio.render.queue import RenderQueue
    from studio.render.staged import StagedPreviews

    started = time.monotonic()
    stage = Stage(args.stage)
    if args.approved and stage is not Stage.FINAL:
        raise RenderInputError("--approved only applies to --stage final.")
    check_takes(args.takes)
    runtime, providers = _runtime(environ)
    catalog = runtime.catalog
    settings = runtime.settings
    sheet_path = Path(args.sheet)
    sheet = load_sheet(sheet_path, catalog)
    if not sheet.scenes:
        raise RenderInputError(f"{sheet_path}: the sheet has no scenes to render; add a "
                               "[[scenes]] table.")
    profile = sheet.profile(stage)
    choice = choose_provider(providers, stage, profile.provider, profile.model,
                             provider_id=args.provider, model=args.model,
                             default_provider_id=settings.stage_provider(stage))
    # The provider's client (its TLS trust store) is built while the library is read.
    warming = threading.Thread(target=choice.provider.warm_up, name="warm-up", daemon=True)
    warming.start()
    library = _open_library(runtime)
    try:
        if stage is Stage.PREVIEW:
            # Planned whole (every request composed and accepted by the provider) before
            # anything is sent; the library records the scenes chunk by chunk while the first
            # ones are sent.
            staged = StagedPreviews(library, sheet, sheet_path, catalog, choice, args.scene,
                                    takes=args.takes)
            plan: RenderPlan | StagedPreviews = staged
        else:
            binding = bind_sheet(library, sheet, sheet_path, catalog)
            plan = plan_finals(library, binding, sheet, catalog, choice, args.scene,
                               approved_only=args.approved, takes=args.takes)
        say.lines(all_notes(plan))
        cap = args.budget_cap if args.budget_cap is not None else settings.budget_cap
        queue = RenderQueue(library, providers, price=settings_prices(settings, providers),
                            budget_cap=cap)
        batch = queue.estimate(plan.jobs)
        scenes = f"{len(plan.jobs) // args.takes} scene(s)"
        if args.takes > 1:
            scenes += f", {args.takes} takes each"
        say(f"{stage.value}s of {scenes} on "
            f"{_provider_label(choice.provider.id)} ({choice.model}): {batch.sentence()}")
        queue.subscribe(progress_printer(show_seed=args.takes > 1))
        collector.resume()
        # Not joined before: the jobs are journaled while it works, and the first request
        # waits for the client it builds.
        if isinstance(plan, StagedPreviews):
            _run_batch(queue, lambda: _add_staged(queue, staged, batch), providers)
            binding = staged.binding
        else:
            jobs = plan.jobs
            _run_batch(queue, lambda: queue.add(jobs, batch=batch), providers)
        warming.join()
        views = queue.jobs()
        copied = copy_to_out(views, Path(args.out)) if args.out else {}
        # What is still out of date once this batch is in (e.g. finals older than the anchor).
        stale = out_of_date_cells(library, binding)
        for cell in stale:
            say(cell.sentence())
        extra = {"out_of_date": [
            {"scene": c.scene, "stage": c.stage.value, "reasons": list(c.reasons)}
            for c in stale]}
        print_summary(stage.value, time.monotonic() - started, result_rows(views, copied),
                       args.json, out, extra)
        return exit_code(views)
    finally:
        library.close()


async def _add_staged(queue: RenderQueue, staged: StagedPreviews,
                      batch: BatchEstimate) -> None:
    """Send the staged previews (``batch``: their estimate, as printed), then record the rest
    of the sheet (while they run)."""
    import asyncio

    await queue.add_planned(staged.jobs, staged.record, batch=batch)
    await asyncio.to_thread(staged.finish)


def _provider_label(provider_id: str) -> str:
    from studio.providers.errors import provider_name

    return provider_name(provider_id)


# --------------------------------------------------------------------------- resume


def cmd_resume(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:

    from studio.commands.render_report import (
        exit_code,
        print_summary,
        progress_printer,
        result_rows,
        say,
    )
    from studio.core.lifecycle import JobState
    from studio.render.budget import settings_prices
    from studio.render.queue import RenderQueue

    started = time.monotonic()
    runtime, providers = _runtime(environ)
    if not runtime.library_exists():
        # Nothing was ever rendered here, so nothing is unfinished: no library is created.
        say(f"nothing to resume: there is no library in {runtime.data_dir} yet.")
        print_summary(None, time.monotonic() - started, [], args.json, out)
        return EXIT_OK
    library = _open_library(runtime)
    try:
        queue = RenderQueue(library, providers,
                            price=settings_prices(runtime.settings, providers))
        queue.subscribe(progress_printer())

        resend = bool(args.resend_uncertain)
        _run_batch(queue, lambda: queue.resume(resend_uncertain=resend), providers)
        views = queue.jobs()
        if not views:
            say("nothing to resume: every job in the library has finished.")
        uncertain = [v for v in views if v.state is JobState.UNCERTAIN]
        for view in uncertain:
            say(f"{view.ref.scene} · {view.ref.stage.value} · may have been billed: "
                f"{view.error}")
        if uncertain:
            say(f"{len(uncertain)} job(s) may have been billed without an image and were not "
                "sent again; once you have checked the provider's account, run `studio resume "
                "--resend-uncertain` to send them again.")
        stages = {v.ref.stage.value for v in views}
        stage = stages.pop() if len(stages) == 1 else ("mixed" if stages else None)
        print_summary(stage, time.monotonic() - started, result_rows(views, {}), args.json, out)
        return exit_code(views)
    finally:
        library.close()


# --------------------------------------------------------------------------- registration


def _budget(value: str) -> float:
    try:
        amount = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an amount: {value!r}") from None
    if amount < 0:
        raise argparse.ArgumentTypeError("the budget cap cannot be negative")
    return amount


def _takes(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of takes: {value!r}") from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "render", help="render a sheet's previews or finals into the library",
        description="Render the scenes of SHEET at one stage, store every image and its "
        "settings in the library, and copy the images to --out.",
        epilog=RENDER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sheet", metavar="SHEET", help="a *.sheet.toml file")
    p.add_argument("--stage", required=True, choices=("preview", "final"),
                   help="preview (fast drafts) or final (from each scene's preview)")
    p.add_argument("--scene", action="append", metavar="NAME",
                   help="only this scene (repeat for more); default: every scene")
    p.add_argument("--approved", action="store_true",
                   help="with --stage final: only scenes whose preview is approved")
    p.add_argument("--provider", metavar="ID",
                   help="render with this provider instead of the sheet's (modelslab, "
                   "replicate, fal, imageapi, onemin, offline)")
    p.add_argument("--model", metavar="ID", help="render with this model instead of the "
                   "stage's")
    p.add_argument("--takes", type=_takes, default=1, metavar="N",
                   help="render N takes of each scene, with seeds seed, seed+1, ... (default 1)")
    p.add_argument("--out", metavar="DIR", help="also copy the images here, named "
                   "<scene>.<stage>.png")
    p.add_argument("--budget-cap", type=_budget, metavar="AMOUNT",
                   help="refuse the batch if its estimated cost passes AMOUNT (default: the "
                   "budget cap in settings)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    _verbose(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "resume", help="finish jobs left unfinished (a crash, a closed window) without sending "
        "them twice",
        description="Finish every job the library holds unfinished: a job the provider had "
        "accepted is polled and downloaded, never sent again; a job never sent is sent once. A "
        "job whose request may have reached the provider without its answer being recorded is "
        "uncertain (it may have been billed): listed, exit 1, never sent again unless you ask "
        "with --resend-uncertain.")
    p.add_argument("--resend-uncertain", action="store_true",
                   help="send the uncertain jobs again (check the provider's account first: "
                   "it may have billed them already)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    _verbose(p)
    p.set_defaults(func=cmd_resume)


def _verbose(p: argparse.ArgumentParser) -> None:
    # Also after the command (`studio render ... --verbose`); the main parser has it too.
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="also show the log on stderr")
