"""Hostile inputs: the time and memory they cost, now that each ends in a sentence.

- the A1111 ``parameters`` reader on long lines (10k..200k characters without a colon, and
  other shapes that made the old pattern backtrack);
- loading the deep sheets (a 500-deep array, a 450-deep inline table, a 50,000-part dotted key
  in a 100 KB file) and a 20,000-scene sheet: wall time and peak memory, each in a fresh
  process (peak RSS of that process, and the peak of Python allocations during the load);
- importing a 169-megapixel PNG of half a megabyte (refused from its header) and making its
  thumbnail;
- bundles: a 100 MB ``settings.json`` (refused from the ZIP's header), the largest settings the
  limits accept, and 1,200 entries each just under the ratio floor (refused as a whole).
  Each in a fresh process, with its peak RSS and the RSS before the operation started.

- the first request of a 20,000-scene sheet: from ``queue.add`` (the render queue's own share),
  and as ``studio render`` makes it (``staged_*``: the previews planned whole, then sent while
  the rest of the sheet is recorded),
  and from the start of a ``studio render`` process against the loopback ModelsLab fake (wall
  time, and the CPU time the process had used by then), with where the rest of that time goes
  (loading, binding and planning the sheet, wall and CPU; of loading, the TOML reader's share
  and which reader it was: ``tomli`` or ``tomllib``); for a sheet whose scenes differ only
  by name, and for one whose every scene has its own setting, presets, framing and seed. The
  load average is printed with them: wall times on a busy machine are inflated, CPU times less.

``--before`` also measures what these inputs cost without the protections: AUTOMATIC1111's own
item pattern (the reader's old core) on the shorter lines, the plain TOML reader on the deep
sheets under a 3 GB address-space cap, Pillow decoding the 169-megapixel image and its
thumbnail as the old import did, ``json.loads`` on the 100 MB settings, and the bundle's
entries unpacked without the total ratio rule (as the old import did before recording).
Prints one JSON object.

    python benchmarks/hostile_inputs.py [--before] [--only parameters|sheets|images|bundles|queue]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.parameters import parse_parameters  # noqa: E402

HEAD = ('format = 1\n[character]\nname = "Emma"\nanchor = "Emma, 30-year-old woman"\n'
        'seed = 42\n')
SCENE = ('[[scenes]]\nname = "Panel {i}"\nsetting = "neutral grey studio backdrop, medium shot"'
         '\nlighting = "soft-studio"\nlens = "canon-ef-85"\nframing = "portrait"\n\n')
A1111_ITEM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def sheets() -> dict[str, str]:
    scene = '[[scenes]]\nname = "Rooftop"\nsetting = "rooftop"\n'
    return {
        "array-500": HEAD + scene + "notes = " + "[" * 500 + "]" * 500 + "\n",
        "inline-table-450": HEAD + scene + "notes = " + "{a = " * 450 + "1" + "}" * 450 + "\n",
        "dotted-key-50000": HEAD + ".".join(["a"] * 50_000) + " = 1\n",
        "lighting-1M-chars": HEAD + scene + "lighting = " + json.dumps("warm light " * 90_910)
        + "\n",
        "scenes-20000": HEAD + "".join(SCENE.format(i=i) for i in range(20_000)),
    }


LINES = {
    "word": lambda n: "a" * n,
    "words": lambda n: "word " * (n // 5),
    "open-quotes": lambda n: "a: " + '"x, ' * (n // 4),
    "bad-keys": lambda n: "(key: value) " * (n // 13),
}


def time_parser(sizes: list[int], shapes: list[str], reader: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for shape in shapes:
        for size in sizes:
            line = LINES[shape](size)
            started = time.perf_counter()
            if reader == "studio":
                parse_parameters("prompt\n" + line)
            else:
                A1111_ITEM.findall(line)
            rows.append({"reader": reader, "shape": shape, "chars": len(line),
                         "seconds": round(time.perf_counter() - started, 4)})
    return rows


# Runs in a fresh interpreter: load one sheet, report time, peak RSS and traced peak.
_CHILD = """
import json, resource, sys, time, tracemalloc, tomllib
from pathlib import Path
path, mode = Path(sys.argv[1]), sys.argv[2]
if mode == "before":
    cap = 3 * 1024 ** 3
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    load = lambda: tomllib.loads(path.read_text(encoding="utf-8"))
else:
    from studio.core.presets import load_catalog
    from studio.core.sheet import load_sheet
    catalog = load_catalog()
    load = lambda: load_sheet(path, catalog)
