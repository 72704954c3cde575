"""Export benchmark: a sheet of N scenes with full-size renders (1024 px placeholder cards, as
the offline provider draws them) exported every way, plus a bundle read back and unpacked.

Prints one JSON object: per case the seconds and the output's size in MB, and the peak of the
process's resident memory. Targets: a 24-scene sheet exports to PDF in under 5 s and to a bundle
in under 15 s on two cores; the PDF holds every image at its full size.

    python benchmarks/export_sheet.py [--scenes 4 24] [--size 1024]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.request import GenerationRequest, SceneContext, Stage  # noqa: E402
from studio.core.templates import SheetLayout  # noqa: E402
from studio.export.bundle_reader import Bundle  # noqa: E402
from studio.export.bundle_writer import BundleImage, write_bundle  # noqa: E402
from studio.export.images import palette  # noqa: E402
from studio.export.model import (  # noqa: E402
    ExportCell,
    SheetDocument,
    SheetOptions,
    StoryboardOptions,
)
from studio.export.pdf import (  # noqa: E402
    gui_application,
    write_layout_pdf,
    write_sheet_pdf,
    write_storyboard_pdf,
)
from studio.export.png import layout_png_bytes, sheet_png_bytes  # noqa: E402
from studio.providers.offline import draw_card  # noqa: E402

LIGHTS = ("golden hour", "overcast window", "studio warm", "rembrandt", "neon night", "moonlight")


def document(scenes: int, size: int) -> SheetDocument:
    cells = []
    for i in range(scenes):
        request = GenerationRequest(
            prompt="x", width=size, height=size * 4 // 3 // 8 * 8, steps=30, guidance=7.5,
            model="fluxgram-v1", seed=42 + i, stage=Stage.FINAL,
            context=SceneContext(character="Emma", scene=f"Scene {i + 1}",
                                 lighting=LIGHTS[i % len(LIGHTS)], lens="Sigma 35mm f/1.4"))
        cells.append(ExportCell(
            scene=f"Scene {i + 1}", lighting=LIGHTS[i % len(LIGHTS)].title(),
            lens="Sigma 35mm f/1.4", framing="Portrait", notes="A note about this panel. " * 3,
            seed=42 + i, model="fluxgram-v1", provider="offline",
            image=draw_card(request, 42 + i), stage=Stage.FINAL, render_id=i + 1,
            group=("turnaround", "expressions", "poses")[min(2, i // 5)]))
    return SheetDocument(title="Benchmark sheet", character="Emma",
                         anchor="Emma, 30-year-old woman, dark brown wavy hair, brown eyes",
                         seed=42, cells=tuple(cells), anchor_version=1)


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return result, round(time.perf_counter() - started, 3)


def mb(path: Path) -> float:
    return round(path.stat().st_size / 1e6, 2)


def run_case(scenes: int, size: int, folder: Path) -> dict[str, object]:
    doc, made = timed(lambda: document(scenes, size))
    out: dict[str, object] = {"scenes": scenes, "image_px": size, "make_images_s": made}
    png, seconds = timed(lambda: sheet_png_bytes(doc, SheetOptions(columns=4, dpi=200)))
    out["sheet_png"] = {"seconds": seconds, "mb": round(len(png) / 1e6, 2)}
    sheet_pdf, seconds = timed(lambda: write_sheet_pdf(doc, folder / "sheet.pdf",
                                                       SheetOptions(columns=3)))
    out["sheet_pdf"] = {"seconds": seconds, "mb": mb(sheet_pdf)}
    story, seconds = timed(lambda: write_storyboard_pdf(doc, folder / "story.pdf",
                                                        StoryboardOptions(panels_per_page=4)))
    out["storyboard_pdf"] = {"seconds": seconds, "mb": mb(story)}
    # The template layouts: the model sheet reads every final again for its palette.
    for layout in (SheetLayout.TURNAROUND, SheetLayout.MODEL_SHEET):
        path, seconds = timed(lambda layout=layout: write_layout_pdf(
            doc, folder / f"{layout.value}.pdf", layout, SheetOptions(landscape=True)))
        out[f"{layout.value}_pdf"] = {"seconds": seconds, "mb": mb(path)}
    palette.cache_clear()
    model_png, seconds = timed(lambda: layout_png_bytes(
        doc, SheetLayout.MODEL_SHEET, SheetOptions(landscape=True, dpi=200)))
    out["model-sheet_png"] = {"seconds": seconds, "mb": round(len(model_png) / 1e6, 2)}
    images = [BundleImage(f"{i + 1:02d}-scene-final-{i + 1}.png", c.image or b"",
                          {"scene": c.scene, "seed": c.seed}) for i, c in enumerate(doc.cells)]
    documents = {"sheet.sheet.png": png, "sheet.sheet.pdf": sheet_pdf.read_bytes(),
                  "sheet.storyboard.pdf": story.read_bytes()}
    bundle, seconds = timed(lambda: write_bundle(
        folder / "bundle.zip", sheet_file="sheet.sheet.toml", sheet_text="format = 1\n",
        images=images, documents=documents))
    out["bundle_write"] = {"seconds": seconds, "mb": mb(bundle)}

    def read_back() -> int:
        with Bundle(bundle) as opened:
            return len(opened.extract(folder / f"unpacked-{scenes}"))

    files, seconds = timed(read_back)
    out["bundle_check_and_extract"] = {"seconds": seconds, "files": files}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, nargs="+", default=[4, 24])
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args(argv)
    app = gui_application()
    cases = []
    with tempfile.TemporaryDirectory(prefix="studio-export-bench-") as tmp:
        for scenes in args.scenes:
            folder = Path(tmp) / str(scenes)
            folder.mkdir()
            cases.append(run_case(scenes, args.size, folder))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cases": cases, "peak_rss_mb": round(peak, 1)}, indent=2))
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
