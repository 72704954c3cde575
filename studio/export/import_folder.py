"""Where an import's files wait until the library has recorded the bundle: a hidden folder
beside the target, moved into place in one step at the end, and removed (with any folder made
for it) if the import fails."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from studio.export.bundle import BundleError
from studio.library.storage import fsync_dir


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, deepest first."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
    return missing


class Unpacked:
    """The bundle's files unpacked into a hidden folder beside the target, moved into place in
    one step at the end, and removed (with any folder made for them) if the import fails."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._moved: list[Path] = []
        self._made_target = False
        self._made_parents: list[Path] = []
        try:
            self._made_parents = _make_parents(target.parent)
            self.staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.importing-",
                                                 dir=target.parent)).resolve()
        except BaseException:
            self._remove_parents()
            raise

    def _remove_parents(self) -> None:
        for folder in self._made_parents:
            with contextlib.suppress(OSError):
                folder.rmdir()

    def final_paths(self, written: Sequence[Path]) -> tuple[Path, ...]:
        return tuple(self.target / p.relative_to(self.staging) for p in written)

    def move_into_place(self) -> None:
        """The unpacked files under ``target``: the folder renamed into place when the target
        is new, else each file moved in (none of them may exist there)."""
        if not self.target.exists():
            self.staging.rename(self.target)
            self._made_target = True
        else:
            for path in sorted(self.staging.iterdir()):
                final = self.target / path.name
                if final.exists() or final.is_symlink():
                    raise BundleError(f"{final} appeared while the bundle was imported; "
                                      "import into an empty folder.")
                path.rename(final)
                self._moved.append(final)
        fsync_dir(self.target)
        fsync_dir(self.target.parent)

    def undo(self) -> None:
        """Remove what the import put in place (the library's transaction is rolling back)."""
        if self._made_target:
            shutil.rmtree(self.target, ignore_errors=True)
            self._made_target = False
        for path in self._moved:
            with contextlib.suppress(OSError):
                path.unlink()
        self._moved.clear()

    def close(self, failed: bool) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        if failed:
            self.undo()
            self._remove_parents()

