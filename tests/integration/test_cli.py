"""The ``regenzet`` command as a user runs it: a real subprocess, real stores."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql


def run(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "regenzet.entrypoints", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _demo_twice(env: dict[str, str]) -> None:
    first = run(["demo", "--history", "closed"], env)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    for event_type in (
        "HighVoltageIsolated",
        "LabourClockedOn",
        "LabourClockedOff",
        "JobCompleted",
        "HighVoltageRestored",
        "Invoiced",
        "PaymentRecorded",
        "Released",
    ):
        assert f"RepairOrder.{event_type}" in first.stdout, event_type
    second = run(["demo"], env)
    assert second.returncode == 0, second.stderr
    assert "demo: created 0," in second.stdout
    statuses = [
        line.split()[0]
        for line in second.stdout.splitlines()
        if line.startswith("  ") and len(line.split()) == 2
    ]
    assert len(set(statuses)) >= 5


def test_demo_runs_twice_on_sqlite_without_duplicates(tmp_path: Path) -> None:
    _demo_twice({"REGENZET_DATA_DIR": str(tmp_path)})
    assert (tmp_path / "regenzet.db").exists()


@pytest.mark.postgres
def test_demo_runs_twice_on_a_fresh_postgres_database(postgres_dsn: str) -> None:
    dbname = f"regenzet_demo_{uuid.uuid4().hex[:8]}"
    base = postgres_dsn.rsplit("/", 1)[0]
    try:
        _demo_twice({"REGENZET_DATABASE_URL": f"{base}/{dbname}"})  # created on first use
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


def test_history_prints_versions_actors_and_data(tmp_path: Path) -> None:
    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    demo = run(["demo"], env)
    assert demo.returncode == 0, demo.stderr
    order_id = next(
        line.split()[1] for line in demo.stdout.splitlines() if line.strip().startswith("closed")
    )
    out = run(["history", order_id, "--json"], env)
    assert out.returncode == 0, out.stderr
    import json

    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["version"] for r in records] == list(range(1, len(records) + 1))
    assert records[0]["type"] == "RepairOrder.Opened"
    assert all(r["actor"].count(":") >= 1 for r in records)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history", "not-a-uuid"], "is not an aggregate id"),
        (["history", str(uuid.UUID(int=7))], "not found"),
    ],
)
def test_bad_input_gives_one_line_and_no_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run(args, {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_database_gives_one_line(tmp_path: Path) -> None:
    result = run(
        ["demo"],
        {
            "REGENZET_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere",
            "REGENZET_PG_CONNECT_TIMEOUT": "2",
        },
        timeout=60,
    )
    assert result.returncode == 3
    assert "database unavailable" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_setting_is_named(tmp_path: Path) -> None:
    result = run(
        ["demo"],
        {
            "REGENZET_DATA_DIR": str(tmp_path),
            "REGENZET_PG_POOL_SIZE": "many",
            "REGENZET_DATABASE_URL": "postgresql://postgres@127.0.0.1/x",
        },
    )
    assert result.returncode == 1
    assert "REGENZET_PG_POOL_SIZE" in result.stderr


@pytest.mark.parametrize(
    ("case", "args", "message"),
    [
        ("bad port", ["demo"], "invalid port"),
        ("query options", ["demo"], "must not carry query options"),
        ("data dir is a file", ["demo"], "not a usable directory"),
        ("corrupt database", ["history", str(uuid.UUID(int=1))], "database unavailable"),
    ],  # scripts/bench's own case is in test_bench_cli
)
def test_misconfiguration_gives_one_line_and_no_traceback(
    tmp_path: Path, case: str, args: list[str], message: str
) -> None:
    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    if case == "bad port":
        env["REGENZET_DATABASE_URL"] = "postgresql://u:p@127.0.0.1:abc/db"
    elif case == "query options":
        env["REGENZET_DATABASE_URL"] = "postgresql://u@127.0.0.1/db?sslmode=require"
    elif case == "data dir is a file":
        (tmp_path / "file").write_text("x")
        env["REGENZET_DATA_DIR"] = str(tmp_path / "file")
    elif case == "corrupt database":
        (tmp_path / "regenzet.db").write_bytes(b"this is not sqlite" * 100)
    result = run(args, env, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "p@" not in result.stderr  # never the password
