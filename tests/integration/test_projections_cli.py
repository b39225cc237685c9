"""``regenzet projections status|rebuild`` after ``regenzet demo``, on SQLite and Postgres, and a
read model whose schema version changed refuses to run until it is rebuilt."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from .test_cli import run

READ_MODELS = [
    "workshop_board",
    "vehicle_profiles",
    "customer_portal",
    "technician_workload",
    "inspection_summaries",
    "kpis",
    "customer_directory",
    "vehicle_directory",
    "staff_directory",
]

# Version 2: rows keyed by their own order, vehicle, visit and job (ADR 0030).
SCHEMA_VERSIONS = {"vehicle_profiles": "2", "customer_portal": "2", "technician_workload": "2"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    if request.param == "sqlite":
        yield env
        return
    dsn = request.getfixturevalue("postgres_dsn")
    schema = f"cli_{uuid.uuid4().hex[:8]}"
    yield env | {"REGENZET_DATABASE_URL": dsn, "REGENZET_PG_SCHEMA": schema}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _status(env: dict[str, str]) -> dict[str, list[str]]:
    result = run(["projections", "status"], env)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    return {row[0]: row[1:] for row in rows}


def test_rebuild_then_status_after_the_demo(store: dict[str, str]) -> None:
    assert run(["demo"], store).returncode == 0
    before = _status(store)
    assert sorted(before) == sorted(READ_MODELS)
    rebuilt = run(["projections", "rebuild"], store)
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = _status(store)
    for name in READ_MODELS:
        schema, position, head, lag = after[name]
        assert schema == SCHEMA_VERSIONS.get(name, "1")
        assert position == head
        assert lag == "0"
        assert int(head) > 100


def test_rebuilding_one_read_model_and_an_unknown_name(store: dict[str, str]) -> None:
    assert run(["demo"], store).returncode == 0
    one = run(["projections", "rebuild", "kpis"], store)
    assert one.returncode == 0, one.stderr
    assert "kpis: rebuilt up to position" in one.stdout
    unknown = run(["projections", "rebuild", "nope"], store)
    assert unknown.returncode == 1
    assert "no read model 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_serve_refuses_an_outdated_read_model_in_one_line(tmp_path: Path) -> None:
    import sqlite3

    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    assert run(["demo"], env).returncode == 0
    assert run(["projections", "rebuild", "kpis"], env).returncode == 0
    with sqlite3.connect(tmp_path / "read_models.db") as conn:
        conn.execute("UPDATE rm_positions SET version = 0 WHERE name = 'kpis'")
    served = run(["serve", "--port", "1"], env, timeout=60)
    assert served.returncode == 1
    assert "regenzet projections rebuild kpis" in served.stderr
    assert "Traceback" not in served.stderr


def test_an_old_data_dir_is_rebuilt_where_outdated_and_only_there(tmp_path: Path) -> None:
    """A data dir written before ADR 0030 holds the portal at schema version 1 (one document
    per customer): `serve` refuses it in one line, `projections rebuild --outdated` (what
    scripts/run does first) rebuilds that read model alone, and a second run has nothing to do."""
    import sqlite3

    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    assert run(["demo"], env).returncode == 0
    assert run(["projections", "rebuild"], env).returncode == 0
    with sqlite3.connect(tmp_path / "read_models.db") as conn:
        conn.execute("UPDATE rm_positions SET version = 1 WHERE name = 'customer_portal'")
    served = run(["serve", "--port", "1"], env, timeout=60)
    assert served.returncode == 1
    assert "regenzet projections rebuild customer_portal" in served.stderr
    rebuilt = run(["projections", "rebuild", "--outdated"], env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "customer_portal: rebuilt up to position" in rebuilt.stdout
    assert "workshop_board: rebuilt" not in rebuilt.stdout
    assert _status(env)["customer_portal"][0] == "2"
    again = run(["projections", "rebuild", "--outdated"], env)
    assert again.returncode == 0, again.stderr
    assert "rebuilt" not in again.stdout
