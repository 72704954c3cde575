"""Build the one-folder app with PyInstaller and lay out the desktop files next to it.

    python packaging/build.py [--dist DIR] [--work DIR] [--clean]

Needs PyInstaller in the environment (pip install pyinstaller). The app lands in
DIR/character-sheet-studio/ (default packaging/dist): the `studio` and `character-sheet-studio`
programs, their libraries, and on Linux a `share/` tree (the .desktop file, the AppStream
metainfo and the icons in the hicolor theme) for a distribution package or a Flatpak to install.
Prints one JSON object: the folder, the seconds the build took and its size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
APP_NAME = "character-sheet-studio"
APP_ID = "org.charactersheetstudio.Studio"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def install_desktop_files(app: Path) -> None:
    """The freedesktop files under app/share, as `make install` would lay them out."""
    share = app / "share"
    resources = ROOT / "resources"
    (share / "applications").mkdir(parents=True, exist_ok=True)
    shutil.copy2(resources / "app" / f"{APP_ID}.desktop", share / "applications")
    (share / "metainfo").mkdir(parents=True, exist_ok=True)
    shutil.copy2(resources / "app" / f"{APP_ID}.metainfo.xml", share / "metainfo")
    for size in ICON_SIZES:
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(resources / "icons" / f"app-{size}.png", target / f"{APP_ID}.png")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copy2(resources / "icons" / "app.svg", scalable / f"{APP_ID}.svg")


def build(dist: Path, work: Path, clean: bool) -> dict[str, object]:
    started = time.monotonic()
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work), str(HERE / "studio.spec")]
    if clean:
        command.insert(3, "--clean")
    subprocess.run(command, check=True, cwd=ROOT)
    app = dist / APP_NAME
    if sys.platform.startswith("linux"):
        install_desktop_files(app)
    return {
        "app": str(app),
        "seconds": round(time.monotonic() - started, 1),
        "megabytes": round(folder_size(app) / 1e6, 1),
        "platform": sys.platform,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the one-folder app with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=HERE / "dist", help="output folder")
    parser.add_argument("--work", type=Path, default=HERE / "build", help="build cache folder")
    parser.add_argument("--clean", action="store_true", help="empty the build cache first")
    args = parser.parse_args(argv)
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print("PyInstaller is not installed: pip install pyinstaller", file=sys.stderr)
        return 2
    print(json.dumps(build(args.dist, args.work, args.clean)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