def attempt():
    try:
        result = load()
    except MemoryError:
        return "MemoryError (3 GB cap)"
    except RecursionError:
        return "RecursionError traceback"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:160]}"
    scenes = getattr(result, "scenes", None)
    return f"loaded ({len(scenes)} scenes)" if scenes is not None else "loaded"
started = time.perf_counter()
outcome = attempt()
seconds = time.perf_counter() - started
traced = None
if mode != "before":
    tracemalloc.start()
    attempt()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
status = Path("/proc/self/status")
hwm = [int(line.split()[1]) for line in status.read_text().splitlines()
       if line.startswith("VmHWM:")] if status.exists() else []
peak_kb = hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": round(seconds, 3), "outcome": outcome,
                  "peak_rss_mb": round(peak_kb / 1024, 1),
                  "traced_peak_mb": None if traced is None else round(traced / 2**20, 2)}))
"""


def load_in_child(path: Path, mode: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), mode], capture_output=True,
                          text=True, cwd=ROOT, timeout=900)
    if proc.returncode != 0:
        return {"outcome": f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"}
    return dict(json.loads(proc.stdout))


# Runs in a fresh interpreter: one image or bundle operation, its time and memory.
_CHILD_FILES = """
import json, resource, sys, time
from pathlib import Path
what, path, work, mode = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
def rss_mb(key):
    lines = Path("/proc/self/status").read_text().splitlines()
    return round(int([l for l in lines if l.startswith(key)][0].split()[1]) / 1024, 1)
cap = 4 * 1024 ** 3  # a runaway reader fails here instead of taking the machine
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from PIL import Image
from studio.export.bundle import BundleLimits
from studio.export.bundle_reader import Bundle
from studio.library import Library
from studio.library.thumbnails import ThumbnailCache
result = {}
def timed(key, action):
    started = time.perf_counter()
    try:
        outcome = action()
    except MemoryError:
        outcome = "MemoryError (4 GB cap)"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {str(exc)[:220]}"
    result[key] = {"seconds": round(time.perf_counter() - started, 3), "outcome": outcome}
result["rss_before_mb"] = rss_mb("VmRSS:")
if what == "image" and mode == "after":
    library = Library.open(work / "library")
    project = library.projects.ensure("Imports").id
    timed("import", lambda: library.maintenance.import_image(path, project) and "imported")
    cache = ThumbnailCache(work / "thumbs", work / "tmp", workers=1)
    timed("thumbnail", lambda: cache.ensure("ab" * 32, path).result() and "made")
    cache.close()
    library.close()
elif what == "image":
    def old_import():
        with Image.open(path) as image:  # every format Pillow knows, Pillow's own bomb limit
            image.load()
            return f"decoded {image.size[0]}x{image.size[1]}"
    def old_thumbnail():
        with Image.open(path) as image:
            image.draft("RGB", (256, 256))
            thumb = image.convert("RGB")
        thumb.thumbnail((256, 256))
        return "made"
    timed("import", old_import)
    timed("thumbnail", old_thumbnail)
elif what == "settings" and mode == "after":
    def settings():
        with Bundle(path) as bundle:
            return f"read {len(bundle.settings())} rows"
    timed("settings", settings)
elif what == "settings":
    import json as plain, zipfile
    def old_reader():
        with zipfile.ZipFile(path) as archive:
            rows = plain.loads(archive.read("settings.json").decode("utf-8"))
        return f"read {len(rows)} rows"
    timed("settings", old_reader)
elif what == "ratio" and mode == "after":
    timed("open", lambda: Bundle(path).close() or "opened")
else:
    def unpack():
        # The old import's first step: every entry it writes, with no total ratio rule.
        with Bundle(path, BundleLimits(max_ratio=float("inf"))) as bundle:
            written = bundle.extract(work / "unpacked",
                                     kinds=("sheet", "settings", "document", "manifest"))
        total = sum(p.stat().st_size for p in written)
        return f"wrote {len(written)} files, {total / 2**20:,.0f} MB"
    timed("unpack", unpack)
