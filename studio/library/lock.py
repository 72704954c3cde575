"""One writer per library: an advisory lock on ``library.lock`` beside the database.

The lock is held for as long as a writable ``Library`` is open and is released by the operating
system when the process dies, so a crash never leaves the library locked.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path


class LockHeld(Exception):
    """Another process (or another ``Library`` in this one) holds the lock."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class WriterLock:
    """Held exclusive lock; ``release`` (or process exit) lets the next writer in."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(
        cls, path: Path, *, wait_seconds: float = 0.0, poll_seconds: float = 0.05
    ) -> WriterLock:
        """Take the lock, waiting up to ``wait_seconds``; raises ``LockHeld`` naming the holder.

        OSError from creating the lock file (read-only folder, full disk) propagates.
        """
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        try:
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise LockHeld(_read_holder(path))
                time.sleep(poll_seconds)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Closing the descriptor drops the lock.
        os.close(fd)


def _read_holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"
