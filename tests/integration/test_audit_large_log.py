"""No false positive on a clean log of more than 100,000 events, written by concurrent writers
while the chain follower links them live (and, on Postgres, with ids lost to rolled-back
transactions), verified in one process and in parallel processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from regenzet.adapters.audit_signing import LocalAuditSigner
from regenzet.adapters.clock import ManualClock
from regenzet.adapters.identity import LocalKeyPair
from regenzet.adapters.persistence import sqlite_env
from regenzet.application.audit import ChainFollower, Verifier
from regenzet.application.scenarios import fill_log
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.audit_verify import verify_log
from regenzet.entrypoints.bootstrap import (
    chain_store,
    event_log_reader,
    verify_opener,
    workshop_for,
)

from ..conftest import postgres_store_env

TARGET = 100_000
ADVISOR = Actor("bench-advisor", Role.ADVISOR)
WRITERS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield sqlite_env(tmp_path / "regenzet.db")
        return
    yield postgres_store_env(
        request.getfixturevalue("postgres_dsn"),
        request.getfixturevalue("postgres_schema"),
        pool_size=WRITERS + 1,
    )


def _lose_ids(env: dict[str, str], stop: threading.Event) -> None:
    """Rolled-back transactions that consumed notification ids (Postgres only)."""
    dsn = (
        f"postgresql://{env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"
        f"/{env['POSTGRES_DBNAME']}"
    )
    with psycopg.connect(dsn) as conn:
        statement = sql.SQL("SELECT nextval(pg_get_serial_sequence({}, 'notification_id'))").format(
            sql.Literal(f"{env['POSTGRES_SCHEMA']}.regenzet_events")
        )
        while not stop.wait(0.05):
            conn.execute(statement)
            conn.rollback()


@pytest.mark.timeout(900)
def test_a_clean_log_of_100k_events_verifies(env: dict[str, str]) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 8, tzinfo=UTC))
    workshops = [workshop_for(env, clock) for _ in range(WRITERS)]
    store = chain_store(env)
    reader = event_log_reader(env, workshops[0])
    signer = LocalAuditSigner(LocalKeyPair.generate("EdDSA"))
    follower = ChainFollower(store, reader, signer, clock, checkpoint_every=7_000, batch=2_000)
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as exc:
            errors.append(exc)

    def follow() -> None:
        while not stop.is_set():
            if not follower.step():
                stop.wait(0.01)

    def prefill(w: Workshop) -> None:  # closed repair orders, one transaction each
        fill_log(w, clock, TARGET // WRITERS, advisor=ADVISOR)

    threads = [threading.Thread(target=guarded, args=(prefill, w)) for w in workshops]
    helpers = [threading.Thread(target=guarded, args=(follow,))]
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        helpers.append(threading.Thread(target=guarded, args=(_lose_ids, env, stop)))
    try:
        for thread in threads + helpers:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        for thread in helpers:
            thread.join()
        assert errors == []
        follower.catch_up()
        head = reader.max_notification_id()
        total = sum(1 for _ in _all_ids(reader))
        assert total >= TARGET

        report = Verifier(reader, store, signer).verify()
        assert report.intact, report.summary()
        assert report.events_verified == total
        assert report.checkpoints_verified == total // 7_000
        assert report.chain_head == head

        parallel = verify_log(Verifier(reader, store, signer), verify_opener(env), workers=2)
        assert parallel.intact, parallel.summary()
        assert parallel.events_verified == total
        assert parallel.checkpoints_verified == total // 7_000
        if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
            assert head > total  # there were gaps, and they were not reported
    finally:
        stop.set()
        reader.close()
        store.close()
        for workshop in workshops:
            workshop.close()


def _all_ids(reader: Any) -> Iterator[int]:
    after = 0
    while rows := reader.read_chain(after, 10_000):
        yield from (r[0] for r in rows)
        after = rows[-1][0]
