"""Entry point of the packaged window (what desktop launchers start): opens the studio, or the
sheet file given as the first argument."""

import multiprocessing
import sys

from studio.cli import main

if __name__ == "__main__":
    # Identity scoring analyses faces in a spawned child process; in a frozen app that child
    # is this same program, which must hand over to multiprocessing before anything else.
    multiprocessing.freeze_support()
    sys.exit(main(["open", sys.argv[1]] if len(sys.argv) > 1 else []))
