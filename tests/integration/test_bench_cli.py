"""``scripts/bench``: the benchmarks' own entry (outside the product's CLI and wheel)."""

from __future__ import annotations

from pathlib import Path

from .bench_script import run_bench
from .test_cli import run

BENCHMARKS = (
    "append",
    "replay",
    "verify",
    "http",
    "projections",
    "search",
    "chat",
    "fleet",
    "media-upload",
)


def test_scripts_bench_lists_every_benchmark(tmp_path: Path) -> None:
    result = run_bench(["--help"], {"REGENZET_DATA_DIR": str(tmp_path)}, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in BENCHMARKS:
        assert f"  {name} " in result.stdout


def test_a_bad_option_gives_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = run_bench(
        ["append", "--count", "0"], {"REGENZET_DATA_DIR": str(tmp_path)}, timeout=120
    )
    assert result.returncode != 0
    assert "--count" in result.stderr
    assert "Traceback" not in result.stderr
    assert "p@" not in result.stderr  # never the password


def test_the_product_cli_has_no_bench_command(tmp_path: Path) -> None:
    result = run(["bench", "append"], {"REGENZET_DATA_DIR": str(tmp_path)}, timeout=60)
    assert result.returncode != 0
    assert "No such command 'bench'" in result.stderr
