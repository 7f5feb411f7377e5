"""`python -m searchkit` runs the CLI."""

from .surfaces.cli import run

run()
