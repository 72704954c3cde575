"""The JSON pre-scan (``studio.core.prescan.scan_json``): seconds per megabyte of text.

Every JSON text the studio reads from outside (a bundle's ``settings.json``, up to 32 MB) is
scanned for its nesting depth before ``json.loads`` sees it. Shapes measured:

- ``settings-rows``: a bundle's settings as the exporter writes them (rows of render settings);
- ``empty-objects``: one row whose tags are ``{},{},...`` (one bracket every 1.5 bytes, the
  scan's worst case for valid text);
- ``escaped-strings``: long strings full of escapes, quotes and brackets;
- ``nested-at-the-limit``: arrays nested exactly 32 deep, side by side (accepted, and as much
  nesting as can be);
- ``refused-at-the-end``: settings rows followed by 40 nested arrays (the scan must find the
  place, line included);

each at 1 MB and 8 MB, best of ``--runs``. Prints one JSON object.

    python benchmarks/prescan.py [--runs 3] [--module PATH]

``--module`` measures another copy of ``prescan.py`` (e.g. an earlier version from git:
``git show main:studio/core/prescan.py > /tmp/prescan_main.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
DEPTH = 32  # studio.core.limits.JSON_DEPTH_MAX


def _module(path: str | None) -> ModuleType:
    if path is None:
        sys.path.insert(0, str(ROOT))
        import studio.core.prescan as prescan

        return prescan
    spec = importlib.util.spec_from_file_location("prescan_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _row(n: int) -> dict[str, object]:
    return {"file": f"images/{n:03d}-scene-preview-{n}.png", "render_id": n,
            "stage": "preview", "status": "ok", "provider": "modelslab", "model": "flux",
            "prompt": "Emma, 30-year-old woman, dark brown wavy hair, \"soft\" light [studio]",
            "negative": "", "width": 1024, "height": 1024, "steps": 4, "guidance": 3.5,
            "seed": 42 + n, "seed_requested": 42 + n, "seed_returned": None,
            "timings": {"queue": 0.1, "processing": 1.5}, "cost": 0.01, "tags": ["hero"],
            "approval": "none", "star": False, "references": [], "notes": "",
            "identity_distance": None, "identity_verdict": None}


def _rows(size: int) -> str:
    one = len(json.dumps(_row(0))) + 2
    return json.dumps([_row(n) for n in range(max(1, size // one))], indent=1)


def _empty_objects(size: int) -> str:
    count = max(1, (size - 60) // 3)
    return '[{"file": "images/001-scene-final-0.png", "tags": [' + "{}," * count + "{}]}]"


def _escaped(size: int) -> str:
    piece = r'"a \"quoted\" [bracket] {brace} \\ back\u00e9slash"'
    count = max(1, size // (len(piece) + 2))
    return "[" + ", ".join([piece] * count) + "]"


def _at_the_limit(size: int) -> str:
    nest = "[" * (DEPTH - 1) + "]" * (DEPTH - 1)
    return "[" + ",".join([nest] * max(1, size // (len(nest) + 1))) + "]"


def _refused(size: int) -> str:
    return _rows(size)[:-1] + ", " + "[" * 40 + "]" * 40 + "]"


SHAPES = {"settings-rows": _rows, "empty-objects": _empty_objects,
          "escaped-strings": _escaped, "nested-at-the-limit": _at_the_limit,
          "refused-at-the-end": _refused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--module", help="a prescan.py to measure instead of this tree's")
    args = parser.parse_args()
    prescan = _module(args.module)
    rows = []
    for name, make in SHAPES.items():
        for size in (MB, 8 * MB):
            text = make(size)
            best = float("inf")
            for _ in range(args.runs):
                start = time.perf_counter()
                excess = prescan.scan_json(text, max_depth=DEPTH)
                best = min(best, time.perf_counter() - start)
            rows.append({
                "shape": name, "bytes": len(text), "seconds": round(best, 4),
                "seconds_per_mb": round(best / (len(text) / MB), 4),
                "refused_at_line": None if excess is None else excess.line,
            })
    print(json.dumps({"module": args.module or "studio.core.prescan", "runs": args.runs,
                      "scan_json": rows}))


if __name__ == "__main__":
    main()
