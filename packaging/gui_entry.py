"""Entry point of the packaged window (what desktop launchers start): opens the studio, or the
sheet file given as the first argument."""

import sys

from studio.cli import main

if __name__ == "__main__":
    sys.exit(main(["open", sys.argv[1]] if len(sys.argv) > 1 else []))
