"""What a sheet sends, recorded before the start-up path of a big render was made fast, checked
unchanged since: prompt parts, requests, fingerprints, the scenes the library records, and the
plans of both stages on every provider (takes, finals from previews, out-of-date notes).

The golden file holds a digest per item (``tests/render/data/plan_golden.json``); a failure
names the items that differ. When a prompt or planning rule changes on purpose, write the file
again with ``python -m tests.render.test_plan_golden`` and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studio.core import codec
from studio.core.fingerprint import fingerprint, fingerprint_texts, fingerprints
from studio.core.presets import PresetCatalog, load_catalog
from studio.core.prompt import build_request, compose_prompt, prompt_parts
from studio.core.request import Stage
from studio.core.settings import PROVIDER_IDS, Settings
from studio.core.sheet import Sheet, load_sheet
from studio.library import Approval, Library
from studio.library.binding import SheetBinding, bind_sheet, scene_spec
from studio.providers.base import Provider
from studio.providers.keys import no_keychain
from studio.providers.registry import build_providers
from studio.render.plan import (
    RenderPlan,
    choose_provider,
    out_of_date_cells,
    plan_finals,
    plan_previews,
)
from studio.runtime import provider_envs

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "data" / "plan_golden.json"


# ----------------------------------------------------------------------------- the sheets


def png(colour: tuple[int, int, int], size: tuple[int, int] = (6, 8)) -> bytes:
    """A small PNG whose bytes never change (stored, not compressed: no zlib version decides
    them), so the reference hashes in the golden file stay put."""
    raw = b"".join(b"\x00" + bytes(colour) * size[0] for _ in range(size[1]))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", size[0], size[1], 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b""))


CHARACTERS = {
    # Composed from its fields, with presets and free text, three references and a negative.
    "fields": ('[character]\nname = "Emma"\nseed = 42\nnegative = "cartoon, blurry"\n'
               'skin = ["pores-subsurface", "faint scar over the left brow"]\n'
               'quality = ["skin-pores-4k", "photoreal-raw"]\n'
               'references = [\n  { image = "refs/face.png", role = "face" },\n'
               '  { image = "refs/body.png", role = "full-body" },\n'
               '  { image = "refs/coat.png", role = "outfit" },\n]\n'
               '[character.fields]\nage = "30"\npresentation = "woman"\n'
               'hair = "dark brown wavy hair"\neyes = "brown"\noutfit = "a navy wool coat"\n'),
    # Written by hand with an outfit clause, one reference, stage settings of its own.
    "written": ('[character]\nname = "Mara"\nseed = 4294967295\n'
                'anchor = "Mara, 28-year-old man, short copper hair, wearing a green parka"\n'
                'references = [{ image = "refs/face.png", role = "face" }]\n'
                '[preview]\nprovider = "fal"\nmodel = "fal-ai/flux/schnell"\nsteps = 6\n'
                'guidance = 1.5\nnegative = "text, watermark"\n'
                '[final]\nprovider = "bfl"\nmodel = "flux-pro-1.1"\nsteps = 40\n'
                'guidance = 4\n'),
    # The least a sheet holds.
    "plain": '[character]\nname = "Ada"\nanchor = "Ada, older person, grey bun"\nseed = 0\n',
}

OUTFITS = ("", "red evening dress", "", "a grey hoodie, jeans", "wearing a raincoat")
REFERENCES = ("", "off", "light", "", "strong", "light", "")
LIGHTING = ("soft-studio", "", "golden-hour", "warm lamplight from the left", "rembrandt",
            "neon-cyberpunk")
LENSES = ("canon-ef-85", "", "sigma-35", "an old zoom lens", "hasselblad-film", "sony-135-gm",
          "iphone-15-pro")
FRAMINGS = ("portrait", "full-body", "landscape", "portrait-small", "768x1344", "1024x640")
PATTERNS = ("", "", "portrait-lighting", "editorial", "", "documentary", "environmental")


def varied(character: str, count: int) -> str:
    """A sheet whose scenes mix every per-scene setting (the lengths of the cycles are
    different, so the combinations vary across the scenes)."""
    lines = ["format = 1", f'title = "Varied {character}"', CHARACTERS[character]]
    for i in range(count):
        scene = [f'[[scenes]]\nname = "Panel {i}"',
                 f'setting = "place number {i % 13}, {("wide", "medium", "close")[i % 3]} shot"',
                 f'framing = "{FRAMINGS[i % len(FRAMINGS)]}"']
        for key, values in (("lighting", LIGHTING), ("lens", LENSES), ("pattern", PATTERNS),
                            ("outfit", OUTFITS), ("reference", REFERENCES)):
            value = values[i % len(values)]
            if value:
                scene.append(f'{key} = "{value}"')
        if i % 4 == 1:
            scene.append(f"seed = {i * 7919}")
        if i % 5 == 2:
            scene.append(f'notes = "note {i}"\ngroup = "group {i % 3}"')
        lines.append("\n".join(scene))
    return "\n".join(lines) + "\n"


def write_sheets(folder: Path) -> dict[str, Path]:
    """The sheets the golden file speaks of, written into ``folder``."""
    refs = folder / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    for name, colour in (("face", (200, 120, 90)), ("body", (60, 90, 160)),
                         ("coat", (30, 140, 60))):
        (refs / f"{name}.png").write_bytes(png(colour))
    sheets = {
        "emma": (ROOT / "examples" / "emma.sheet.toml").read_text(encoding="utf-8"),
        "template": (ROOT / "tests" / "data" / "format1-template.sheet.toml").read_text(
            encoding="utf-8"),
        "minimal": (ROOT / "tests" / "data" / "format1-minimal.sheet.toml").read_text(
            encoding="utf-8"),
        "fields": varied("fields", 70),
        "written": varied("written", 35),
        "plain": varied("plain", 12),
    }
    paths = {}
    for name, text in sheets.items():
        paths[name] = folder / f"{name}.sheet.toml"
        paths[name].write_text(text, encoding="utf-8")
    return paths


# ----------------------------------------------------------------------------- the snapshot


def providers() -> dict[str, Provider]:
    """Every provider, configured (nothing is sent: planning only prepares requests)."""
    env = {f"STUDIO_{pid.upper()}_API_KEY": "golden-key" for pid in PROVIDER_IDS}
    env["STUDIO_COMFYUI_BASE_URL"] = "http://127.0.0.1:9"
    return build_providers(provider_envs(env), Settings(), keychain=no_keychain)


def _digest(value: Any) -> str:
    text = json.dumps(codec.to_data(value), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _plan(plan: RenderPlan, parents: dict[int, str]) -> dict[str, Any]:
    jobs = []
    for job in plan.jobs:
        draft = codec.to_data(job.draft)
        # A preview's id depends on the order renders were recorded in: name it by its scene.
        draft["parent_id"] = parents.get(job.draft.parent_id or 0)
        jobs.append({"draft": draft, "notes": list(job.notes)})
    return {"stage": plan.stage.value, "jobs": jobs, "notes": list(plan.notes),
            "out_of_date": codec.to_data(plan.out_of_date)}


def _scenes(name: str, sheet: Sheet, catalog: PresetCatalog) -> Iterator[tuple[str, Any]]:
    for scene in sheet.scenes:
        key = f"{name}/{scene.name}"
        yield f"{key}/parts", prompt_parts(sheet, scene, catalog)
        yield f"{key}/prompt", compose_prompt(sheet, scene, catalog)
        yield f"{key}/spec", scene_spec(sheet, scene, catalog)
        yield f"{key}/fingerprints", fingerprints(sheet, scene, catalog)
        for stage in Stage:
            yield f"{key}/{stage.value}/request", build_request(sheet, scene, stage, catalog)
            yield f"{key}/{stage.value}/texts", fingerprint_texts(sheet, scene, stage, catalog)
            yield f"{key}/{stage.value}/fingerprint", fingerprint(sheet, scene, stage, catalog)


def _record_previews(library: Library, plan: RenderPlan) -> dict[int, str]:
    """Record each job of ``plan`` as a finished render (a tiny image); approve the preview
    every third scene's cell shows (its take recorded last). Returns render id -> scene name."""
    parents = {}
    shown: dict[str, int] = {}
    for number, job in enumerate(plan.jobs):
        record = library.renders.record(job.draft, png((number % 256, 40, 90), (4, 4)))
        parents[record.id] = f"{job.scene} #{number}"
        shown[job.scene] = record.id
    library.renders.set_approval(list(shown.values())[::3], Approval.APPROVED)
    return parents


