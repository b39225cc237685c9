"""One contract for every IdempotencyStore adapter (memory, SQLite, Postgres): what the API's
Idempotency-Key handling relies on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from regenzet.adapters.idempotency import (
    InMemoryIdempotencyStore,
    PostgresIdempotencyStore,
    SqliteIdempotencyStore,
)
from regenzet.application.idempotency import (
    ClaimOutcome,
    IdempotencyStore,
    StoredResponse,
)

from ..conftest import postgres_store_env

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
RETENTION = timedelta(hours=24)
LEASE = timedelta(seconds=60)
RESPONSE = StoredResponse(
    status_code=201,
    body=b'{"id":"x","version":1}\xff\x00',
    headers={"ETag": '"1"', "Location": "/api/v1/customers/x"},
)

Factory = Callable[[], IdempotencyStore]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Builds stores on one shared backing store (a second call = a second process)."""
    opened: list[IdempotencyStore] = []
    if request.param == "memory":
        shared = InMemoryIdempotencyStore(retention=RETENTION, lease=LEASE)

        def make() -> IdempotencyStore:
            return shared

    elif request.param == "sqlite":

        def make() -> IdempotencyStore:
            store = SqliteIdempotencyStore(tmp_path / "keys.db", retention=RETENTION, lease=LEASE)
            opened.append(store)
            return store

    else:
        env = postgres_store_env(
            request.getfixturevalue("postgres_dsn"), request.getfixturevalue("postgres_schema")
        )
        conninfo = {
            "host": env["POSTGRES_HOST"],
            "port": env["POSTGRES_PORT"],
            "user": env["POSTGRES_USER"],
            "password": env["POSTGRES_PASSWORD"],
            "dbname": env["POSTGRES_DBNAME"],
        }

        def make() -> IdempotencyStore:
            store = PostgresIdempotencyStore(
                conninfo,
                schema=env["POSTGRES_SCHEMA"],
                pool_size=2,
                max_overflow=8,
                retention=RETENTION,
                lease=LEASE,
            )
            opened.append(store)
            return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(factory: Factory) -> IdempotencyStore:
    return factory()


def test_a_new_key_is_acquired_and_its_response_replayed(store: IdempotencyStore) -> None:
    assert store.claim("eva", "k1", "fp", now=T0).outcome is ClaimOutcome.ACQUIRED
    store.complete("eva", "k1", RESPONSE, now=T0)
    replay = store.claim("eva", "k1", "fp", now=T0 + timedelta(minutes=5))
    assert replay.outcome is ClaimOutcome.REPLAY
    assert replay.response == RESPONSE


def test_a_different_request_under_the_same_key_is_a_mismatch(store: IdempotencyStore) -> None:
    store.claim("eva", "k1", "fp", now=T0)
    assert store.claim("eva", "k1", "other", now=T0).outcome is ClaimOutcome.MISMATCH
    store.complete("eva", "k1", RESPONSE, now=T0)
    assert store.claim("eva", "k1", "other", now=T0).outcome is ClaimOutcome.MISMATCH


def test_the_same_request_still_running_is_in_progress(store: IdempotencyStore) -> None:
    store.claim("eva", "k1", "fp", now=T0)
    claim = store.claim("eva", "k1", "fp", now=T0 + LEASE - timedelta(seconds=1))
    assert claim.outcome is ClaimOutcome.IN_PROGRESS
    assert claim.response is None


def test_an_abandoned_claim_is_taken_over_after_its_lease(store: IdempotencyStore) -> None:
    store.claim("eva", "k1", "fp", now=T0)
    assert store.claim("eva", "k1", "fp", now=T0 + LEASE).outcome is ClaimOutcome.ACQUIRED
    # ...and the new owner now holds it for a fresh lease.
    later = T0 + LEASE + timedelta(seconds=1)
    assert store.claim("eva", "k1", "fp", now=later).outcome is ClaimOutcome.IN_PROGRESS


def test_a_released_claim_can_be_claimed_again(store: IdempotencyStore) -> None:
    store.claim("eva", "k1", "fp", now=T0)
    store.release("eva", "k1")
    assert store.claim("eva", "k1", "other", now=T0).outcome is ClaimOutcome.ACQUIRED


def test_release_never_forgets_a_completed_response(store: IdempotencyStore) -> None:
    store.claim("eva", "k1", "fp", now=T0)
    store.complete("eva", "k1", RESPONSE, now=T0)
    store.release("eva", "k1")
    assert store.claim("eva", "k1", "fp", now=T0).outcome is ClaimOutcome.REPLAY


def test_keys_are_scoped_to_their_subject(store: IdempotencyStore) -> None:
    store.claim("eva", "k1", "fp", now=T0)
    store.complete("eva", "k1", RESPONSE, now=T0)
    assert store.claim("pieter", "k1", "other", now=T0).outcome is ClaimOutcome.ACQUIRED


def test_an_expired_key_acts_afresh(store: IdempotencyStore) -> None:
    store.claim("eva", "k1", "fp", now=T0)
    store.complete("eva", "k1", RESPONSE, now=T0)
    assert store.claim("eva", "k1", "other", now=T0 + RETENTION).outcome is ClaimOutcome.ACQUIRED


def test_purge_removes_only_expired_records(store: IdempotencyStore) -> None:
    for i in range(3):
        store.claim("eva", f"old{i}", "fp", now=T0)
    store.claim("eva", "new", "fp", now=T0 + timedelta(hours=12))
    store.complete("eva", "new", RESPONSE, now=T0 + timedelta(hours=12))
    assert store.purge_expired(now=T0 + RETENTION + timedelta(minutes=1)) == 3
    replay = store.claim("eva", "new", "fp", now=T0 + RETENTION + timedelta(minutes=2))
    assert replay.outcome is ClaimOutcome.REPLAY


def test_a_key_of_the_maximum_length_works(store: IdempotencyStore) -> None:
    key = "k" * 255
    store.claim("eva", key, "fp", now=T0)
    store.complete("eva", key, RESPONSE, now=T0)
    assert store.claim("eva", key, "fp", now=T0).response == RESPONSE


def test_a_completed_response_survives_a_new_store_instance(factory: Factory) -> None:
    first = factory()
    first.claim("eva", "k1", "fp", now=T0)
    first.complete("eva", "k1", RESPONSE, now=T0)
    assert factory().claim("eva", "k1", "fp", now=T0).response == RESPONSE


def test_concurrent_claims_of_one_key_let_exactly_one_through(factory: Factory) -> None:
    stores = [factory() for _ in range(8)]  # separate connections, as separate processes have
    barrier = threading.Barrier(len(stores))
    outcomes: list[ClaimOutcome] = []
    lock = threading.Lock()

    def claim(store: IdempotencyStore) -> None:
        barrier.wait()
        outcome = store.claim("eva", "race", "fp", now=T0).outcome
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.value for o in outcomes) == ["acquired"] + ["in_progress"] * 7
