"""Hostile inputs: the time and memory they cost, now that each ends in a sentence.

- the A1111 ``parameters`` reader on long lines (10k..200k characters without a colon, and
  other shapes that made the old pattern backtrack);
- loading the deep sheets (a 500-deep array, a 450-deep inline table, a 50,000-part dotted key
  in a 100 KB file) and a 20,000-scene sheet: wall time and peak memory, each in a fresh
  process (peak RSS of that process, and the peak of Python allocations during the load).

``--before`` also measures what these inputs cost without the protections: AUTOMATIC1111's own
item pattern (the reader's old core) on the shorter lines, and the plain TOML reader on the deep
sheets under a 3 GB address-space cap. Prints one JSON object.

    python benchmarks/hostile_inputs.py [--before]
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="store_true",
                        help="also measure the unprotected readers (slow: about a minute)")
    args = parser.parse_args()
    import tempfile

    out: dict[str, object] = {
        "parameters": time_parser([10_000, 20_000, 40_000, 200_000], list(LINES), "studio"),
    }
    with tempfile.TemporaryDirectory() as folder:
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
    if args.before:
        out["parameters_before"] = time_parser([10_000, 20_000, 40_000], ["word"], "a1111")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
