"""The typeface exports use, and text measuring and wrapping in points.

The PNG (Pillow) and the PDF (Qt) draw with the same font file, measured once here, so a sheet
lays out identically in both. A Unicode sans-serif installed on the system is preferred
(DejaVu Sans, Noto Sans, Liberation Sans, Segoe UI, Arial); without one, Pillow's built-in
face keeps exports working (Latin text only).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from PIL import ImageFont

# (regular, bold) file names, searched by Pillow in the platform's font folders.
_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("segoeui.ttf", "segoeuib.ttf"),
    ("arial.ttf", "arialbd.ttf"),
    ("Arial.ttf", "Arial Bold.ttf"),
)
# Measuring at a large pixel size keeps hinting from rounding the advances.
_REFERENCE_PX = 200
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class FontFiles:
    """The bytes of the regular and bold faces (the same bytes when there is no bold)."""

    name: str
    regular: bytes
    bold: bytes


def _load(name: str) -> tuple[bytes, str] | None:
    try:
        font = ImageFont.truetype(name, 12)
    except OSError:
        return None
    path = getattr(font, "path", None)
    if not isinstance(path, str):
        return None
    try:
        with open(path, "rb") as fh:  # noqa: PTH123 (a str path from Pillow)
            return fh.read(), font.getname()[0] or name
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def find_fonts() -> FontFiles:
    """The first installed candidate family, else Pillow's built-in face."""
    for regular_name, bold_name in _CANDIDATES:
        regular = _load(regular_name)
        if regular is None:
            continue
        bold = _load(bold_name)
        return FontFiles(regular[1], regular[0], bold[0] if bold else regular[0])
    builtin = ImageFont.load_default(_REFERENCE_PX)
    data = getattr(builtin, "font_bytes", b"")
    if not isinstance(builtin, ImageFont.FreeTypeFont) or not data:
        raise RuntimeError("Pillow was built without FreeType; exports need it to draw text")
    return FontFiles("built-in", data, data)


class TextMeasure:
    """Widths, line metrics and wrapping for a font, in points at a given size."""

    def __init__(self, fonts: FontFiles) -> None:
        self.fonts = fonts
        self._faces = {
            False: ImageFont.truetype(io.BytesIO(fonts.regular), _REFERENCE_PX),
            True: ImageFont.truetype(io.BytesIO(fonts.bold), _REFERENCE_PX),
        }

    def width(self, text: str, size: float, bold: bool = False) -> float:
        return float(self._faces[bold].getlength(text)) * size / _REFERENCE_PX

    def ascent(self, size: float, bold: bool = False) -> float:
        return self._faces[bold].getmetrics()[0] * size / _REFERENCE_PX

    def descent(self, size: float, bold: bool = False) -> float:
        return self._faces[bold].getmetrics()[1] * size / _REFERENCE_PX

    @staticmethod
    def line_height(size: float) -> float:
        return size * 1.32

    def elide(self, text: str, size: float, width: float, bold: bool = False) -> str:
        """``text`` cut with an ellipsis to fit ``width``."""
        if self.width(text, size, bold) <= width:
            return text
        lo, hi = 0, len(text)
        while lo < hi:  # the longest prefix that fits with the ellipsis
            mid = (lo + hi + 1) // 2
            if self.width(text[:mid].rstrip() + ELLIPSIS, size, bold) <= width:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo].rstrip() + ELLIPSIS

    def wrap(
        self, text: str, size: float, width: float, *, bold: bool = False, max_lines: int = 0
    ) -> list[str]:
        """Greedy word wrap; words longer than a line are broken; ``max_lines`` (0: no limit)
        ends the last kept line with an ellipsis."""
        lines: list[str] = []
        for paragraph in text.replace("\r\n", "\n").split("\n"):
            current = ""
            for word in paragraph.split():
                candidate = f"{current} {word}" if current else word
                if self.width(candidate, size, bold) <= width:
                    current = candidate
                    continue
                if current:
                    lines.append(current)
                current = word
                while self.width(current, size, bold) > width and len(current) > 1:
                    cut = self._fit_chars(current, size, width, bold)
                    lines.append(current[:cut])
                    current = current[cut:]
            lines.append(current)
        while len(lines) > 1 and not lines[-1]:
            lines.pop()
        if max_lines and len(lines) > max_lines:
            kept = lines[:max_lines]
            kept[-1] = self.elide(kept[-1].rstrip() + ELLIPSIS, size, width, bold)
            return kept
        return lines

    def _fit_chars(self, word: str, size: float, width: float, bold: bool) -> int:
        lo, hi = 1, len(word)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(word[:mid], size, bold) <= width:
                lo = mid
            else:
                hi = mid - 1
        return lo


@functools.lru_cache(maxsize=4)
def measure_for(fonts: FontFiles) -> TextMeasure:
    return TextMeasure(fonts)
