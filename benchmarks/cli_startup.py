"""Start-up of the reading commands: what `studio status` pays before it prints.

Renders a four-scene sheet offline into a fresh library, then times, each in a fresh process:

- ``studio status --help`` and ``studio status SHEET --json``: wall time from spawn to exit and
  the process's CPU time, median and best;
- the modules those processes import (``python -X importtime``): their total import time, the
  share of ``studio.render``, ``studio.providers`` and httpx, and whether the render queue and
  the HTTP client were imported at all (a reading command needs neither);
- the render package's own share: importing ``studio.render.identity`` once the library and the
  identity measure are loaded (best of ``--runs``; the figure least disturbed by a busy machine).

Prints one JSON object.

    python benchmarks/cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SHEET = """\
format = 1
[character]
name = "Emma"
anchor = "Emma, 30-year-old woman, dark brown wavy hair, brown eyes"
seed = 42
[preview]
provider = "offline"
[final]
provider = "offline"
""" + "".join(f'[[scenes]]\nname = "Scene {n}"\nsetting = "grey studio backdrop"\n'
              for n in range(1, 5))

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def _environ(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update({"STUDIO_DATA_DIR": str(folder / "data"),
                "STUDIO_CONFIG_DIR": str(folder / "config"),
                "STUDIO_LOG_DIR": str(folder / "logs"), "QT_QPA_PLATFORM": "offscreen"})
    return env


def _timed(args: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    """Wall and CPU time (user + system) of the command, median and best of ``runs``: on a
    shared machine the best run is the least disturbed one."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        walls.append((time.perf_counter() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                    * 1000)
    return {"wall_ms": round(statistics.median(walls), 1), "wall_ms_best": round(min(walls), 1),
            "cpu_ms": round(statistics.median(cpus), 1), "cpu_ms_best": round(min(cpus), 1)}


def _imports(args: list[str], env: dict[str, str]) -> dict[str, object]:
    """The modules a run imports, from ``-X importtime`` (self times, microseconds)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "studio", *args],
                          cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    own: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        found = _LINE.match(line)
        if found:
            own[found.group(4)] = int(found.group(1))

    def share(prefix: str) -> float:
        return round(sum(t for m, t in own.items()
                         if m == prefix or m.startswith(prefix + ".")) / 1000, 1)

    return {
        "modules": len(own),
        "import_ms": round(sum(own.values()) / 1000, 1),
        "studio_render_ms": share("studio.render"),
        "studio_providers_ms": share("studio.providers"),
        "httpx_ms": share("httpx"),
        "render_queue_imported": "studio.render.queue" in own,
        "providers_imported": "studio.providers.base" in own,
        "httpx_imported": "httpx" in own,
    }


_INCREMENT = """
import time, studio.identity, studio.library, studio.library.binding
start = time.perf_counter()
import studio.render.identity
print((time.perf_counter() - start) * 1000)
"""


def _render_share_ms(env: dict[str, str], runs: int) -> float:
    """What ``studio status`` pays for the render package: importing
    ``studio.render.identity`` once the library and the identity measure (which status needs
    anyway) are in; best of ``runs`` fresh processes."""
    times = [float(subprocess.run([sys.executable, "-c", _INCREMENT], cwd=ROOT, env=env,
                                  check=True, capture_output=True, text=True).stdout)
             for _ in range(runs)]
    return round(min(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sheet = folder / "emma.sheet.toml"
        sheet.write_text(SHEET, encoding="utf-8")
        env = _environ(folder)
        subprocess.run([sys.executable, "-m", "studio", "render", str(sheet), "--stage",
                        "preview"], cwd=ROOT, env=env, check=True, capture_output=True)
        result = {
            "runs": args.runs,
            "status_help": {**_timed(["status", "--help"], env, args.runs),
                            **_imports(["status", "--help"], env)},
            "status_json": {**_timed(["status", str(sheet), "--json"], env, args.runs),
                            **_imports(["status", str(sheet), "--json"], env),
                            "render_package_import_ms_best": _render_share_ms(env, args.runs)},
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
