"""Draw the app icon: the same character on four cards in four lights, as an SVG and as PNGs at
every size desktops ask for, plus a Windows .ico and a macOS .icns.

The geometry is written once (a 512-unit square) and drawn twice: as SVG text, and with Pillow
at 4x supersampling for the PNGs. Run from the repository root; the files go to resources/icons.

    python packaging/make_icons.py
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
UNIT = 512
BACKGROUND = "#23264f"
BACKGROUND_RADIUS = 112


@dataclass(frozen=True)
class Card:
    """One scene card: where it is, its light, and the character's silhouette colour."""

    x: float
    y: float
    light: str
    shadow: str


CARD_W, CARD_H, CARD_R = 150.0, 190.0, 22.0
CARDS = (
    Card(96, 56, "#f4d58d", "#7a5320"),  # golden hour
    Card(266, 56, "#9fc5e8", "#24456b"),  # overcast window
    Card(96, 266, "#e8a598", "#6e2b22"),  # warm studio
    Card(266, 266, "#b9c7a5", "#3b4a2c"),  # soft daylight
)


def _silhouette(card: Card) -> tuple[tuple[float, float, float, float], ...]:
    """Head and shoulders of the character on ``card`` as ellipse boxes (x0, y0, x1, y1)."""
    cx = card.x + CARD_W / 2
    head = (cx - 27, card.y + 42, cx + 27, card.y + 106)
    # Narrow enough to leave the card through its straight bottom edge, not its rounded corners,
    # so no clipping is needed beyond that edge (Qt's SVG renderer has no clip paths).
    shoulders = (cx - 52, card.y + 116, cx + 52, card.y + CARD_H + 60)
    return head, shoulders


def _shoulders_path(card: Card) -> str:
    """The part of the shoulders ellipse above the card's bottom edge, as an SVG path."""
    x0, y0, x1, y1 = _silhouette(card)[1]
    rx, ry = (x1 - x0) / 2, (y1 - y0) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bottom = card.y + CARD_H
    half = rx * math.sqrt(1 - ((bottom - cy) / ry) ** 2)
    return (f"M {cx - half:.2f} {bottom:g} A {rx:g} {ry:g} 0 1 1 {cx + half:.2f} {bottom:g} Z")


def svg() -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{UNIT}" height="{UNIT}" '
        f'viewBox="0 0 {UNIT} {UNIT}">',
        "  <title>Character Sheet Studio</title>",
        f'  <rect width="{UNIT}" height="{UNIT}" rx="{BACKGROUND_RADIUS}" fill="{BACKGROUND}"/>',
    ]
    for card in CARDS:
        (hx0, hy0, hx1, hy1), _ = _silhouette(card)
        parts += [
            f'  <rect x="{card.x:g}" y="{card.y:g}" width="{CARD_W:g}" height="{CARD_H:g}" '
            f'rx="{CARD_R:g}" fill="{card.light}"/>',
            f'  <ellipse cx="{(hx0 + hx1) / 2:g}" cy="{(hy0 + hy1) / 2:g}" '
            f'rx="{(hx1 - hx0) / 2:g}" ry="{(hy1 - hy0) / 2:g}" fill="{card.shadow}"/>',
            f'  <path d="{_shoulders_path(card)}" fill="{card.shadow}"/>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def draw(size: int) -> Image.Image:
    """The icon at ``size`` pixels, drawn at 4x and reduced for smooth edges."""
    big = size * 4
    s = big / UNIT
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle((0, 0, big - 1, big - 1),
                                            radius=BACKGROUND_RADIUS * s, fill=BACKGROUND)
    for card in CARDS:
        box = (card.x * s, card.y * s, (card.x + CARD_W) * s, (card.y + CARD_H) * s)
        layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        pen = ImageDraw.Draw(layer)
        # The light overfills the card so the card's mask never reaches a transparent pixel.
        pen.rectangle((box[0] - 4, box[1] - 4, box[2] + 4, box[3] + 4), fill=card.light)
        for x0, y0, x1, y1 in _silhouette(card):
            pen.ellipse((x0 * s, y0 * s, x1 * s, y1 * s), fill=card.shadow)
        mask = Image.new("L", (big, big), 0)
        ImageDraw.Draw(mask).rounded_rectangle(box, radius=CARD_R * s, fill=255)
        image.paste(layer, (0, 0), mask)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICONS, help="folder (default resources/icons)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "app.svg").write_text(svg(), encoding="utf-8")
    images = {size: draw(size) for size in SIZES}
    for size, image in images.items():
        image.save(out / f"app-{size}.png", optimize=True)
    images[256].save(out / "app.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    images[512].save(out / "app.icns")
    print(f"wrote {len(SIZES) + 3} icon files to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
