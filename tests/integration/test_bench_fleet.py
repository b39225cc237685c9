"""``scripts/bench fleet`` end to end with tiny sizes: one customer's history seeded into a
scratch log per size, every read model caught up, the tails timed per read model, on SQLite and
(given a DSN) Postgres in one run, ending with the JSON line the other benchmarks print. No
figure is asserted: a benchmark is not a timed test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .bench_script import run_bench
from .test_projections_cli import READ_MODELS

TINY = ["fleet", "--orders", "2,6", "--vehicles", "3", "--technicians", "2",
        "--tail", "2", "--rounds", "1"]  # fmt: skip


def _last_json(stdout: str) -> dict[str, object]:
    record: dict[str, object] = json.loads(stdout.strip().splitlines()[-1])
    return record


def _check(record: dict[str, object], stores: set[str]) -> None:
    assert record["bench"] == "fleet"
    assert record["unit"] == "events/s"
    assert record["orders"] == [2, 6]
    assert float(str(record["value"])) > 0
    assert float(str(record["anchor"])) > 0
    assert isinstance(record["ratio"], float)
    assert record["read_model"] in READ_MODELS
    assert int(str(record["tail_events"])) > 2 * 20  # two whole lifecycles
    per_model = record["per_model"]
    assert isinstance(per_model, dict)
    assert set(per_model) == stores
    for models in per_model.values():
        assert set(models) == set(READ_MODELS)  # every read model, separately
        assert all(set(sizes) == {"2", "6"} for sizes in models.values())


def test_bench_fleet_measures_every_read_model_at_each_size_on_sqlite(tmp_path: Path) -> None:
    result = run_bench(TINY, {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    _check(_last_json(result.stdout), {"sqlite"})
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("bench-")] == []


def test_bench_fleet_refuses_sizes_that_are_not_numbers(tmp_path: Path) -> None:
    result = run_bench(["fleet", "--orders", "ten"], {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "--orders" in result.stderr


@pytest.mark.postgres
def test_bench_fleet_runs_sqlite_and_postgres_in_one_run(tmp_path: Path, postgres_dsn: str) -> None:
    import psycopg

    result = run_bench([*TINY, "--postgres", postgres_dsn], {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    _check(_last_json(result.stdout), {"sqlite", "postgres"})
    with psycopg.connect(postgres_dsn) as conn:
        left = conn.execute(
            "SELECT count(*) FROM information_schema.schemata"
            " WHERE schema_name LIKE 'bench_fleet_%'"
        ).fetchone()
    assert left == (0,)
