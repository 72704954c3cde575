"""The presets catalog: lighting, lenses, skin detail, quality markers, negatives, framings and
prompt patterns from the guides, with the user's own presets merged over them by id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from studio.core import toml_reader
from studio.core.errors import PresetError
from studio.core.request import Stage
from studio.core.resources import resource_path

CATALOG_FILE_NAME = "presets.toml"


class PresetKind(StrEnum):
    LIGHTING = "lighting"
    LENS = "lens"
    SKIN = "skin"
    QUALITY = "quality"
    NEGATIVE = "negative"
    FRAMING = "framing"
    PATTERN = "pattern"


@dataclass(frozen=True, slots=True)
class Preset:
    kind: PresetKind
    id: str
    label: str
    text: str
    effect: str = ""
    best_use: str = ""
    # framing
    width: int | None = None
    height: int | None = None
    # negative
    stage: Stage | None = None
    recommended: bool = False
    # pattern: the presets it suggests for a new scene
    lighting: str | None = None
    lens: str | None = None
    framing: str | None = None
    source: str = "built-in"

    @property
    def tooltip(self) -> str:
        parts = [self.text] if self.text else []
        if self.effect:
            parts.append(f"Effect: {self.effect}")
        if self.best_use:
            parts.append(f"Best for: {self.best_use}")
        return "\n".join(parts)


_STR_FIELDS = ("label", "text", "effect", "best_use", "lighting", "lens", "framing")


def _preset_from_table(kind: PresetKind, table: Any, where: str, source: str) -> Preset:
    if not isinstance(table, dict):
        raise PresetError(f"{where}: each [[{kind}]] entry must be a table")
    pid = table.get("id")
    if not isinstance(pid, str) or not pid:
        raise PresetError(f"{where}: a [[{kind}]] entry has no 'id'; add id = \"my-preset\"")
    at = f"{where} [[{kind}]] id={pid!r}"
    values: dict[str, Any] = {}
    for key in _STR_FIELDS:
        if key in table:
            if not isinstance(table[key], str):
                raise PresetError(f"{at}: '{key}' must be text")
            values[key] = table[key]
    if "label" not in values:
        values["label"] = pid
    if "text" not in values and kind is not PresetKind.FRAMING:
        raise PresetError(f"{at}: 'text' is missing; write the prompt text this preset adds")
    values.setdefault("text", "")
    for key in ("width", "height"):
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise PresetError(f"{at}: '{key}' must be a positive whole number of pixels")
            values[key] = value
    if kind is PresetKind.FRAMING and ("width" not in values or "height" not in values):
        raise PresetError(f"{at}: a framing needs 'width' and 'height'")
    if "stage" in table:
        try:
            values["stage"] = Stage(table["stage"])
        except ValueError:
            raise PresetError(f"{at}: 'stage' must be \"preview\" or \"final\"") from None
    if "recommended" in table:
        values["recommended"] = bool(table["recommended"])
    return Preset(kind=kind, id=pid, source=source, **values)


def _presets_from_document(data: Mapping[str, Any], where: str, source: str) -> list[Preset]:
    out: list[Preset] = []
    for key, entries in data.items():
        if key == "format":
            continue
        try:
            kind = PresetKind(key)
        except ValueError:
            known = ", ".join(k.value for k in PresetKind)
            raise PresetError(
                f"{where}: unknown preset kind [[{key}]]; use one of {known}") from None
        if not isinstance(entries, list):
            raise PresetError(f"{where}: '{key}' must be an array of tables ([[{key}]])")
        out.extend(_preset_from_table(kind, entry, where, source) for entry in entries)
    return out


def _read_document(path: Path) -> dict[str, Any]:
    try:
        return toml_reader.loads(path.read_text(encoding="utf-8"))
    except toml_reader.DECODE_ERRORS as exc:
        raise PresetError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise PresetError(f"{path}: cannot be read ({exc.strerror})") from exc


class PresetCatalog:
    """All presets by kind and id. Lookups keep the file's order, which is the display order."""

    def __init__(self, presets: Iterable[Preset]) -> None:
        self._by_kind: dict[PresetKind, dict[str, Preset]] = {k: {} for k in PresetKind}
        for preset in presets:
            # A later preset with the same id replaces the earlier one (the user's over ours)
            # but keeps the built-in's place in the list.
            self._by_kind[preset.kind][preset.id] = preset

    def kinds(self) -> list[PresetKind]:
        return list(PresetKind)

    def of_kind(self, kind: PresetKind) -> list[Preset]:
        return list(self._by_kind[kind].values())

    def get(self, kind: PresetKind, preset_id: str) -> Preset | None:
        return self._by_kind[kind].get(preset_id)

    def ids(self, kind: PresetKind) -> list[str]:
        return list(self._by_kind[kind])

    def suggest(self, kind: PresetKind, unknown: str) -> str | None:
        import difflib  # only when a sheet names an unknown preset

        close = difflib.get_close_matches(unknown, self.ids(kind), n=1, cutoff=0.5)
        return close[0] if close else None

    def text_for(self, kind: PresetKind, value: str) -> str:
        """The prompt text of a preset id, or the value itself when it is free text."""
        preset = self.get(kind, value)
        return preset.text if preset is not None else value

    def label_for(self, kind: PresetKind, value: str) -> str:
        preset = self.get(kind, value)
        return preset.label if preset is not None else value

    def recommended_negative(self, stage: Stage) -> str:
        for preset in self.of_kind(PresetKind.NEGATIVE):
            if preset.stage is stage and preset.recommended:
                return preset.text
        return ""

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kind.values())


def load_catalog(
    builtin: Path | None = None, user_file: Path | None = None
) -> PresetCatalog:
    """The built-in catalog with the user's presets (if the file exists) merged over it by id."""
    builtin = builtin or resource_path(CATALOG_FILE_NAME)
    presets = _presets_from_document(_read_document(builtin), str(builtin), "built-in")
    if user_file is not None and user_file.is_file():
        presets += _presets_from_document(_read_document(user_file), str(user_file), "user")
    return PresetCatalog(presets)
