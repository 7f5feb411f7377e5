"""`python -m searchkit` runs the CLI."""

from .cli import main

main()
