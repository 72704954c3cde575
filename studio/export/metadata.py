"""The settings exports carry: the sheet PNG's chunks, the bundle's JSON and CSV rows.

Nothing here ever holds a provider key: records are built from named fields only, and
``scrub`` drops any entry whose name looks like a secret before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from studio.core.parameters import ImageParameters, format_parameters
from studio.export.model import SheetDocument

SHEET_RECORD_KIND = "character-sheet"
_SECRET = re.compile(r"(api[_-]?key|secret|token|password|authori[sz]ation|credential|^key$)",
                     re.IGNORECASE)

#: The bundle CSV's columns, in order (the JSON has these and more).
SETTINGS_COLUMNS: tuple[str, ...] = (
    "file",
    "render_id",
    "scene",
    "stage",
    "character",
    "provider",
    "model",
    "prompt",
    "negative",
    "seed",
    "seed_requested",
    "seed_returned",
    "width",
    "height",
    "steps",
    "guidance",
    "anchor_version",
    "lighting",
    "lens",
    "framing",
    "approval",
    "star",
    "tags",
    "cost",
    "created",
    "sha256",
    "identity_distance",
    "identity_verdict",
)


def scrub(value: Any) -> Any:
    """``value`` with every mapping entry whose key names a secret removed, recursively."""
    if isinstance(value, Mapping):
        return {str(k): scrub(v) for k, v in value.items() if not _SECRET.search(str(k))}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def sheet_parameters(doc: SheetDocument, width: int, height: int) -> str:
    """The sheet PNG's ``parameters`` text: the anchor as the prompt, the locked seed, size."""
    models = sorted({c.model for c in doc.cells if c.image is not None and c.model})
    providers = sorted({c.provider for c in doc.cells if c.image is not None and c.provider})
    return format_parameters(
        ImageParameters(
            prompt=doc.anchor,
            seed=doc.seed,
            width=width,
            height=height,
            model=", ".join(models),
            provider=", ".join(providers),
            extra={"Sheet": doc.display_title, "Scenes": str(len(doc.cells))},
        )
    )


def sheet_record(doc: SheetDocument) -> dict[str, Any]:
    """The sheet PNG's ``studio`` record: the header and every cell's settings."""
    record: dict[str, Any] = scrub(
        {
            "kind": SHEET_RECORD_KIND,
            "title": doc.display_title,
            "character_name": doc.character,
            "prompt": doc.anchor,
            "anchor_version": doc.anchor_version,
            "seed_requested": doc.seed,
            "cells": [
                {
                    "scene": c.scene,
                    "stage": None if c.stage is None else c.stage.value,
                    "render_id": c.render_id,
                    "seed": c.seed,
                    "model": c.model,
                    "provider": c.provider,
                    "lighting": c.lighting,
                    "lens": c.lens,
                    "out_of_date": list(c.out_of_date),
                }
                for c in doc.cells
            ],
        }
    )
    return record


def settings_json(rows: Sequence[Mapping[str, Any]]) -> bytes:
    return (json.dumps(scrub(list(rows)), indent=2, ensure_ascii=False, sort_keys=True)
            + "\n").encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def settings_csv(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The rows as CSV (UTF-8 with a byte-order mark, so spreadsheet apps read accents)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SETTINGS_COLUMNS)
    for row in rows:
        clean = scrub(row)
        writer.writerow([_cell(clean.get(col)) for col in SETTINGS_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
