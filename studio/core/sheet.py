"""Sheets and their files: a character, its scenes and the two stage profiles.

The ``*.sheet.toml`` format is a contract (DESIGN.md). Reading a file checks every key and
reports the first problem as one message naming the file, the key or line and what to write
instead; writing gives back a file that reads as the same sheet.

A sheet names its character's reference images by path, relative to the sheet file.
:func:`parse_sheet` reads the text alone and leaves each reference's hash empty;
:func:`load_sheet` also reads the image files (``studio.core.reference_files``), so the sheet it
returns knows what each cell would send.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from studio.core import limits
from studio.core.anchor import (
    FIELD_NAMES,
    AnchorFields,
    ReferenceStrength,
    compose_anchor,
)
from studio.core.errors import SheetError
from studio.core.files import write_atomic
from studio.core.presets import PresetCatalog, PresetKind
from studio.core.reference_files import read_reference_list, read_references
from studio.core.request import SEED_MAX, SEED_MIN, Stage
from studio.core.sheet_model import (
    Character,
    Scene,
    Sheet,
    frame_size,
    scene_anchor,
    scene_reference_strength,
    scene_references,
)
from studio.core.stages import StageProfile, default_profile
from studio.core.text import shorten
from studio.core.tomlfile import (
    TomlReader,
    describe,
    parse_toml,
    read_toml_file,
    text_limit,
)

SHEET_FORMAT = 1
SHEET_SUFFIX = ".sheet.toml"

#: The sheet itself lives in :mod:`studio.core.sheet_model`; its names are offered here too, so
#: one import gives a sheet and its file.
__all__ = [
    "SHEET_FORMAT", "SHEET_SUFFIX", "Character", "Scene", "Sheet", "dump_sheet", "frame_size",
    "load_sheet", "parse_sheet", "save_sheet", "scene_anchor", "scene_reference_strength",
    "scene_references", "sheet_to_dict",
]


# --------------------------------------------------------------------------- reading


#: The keys a scene table may hold.
_SCENE_KEYS = frozenset({"name", "setting", "lighting", "lens", "framing", "seed", "pattern",
                         "notes", "group", "outfit", "reference"})
#: The most characters of each text key of a scene (``core.limits``).
_SCENE_TEXT_MAX = {name: text_limit(f"scenes.{name}") for name in _SCENE_KEYS}
#: The text keys of a scene and their limits, for the short way (:meth:`_Reader._plain_scene`).
_PLAIN_TEXT_MAX = {name: most for name, most in _SCENE_TEXT_MAX.items() if name != "seed"}
_STRENGTHS = {s.value: s for s in ReferenceStrength}


class _Reader(TomlReader):
    """Turns a parsed TOML document into a Sheet, raising SheetError at the first problem."""

    error = SheetError
    format_name = "the sheet format"

    def __init__(self, text: str, path: str, catalog: PresetCatalog) -> None:
        super().__init__(text, path, catalog)
        #: Scene values already found to be presets or free text, and framings found valid.
        self._accepted: set[tuple[PresetKind, str]] = set()
        self._framings: set[str] = set()

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
                raise self.fail(f"must list text values, not {describe(item)}",
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
        self.no_unknown(tbl, {"provider", "model", "steps", "guidance", "negative"}, name, name)
        steps = self.get(tbl, "steps", int, key=f"{name}.steps", table=name)
        if steps is not None and not limits.STEPS_MIN <= steps <= limits.STEPS_MAX:
            raise self.fail(f"is {shorten(str(steps), 20)}, outside {limits.STEPS_MIN}.."
                            f"{limits.STEPS_MAX:,}", key=f"{name}.steps", table=name,
                            field_name="steps", hint="write the model's step count, e.g. 4")
        guidance = self.get(tbl, "guidance", (int, float), key=f"{name}.guidance", table=name)
        if guidance is not None and not limits.in_range(
                guidance, limits.GUIDANCE_MIN, limits.GUIDANCE_MAX):
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
        self.no_unknown(tbl, {"name", "anchor", "seed", "negative", "skin", "quality", "fields",
                              "references"}, "character", "character")
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
            self.no_unknown(raw_fields, set(FIELD_NAMES), "character.fields", "character.fields")
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
            references=read_reference_list(self, tbl),
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
            scene = self._plain_scene(tbl) if type(tbl) is dict else None
            if scene is None:
                scene = self._scene(tbl, i, names)
            elif scene.name in names:
                # The one problem a plain scene can have (see _scene for the same sentence).
                raise self.fail(f"repeats the scene name \"{shorten(scene.name)}\"",
                                key=f"scenes[{i + 1}].name", table="scenes", index=i,
                                field_name="name",
                                hint="scene names must be unique within a sheet")
            names.add(scene.name)
            out.append(scene)
        return tuple(out)

    def _plain_scene(self, tbl: dict[str, Any]) -> Scene | None:
        """The scene of a table whose every value is plainly right: known keys, text within
        its limit, presets and framings this sheet has already accepted, a seed in range; None
        when anything needs :meth:`_scene` (which names the first problem, in its order).

        The short way for the thousands of scenes of a storyboard, which repeat a few values:
        it makes the same Scene as :meth:`_scene` and leaves only the scene's name to check.
        """
        for key, value in tbl.items():
            if type(value) is str:
                if len(value) > _PLAIN_TEXT_MAX.get(key, -1):  # -1: not a text key
                    return None
            elif key != "seed" or type(value) is not int or not SEED_MIN <= value <= SEED_MAX:
                return None
        get = tbl.get
        name, setting = get("name"), get("setting")
        if name is None or setting is None or not name.strip():
            return None
        accepted = self._accepted
        lighting, lens, pattern = get("lighting", ""), get("lens", ""), get("pattern", "")
        if ((lighting and (PresetKind.LIGHTING, lighting) not in accepted)
                or (lens and (PresetKind.LENS, lens) not in accepted)
                # (a pattern the catalog lacks ends the reading in _scene: one accepted is known)
                or (pattern and (PresetKind.PATTERN, pattern) not in accepted)):
            return None
        framing = get("framing") or "portrait"
        reference = get("reference") or None
        if framing not in self._framings or (reference is not None
                                             and reference not in _STRENGTHS):
            return None
        return Scene(name=name, setting=setting, lighting=lighting, lens=lens, framing=framing,
                     seed=get("seed"), pattern=pattern, notes=get("notes", ""),
                     group=get("group", ""), outfit=get("outfit", ""),
                     reference=None if reference is None else _STRENGTHS[reference])

    def _scene(self, tbl: object, i: int, names: set[str]) -> Scene:
        """The scene of the ``i``-th table, every value checked: the first problem is a
        SheetError naming the scene's key and line (``names``: the scenes before it)."""
        key = f"scenes[{i + 1}]"
        if not isinstance(tbl, dict):
            raise self.fail("must be a table", key=key, hint="write [[scenes]] before it")
        if not tbl.keys() <= _SCENE_KEYS:
            self.no_unknown(tbl, _SCENE_KEYS, key, "scenes", i)

        def text(name: str, *, required: bool = False, hint: str = "",
                 _tbl: dict[str, Any] = tbl, _key: str = key, _i: int = i) -> str:
            value = _tbl.get(name)
            if type(value) is str and len(value) <= _SCENE_TEXT_MAX[name]:
                return value  # the common case, before the checks that name the problem
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
        setting = text("setting", required=True,
                       hint="add setting = \"neutral grey studio backdrop, medium shot\"")
        lighting = self.scene_preset(PresetKind.LIGHTING, text("lighting"), key, i,
                                     "lighting")
        lens = self.scene_preset(PresetKind.LENS, text("lens"), key, i, "lens")
        pattern = self.scene_preset(PresetKind.PATTERN, text("pattern"), key, i, "pattern")
        if pattern and self.catalog.get(PresetKind.PATTERN, pattern) is None:
            raise self.fail(f"names an unknown pattern \"{shorten(pattern)}\"",
                            key=f"{key}.pattern",
                            table="scenes", index=i, field_name="pattern",
                            hint="use one of: "
                            + ", ".join(self.catalog.ids(PresetKind.PATTERN)))
        framing = text("framing") or "portrait"
        if framing not in self._framings:
            if frame_size(framing, self.catalog) is None:
                ids = ", ".join(self.catalog.ids(PresetKind.FRAMING))
                raise self.fail(f"\"{shorten(framing)}\" is neither a framing preset nor "
                                "WIDTHxHEIGHT",
                                key=f"{key}.framing", table="scenes", index=i,
                                field_name="framing",
                                hint=f"use one of {ids}, or e.g. 768x1024")
            self._framings.add(framing)
        seed = tbl.get("seed")
        if seed is not None:
            seed = self.get(tbl, "seed", int, key=f"{key}.seed", table="scenes", index=i)
            seed = self.seed(seed, key=f"{key}.seed", table="scenes", index=i)
        reference = text("reference") or None
        if reference is not None and reference not in _STRENGTHS:
            raise self.fail(f"is \"{shorten(reference)}\", not a reference strength",
                            key=f"{key}.reference", table="scenes", index=i,
                            field_name="reference", hint="use \"off\", \"light\" or "
                            "\"strong\" (strong when left out)")
        return Scene(name=name, setting=setting, lighting=lighting, lens=lens,
                     framing=framing, seed=seed, pattern=pattern, notes=text("notes"),
                     group=text("group"), outfit=text("outfit"),
                     reference=None if reference is None else _STRENGTHS[reference])

    def scene_preset(self, kind: PresetKind, value: str, key: str, index: int,
                     name: str) -> str:
        """:meth:`preset_value` of a scene's ``name``; a value once accepted is not looked up
        again (a sheet's scenes use a few presets many times)."""
        if (kind, value) in self._accepted:
            return value
        value = self.preset_value(kind, value, key=f"{key}.{name}", table="scenes", index=index,
                                  name=name)
        self._accepted.add((kind, value))
        return value

    def sheet(self, data: Mapping[str, Any]) -> Sheet:
        fmt = data.get("format")
        if fmt is None:
            raise SheetError(self.path, "is missing", key="format",
                             line=None, hint=f"add format = {SHEET_FORMAT} as the first line")
        if not isinstance(fmt, int) or isinstance(fmt, bool):
            raise self.fail(f"must be a whole number, not {describe(fmt)}", key="format",
                            field_name="format", hint=f"write format = {SHEET_FORMAT}")
        if fmt > SHEET_FORMAT:
            raise self.fail(f"is {shorten(str(fmt), 20)}, newer than this studio reads "
                            f"({SHEET_FORMAT})",
                            key="format", field_name="format",
                            hint="update Character Sheet Studio to open this sheet")
        if fmt < 1:
            raise self.fail(f"is {shorten(str(fmt), 20)}", key="format", field_name="format",
                            hint=f"write format = {SHEET_FORMAT}")
        self.no_unknown(data, {"format", "title", "template", "character", "preview", "final",
                               "scenes"}, "", "")
        title = data.get("title", "")
        if not isinstance(title, str):
            raise self.fail(f"must be text, not {describe(title)}", key="title",
                            field_name="title")
        self.check_length(title, text_limit("title"), key="title", table="", index=None,
                          name="title")
        # Informational: a sheet made from a template another studio has still opens.
        template = self.get(data, "template", str, key="template",
                            hint="write the id of the template, e.g. template = \"turnaround\"")
        return Sheet(
            character=self.character(data),
            scenes=self.scenes(data),
            preview=self.profile(data, Stage.PREVIEW),
            final=self.profile(data, Stage.FINAL),
            title=title,
            template=template or "",
        )


