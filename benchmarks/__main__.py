"""``python -m benchmarks NAME [options]`` (what ``scripts/bench`` runs)."""

from benchmarks.cli import main

main()
