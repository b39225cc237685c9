"""After a crash run: the read models equal a rebuild from the log, and the audit chain
verifies (through the real CLI)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import psycopg
from psycopg import sql

from regenzet.adapters.clock import SystemClock
from regenzet.entrypoints.bootstrap import build_followers, event_store_env, workshop_for
from regenzet.entrypoints.settings import Settings


def _dump(dsn: str, schema: str, tables: list[str]) -> dict[str, list[str]]:
    dumped: dict[str, list[str]] = {}
    with psycopg.connect(dsn) as conn:
        for table in tables:
            rows = conn.execute(
                sql.SQL("SELECT row_to_json(t)::text FROM {} AS t").format(
                    sql.Identifier(schema, table)
                )
            ).fetchall()
            dumped[table] = sorted(r[0] for r in rows)
    return dumped


def read_models_equal_a_rebuild(env: dict[str, str]) -> bool:
    """Catches every read model up to the head of the log, then rebuilds each from scratch and
    compares the tables row for row."""
    settings = Settings.from_env(env)
    store_env = event_store_env(settings)
    workshop = workshop_for(store_env, SystemClock())
    followers, store = build_followers(workshop, store_env, settings)
    try:
        for follower in followers:
            follower.catch_up()
        with psycopg.connect(env["REGENZET_DATABASE_URL"]) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s"
                    " AND tablename LIKE 'rm\\_%%' AND tablename <> 'rm_positions'",
                    (settings.pg_schema,),
                ).fetchall()
            ]
        owned = {f"rm_{spec.name}" for f in followers for spec in f.projection.tables}
        tables = sorted(t for t in tables if t.split("__")[0] in owned)
        live = _dump(env["REGENZET_DATABASE_URL"], settings.pg_schema, tables)
        for follower in followers:
            follower.rebuild()
        rebuilt = _dump(env["REGENZET_DATABASE_URL"], settings.pg_schema, tables)
    finally:
        store.close()
        workshop.close()
    differing = [t for t in tables if live[t] != rebuilt[t]]
    assert not differing, f"read models differ from a rebuild: {differing}"
    return bool(tables)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regenzet.entrypoints", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def verify_audit_chain(env: dict[str, str]) -> Any:
    """Links whatever the killed API had not linked yet, seals it, and verifies the chain."""
    sealed = cli(env, "audit", "checkpoint")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    verified = cli(env, "audit", "verify", "--workers", "1")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return verified.stdout