def _plans(name: str, path: Path, sheet: Sheet, catalog: PresetCatalog,
           folder: Path) -> Iterator[tuple[str, Any]]:
    every = providers()
    library = Library.open(folder / f"library-{name}")
    try:
        binding = bind_sheet(library, sheet, path, catalog)
        yield f"{name}/binding/scenes", _binding_scenes(binding)
        for pid in PROVIDER_IDS:
            for stage in Stage:
                choice = choose_provider(every, stage, sheet.profile(stage).provider,
                                         sheet.profile(stage).model, provider_id=pid)
                planner = plan_previews if stage is Stage.PREVIEW else plan_finals
                yield (f"{name}/plan/{pid}/{stage.value}",
                       _plan(planner(library, binding, sheet, catalog, choice), {}))
        choice = choose_provider(every, Stage.PREVIEW, sheet.preview.provider,
                                 sheet.preview.model)
        three = plan_previews(library, binding, sheet, catalog, choice, takes=3)
        yield f"{name}/plan/sheet/preview-3-takes", _plan(three, {})
        picked = [s.name for s in sheet.scenes[1::2]]
        some = plan_previews(library, binding, sheet, catalog, choice, picked, takes=2)
        yield f"{name}/plan/sheet/preview-some", _plan(some, {})
        # Previews recorded, then the sheet changed: finals from previews, some out of date.
        parents = _record_previews(library, three)
        changed = _changed(sheet)
        binding = bind_sheet(library, changed, path, catalog)
        yield f"{name}/rebound/scenes", _binding_scenes(binding)
        yield f"{name}/rebound/out-of-date", out_of_date_cells(library, binding)
        for pid in ("modelslab", "bfl", "offline"):
            choice = choose_provider(every, Stage.FINAL, changed.final.provider,
                                     changed.final.model, provider_id=pid)
            yield (f"{name}/finals/{pid}",
                   _plan(plan_finals(library, binding, changed, catalog, choice), parents))
            yield (f"{name}/finals/{pid}/approved-2-takes",
                   _plan(plan_finals(library, binding, changed, catalog, choice,
                                     approved_only=True, takes=2), parents))
        choice = choose_provider(every, Stage.PREVIEW, changed.preview.provider,
                                 changed.preview.model)
        yield (f"{name}/rebound/previews",
               _plan(plan_previews(library, binding, changed, catalog, choice), parents))
    finally:
        library.close()