def parse_sheet(text: str, catalog: PresetCatalog, path: str = "<sheet>") -> Sheet:
    data = parse_toml(text, path, SheetError)
    return _Reader(text, path, catalog).sheet(data)


def load_sheet(path: Path, catalog: PresetCatalog) -> Sheet:
    """The sheet file at ``path``, with its reference images read (:func:`read_references`)."""
    text = read_toml_file(path, SheetError, "sheet")
    return read_references(parse_sheet(text, catalog, str(path)), path, text)


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
    if ch.references:
        character["references"] = [{"image": r.path, "role": r.role.value}
                                   for r in ch.references]
    out: dict[str, Any] = {"format": SHEET_FORMAT}
    if sheet.title:
        out["title"] = sheet.title
    if sheet.template:
        out["template"] = sheet.template
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
        for key in ("lighting", "lens", "framing", "pattern", "notes", "group", "outfit"):
            value = getattr(sc, key)
            if value:
                s[key] = value
        if sc.seed is not None:
            s["seed"] = sc.seed
        if sc.reference is not None:
            s["reference"] = sc.reference.value
        scenes.append(s)
    if scenes:
        out["scenes"] = scenes
    return out


def dump_sheet(sheet: Sheet) -> str:
    import tomli_w  # read when a sheet is written: a window shows itself without it

    return tomli_w.dumps(sheet_to_dict(sheet), multiline_strings=False)


def save_sheet(sheet: Sheet, path: Path) -> None:
    """Write in one step (core.files), so a crash never leaves half a file."""
    text = dump_sheet(sheet)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise SheetError(str(path), f"could not be saved ({exc.strerror})",
                         hint="check free space and that the folder is writable") from exc
