"""``scripts/bench projections`` end to end with tiny counts: it pre-fills a scratch log,
rebuilds every read model in batches and one event per transaction, runs the followers live
under a trickle of writes, and ends with the JSON line the other benchmarks print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .bench_script import run_bench

TINY = [
    "projections",
    "--events",
    "400",
    "--batch",
    "50",
    "--anchor-events",
    "60",
    "--live-seconds",
    "1",
    "--live-rate",
    "10",
]
READ_MODELS = {"workshop_board", "vehicle_profiles", "customer_portal"}


def _last_json(stdout: str) -> dict[str, object]:
    record: dict[str, object] = json.loads(stdout.strip().splitlines()[-1])
    return record


def _check(record: dict[str, object], store: str) -> None:
    assert record["bench"] == "projections"
    assert record["store"] == store
    assert record["unit"] == "events/s"
    assert int(str(record["events"])) >= 400
    assert record["batch"] == 50
    assert record["anchor_events"] == 60
    assert float(str(record["value"])) > 0
    assert float(str(record["anchor"])) > 0
    assert isinstance(record["ratio"], float)
    per_model = record["per_model"]
    assert isinstance(per_model, dict)
    # Every read model build_followers runs, which may grow beyond the first three.
    assert set(per_model) >= READ_MODELS
    assert record["live_writes"] == 10
    assert float(str(record["lag_p99_ms"])) >= float(str(record["lag_p50_ms"])) >= 0


def test_bench_projections_reports_catch_up_anchor_and_lag_on_sqlite(tmp_path: Path) -> None:
    result = run_bench(TINY, {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    _check(_last_json(result.stdout), "sqlite")
    # Throwaway storage only (the read-model file lives in the scratch directory too).
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("bench-")] == []
    assert not (tmp_path / "read_models.db").exists()


@pytest.mark.postgres
def test_bench_projections_runs_on_postgres_in_a_schema_it_drops(
    tmp_path: Path, postgres_dsn: str
) -> None:
    import psycopg

    result = run_bench(
        TINY, {"REGENZET_DATA_DIR": str(tmp_path), "REGENZET_DATABASE_URL": postgres_dsn}
    )
    assert result.returncode == 0, result.stderr
    _check(_last_json(result.stdout), "postgres")
    with psycopg.connect(postgres_dsn) as conn:
        left = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'bench_proj_%'"
        ).fetchone()
    assert left == (0,)