result["peak_rss_mb"] = rss_mb("VmHWM:")
print(json.dumps(result))
"""


def files_in_child(what: str, path: Path, mode: str) -> dict[str, object]:
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD_FILES, what, str(path), str(work),
                               mode], capture_output=True, text=True, cwd=ROOT, timeout=900)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        return {"outcome": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    return {"reader": mode, **json.loads(proc.stdout)}


def big_png(path: Path, side: int = 13_000) -> Path:
    """A decodable RGB PNG of ``side`` x ``side`` black pixels, compressed as it is written
    (169 megapixels in about 0.66 MB, without ever holding them in memory)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * side)  # filter byte, then the row's pixels
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def bundles(folder: Path) -> dict[str, Path]:
    """The hostile bundles, each built from a small good bundle of eight images."""
    import io
    import zipfile

    from PIL import Image

    from studio.export.bundle_writer import BundleImage, write_bundle

    def png(n: int) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (48, 64), (n * 30 % 256, 90, 120)).save(buffer, "PNG")
        return buffer.getvalue()

    def bundle(name: str, images: int, settings: bytes | None,
               extra: dict[str, bytes] | None = None) -> Path:
        shots = [BundleImage(f"{i + 1:03d}-scene-final-{i}.png", png(i), {"render_id": i})
                 for i in range(images)]
        path = write_bundle(folder / f"{name}.zip", sheet_file="emma.sheet.toml",
                            sheet_text=(ROOT / "examples" / "emma.sheet.toml").read_text(),
                            images=shots)
        if settings is None and not extra:
            return path
        altered = folder / f"{name}.altered.zip"
        with zipfile.ZipFile(path) as old, zipfile.ZipFile(altered, "w") as new:
            for info in old.infolist():
                data = old.read(info)
                if info.filename == "settings.json" and settings is not None:
                    # Stored, not deflated: so the ratio rule alone would let it through.
                    info = zipfile.ZipInfo("settings.json")
                    data = settings
                new.writestr(info, data)
            for entry, data in (extra or {}).items():
                new.writestr(zipfile.ZipInfo(entry), data, compress_type=zipfile.ZIP_DEFLATED)
        return altered

    def dense(size: int) -> bytes:
        # One row whose tags are empty objects: about 24 bytes of memory per byte of text.
        count = (size - 60) // 3
        return (b'[{"file": "images/001-scene-final-0.png", "tags": ['
                + b"{}," * count + b"{}]}]")

    per_image = 256 * 1024
    return {
        "settings-100MB": bundle("settings-100mb", 8, dense(100 * 2**20)),
        "settings-at-limit-8-images": bundle("settings-8", 8, dense(9 * per_image - 64)),
        "settings-at-limit-128-images": bundle("settings-128", 128, dense(32 * 2**20 - 64)),
        "ratio-1200-entries": bundle("ratio", 8, None, {
            f"d{i:04d}.pdf": b"\0" * (2**20 - 1) for i in range(1200)}),
    }


class _FirstRequest:
    """A ModelsLab fake that notes when the first job arrives (and never finishes one)."""

    def __init__(self) -> None:
        import threading

        from tests.fakes.modelslab import FakeModelsLab

        self.arrived = threading.Event()
        self.at: float | None = None
        note = self

        class Fake(FakeModelsLab):
            def _text2img(self, req, match):  # type: ignore[no-untyped-def]
                if note.at is None:
                    note.at = time.perf_counter()
                    note.arrived.set()
                return super()._text2img(req, match)

        self.server = Fake("bench-key", eta=3600.0, delay=3600.0)


def scenes_text(count: int, varied: bool = False) -> str:
    """``count`` ``[[scenes]]`` tables: the same scene but its name (as the scale case was first
    measured), or with ``varied`` each scene with its own setting, seed and a mix of lighting,
    lens and framing presets and free text (nothing a scene shares with another is free)."""
    if not varied:
        return "".join(SCENE.format(i=i) for i in range(count))
    lighting = ("soft-studio", "golden-hour", "rembrandt", "warm lamplight from the left")
    lens = ("canon-ef-85", "sigma-35", "an old zoom lens")
    framing = ("portrait", "full-body", "landscape", "768x1344")
    return "".join(
        f'[[scenes]]\nname = "Panel {i}"\nsetting = "street corner number {i}, medium shot"\n'
        f'lighting = "{lighting[i % 4]}"\nlens = "{lens[i % 3]}"\nframing = "{framing[i % 4]}"\n'
        f"seed = {1000 + i}\n\n" for i in range(count))


