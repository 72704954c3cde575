"""`python -m studio` runs the same entry point as the `studio` console script."""

import sys

from studio.cli import main

sys.exit(main())
