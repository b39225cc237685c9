"""``scripts/bench http`` end to end with tiny counts: it starts a real server, drives it, and
ends with the JSON line the other benchmarks print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .bench_script import run_bench


def _last_json(stdout: str) -> dict[str, object]:
    record: dict[str, object] = json.loads(stdout.strip().splitlines()[-1])
    return record


def test_bench_http_reports_rate_latency_and_ratio_on_sqlite(tmp_path: Path) -> None:
    result = run_bench(
        ["http", "--clients", "2", "--count", "20", "--rounds", "1"],
        {"REGENZET_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    record = _last_json(result.stdout)
    assert record["bench"] == "http"
    assert record["store"] == "sqlite"
    assert record["errors"] == 0
    assert isinstance(record["ratio"], float)
    assert record["ratio"] > 0
    assert float(str(record["p99_ms"])) >= float(str(record["p50_ms"])) > 0
    # Throwaway storage only: nothing of the benchmark is left in the data dir.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("bench-")] == []


def test_bench_http_runs_the_followers_in_a_process_of_their_own(tmp_path: Path) -> None:
    result = run_bench(
        ["http", "--clients", "1", "--count", "10", "--rounds", "1", "--followers", "separate"],
        {"REGENZET_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = _last_json(result.stdout)
    assert (record["bench"], record["followers"], record["errors"]) == ("http", "separate", 0)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("bench-")] == []


@pytest.mark.postgres
def test_bench_http_runs_on_postgres_in_a_schema_it_drops(
    tmp_path: Path, postgres_dsn: str
) -> None:
    import psycopg

    result = run_bench(
        ["http", "--clients", "2", "--count", "20", "--rounds", "1"],
        {"REGENZET_DATA_DIR": str(tmp_path), "REGENZET_DATABASE_URL": postgres_dsn},
    )
    assert result.returncode == 0, result.stderr
    assert _last_json(result.stdout)["errors"] == 0
    with psycopg.connect(postgres_dsn) as conn:
        left = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'bench_http_%'"
        ).fetchone()
    assert left == (0,)
