"""One contract for every recorder that writes idempotency keys with the events (memory,
SQLite, Postgres) and for the ``IdempotencyStore`` that reads them back (ADR 0024).

The key and its response commit in the events' transaction: a command and its key are saved
together or not at all, and a second commit of a live key is refused and leaves no events.
Time is passed in (``now``), so expiry is tested without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.idempotency import RecorderIdempotencyStore
from regenzet.adapters.persistence import DatabaseUnavailableError, memory_env, sqlite_env
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.errors import ConcurrencyConflictError
from regenzet.application.idempotency import (
    IdempotencyKeyTakenError,
    LookupOutcome,
    PendingKey,
    StoredResponse,
    recording,
)
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.customer import Customer

from ..conftest import postgres_store_env

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
RETENTION = timedelta(hours=24)
SECOND = timedelta(seconds=1)
ADVISOR = Actor("advisor-eva", Role.ADVISOR)
RACERS = 8


def respond(aggregate_id: UUID, version: int, position: int | None) -> StoredResponse:
    # Not valid UTF-8, with a NUL: the body must come back as the same bytes, not as text.
    body = f'{{"id":"{aggregate_id}","version":{version},"position":{position}}}'.encode()
    return StoredResponse(
        status_code=201,
        body=body + b"\xff\x00\xc3(",
        headers={"ETag": f'"{version}"', "Location": f"/api/v1/customers/{aggregate_id}"},
    )


def pending(key: str, *, scope: str = "eva", fingerprint: str = "fp", now: datetime = T0):
    return PendingKey(scope, key, fingerprint, now, RETENTION, respond)


Opener = Callable[[], Workshop]


class KeyRecorderContract:
    """Subclasses provide ``opener``: each call opens another workshop on one shared store
    (another connection, as another API process would have), closed afterwards."""

    @pytest.fixture
    def workshop(self, opener: Opener) -> Workshop:
        return opener()

    @staticmethod
    def store(workshop: Workshop) -> RecorderIdempotencyStore:
        return RecorderIdempotencyStore(workshop.recorder, retention=RETENTION)  # type: ignore[arg-type]

    @staticmethod
    def register(workshop: Workshop, key: PendingKey, customer_id: UUID | None = None) -> UUID:
        with recording(key):
            receipt = workshop.register_customer(
                name="Femke Bos",
                email="femke@example.nl",
                phone=None,
                actor=ADVISOR,
                customer_id=customer_id,
            )
        return receipt.id

    def customers(self, workshop: Workshop) -> list[UUID]:
        rows = workshop.recorder.select_notifications(start=1, limit=10_000)
        return [r.originator_id for r in rows if r.topic.endswith(":Customer.Registered")]  # type: ignore[misc]

    def test_the_key_commits_with_the_events_and_replays_the_same_bytes(
        self, workshop: Workshop
    ) -> None:
        key = pending("k1")
        customer = self.register(workshop, key)
        position = workshop.recorder.max_notification_id()

        assert key.response == respond(customer, 1, position)
        found = self.store(workshop).lookup("eva", "k1", "fp", now=T0 + timedelta(minutes=5))
        assert found.outcome is LookupOutcome.REPLAY
        assert found.response == key.response
        assert found.response is not None
        assert found.response.body.endswith(b"\xff\x00\xc3(")

    def test_an_unknown_key_is_absent_and_another_request_is_a_mismatch(
        self, workshop: Workshop
    ) -> None:
        self.register(workshop, pending("k1"))
        store = self.store(workshop)
        assert store.lookup("eva", "nope", "fp", now=T0).outcome is LookupOutcome.ABSENT
        assert store.lookup("eva", "k1", "other", now=T0).outcome is LookupOutcome.MISMATCH

    def test_keys_are_scoped_to_their_subject(self, workshop: Workshop) -> None:
        self.register(workshop, pending("shared", scope="eva"))
        store = self.store(workshop)
        assert store.lookup("lukas", "shared", "fp", now=T0).outcome is LookupOutcome.ABSENT
        self.register(workshop, pending("shared", scope="lukas"))
        assert store.lookup("lukas", "shared", "fp", now=T0).outcome is LookupOutcome.REPLAY

    def test_a_second_commit_of_a_live_key_is_refused_and_writes_no_events(
        self, workshop: Workshop
    ) -> None:
        first = self.register(workshop, pending("k1"))
        before = workshop.recorder.max_notification_id()
        retry = pending("k1", now=T0 + SECOND)

        with pytest.raises(IdempotencyKeyTakenError):
            self.register(workshop, retry)

        assert retry.response is None
        assert workshop.recorder.max_notification_id() == before
        assert self.customers(workshop) == [first]

    def test_a_refused_command_writes_no_key(self, workshop: Workshop) -> None:
        existing = self.register(workshop, pending("k1"))
        key = pending("k2")
        # The same customer id again: the events conflict, so the transaction rolls back.
        with pytest.raises(ConcurrencyConflictError), recording(key):
            workshop._commit(_registered_again(existing))
        assert key.response is None
        assert self.store(workshop).lookup("eva", "k2", "fp", now=T0).outcome is (
            LookupOutcome.ABSENT
        )

    def test_an_expired_key_is_absent_and_a_new_commit_takes_it(self, workshop: Workshop) -> None:
        first = self.register(workshop, pending("old"))
        store = self.store(workshop)
        later = T0 + RETENTION
        assert store.lookup("eva", "old", "fp", now=later - SECOND).outcome is LookupOutcome.REPLAY
        assert store.lookup("eva", "old", "fp", now=later).outcome is LookupOutcome.ABSENT

        second = self.register(workshop, pending("old", fingerprint="new", now=later))

        found = store.lookup("eva", "old", "new", now=later)
        assert found.outcome is LookupOutcome.REPLAY
        assert found.response is not None
        assert str(second).encode() in found.response.body
        assert second != first

    def test_purging_deletes_expired_keys_only(self, workshop: Workshop) -> None:
        self.register(workshop, pending("old"))
        self.register(workshop, pending("new", now=T0 + timedelta(hours=20)))
        store = self.store(workshop)

        assert store.purge_expired(now=T0 + timedelta(hours=25)) == 1

        assert store.lookup("eva", "new", "fp", now=T0 + timedelta(hours=25)).outcome is (
            LookupOutcome.REPLAY
        )
        assert store.purge_expired(now=T0 + timedelta(hours=25)) == 0

    def test_a_key_of_the_maximum_length_works(self, workshop: Workshop) -> None:
        key = "k" * 255
        self.register(workshop, pending(key))
        assert self.store(workshop).lookup("eva", key, "fp", now=T0).outcome is (
            LookupOutcome.REPLAY
        )

    def test_racing_commits_of_one_key_apply_it_exactly_once(self, opener: Opener) -> None:
        workshops = [opener() for _ in range(RACERS)]
        start = threading.Barrier(RACERS)
        outcomes: list[str] = []
        lock = threading.Lock()

        def race(workshop: Workshop) -> None:
            start.wait(timeout=10)
            try:
                self.register(workshop, pending("race"))
                outcome = "applied"
            except IdempotencyKeyTakenError:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=race, args=(w,)) for w in workshops]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

        assert sorted(outcomes) == ["applied"] + ["refused"] * (RACERS - 1)
        assert len(self.customers(workshops[0])) == 1


def _registered_again(customer_id: UUID) -> Customer:
    return Customer.register(
        name="Femke Bos",
        email="femke@example.nl",
        phone=None,
        preferences=None,
        actor=ADVISOR,
        id=customer_id,
    )


def _workshop(env: dict[str, str]) -> Workshop:
    return Workshop(env=env, clock=ManualClock(T0), vin_decoder=VininfoVinDecoder())


@pytest.fixture
def closing() -> Iterator[list[Workshop]]:
    opened: list[Workshop] = []
    yield opened
    for workshop in opened:
        workshop.close()


class TestKeyedMemoryRecorder(KeyRecorderContract):
    @pytest.fixture
    def opener(self) -> Opener:
        shared = _workshop(memory_env())  # one process: every "opener" shares it
        return lambda: shared


class TestKeyedSqliteRecorder(KeyRecorderContract):
    @pytest.fixture
    def opener(self, tmp_path: Path, closing: list[Workshop]) -> Opener:
        env = sqlite_env(tmp_path / "regenzet.db")

        def make() -> Workshop:
            closing.append(_workshop(env))
            return closing[-1]

        return make


@pytest.mark.postgres
class TestSerialInsertPostgresRecorder(KeyRecorderContract):
    @pytest.fixture
    def opener(self, postgres_dsn: str, postgres_schema: str, closing: list[Workshop]) -> Opener:
        env = postgres_store_env(postgres_dsn, postgres_schema)

        def make() -> Workshop:
            closing.append(_workshop(env))
            return closing[-1]

        return make


@pytest.mark.postgres
def test_a_keyed_save_without_events_waits_at_most_the_lock_timeout_for_the_key_row(
    postgres_dsn: str, postgres_schema: str, closing: list[Workshop]
) -> None:
    """A save with no events (an unchanged aggregate) still writes the key row; while another
    transaction holds that row uncommitted, the wait is bounded by the lock timeout (503), as
    for a save with events, not by how long the other transaction lives."""
    env = postgres_store_env(postgres_dsn, postgres_schema)
    env["POSTGRES_LOCK_TIMEOUT"] = "1"
    closing.append(_workshop(env))
    recorder = closing[-1].recorder
    holder = psycopg.connect(postgres_dsn)  # a transaction, not committed
    holder.execute(
        sql.SQL(
            "INSERT INTO {} (scope, key, fingerprint, created_at, claimed_at, status_code,"
            " headers, body) VALUES ('eva', 'held', 'fp', now(), now(), 201, '{{}}', '')"
        ).format(sql.Identifier(postgres_schema, "regenzet_idempotency_keys"))
    )
    release = threading.Timer(6, holder.rollback)
    release.start()
    try:
        with recording(pending("held")) as key:
            key.bind(UUID(int=1), 1)
            with pytest.raises(DatabaseUnavailableError):
                recorder.insert_events([])
    finally:
        release.cancel()
        holder.rollback()
        holder.close()