def _timed(row: dict[str, object], key: str, action):  # type: ignore[no-untyped-def]
    """Run ``action``; note its wall and CPU time in ``row`` as ``key_seconds`` and
    ``key_cpu_seconds``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    row[f"{key}_seconds"] = round(time.perf_counter() - wall, 3)
    row[f"{key}_cpu_seconds"] = round(time.process_time() - cpu, 3)
    return result


def queue_first_request(scenes: int, varied: bool = False) -> dict[str, object]:
    """In one process: load, bind and plan the sheet (each timed, wall and CPU), then from
    ``queue.add`` to the first request at the fake."""
    import asyncio
    import tempfile

    from studio.core import tomlfile
    from studio.core.errors import SheetError
    from studio.core.presets import load_catalog
    from studio.core.request import Stage
    from studio.core.sheet import load_sheet
    from studio.library import Library
    from studio.library.binding import bind_sheet
    from studio.providers.modelslab import ModelsLabProvider
    from studio.providers.offline import OfflineProvider
    from studio.render.plan import choose_provider, plan_previews
    from studio.render.queue import RenderQueue

    fake = _FirstRequest()
    fake.server.start()
    row: dict[str, object] = {"scenes": scenes, "varied": varied}
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "storyboard.sheet.toml"
            path.write_text(HEAD + scenes_text(scenes, varied), encoding="utf-8")
            catalog = load_catalog()
            # The TOML reader's share of loading (pre-scan and parser), and which reader it is.
            text = path.read_text(encoding="utf-8")
            _timed(row, "load_toml", lambda: tomlfile.parse_toml(text, str(path), SheetError))
            row["toml_reader"] = tomlfile._toml_loads.__module__.partition(".")[0]
            sheet = _timed(row, "load", lambda: load_sheet(path, catalog))
            library = Library.open(Path(folder) / "data")
            provider = ModelsLabProvider(api_key="bench-key", base_url=fake.server.base_url,
                                         concurrency=12)
            providers = {"modelslab": provider, "offline": OfflineProvider()}
            try:
                binding = _timed(row, "bind",
                                 lambda: bind_sheet(library, sheet, path, catalog))
                choice = choose_provider(providers, Stage.PREVIEW, "modelslab", "flux-schnell")
                plan = _timed(row, "plan", lambda: plan_previews(library, binding, sheet,
                                                                  catalog, choice))

                async def run() -> None:
                    queue = RenderQueue(library, providers)
                    started = time.perf_counter()
                    adding = asyncio.ensure_future(queue.add(plan.jobs))
                    await asyncio.to_thread(fake.arrived.wait, 300)
                    assert fake.at is not None
                    row["queue_first_request_seconds"] = round(fake.at - started, 3)
                    adding.cancel()
                    await asyncio.gather(adding, return_exceptions=True)
                    await queue.aclose()
                    await provider.aclose()

                asyncio.run(run())
                # The same sheet once more: the library already holds its scenes.
                _timed(row, "bind_again", lambda: bind_sheet(library, sheet, path, catalog))
            finally:
                library.close()
            row.update(staged_first_request(Path(folder), path, sheet, catalog, fake))
    finally:
        fake.server.stop()
    return row


def staged_first_request(folder: Path, path: Path, sheet, catalog,  # type: ignore[no-untyped-def]
                         fake: _FirstRequest) -> dict[str, object]:
    """What ``studio render --stage preview`` does: the previews planned whole before anything
    is sent (the sheet's own records, every request composed and prepared by the provider),
    then from ``queue.add_planned`` to the first request (the first chunk's scenes recorded and
    journaled on the way), and how long recording the rest of the sheet takes after it."""
    import asyncio

    from studio.core.request import Stage
    from studio.library import Library
    from studio.providers.modelslab import ModelsLabProvider
    from studio.render.plan import choose_provider
    from studio.render.queue import RenderQueue
    from studio.render.staged import StagedPreviews

    row: dict[str, object] = {}
    fake.at = None
    fake.arrived.clear()
    library = Library.open(folder / "staged")
    provider = ModelsLabProvider(api_key="bench-key", base_url=fake.server.base_url,
                                 concurrency=12)
    providers = {"modelslab": provider}
    try:
        choice = choose_provider(providers, Stage.PREVIEW, "modelslab", "flux-schnell")
        staged = _timed(row, "staged_plan", lambda: StagedPreviews(
            library, sheet, path, catalog, choice))

        async def run() -> None:
            queue = RenderQueue(library, providers)
            started = time.perf_counter()
            adding = asyncio.ensure_future(queue.add_planned(staged.jobs, staged.record))
            await asyncio.to_thread(fake.arrived.wait, 300)
            assert fake.at is not None
            row["staged_queue_first_request_seconds"] = round(fake.at - started, 3)
            cpu = time.process_time()
            await adding
            await asyncio.to_thread(staged.finish)
            row["staged_record_rest_seconds"] = round(time.perf_counter() - fake.at, 3)
            row["staged_record_rest_cpu_seconds"] = round(time.process_time() - cpu, 3)
            await queue.aclose()
            await provider.aclose()

        asyncio.run(run())
    finally:
        library.close()
    return row


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of process ``pid`` so far (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_first_request(scenes: int, varied: bool = False) -> dict[str, object]:
    """From the start of a ``studio render`` process to the first request at the fake: wall
    time, and the CPU time the process had used by then (the figure a busy machine disturbs
    least). ``varied``: every scene has its own setting, lighting, lens, framing and seed."""
    import tempfile

    fake = _FirstRequest()
    fake.server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "storyboard.sheet.toml"
            path.write_text(HEAD + "[preview]\nprovider = \"modelslab\"\n"
                            'model = "flux-schnell"\n' + scenes_text(scenes, varied),
                            encoding="utf-8")
            env = {**os.environ, "STUDIO_DATA_DIR": str(Path(folder) / "data"),
                   "STUDIO_CONFIG_DIR": str(Path(folder) / "config"),
                   "STUDIO_LOG_DIR": str(Path(folder) / "logs"),
                   "STUDIO_MODELSLAB_BASE_URL": fake.server.base_url,
                   "STUDIO_MODELSLAB_API_KEY": "bench-key",
                   "STUDIO_MODELSLAB_CONCURRENCY": "12",
                   "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
            started = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "studio", "render", str(path),
                                     "--stage", "preview"], cwd=ROOT, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cpu = None
            try:
                if fake.arrived.wait(600):
                    cpu = _cpu_seconds(proc.pid)
            finally:
                proc.kill()
                proc.wait()
            seconds = None if fake.at is None else round(fake.at - started, 2)
    finally:
        fake.server.stop()
    return {"scenes": scenes, "process_first_request_seconds": seconds,
            "process_cpu_seconds": None if cpu is None else round(cpu, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="store_true",
                        help="also measure the unprotected readers (slow: a few minutes)")
    parser.add_argument("--only", choices=("parameters", "sheets", "images", "bundles",
                                           "queue"), help="measure one part only")
    parser.add_argument("--queue-scenes", type=int, default=20_000,
                        help="scenes of the sheet whose first request is timed (0: skip)")
    args = parser.parse_args()
    import tempfile

    def wanted(part: str) -> bool:
        return args.only in (None, part)

    out: dict[str, object] = {}
    if wanted("parameters"):
        out["parameters"] = time_parser([10_000, 20_000, 40_000, 200_000], list(LINES),
                                        "studio")
    with tempfile.TemporaryDirectory() as folder:
        if wanted("sheets"):
            baseline = Path(folder) / "empty.sheet.toml"
            baseline.write_text(HEAD, encoding="utf-8")
            rows = [{"sheet": "minimal (baseline)", "bytes": len(HEAD),
                     **load_in_child(baseline, "after")}]
            for name, text in sheets().items():
                path = Path(folder) / f"{name}.sheet.toml"
                path.write_text(text, encoding="utf-8")
                rows.append({"sheet": name, "bytes": path.stat().st_size,
                             **load_in_child(path, "after")})
                if args.before and name != "scenes-20000":
                    rows.append({"sheet": name, "reader": "tomllib without the scan",
                                 **load_in_child(path, "before")})
            out["sheets"] = rows
        modes = ["after", "before"] if args.before else ["after"]
        if wanted("images"):
            image = big_png(Path(folder) / "poster-169mp.png")
            out["image_import"] = [{"image": "13000x13000 PNG",
                                    "bytes": image.stat().st_size,
                                    **files_in_child("image", image, mode)} for mode in modes]
        if wanted("bundles"):
            rows = []
            for name, path in bundles(Path(folder)).items():
                what = "ratio" if name.startswith("ratio") else "settings"
                for mode in modes:
                    if mode == "before" and "at-limit" in name:
                        continue
                    rows.append({"bundle": name, "bytes": path.stat().st_size,
                                 **files_in_child(what, path, mode)})
            out["bundles"] = rows
    if args.before and wanted("parameters"):
        out["parameters_before"] = time_parser([10_000, 20_000, 40_000], ["word"], "a1111")
    if args.queue_scenes and wanted("queue"):
        out["first_request"] = [
            {**queue_first_request(args.queue_scenes, varied),
             **process_first_request(args.queue_scenes, varied)} for varied in (False, True)]
        out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
