"""Runs ``scripts/bench`` (the benchmarks live in benchmarks/, outside the product) the way a
developer does, on the interpreter running the tests (its venv as REGENZET_VENV)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bench(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")}
    full_env.update(env)
    full_env["REGENZET_VENV"] = sys.prefix
    return subprocess.run(
        [str(REPO / "scripts" / "bench"), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
