"""Sheets and their files: a character, its scenes and the two stage profiles.

The ``*.sheet.toml`` format is a contract (DESIGN.md). Reading a file checks every key and
reports the first problem as one message naming the file, the key or line and what to write
instead; writing gives back a file that reads as the same sheet.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from studio.core import limits
from studio.core.anchor import FIELD_NAMES, AnchorFields, compose_anchor
from studio.core.errors import SheetError
from studio.core.prescan import scan_toml
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.request import SEED_MAX, SEED_MIN, Stage
from studio.core.stages import StageProfile, default_profile
from studio.core.text import shorten

SHEET_FORMAT = 1
SHEET_SUFFIX = ".sheet.toml"
_SIZE_RE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
# An id-shaped value ("soft-studio") must name a preset; anything with spaces is free text.
_ID_SHAPE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")


@dataclass(frozen=True, slots=True)
class Character:
    name: str
    anchor: str
    seed: int
    fields: AnchorFields = field(default_factory=AnchorFields)
    negative: str | None = None  # None: the catalog's recommended negative for finals
    skin: tuple[str, ...] = ()  # skin-detail preset ids or free text
    quality: tuple[str, ...] = ()  # quality-marker preset ids or free text


@dataclass(frozen=True, slots=True)
class Scene:
    name: str
    setting: str
    lighting: str = ""
    lens: str = ""
    framing: str = "portrait"
    seed: int | None = None  # None: the sheet's locked seed
    pattern: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Sheet:
    character: Character
    scenes: tuple[Scene, ...] = ()
    preview: StageProfile = field(default_factory=lambda: default_profile(Stage.PREVIEW))
    final: StageProfile = field(default_factory=lambda: default_profile(Stage.FINAL))
    title: str = ""

    def profile(self, stage: Stage) -> StageProfile:
        return self.preview if stage is Stage.PREVIEW else self.final

    def scene(self, name: str) -> Scene | None:
        return next((s for s in self.scenes if s.name == name), None)

    def seed_for(self, scene: Scene) -> int:
        return self.character.seed if scene.seed is None else scene.seed

    def with_scenes(self, scenes: tuple[Scene, ...]) -> Sheet:
        return replace(self, scenes=scenes)


def frame_size(framing: str, catalog: PresetCatalog) -> tuple[int, int] | None:
    """Width and height of a framing preset id or a ``WIDTHxHEIGHT`` value."""
    preset = catalog.get(PresetKind.FRAMING, framing)
    if preset is not None and preset.width and preset.height:
        return preset.width, preset.height
    match = _SIZE_RE.match(framing.strip())
    if match:
        return int(match.group(1)), int(match.group(2))
    return None


# --------------------------------------------------------------------------- reading


class _Reader:
    """Turns a parsed TOML document into a Sheet, raising SheetError at the first problem."""

    def __init__(self, text: str, path: str, catalog: PresetCatalog) -> None:
        self.lines = text.splitlines()
        self.path = path
        self.catalog = catalog

    # Line numbers: TOML parsers do not keep them, so find the key's line in the text.
    def _line_of(self, table: str, key: str | None, index: int | None = None) -> int | None:
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$") if table else None
        any_header = re.compile(r"^\s*\[")
        start, seen = (0 if header is None else None), -1
        for i, line in enumerate(self.lines):
            if header is not None and header.match(line):
                seen += 1
                if index is None or seen == index:
                    start = i
                    if key is None:
                        return i + 1
                    continue
            if start is None:
                continue
            if i > start and any_header.match(line):
                if header is None:
                    break
                return None
            if key is not None and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
                return i + 1
        return None

    def fail(self, problem: str, *, key: str, table: str = "", index: int | None = None,
             hint: str = "", field_name: str | None = None) -> SheetError:
        line = self._line_of(table, field_name, index) if table or field_name else None
        return SheetError(self.path, problem, key=key, line=line, hint=hint)

    def get(self, tbl: Mapping[str, Any], name: str, kind: type | tuple[type, ...], *,
            key: str, table: str = "", index: int | None = None, required: bool = False,
            hint: str = "", scene: str | None = None) -> Any:
        if name not in tbl:
            if required:
                raise self.fail("is missing", key=key, table=table, index=index,
                                hint=hint or f"add {name} = ... to the table")
            return None
        value = tbl[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            wanted = " or ".join(_TYPE_WORDS.get(k, k.__name__) for k in kinds)
            raise self.fail(f"must be {wanted}, not {_describe(value)}", key=key, table=table,
                            index=index, field_name=name, hint=hint)
        if isinstance(value, str):
            self.check_length(value, _text_limit(key), key=key, table=table, index=index,
                              name=name, scene=scene)
        return value

    def check_length(self, value: str, limit: int, *, key: str, table: str,
                     index: int | None, name: str, scene: str | None = None) -> None:
        """Refuse text over ``limit`` characters here, not later at a provider."""
        if len(value) <= limit:
            return
        of_scene = f"of the scene \"{shorten(scene, 40)}\" " if scene else ""
        raise self.fail(f"{of_scene}is {len(value):,} characters long, over the limit of "
                        f"{limit:,}", key=key, table=table, index=index, field_name=name,
                        hint="shorten it: a phrase or a few sentences is what the models read")

    def seed(self, value: int, *, key: str, table: str, index: int | None = None) -> int:
        if not SEED_MIN <= value <= SEED_MAX:
            raise self.fail(f"is {shorten(str(value), 20)}, outside {SEED_MIN}..{SEED_MAX}",
                            key=key, table=table,
                            index=index, field_name="seed",
                            hint="write a whole number from 0 to 4294967295")
        return value

    def preset_value(self, kind: PresetKind, value: str, *, key: str, table: str,
                     index: int | None, name: str) -> str:
        if self.catalog.get(kind, value) is not None or not _ID_SHAPE.match(value):
            return value
        near = self.catalog.suggest(kind, value)
        hint = f"did you mean \"{near}\"?" if near else (
            f"use one of: {', '.join(self.catalog.ids(kind))}")
        hint += " (free text with spaces is also accepted)"
        raise self.fail(f"names an unknown {kind.value} preset \"{shorten(value)}\"", key=key,
                        table=table, index=index, field_name=name, hint=hint)

    def preset_list(self, tbl: Mapping[str, Any], name: str, kind: PresetKind) -> tuple[str, ...]:
        raw = self.get(tbl, name, list, key=f"character.{name}", table="character")
        if raw is None:
            return ()
        if len(raw) > limits.SHEET_LIST_MAX_ITEMS:
            raise self.fail(f"lists {len(raw):,} values, over the limit of "
                            f"{limits.SHEET_LIST_MAX_ITEMS}", key=f"character.{name}",
                            table="character", field_name=name,
                            hint="keep the few presets that matter")
        out = []
        for item in raw:
            if not isinstance(item, str):
                raise self.fail(f"must list text values, not {_describe(item)}",
                                key=f"character.{name}", table="character", field_name=name)
            self.check_length(item, limits.SHEET_LIST_ITEM_MAX, key=f"character.{name}",
                              table="character", index=None, name=name)
            out.append(self.preset_value(kind, item, key=f"character.{name}",
                                         table="character", index=None, name=name))
        return tuple(out)

    def profile(self, data: Mapping[str, Any], stage: Stage) -> StageProfile:
        base = default_profile(stage)
        tbl = data.get(stage.value)
        if tbl is None:
            return base
        name = stage.value
        if not isinstance(tbl, dict):
            raise self.fail("must be a table", key=name, hint=f"write [{name}] on its own line")
        _no_unknown(self, tbl, {"provider", "model", "steps", "guidance", "negative"}, name, name)
        steps = self.get(tbl, "steps", int, key=f"{name}.steps", table=name)
        if steps is not None and not limits.STEPS_MIN <= steps <= limits.STEPS_MAX:
            raise self.fail(f"is {shorten(str(steps), 20)}, outside {limits.STEPS_MIN}.."
                            f"{limits.STEPS_MAX:,}", key=f"{name}.steps", table=name,
                            field_name="steps", hint="write the model's step count, e.g. 4")
        guidance = self.get(tbl, "guidance", (int, float), key=f"{name}.guidance", table=name)
        if guidance is not None and not limits.in_range(
                float(guidance), limits.GUIDANCE_MIN, limits.GUIDANCE_MAX):
            raise self.fail(f"is {shorten(str(guidance), 20)}, outside {limits.GUIDANCE_MIN:g}.."
                            f"{limits.GUIDANCE_MAX:g}", key=f"{name}.guidance", table=name,
                            field_name="guidance", hint="write a number such as 3.5")
        return StageProfile(
            stage=stage,
            provider=self.get(tbl, "provider", str, key=f"{name}.provider", table=name)
            or base.provider,
            model=self.get(tbl, "model", str, key=f"{name}.model", table=name) or base.model,
            steps=base.steps if steps is None else steps,
            guidance=base.guidance if guidance is None else float(guidance),
            negative=self.get(tbl, "negative", str, key=f"{name}.negative", table=name),
        )

    def character(self, data: Mapping[str, Any]) -> Character:
        tbl = data.get("character")
        if tbl is None:
            raise SheetError(self.path, "is missing", key="character",
                             hint="add a [character] table with name, anchor and seed")
        if not isinstance(tbl, dict):
            raise self.fail("must be a table", key="character",
                            hint="write [character] on its own line")
        _no_unknown(self, tbl, {"name", "anchor", "seed", "negative", "skin", "quality", "fields"},
                    "character", "character")
        name = self.get(tbl, "name", str, key="character.name", table="character",
                        required=True, hint="add name = \"Emma\" (a specific first name)")
        seed = self.get(tbl, "seed", int, key="character.seed", table="character",
                        required=True, hint="add seed = 42 (any whole number 0..4294967295)")
        seed = self.seed(seed, key="character.seed", table="character")
        anchor_fields = AnchorFields()
        raw_fields = tbl.get("fields")
        if raw_fields is not None:
            if not isinstance(raw_fields, dict):
                raise self.fail("must be a table", key="character.fields",
                                table="character.fields")
            _no_unknown(self, raw_fields, set(FIELD_NAMES), "character.fields", "character.fields")
            values = {}
            for fname in FIELD_NAMES:
                v = self.get(raw_fields, fname, str, key=f"character.fields.{fname}",
                             table="character.fields")
                if v is not None:
                    values[fname] = v
            anchor_fields = AnchorFields(**values)
        anchor = self.get(tbl, "anchor", str, key="character.anchor", table="character")
        if anchor is None:
            if anchor_fields.is_empty():
                raise self.fail("is missing", key="character.anchor", table="character",
                                hint="add anchor = \"30-year-old woman, dark brown wavy hair, "
                                "brown eyes\" or a [character.fields] table")
            anchor = compose_anchor(name, anchor_fields)
        return Character(
            name=name,
            anchor=anchor,
            seed=seed,
            fields=anchor_fields,
            negative=self.get(tbl, "negative", str, key="character.negative", table="character"),
            skin=self.preset_list(tbl, "skin", PresetKind.SKIN),
            quality=self.preset_list(tbl, "quality", PresetKind.QUALITY),
        )

    def scenes(self, data: Mapping[str, Any]) -> tuple[Scene, ...]:
        raw = data.get("scenes", [])
        if not isinstance(raw, list):
            raise self.fail("must be an array of tables", key="scenes",
                            hint="write each scene as a [[scenes]] table")
        if len(raw) > limits.SHEET_SCENES_MAX:
            raise self.fail(f"holds {len(raw):,} scenes, over the limit of "
                            f"{limits.SHEET_SCENES_MAX:,}", key="scenes",
                            hint="split the scenes over several sheets")
        out: list[Scene] = []
        names: set[str] = set()
        for i, tbl in enumerate(raw):
            key = f"scenes[{i + 1}]"
            if not isinstance(tbl, dict):
                raise self.fail("must be a table", key=key, hint="write [[scenes]] before it")
            _no_unknown(self, tbl, {"name", "setting", "lighting", "lens", "framing", "seed",
                                    "pattern", "notes"}, key, "scenes", i)

            def text(name: str, *, required: bool = False, hint: str = "",
                     _tbl: dict[str, Any] = tbl, _key: str = key, _i: int = i) -> str:
                scene = _tbl.get("name")
                value = self.get(_tbl, name, str, key=f"{_key}.{name}", table="scenes",
                                 index=_i, required=required, hint=hint,
                                 scene=scene if isinstance(scene, str) and name != "name"
                                 else None)
                return "" if value is None else str(value)

            name = text("name", required=True, hint="add name = \"Headshot\"")
            if not name.strip():
                raise self.fail("is empty", key=f"{key}.name", table="scenes", index=i,
                                field_name="name", hint="give the scene a name")
            if name in names:
                raise self.fail(f"repeats the scene name \"{shorten(name)}\"", key=f"{key}.name",
                                table="scenes", index=i, field_name="name",
                                hint="scene names must be unique within a sheet")
            names.add(name)
            setting = text("setting", required=True,
                           hint="add setting = \"neutral grey studio backdrop, medium shot\"")
            lighting = self.preset_value(PresetKind.LIGHTING, text("lighting"),
                                         key=f"{key}.lighting", table="scenes", index=i,
                                         name="lighting")
            lens = self.preset_value(PresetKind.LENS, text("lens"), key=f"{key}.lens",
                                     table="scenes", index=i, name="lens")
            pattern = self.preset_value(PresetKind.PATTERN, text("pattern"),
                                        key=f"{key}.pattern", table="scenes", index=i,
                                        name="pattern")
            if pattern and self.catalog.get(PresetKind.PATTERN, pattern) is None:
                raise self.fail(f"names an unknown pattern \"{shorten(pattern)}\"",
                                key=f"{key}.pattern",
                                table="scenes", index=i, field_name="pattern",
                                hint="use one of: "
                                + ", ".join(self.catalog.ids(PresetKind.PATTERN)))
            framing = text("framing") or "portrait"
            if frame_size(framing, self.catalog) is None:
                ids = ", ".join(self.catalog.ids(PresetKind.FRAMING))
                raise self.fail(f"\"{shorten(framing)}\" is neither a framing preset nor "
                                "WIDTHxHEIGHT",
                                key=f"{key}.framing", table="scenes", index=i,
                                field_name="framing", hint=f"use one of {ids}, or e.g. 768x1024")
            seed = self.get(tbl, "seed", int, key=f"{key}.seed", table="scenes", index=i)
            if seed is not None:
                seed = self.seed(seed, key=f"{key}.seed", table="scenes", index=i)
            out.append(Scene(name=name, setting=setting, lighting=lighting, lens=lens,
                             framing=framing, seed=seed, pattern=pattern, notes=text("notes")))
        return tuple(out)

    def sheet(self, data: Mapping[str, Any]) -> Sheet:
        fmt = data.get("format")
        if fmt is None:
            raise SheetError(self.path, "is missing", key="format",
                             line=None, hint=f"add format = {SHEET_FORMAT} as the first line")
        if not isinstance(fmt, int) or isinstance(fmt, bool):
            raise self.fail(f"must be a whole number, not {_describe(fmt)}", key="format",
                            field_name="format", hint=f"write format = {SHEET_FORMAT}")
        if fmt > SHEET_FORMAT:
            raise self.fail(f"is {shorten(str(fmt), 20)}, newer than this studio reads "
                            f"({SHEET_FORMAT})",
                            key="format", field_name="format",
                            hint="update Character Sheet Studio to open this sheet")
        if fmt < 1:
            raise self.fail(f"is {shorten(str(fmt), 20)}", key="format", field_name="format",
                            hint=f"write format = {SHEET_FORMAT}")
        _no_unknown(self, data, {"format", "title", "character", "preview", "final", "scenes"},
                    "", "")
        title = data.get("title", "")
        if not isinstance(title, str):
            raise self.fail(f"must be text, not {_describe(title)}", key="title",
                            field_name="title")
        self.check_length(title, _text_limit("title"), key="title", table="", index=None,
                          name="title")
        return Sheet(
            character=self.character(data),
            scenes=self.scenes(data),
            preview=self.profile(data, Stage.PREVIEW),
            final=self.profile(data, Stage.FINAL),
            title=title,
        )


_TYPE_WORDS: dict[type, str] = {
    str: "text in quotes", int: "a whole number", float: "a number", list: "a list [...]",
    dict: "a table", bool: "true or false",
}


def _text_limit(key: str) -> int:
    """The most characters the text value at ``key`` may hold (``core.limits``)."""
    if key.startswith("character.fields."):
        return limits.SHEET_ANCHOR_FIELD_MAX
    name = key.rpartition(".")[2]
    return limits.SHEET_TEXT_MAX.get(name, min(limits.SHEET_TEXT_MAX.values()))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, str):
        return f"the text \"{shorten(value)}\""
    if isinstance(value, int | float):
        return f"the number {shorten(str(value), 30)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _no_unknown(reader: _Reader, tbl: Mapping[str, Any], allowed: set[str], prefix: str,
                table: str, index: int | None = None) -> None:
    for key in tbl:
        if key not in allowed:
            near = (difflib.get_close_matches(key, sorted(allowed), n=1)
                    if len(key) <= limits.SHEET_KEY_MAX_CHARS else [])
            hint = f"did you mean \"{near[0]}\"?" if near else (
                "known keys: " + ", ".join(sorted(allowed)))
            shown = shorten(key, 40)
            full = f"{prefix}.{shown}" if prefix else shown
            raise reader.fail("is not a key of the sheet format", key=full, table=table,
                              index=index, field_name=key, hint=hint)


def _check_structure(text: str, path: str) -> None:
    """Refuse text too large or nested too deep for the TOML reader, before it runs."""
    if len(text) > limits.SHEET_FILE_MAX_BYTES:
        raise SheetError(path, f"is {limits.bytes_words(len(text))} of text, over the limit of "
                         f"{limits.bytes_words(limits.SHEET_FILE_MAX_BYTES)}",
                         hint="split its scenes over several sheets")
    excess = scan_toml(text, max_nesting=limits.SHEET_NESTING_MAX,
                       max_key_parts=limits.SHEET_KEY_PARTS_MAX)
    if excess is None:
        return
    if excess.kind == "nesting":
        most = limits.SHEET_NESTING_MAX
        problem = f"nests arrays or tables more than {most} levels deep, past the limit of {most}"
    else:
        most = limits.SHEET_KEY_PARTS_MAX
        problem = (f"has a dotted key or table name of more than {most} parts, past the limit "
                   f"of {most}")
    raise SheetError(path, problem, line=excess.line,
                     hint="a sheet needs two levels at most: is it really a sheet file?")


def parse_sheet(text: str, catalog: PresetCatalog, path: str = "<sheet>") -> Sheet:
    _check_structure(text, path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts the position in the text ("... (at line 2, column 11)") before 3.14.
        found = re.search(r"\s*\(at line (\d+), column \d+\)", str(exc))
        line = int(found.group(1)) if found else getattr(exc, "lineno", None)
        msg = str(exc)[: found.start()] if found else str(exc)
        raise SheetError(path, f"is not valid TOML ({msg})", line=line,
                         hint="check quotes, brackets and '=' on that line") from None
    except ValueError as exc:
        # int() refuses numbers of more than 4,300 digits inside the TOML reader.
        raise SheetError(path, f"is not valid TOML ({shorten(str(exc), 80)})",
                         hint="check the long numbers in it") from None
    except RecursionError:
        # The scan above bounds nesting; should the reader still recurse too deep (a caller
        # already deep in its stack), it is the same refusal, never a traceback.
        raise SheetError(path, "nests too deep to read",
                         hint="a sheet needs two levels at most: is it really a sheet file?"
                         ) from None
    return _Reader(text, path, catalog).sheet(data)


def load_sheet(path: Path, catalog: PresetCatalog) -> Sheet:
    limit = limits.SHEET_FILE_MAX_BYTES
    try:
        # Read in steps until the end or just past the limit, never the whole of whatever the
        # path names (a huge file, a device, a pipe), nor a buffer the size of the limit.
        chunks: list[bytes] = []
        total = 0
        with path.open("rb") as fh:
            while total <= limit and (chunk := fh.read(1 << 20)):
                chunks.append(chunk)
                total += len(chunk)
        raw = b"".join(chunks)
    except FileNotFoundError:
        raise SheetError(str(path), "does not exist", hint="check the path") from None
    except IsADirectoryError:
        raise SheetError(str(path), "is a folder, not a sheet file",
                         hint=f"pass a *{SHEET_SUFFIX} file") from None
    except OSError as exc:
        raise SheetError(str(path), f"cannot be read ({exc.strerror})") from None
    if len(raw) > limit:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        shown = f"{limits.bytes_words(size)}, " if size > limit else ""
        raise SheetError(str(path), f"is {shown}over the limit of {limits.bytes_words(limit)} "
                         "for a sheet file", hint="split its scenes over several sheets "
                         f"(a sheet holds at most {limits.SHEET_SCENES_MAX:,} scenes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SheetError(str(path), "is not UTF-8 text",
                         hint="save it as UTF-8 (is it really a sheet file?)") from None
    return parse_sheet(text, catalog, str(path))


# --------------------------------------------------------------------------- writing


def sheet_to_dict(sheet: Sheet) -> dict[str, Any]:
    ch = sheet.character
    character: dict[str, Any] = {"name": ch.name, "anchor": ch.anchor, "seed": ch.seed}
    if ch.negative is not None:
        character["negative"] = ch.negative
    if ch.skin:
        character["skin"] = list(ch.skin)
    if ch.quality:
        character["quality"] = list(ch.quality)
    if not ch.fields.is_empty():
        character["fields"] = {k: getattr(ch.fields, k) for k in FIELD_NAMES
                               if getattr(ch.fields, k)}
    out: dict[str, Any] = {"format": SHEET_FORMAT}
    if sheet.title:
        out["title"] = sheet.title
    out["character"] = character
    for profile in (sheet.preview, sheet.final):
        tbl: dict[str, Any] = {"provider": profile.provider, "model": profile.model,
                               "steps": profile.steps, "guidance": profile.guidance}
        if profile.negative is not None:
            tbl["negative"] = profile.negative
        out[profile.stage.value] = tbl
    scenes = []
    for sc in sheet.scenes:
        s: dict[str, Any] = {"name": sc.name, "setting": sc.setting}
        for key in ("lighting", "lens", "framing", "pattern", "notes"):
            value = getattr(sc, key)
            if value:
                s[key] = value
        if sc.seed is not None:
            s["seed"] = sc.seed
        scenes.append(s)
    if scenes:
        out["scenes"] = scenes
    return out


def dump_sheet(sheet: Sheet) -> str:
    return tomli_w.dumps(sheet_to_dict(sheet), multiline_strings=False)


def save_sheet(sheet: Sheet, path: Path) -> None:
    """Write next to the final name, fsync, then rename, so a crash never leaves half a file."""
    text = dump_sheet(sheet)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SheetError(str(path), f"could not be saved ({exc.strerror})",
                         hint="check free space and that the folder is writable") from exc
