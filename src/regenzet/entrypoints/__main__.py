"""``python -m regenzet.entrypoints`` runs the CLI (used by tests and containers)."""

from regenzet.entrypoints.cli import main

main()
