"""``scripts/bench search`` end to end with tiny counts: it seeds the directory read models in
throwaway storage, times both searches beside their raw SQL, prints the plans and ends with the
JSON line the other benchmarks print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .bench_script import run_bench

TINY = ["search", "--customers", "3000", "--vehicles", "4000", "--queries", "20"]


def _check(stdout: str, store: str) -> None:
    record = json.loads(stdout.strip().splitlines()[-1])
    assert (record["bench"], record["store"]) == ("search", store)
    assert (record["customers"], record["vehicles"], record["queries"]) == (3000, 4000, 20)
    assert record["value"] > 0
    assert record["anchor"] > 0
    assert record["plate_p50_us"] > 0
    assert record["plate_raw_p50_us"] > 0
    assert record["plans_use_indexes"] is True
    assert "plan, customer search" in stdout
    assert "plan, plate search" in stdout


def test_bench_search_on_sqlite_leaves_nothing_behind(tmp_path: Path) -> None:
    result = run_bench(TINY, {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    _check(result.stdout, "sqlite")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("bench-")] == []
    assert not (tmp_path / "read_models.db").exists()


@pytest.mark.postgres
def test_bench_search_on_postgres_drops_its_schema(tmp_path: Path, postgres_dsn: str) -> None:
    import psycopg

    result = run_bench(
        TINY, {"REGENZET_DATA_DIR": str(tmp_path), "REGENZET_DATABASE_URL": postgres_dsn}
    )
    assert result.returncode == 0, result.stderr
    _check(result.stdout, "postgres")
    with psycopg.connect(postgres_dsn) as conn:
        left = conn.execute(
            "SELECT count(*) FROM information_schema.schemata"
            " WHERE schema_name LIKE 'bench_search_%'"
        ).fetchone()
    assert left == (0,)
