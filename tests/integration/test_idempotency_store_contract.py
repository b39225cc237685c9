"""One contract for every IdempotencyStore adapter (memory, SQLite, Postgres): what the API's
Idempotency-Key handling relies on.

Time is passed in (``now``), so expiry and leases are tested without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from regenzet.adapters.idempotency import (
    InMemoryIdempotencyStore,
    PostgresIdempotencyStore,
    SqliteIdempotencyStore,
)
from regenzet.application.idempotency import ClaimOutcome, IdempotencyStore, StoredResponse

from ..conftest import postgres_store_env

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
RETENTION = timedelta(hours=24)
LEASE = timedelta(seconds=60)
SECOND = timedelta(seconds=1)
# Not valid UTF-8, with a NUL: the body must come back as the same bytes, not decoded text.
RESPONSE = StoredResponse(
    status_code=201,
    body=b'{"id":"x","version":1}\xff\x00\xc3(',
    headers={
        "ETag": '"1"',
        "Location": "/api/v1/customers/x",
        "Content-Type": "application/json",
    },
)
RACERS = 8

Factory = Callable[[], IdempotencyStore]


class IdempotencyStoreContract:
    """Subclasses provide ``factory``: each call opens another store on one shared backing
    store (another connection, as another API process would have) and closes it afterwards."""

    @pytest.fixture
    def store(self, factory: Factory) -> IdempotencyStore:
        return factory()

    def test_a_new_key_is_acquired_and_its_response_replayed_exactly(
        self, store: IdempotencyStore
    ) -> None:
        claim = store.claim("eva", "k1", "fp", now=T0)
        assert claim.outcome is ClaimOutcome.ACQUIRED
        assert claim.response is None
        store.complete("eva", "k1", RESPONSE, now=T0 + SECOND)
        replay = store.claim("eva", "k1", "fp", now=T0 + timedelta(minutes=5))
        assert replay.outcome is ClaimOutcome.REPLAY
        assert replay.response == RESPONSE
        assert replay.response is not None
        assert type(replay.response.body) is bytes

    def test_a_different_request_under_the_same_key_is_a_mismatch_while_running(
        self, store: IdempotencyStore
    ) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        claim = store.claim("eva", "k1", "other", now=T0)
        assert claim.outcome is ClaimOutcome.MISMATCH
        assert claim.response is None

    def test_a_different_request_under_the_same_key_is_a_mismatch_once_completed(
        self, store: IdempotencyStore
    ) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        store.complete("eva", "k1", RESPONSE, now=T0)
        claim = store.claim("eva", "k1", "other", now=T0 + SECOND)
        assert claim.outcome is ClaimOutcome.MISMATCH
        assert claim.response is None

    def test_the_same_request_still_running_is_in_progress(self, store: IdempotencyStore) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        claim = store.claim("eva", "k1", "fp", now=T0 + LEASE - SECOND)
        assert claim.outcome is ClaimOutcome.IN_PROGRESS
        assert claim.response is None

    def test_an_abandoned_claim_is_taken_over_after_its_lease(
        self, store: IdempotencyStore
    ) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        assert store.claim("eva", "k1", "fp", now=T0 + LEASE).outcome is ClaimOutcome.ACQUIRED
        # The new owner holds it for a fresh lease...
        renewed = store.claim("eva", "k1", "fp", now=T0 + LEASE + LEASE - SECOND)
        assert renewed.outcome is ClaimOutcome.IN_PROGRESS
        # ...but retention still counts from the first claim.
        store.complete("eva", "k1", RESPONSE, now=T0 + LEASE)
        assert store.claim("eva", "k1", "fp", now=T0 + RETENTION).outcome is ClaimOutcome.ACQUIRED

    def test_another_request_cannot_take_over_an_abandoned_claim(
        self, store: IdempotencyStore
    ) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        assert store.claim("eva", "k1", "other", now=T0 + LEASE).outcome is ClaimOutcome.MISMATCH

    def test_a_released_claim_can_be_claimed_again(self, store: IdempotencyStore) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        store.release("eva", "k1")
        assert store.claim("eva", "k1", "other", now=T0).outcome is ClaimOutcome.ACQUIRED

    def test_release_after_complete_keeps_the_response(self, store: IdempotencyStore) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        store.complete("eva", "k1", RESPONSE, now=T0)
        store.release("eva", "k1")
        replay = store.claim("eva", "k1", "fp", now=T0)
        assert replay.outcome is ClaimOutcome.REPLAY
        assert replay.response == RESPONSE

    def test_releasing_an_unknown_key_does_nothing(self, store: IdempotencyStore) -> None:
        store.release("eva", "never-claimed")
        assert store.claim("eva", "never-claimed", "fp", now=T0).outcome is ClaimOutcome.ACQUIRED

    def test_keys_are_scoped_to_their_subject(self, store: IdempotencyStore) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        store.complete("eva", "k1", RESPONSE, now=T0)
        assert store.claim("pieter", "k1", "other", now=T0).outcome is ClaimOutcome.ACQUIRED
        assert store.claim("pieter", "k1", "other", now=T0).outcome is ClaimOutcome.IN_PROGRESS
        assert store.claim("eva", "k1", "fp", now=T0).response == RESPONSE

    def test_an_expired_record_is_acquired_afresh(self, store: IdempotencyStore) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        store.complete("eva", "k1", RESPONSE, now=T0)
        assert store.claim("eva", "k1", "fp", now=T0 + RETENTION - SECOND).response == RESPONSE
        fresh = store.claim("eva", "k1", "other", now=T0 + RETENTION)
        assert fresh.outcome is ClaimOutcome.ACQUIRED
        # The old response is gone and the new record carries the new fingerprint.
        later = T0 + RETENTION + SECOND
        assert store.claim("eva", "k1", "other", now=later).outcome is ClaimOutcome.IN_PROGRESS
        assert store.claim("eva", "k1", "fp", now=later).outcome is ClaimOutcome.MISMATCH

    def test_an_expired_claim_that_never_completed_is_acquired_afresh(
        self, store: IdempotencyStore
    ) -> None:
        store.claim("eva", "k1", "fp", now=T0)
        assert store.claim("eva", "k1", "other", now=T0 + RETENTION).outcome is (
            ClaimOutcome.ACQUIRED
        )

    def test_purge_expired_returns_the_count_and_leaves_live_records(
        self, store: IdempotencyStore
    ) -> None:
        for i in range(3):  # expired: two completed, one abandoned mid-flight
            store.claim("eva", f"old{i}", "fp", now=T0)
            if i < 2:
                store.complete("eva", f"old{i}", RESPONSE, now=T0)
        noon = T0 + timedelta(hours=12)
        store.claim("eva", "done", "fp", now=noon)
        store.complete("eva", "done", RESPONSE, now=noon)
        after = T0 + RETENTION + timedelta(minutes=1)
        store.claim("eva", "running", "fp", now=after)

        assert store.purge_expired(now=after) == 3
        assert store.purge_expired(now=after) == 0
        assert store.claim("eva", "done", "fp", now=after).response == RESPONSE
        assert store.claim("eva", "running", "fp", now=after).outcome is ClaimOutcome.IN_PROGRESS
        assert store.claim("eva", "old0", "other", now=after).outcome is ClaimOutcome.ACQUIRED

    def test_a_key_of_the_maximum_length_works(self, store: IdempotencyStore) -> None:
        key = "k" * 255
        assert store.claim("eva", key, "fp", now=T0).outcome is ClaimOutcome.ACQUIRED
        store.complete("eva", key, RESPONSE, now=T0)
        assert store.claim("eva", key, "fp", now=T0).response == RESPONSE
        assert store.claim("eva", key[:-1], "fp", now=T0).outcome is ClaimOutcome.ACQUIRED

    def test_a_completed_response_survives_a_new_store_instance(self, factory: Factory) -> None:
        """For the in-memory store the "new instance" is the shared one (nothing to reopen)."""
        first = factory()
        first.claim("eva", "k1", "fp", now=T0)
        first.complete("eva", "k1", RESPONSE, now=T0)
        first.close()
        replay = factory().claim("eva", "k1", "fp", now=T0 + SECOND)
        assert replay.outcome is ClaimOutcome.REPLAY
        assert replay.response == RESPONSE

    def test_concurrent_claims_on_one_store_let_exactly_one_through(
        self, store: IdempotencyStore
    ) -> None:
        assert _race([store] * RACERS) == ["acquired"] + ["in_progress"] * (RACERS - 1)

    def test_concurrent_claims_from_separate_store_instances_let_exactly_one_through(
        self, factory: Factory
    ) -> None:
        stores = [factory() for _ in range(RACERS)]  # as many connections as racers
        assert _race(stores) == ["acquired"] + ["in_progress"] * (RACERS - 1)

    @pytest.mark.parametrize(
        ("complete", "later"), [(False, LEASE), (True, RETENTION)], ids=["abandoned", "expired"]
    )
    def test_concurrent_claims_of_a_stale_record_let_exactly_one_through(
        self, factory: Factory, complete: bool, later: timedelta
    ) -> None:
        """The record exists, so the racers contend for the row rather than for an insert."""
        first = factory()
        first.claim("eva", "race", "fp", now=T0)
        if complete:
            first.complete("eva", "race", RESPONSE, now=T0)
        stores = [factory() for _ in range(RACERS)]
        outcomes = _race(stores, now=T0 + later)
        assert outcomes == ["acquired"] + ["in_progress"] * (RACERS - 1)


def _race(stores: list[IdempotencyStore], *, now: datetime = T0) -> list[str]:
    """Claims one (scope, key, fingerprint) from every store at once; the sorted outcomes."""
    barrier = threading.Barrier(len(stores), timeout=10)

    def claim(store: IdempotencyStore) -> str:
        barrier.wait()
        return store.claim("eva", "race", "fp", now=now).outcome.value

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        return sorted(pool.map(claim, stores, timeout=20))


class TestInMemoryIdempotencyStore(IdempotencyStoreContract):
    @pytest.fixture
    def factory(self) -> Factory:
        shared = InMemoryIdempotencyStore(retention=RETENTION, lease=LEASE)
        return lambda: shared


class TestSqliteIdempotencyStore(IdempotencyStoreContract):
    @pytest.fixture
    def factory(self, tmp_path: Path) -> Iterator[Factory]:
        opened: list[IdempotencyStore] = []

        def make() -> IdempotencyStore:
            store = SqliteIdempotencyStore(tmp_path / "keys.db", retention=RETENTION, lease=LEASE)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()


@pytest.mark.postgres
class TestPostgresIdempotencyStore(IdempotencyStoreContract):
    @pytest.fixture
    def factory(self, postgres_dsn: str, postgres_schema: str) -> Iterator[Factory]:
        # The same conninfo the composition root builds from the event store's settings.
        env = postgres_store_env(postgres_dsn, postgres_schema)
        conninfo = {
            "host": env["POSTGRES_HOST"],
            "port": env["POSTGRES_PORT"],
            "user": env["POSTGRES_USER"],
            "password": env["POSTGRES_PASSWORD"],
            "dbname": env["POSTGRES_DBNAME"],
        }
        opened: list[IdempotencyStore] = []

        def make() -> IdempotencyStore:
            store = PostgresIdempotencyStore(
                conninfo, schema=postgres_schema, retention=RETENTION, lease=LEASE
            )
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()
