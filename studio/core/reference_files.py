"""A sheet's reference images as files: the ``references`` key of ``[character]``, the image
files it names (relative to the sheet file) and their hashes.

The sheet file names each image by path; what a render sends is the image's content, so reading
a sheet (``studio.core.sheet.load_sheet``) hashes each file here, within the image limits, and a
file that cannot be used is one sentence naming it. Paths follow the sheet when it is saved
elsewhere (:func:`rebase_references`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.anchor import REFERENCES_MAX, ReferenceImage, ReferenceRole
from studio.core.errors import FileInputError, SheetError
from studio.core.imagefile import ImageFileError, content_hash, read_image_file
from studio.core.text import shorten
from studio.core.tomlfile import TomlReader, describe, find_line, text_limit

if TYPE_CHECKING:
    from studio.core.sheet import Sheet


def read_reference_list(reader: TomlReader,
                        tbl: Mapping[str, Any]) -> tuple[ReferenceImage, ...]:
    """``references = [{ image = "refs/face.png", role = "face" }, ...]`` of the ``[character]``
    table, checked; the files are read later (:func:`read_references`)."""
    example = '{ image = "refs/face.png", role = "face" }'
    raw = reader.get(tbl, "references", list, key="character.references", table="character",
                     hint=f"write references = [{example}]")
    if raw is None:
        return ()

    def fail(problem: str, key: str, hint: str = "") -> FileInputError:
        return reader.fail(problem, key=key, table="character", field_name="references",
                           hint=hint)

    if len(raw) > REFERENCES_MAX:
        raise fail(f"lists {len(raw):,} images, over the limit of {REFERENCES_MAX}",
                   "character.references", "keep the few that show the character best: a "
                   "face, the full body, an outfit")
    roles = ", ".join(f'"{r.value}"' for r in ReferenceRole)
    out: list[ReferenceImage] = []
    for i, item in enumerate(raw):
        key = f"character.references[{i + 1}]"
        if not isinstance(item, dict):
            raise fail(f"must be a table, not {describe(item)}", key, f"write {example}")
        for name in item:
            if name not in ("image", "role"):
                raise fail(f"has the key \"{shorten(name, 40)}\", which a reference does "
                           "not take", key, f"write {example}")
        image = item.get("image")
        if not isinstance(image, str):
            problem = "is missing" if image is None else (
                f"must be text in quotes, not {describe(image)}")
            raise fail(problem, f"{key}.image", "name the image file, relative to the "
                       "sheet file, e.g. image = \"refs/face.png\"")
        if not image.strip():
            raise fail("is empty", f"{key}.image", "name the image file, e.g. "
                       "image = \"refs/face.png\"")
        if "\x00" in image:
            raise fail("holds a NUL character, which no file name has", f"{key}.image",
                       "name the image file, e.g. image = \"refs/face.png\"")
        reader.check_length(image, text_limit("image"), key=f"{key}.image", table="character",
                            index=None, name="references")
        if any(r.path == image for r in out):
            raise fail(f"repeats the image \"{shorten(image)}\"", f"{key}.image",
                       "list each image once")
        role = item.get("role", ReferenceRole.OTHER.value)
        if role not in {r.value for r in ReferenceRole}:
            shown = f"\"{shorten(role)}\"" if isinstance(role, str) else describe(role)
            raise fail(f"is {shown}, not a role of a reference image", f"{key}.role",
                       f"use one of {roles}")
        out.append(ReferenceImage(sha256="", role=ReferenceRole(role), path=image))
    return tuple(out)


def reference_file(sheet_path: Path, reference: ReferenceImage) -> Path:
    """Where the file of ``reference`` is: its path taken from the sheet file's folder."""
    return Path(sheet_path).parent / reference.path


def read_references(sheet: Sheet, sheet_path: Path, text: str | None = None) -> Sheet:
    """``sheet`` with the hash of each reference image's file (paths relative to
    ``sheet_path``); a file that is missing, unreadable, over the size limit or not a PNG, JPEG
    or WebP image is a SheetError naming it (``text``, the sheet's own text, locates the line).
    """
    refs = sheet.character.references
    if not refs:
        return sheet
    out = []
    for i, ref in enumerate(refs):
        file = reference_file(sheet_path, ref)
        try:
            data = read_image_file(file)
        except ImageFileError as exc:
            # Found only for the sentence: a sheet of thousands of scenes is long to split.
            line = find_line((text or "").splitlines(), "character", "references")
            raise SheetError(str(sheet_path), f"names the image {shorten(ref.path)}, which "
                             f"{exc.problem}", key=f"character.references[{i + 1}].image",
                             line=line, hint=exc.hint) from None
        out.append(replace(ref, sha256=content_hash(data)))
    return replace(sheet, character=replace(sheet.character, references=tuple(out)))


def reference_from_file(file: Path, sheet_path: Path | None,
                        role: ReferenceRole = ReferenceRole.OTHER) -> ReferenceImage:
    """A reference to the image at ``file`` (read and hashed; an ImageFileError when it cannot
    be used), its path relative to the sheet's folder when it is inside it, else absolute."""
    data = read_image_file(file)
    path = Path(file).resolve()
    shown = str(path)
    if sheet_path is not None:
        folder = Path(sheet_path).resolve().parent
        if path.is_relative_to(folder):
            shown = path.relative_to(folder).as_posix()
    return ReferenceImage(sha256=content_hash(data), role=role, path=shown)


def rebase_references(sheet: Sheet, old_path: Path | None, new_path: Path) -> Sheet:
    """``sheet`` as saved under ``new_path``: each reference path rewritten so it still names
    the same file (relative to the new folder where it can be, else absolute)."""
    refs = sheet.character.references
    if not refs or old_path is None:
        return sheet
    old = Path(old_path).resolve().parent
    new = Path(new_path).resolve().parent
    if old == new:
        return sheet
    moved = []
    for ref in refs:
        target = (old / ref.path).resolve()
        path = (target.relative_to(new).as_posix() if target.is_relative_to(new)
                else str(target))
        moved.append(replace(ref, path=path))
    return replace(sheet, character=replace(sheet.character, references=tuple(moved)))
