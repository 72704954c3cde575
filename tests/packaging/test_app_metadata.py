"""The app's desktop metadata and icon: consistent with each other and with the build."""

from __future__ import annotations

import configparser
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from studio import APP_DISPLAY_NAME, APP_NAME, __version__

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "org.charactersheetstudio.Studio"
RESOURCES = ROOT / "resources"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(RESOURCES / "app" / f"{APP_ID}.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_desktop_entry_launches_the_window_with_the_icon() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == APP_DISPLAY_NAME
    assert entry["Exec"].split()[0] == APP_NAME
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"].split(";")
    spec = (ROOT / "packaging" / "studio.spec").read_text(encoding="utf-8")
    assert f'APP_ID = "{APP_ID}"' in spec


def test_the_metainfo_names_the_app_its_launcher_and_this_release() -> None:
    root = ET.parse(RESOURCES / "app" / f"{APP_ID}.metainfo.xml").getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == APP_DISPLAY_NAME
    assert root.findtext("launchable") == f"{APP_ID}.desktop"
    assert root.findtext("metadata_license") == "CC0-1.0"
    summary = root.findtext("summary") or ""
    assert 0 < len(summary) <= 80 and not summary.endswith(".")
    versions = [r.get("version") for r in root.iter("release")]
    assert versions and versions[0] == __version__, "add a <release> for the new version"
    assert {b.text for b in root.iter("binary")} == {"studio", APP_NAME}


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_the_icon_exists_at_every_size(size: int) -> None:
    with Image.open(RESOURCES / "icons" / f"app-{size}.png") as image:
        assert image.size == (size, size) and image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] < 16  # rounded corners are transparent
        card = (int(171 / 512 * size), int(151 / 512 * size))  # inside the first card
        assert image.getpixel(card)[3] == 255


def test_the_windows_and_macos_icons_and_the_svg() -> None:
    with Image.open(RESOURCES / "icons" / "app.ico") as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(RESOURCES / "icons" / "app.icns") as icns:
        assert icns.format == "ICNS"
    svg = ET.parse(RESOURCES / "icons" / "app.svg").getroot()
    assert svg.get("viewBox") == "0 0 512 512"


def test_the_icons_are_what_the_generator_draws(tmp_path: Path) -> None:
    """resources/icons is the output of packaging/make_icons.py (rerun it after a change)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_icons",
                                                  ROOT / "packaging" / "make_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_icons"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["make_icons"]
    assert (RESOURCES / "icons" / "app.svg").read_text(encoding="utf-8") == module.svg()
    with Image.open(RESOURCES / "icons" / "app-64.png") as stored:
        drawn = module.draw(64)
        assert stored.tobytes() == drawn.tobytes()
