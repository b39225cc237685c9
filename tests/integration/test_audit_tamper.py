"""Tampering with the stored log or the chain is found and located, on SQLite and Postgres.

Each test seeds the demo garage through the use cases, links it into the hash chain (with a
signed checkpoint every 50 events), then edits the database directly, as an attacker with
database access would, and checks that verification names the first broken notification id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from regenzet.adapters.audit_chain import PostgresChainStore, SqliteChainStore
from regenzet.adapters.audit_signing import LocalAuditSigner
from regenzet.adapters.clock import ManualClock
from regenzet.adapters.identity import LocalKeyPair
from regenzet.adapters.persistence import sqlite_env
from regenzet.application.audit import ChainFollower, ChainStore, Verifier, chain_links
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.bootstrap import event_log_reader, postgres_conninfo, workshop_for
from regenzet.entrypoints.demo import seed_demo

from ..conftest import postgres_store_env

EVERY = 50


class Garage:
    """A seeded store plus raw SQL access to its tables (the attacker's view)."""

    def __init__(
        self,
        workshop: Workshop,
        env: dict[str, str],
        store: ChainStore,
        execute: Callable[..., list[Any]],
        events_table: str,
        rowid: str,
    ) -> None:
        self.workshop = workshop
        self.env = env
        self.store = store
        self.execute = execute
        self.events = events_table
        self.rowid = rowid
        self.signer = LocalAuditSigner(LocalKeyPair.generate("EdDSA"))
        self.reader = event_log_reader(env, workshop)
        self.follower = ChainFollower(
            store,
            self.reader,
            self.signer,
            ManualClock(datetime(2026, 11, 25, tzinfo=UTC)),
            checkpoint_every=EVERY,
            batch=37,  # batches that do not line up with checkpoints
        )

    def link(self) -> None:
        self.follower.check_schema()
        self.follower.catch_up()

    def verify(self, start: int | None = None) -> Any:
        return Verifier(self.reader, self.store, self.signer, batch=64).verify(start)

    def state(self, notification_id: int) -> bytes:
        rows = self.execute(
            f"SELECT state FROM {self.events} WHERE {self.rowid} = {notification_id}"  # noqa: S608
        )
        return bytes(rows[0][0])

    def set_state(self, notification_id: int, state: bytes) -> None:
        self.execute(
            f"UPDATE {self.events} SET state = %s WHERE {self.rowid} = {notification_id}",  # noqa: S608
            (state,),
        )

    def close(self) -> None:
        self.reader.close()
        self.store.close()
        self.workshop.close()


def _seed(workshop: Workshop) -> None:
    clock = workshop.clock
    assert isinstance(clock, ManualClock)
    seed_demo(workshop, clock)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def garage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Garage]:
    clock = ManualClock(datetime(2026, 11, 20, 8, tzinfo=UTC))
    if request.param == "sqlite":
        import sqlite3

        path = tmp_path / "regenzet.db"
        env = sqlite_env(path)
        workshop = workshop_for(env, clock)
        _seed(workshop)

        def execute_sqlite(statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
            with sqlite3.connect(path) as conn:
                return conn.execute(statement.replace("%s", "?"), params).fetchall()

        garage = Garage(
            workshop, env, SqliteChainStore(path), execute_sqlite, "stored_events", "rowid"
        )
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        schema = request.getfixturevalue("postgres_schema")
        env = postgres_store_env(dsn, schema)
        workshop = workshop_for(env, clock)
        _seed(workshop)

        def execute_postgres(statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
                cursor = conn.execute(statement, params)  # type: ignore[arg-type]
                return cursor.fetchall() if cursor.description else []

        garage = Garage(
            workshop,
            env,
            PostgresChainStore(postgres_conninfo(env), schema=schema),
            execute_postgres,
            "regenzet_events",
            "notification_id",
        )
    garage.link()
    yield garage
    garage.close()


def test_a_clean_log_verifies(garage: Garage) -> None:
    report = garage.verify()
    head = garage.reader.max_notification_id()
    assert report.intact, report.summary()
    assert report.first_broken_id is None
    assert report.events_verified == head > 150
    assert report.checkpoints_verified == head // EVERY


def test_one_changed_byte_is_named(garage: Garage) -> None:
    state = bytearray(garage.state(77))
    state[len(state) // 2] ^= 0x01
    garage.set_state(77, bytes(state))
    report = garage.verify()
    assert not report.intact
    assert report.first_broken_id == 77


def test_an_edited_aggregate_id_or_version_is_named(garage: Garage) -> None:
    garage.execute(
        f"UPDATE {garage.events} SET originator_version = originator_version + 1000"  # noqa: S608
        f" WHERE {garage.rowid} = 120"
    )
    assert garage.verify().first_broken_id == 120


def test_a_deleted_event_is_named(garage: Garage) -> None:
    garage.execute(f"DELETE FROM {garage.events} WHERE {garage.rowid} = 33")  # noqa: S608
    report = garage.verify()
    assert report.first_broken_id == 33
    assert "deleted" in (report.reason or "")


def test_a_deleted_event_and_its_link_are_named(garage: Garage) -> None:
    garage.execute(f"DELETE FROM {garage.events} WHERE {garage.rowid} = 64")  # noqa: S608
    garage.execute("DELETE FROM audit_chain WHERE notification_id = 64")
    assert garage.verify().first_broken_id == 64


def test_two_swapped_events_are_named_at_the_first(garage: Garage) -> None:
    a, b = garage.state(90), garage.state(140)
    garage.set_state(90, b)
    garage.set_state(140, a)
    assert garage.verify().first_broken_id == 90


def test_an_edited_chain_link_is_named(garage: Garage) -> None:
    garage.execute("UPDATE audit_chain SET link = %s WHERE notification_id = 101", (bytes(32),))
    assert garage.verify().first_broken_id == 101


def test_a_rewritten_chain_is_caught_by_the_next_signed_checkpoint(garage: Garage) -> None:
    """The attacker edits event 60 and recomputes every later link consistently (they know
    the algorithm): only the signed checkpoint at 100 can tell."""
    state = bytearray(garage.state(60))
    state[-2] ^= 0x01
    garage.set_state(60, bytes(state))
    previous = garage.store.link_at(59)
    assert previous is not None
    head = garage.reader.max_notification_id()
    rows = [r for r in garage.reader.read_chain(59, 10_000) if r[0] <= head]
    for row, link in zip(rows, chain_links(previous.link, rows), strict=True):
        garage.execute(
            "UPDATE audit_chain SET link = %s WHERE notification_id = %s", (link, row[0])
        )
    report = garage.verify()
    assert report.first_broken_id == 100
    assert "checkpoint" in (report.reason or "")


def test_an_altered_checkpoint_fails_its_signature(garage: Garage) -> None:
    garage.execute("UPDATE audit_checkpoints SET events = events + 1 WHERE notification_id = 150")
    report = garage.verify()
    assert report.first_broken_id == 150
    assert "signature" in (report.reason or "")


def test_a_checkpoint_signed_by_another_key_is_refused(garage: Garage) -> None:
    other = LocalAuditSigner(LocalKeyPair.generate("EdDSA"))
    [checkpoint] = [c for c in garage.store.checkpoints() if c.notification_id == 100]
    garage.execute(
        "UPDATE audit_checkpoints SET signature = %s, key_id = %s WHERE notification_id = 100",
        (other.sign(checkpoint.message()), other.key_id),
    )
    assert garage.verify().first_broken_id == 100


def test_a_deleted_tail_is_caught_by_its_checkpoint(garage: Garage) -> None:
    garage.execute(f"DELETE FROM {garage.events} WHERE {garage.rowid} > 140")  # noqa: S608
    garage.execute("DELETE FROM audit_chain WHERE notification_id > 140")
    assert garage.verify().first_broken_id == 150


def test_verify_from_an_id_checks_from_there(garage: Garage) -> None:
    state = bytearray(garage.state(20))
    state[5] ^= 0x01
    garage.set_state(20, bytes(state))
    assert garage.verify(start=21).intact
    assert garage.verify(start=10).first_broken_id == 20


def test_events_recorded_after_the_chain_are_pending_not_broken(garage: Garage) -> None:
    from regenzet.domain.common import Actor, Role

    garage.workshop.register_customer(
        name="Late Arrival", email="late@example.com", phone=None, actor=Actor("a", Role.ADVISOR)
    )
    report = garage.verify()
    assert report.intact
    assert report.log_head == report.chain_head + 1
    garage.link()
    assert garage.verify().chain_head == report.log_head


@pytest.mark.postgres
def test_gaps_from_rolled_back_transactions_are_not_tampering(
    postgres_dsn: str, postgres_schema: str
) -> None:
    """Rolled-back inserts consume notification ids that never commit; the chain skips them."""
    from regenzet.domain.common import Actor, Role

    env = postgres_store_env(postgres_dsn, postgres_schema)
    workshop = workshop_for(env, ManualClock(datetime(2026, 11, 20, tzinfo=UTC)))
    advisor = Actor("a", Role.ADVISOR)
    store = PostgresChainStore(postgres_conninfo(env), schema=postgres_schema)
    garage = None
    try:
        for n in range(30):
            workshop.register_customer(
                name=f"C {n}", email=f"c{n}@example.com", phone=None, actor=advisor
            )
            if n % 7 == 0:
                with psycopg.connect(postgres_dsn) as conn:  # a transaction that rolls back
                    conn.execute(
                        sql.SQL(
                            "SELECT nextval(pg_get_serial_sequence({}, 'notification_id'))"
                        ).format(sql.Literal(f"{postgres_schema}.regenzet_events"))
                    )
                    conn.rollback()
        garage = Garage(workshop, env, store, lambda *a: [], "regenzet_events", "notification_id")
        garage.link()
        ids = [r[0] for r in garage.reader.read(0, 100)]
        assert len(ids) == 30
        assert ids[-1] > 30  # there are gaps
        report = garage.verify()
        assert report.intact, report.summary()
        assert report.events_verified == 30
    finally:
        if garage is not None:
            garage.close()
        else:
            store.close()
            workshop.close()


def test_a_checkpoint_signed_while_verifying_is_not_a_deleted_tail(garage: Garage) -> None:
    """The follower links and seals new events between verify's reading of the chain head and
    of the checkpoints: that is the chain growing, not tampering."""
    from regenzet.domain.common import Actor, Role

    garage.workshop.register_customer(
        name="Racing", email="race@example.com", phone=None, actor=Actor("a", Role.ADVISOR)
    )
    read_checkpoints = garage.store.checkpoints
    raced = []

    def meanwhile_sealed() -> list[Any]:
        if not raced:
            raced.append(True)
            garage.store.checkpoints = read_checkpoints  # type: ignore[method-assign]
            garage.follower.checkpoint()
        return read_checkpoints()

    garage.store.checkpoints = meanwhile_sealed  # type: ignore[method-assign]
    report = garage.verify()
    assert raced
    assert report.intact, report.summary()