def _binding_scenes(binding: SheetBinding) -> list[Any]:
    return [{"name": s.name, "position": s.position, "setting": s.setting,
             "lighting": s.lighting, "lens": s.lens, "framing": s.framing, "notes": s.notes,
             "fingerprints": codec.to_data(dict(s.fingerprints))}
            for s in binding.scenes.values()]


def _changed(sheet: Sheet) -> Sheet:
    """The sheet with its first scene's lighting and its third scene's seed changed, and its
    last scene gone."""
    from dataclasses import replace

    scenes = list(sheet.scenes[:-1]) if len(sheet.scenes) > 1 else list(sheet.scenes)
    scenes[0] = replace(scenes[0], lighting="a single candle")
    if len(scenes) > 2:
        scenes[2] = replace(scenes[2], seed=(sheet.seed_for(scenes[2]) + 1) % 2**32)
    return sheet.with_scenes(tuple(scenes))


def snapshot(folder: Path) -> dict[str, str]:
    """A digest of every item, by name."""
    catalog = load_catalog()
    out: dict[str, str] = {}
    for name, path in write_sheets(folder).items():
        sheet = load_sheet(path, catalog)
        out[f"{name}/sheet"] = _digest(sheet)
        for key, value in (*_scenes(name, sheet, catalog),
                           *_plans(name, path, sheet, catalog, folder)):
            assert key not in out, key
            out[key] = _digest(value)
    return out


# ----------------------------------------------------------------------------- the test


def test_what_sheets_send_and_plan_is_as_recorded(tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = snapshot(tmp_path)
    assert set(now) == set(golden)
    differ = sorted(key for key in now if now[key] != golden[key])
    assert not differ, f"{len(differ)} of {len(now)} items differ, e.g. {differ[:8]}"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as where:
        items = snapshot(Path(where))
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(items, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(items)} items to {GOLDEN}", file=sys.stderr)
