"""Entry point of the packaged `studio` program: the headless commands (no command opens the
window), exactly as the `studio` console script of the wheel."""

import sys

from studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
