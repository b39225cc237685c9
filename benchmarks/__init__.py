"""ReGenZet's benchmarks: throughput and latency of the product's paths, each beside an anchor
measured in the same run (docs/benchmarks.md). Run with ``scripts/bench NAME [options]``.

Not part of the product: this package sits beside ``src/`` and is not in the wheel; it drives
the product through its public seams (the composition root, the use cases, the followers).
"""
