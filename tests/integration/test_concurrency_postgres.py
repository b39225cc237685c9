"""Two racing commands on Postgres: exactly one wins, the other gets a conflict, and the
aggregate's versions stay contiguous (none lost, none duplicated)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.errors import ConcurrencyConflictError
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role

from ..conftest import START, postgres_store_env

pytestmark = pytest.mark.postgres
ADVISOR = Actor("advisor", Role.ADVISOR)


@pytest.fixture
def two_apps(postgres_dsn: str, postgres_schema: str) -> Iterator[tuple[Workshop, Workshop]]:
    env = postgres_store_env(postgres_dsn, postgres_schema, pool_size=2)
    apps = tuple(
        Workshop(env=env, clock=ManualClock(START), vin_decoder=VininfoVinDecoder())
        for _ in range(2)
    )
    yield apps  # type: ignore[misc]
    for app in apps:
        app.close()


def test_one_of_two_racing_commands_gets_a_conflict(
    two_apps: tuple[Workshop, Workshop], postgres_dsn: str, postgres_schema: str
) -> None:
    first, second = two_apps
    customer = first.register_customer(
        name="Race Condition", email="race@example.com", phone=None, actor=ADVISOR
    ).id
    rounds = 20
    outcomes: list[str] = []
    for i in range(rounds):
        # Both load the same version, then both try to write the next one.
        a = first.repository.get(customer)
        b = second.repository.get(customer)
        a.change_contact(email=f"a{i}@example.com", phone=None, actor=ADVISOR)
        b.change_contact(email=f"b{i}@example.com", phone=None, actor=ADVISOR)
        barrier = threading.Barrier(2)
        results: dict[str, str] = {}

        def save(
            name: str,
            app: Workshop,
            aggregate: object,
            barrier: threading.Barrier = barrier,
            results: dict[str, str] = results,
        ) -> None:
            barrier.wait()
            try:
                app._commit(aggregate)  # type: ignore[arg-type]
                results[name] = "saved"
            except ConcurrencyConflictError:
                results[name] = "conflict"

        threads = [
            threading.Thread(target=save, args=("a", first, a)),
            threading.Thread(target=save, args=("b", second, b)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == ["conflict", "saved"], results
        outcomes.append(next(k for k, v in results.items() if v == "saved"))

    with psycopg.connect(postgres_dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema)))
        versions = [
            r[0]
            for r in conn.execute(
                "SELECT originator_version FROM regenzet_events WHERE originator_id = %s "
                "ORDER BY originator_version",
                (customer,),
            )
        ]
    assert versions == list(range(1, rounds + 2))
    final = first.get_customer(customer)
    assert final.version == rounds + 1
    assert final.email == f"{outcomes[-1]}{rounds - 1}@example.com"


def test_racing_use_cases_through_the_application_lose_nothing(
    two_apps: tuple[Workshop, Workshop],
) -> None:
    """Many threads hammer one aggregate through the use case; every success is a distinct,
    contiguous version and every failure is a conflict, never a corrupt write."""
    first = two_apps[0]
    vehicle_owner = first.register_customer(
        name="Fleet", email="fleet@example.com", phone=None, actor=ADVISOR
    ).id
    vehicle = first.register_vehicle(
        vin="5YJ3E1EA2KF317000",
        plate="R-1",
        make=None,
        model="Model 3",
        year=2019,
        battery_kwh=Decimal("75"),
        nominal_voltage_v=Decimal("350"),
        owner_id=vehicle_owner,
        actor=ADVISOR,
    ).id
    saved: list[int] = []
    conflicts: list[int] = []
    lock = threading.Lock()

    def worker(app: Workshop, offset: int) -> None:
        for i in range(25):
            km = 10_000 + i * 10 + offset  # unique per writer: every success is a new event
            try:
                receipt = app.record_odometer(vehicle, km=km, actor=ADVISOR)
            except ConcurrencyConflictError:
                with lock:
                    conflicts.append(km)
            except Exception as exc:  # odometer may not decrease: a lost race on the value
                if "never decreases" not in str(exc):
                    raise
            else:
                with lock:
                    saved.append(receipt.version)

    threads = [threading.Thread(target=worker, args=(app, n)) for n, app in enumerate(two_apps * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(saved) == len(set(saved)), "a version was written twice"
    history = first.get_history(vehicle)
    assert [e.version for e in history] == list(range(1, len(history) + 1))
    assert len(history) == 1 + len(saved)  # registered + every successful odometer reading
    assert saved, "at least one writer must have won"


def test_the_process_environment_cannot_switch_on_db_functions(
    postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADR 0004: the insert path must stay the locked one whatever the environment says."""
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("POSTGRES_LOCK_TIMEOUT", "999")
    app = Workshop(
        env=postgres_store_env(postgres_dsn, postgres_schema),
        clock=ManualClock(START),
        vin_decoder=VininfoVinDecoder(),
    )
    try:
        datastore = app.factory.datastore  # type: ignore[attr-defined]
        assert datastore.enable_db_functions is False
        assert datastore.lock_timeout == 5
        app.register_customer(name="Env Check", email="env@example.com", phone=None, actor=ADVISOR)
    finally:
        app.close()
