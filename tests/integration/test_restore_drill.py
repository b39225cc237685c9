"""scripts/restore-drill on real Postgres: pg_dump → restore into a fresh database → the audit
chain verifies with the same head and a read-model rebuild equals the source's read models;
a source whose read models do not match its log fails the drill."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ..crash.harness import server_env
from ..crash.stores import cli

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def drill(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "restore-drill")],
        env={**env, "REGENZET": str(Path(sys.executable).with_name("regenzet"))},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def garage(tmp_path: Path, postgres_dsn: str, postgres_schema: str) -> dict[str, str]:
    env = server_env(postgres_dsn, postgres_schema, tmp_path)
    for command in (["demo"], ["projections", "rebuild"]):
        done = cli(env, *command)
        assert done.returncode == 0, done.stdout + done.stderr
    return env


def test_a_restored_backup_verifies_and_rebuilds_to_the_same_state(
    garage: dict[str, str],
) -> None:
    done = drill(garage)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chain head identical" in done.stdout
    assert "read models identical" in done.stdout
    assert "restore drill passed" in done.stdout


def test_read_models_that_differ_from_the_log_fail_the_drill(
    garage: dict[str, str], postgres_dsn: str, postgres_schema: str
) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'rm\\_%%'"
            " AND tablename <> 'rm_positions' ORDER BY 1",
            (postgres_schema,),
        ).fetchall()
        deleted = 0
        for (table,) in tables:  # one row of the first read model that has any
            name = sql.Identifier(postgres_schema, table)
            deleted = conn.execute(
                sql.SQL("DELETE FROM {} WHERE ctid IN (SELECT ctid FROM {} LIMIT 1)").format(
                    name, name
                )
            ).rowcount
            if deleted:
                break
        assert deleted == 1
    done = drill(garage)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "read models differ" in done.stderr
