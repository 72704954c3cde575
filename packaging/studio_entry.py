"""Entry point of the packaged `studio` program: the headless commands (no command opens the
window), exactly as the `studio` console script of the wheel."""

import multiprocessing
import sys

from studio.cli import main

if __name__ == "__main__":
    # Identity scoring analyses faces in a spawned child process; in a frozen app that child
    # is this same program, which must hand over to multiprocessing before anything else.
    multiprocessing.freeze_support()
    sys.exit(main())
