"""`python -m studio` runs the same entry point as the `studio` console script."""

from studio.cli import run

run()
