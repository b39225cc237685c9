"""Shared fixtures: event-store environments for in-memory, SQLite and Postgres.

Postgres tests really talk to Postgres. The DSN comes from REGENZET_TEST_POSTGRES_DSN; when it
is unset they skip with a reason, unless REGENZET_REQUIRE_POSTGRES=1 (CI), where a missing or
unreachable server fails the run. Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import postgres_env, sqlite_env
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.workshop import Workshop

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _postgres_dsn() -> str:
    dsn = os.environ.get("REGENZET_TEST_POSTGRES_DSN", "").strip()
    required = os.environ.get("REGENZET_REQUIRE_POSTGRES") == "1"
    if not dsn:
        if required:
            pytest.fail("REGENZET_REQUIRE_POSTGRES=1 but REGENZET_TEST_POSTGRES_DSN is not set")
        pytest.skip(
            "Postgres tests need REGENZET_TEST_POSTGRES_DSN (e.g. postgresql://postgres@127.0.0.1/test)"
        )
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if required:
            pytest.fail(f"Postgres required but unreachable at {dsn}: {exc}")
        pytest.skip(f"Postgres unreachable at {dsn}: {exc}")
    return dsn


@pytest.fixture
def postgres_dsn() -> str:
    return _postgres_dsn()


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A fresh schema for one test; dropped (with everything in it) afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def postgres_store_env(dsn: str, schema: str, pool_size: int = 2) -> dict[str, str]:
    split = urlsplit(dsn)
    url = f"postgresql://{split.netloc}{split.path}"
    env = postgres_env(
        url,
        pool_size=pool_size,
        max_overflow=4,
        connect_timeout=5,
        lock_timeout=5,
        idle_in_transaction_timeout=10,
    )
    env["POSTGRES_SCHEMA"] = schema
    return env


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The same test against every event store the product supports."""
    if request.param == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if request.param == "sqlite":
        return sqlite_env(tmp_path / "regenzet.db")
    schema = request.getfixturevalue("postgres_schema")
    return postgres_store_env(request.getfixturevalue("postgres_dsn"), schema)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def workshop(store_env: dict[str, str], clock: ManualClock) -> Iterator[Workshop]:
    app = Workshop(env=store_env, clock=clock, vin_decoder=VininfoVinDecoder())
    yield app
    app.close()
