"""The directory read models (customers, vehicles, staff) agree with the aggregates, find what
a person types, follow changes with one row per entity, and rebuild to the same rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from psycopg import sql

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.application.directory_models import (
    CustomerDirectory,
    StaffDirectory,
    VehicleDirectory,
    customer_query,
    directory_projections,
    name_words,
    phone_key,
    plate_key,
    staff_entry,
    staff_ranges,
    vehicle_query,
)
from regenzet.application.projections import Doc, Follower, Query, ReadModelStore
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.bootstrap import (
    aggregate_loader,
    event_log_reader,
    read_model_store,
    workshop_for,
)
from regenzet.entrypoints.demo import CUSTOMERS, STAFF, VEHICLES, demo_id, seed_demo
from regenzet.entrypoints.settings import Settings

from ..conftest import postgres_store_env

TABLES = ("customer_directory", "vehicle_directory", "staff_directory")
ADVISOR = Actor("eva", Role.ADVISOR)
Garage = tuple[Workshop, list[Follower], ReadModelStore, ManualClock]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "sqlite":
        return sqlite_env(tmp_path / "regenzet.db")
    return postgres_store_env(
        request.getfixturevalue("postgres_dsn"), request.getfixturevalue("postgres_schema")
    )


def _followers(workshop: Workshop, env: dict[str, str], store: ReadModelStore) -> list[Follower]:
    reader = event_log_reader(env, workshop)
    return [
        Follower(projection, store, reader, workshop.decode_rows)
        for projection in directory_projections(aggregate_loader(workshop))
    ]


@pytest.fixture
def garage(env: dict[str, str], tmp_path: Path) -> Iterator[Garage]:
    clock = ManualClock(datetime.now(UTC) - timedelta(days=6))
    workshop = workshop_for(env, clock)
    seed_demo(workshop, clock)
    store = read_model_store(env, Settings(tmp_path, None))
    followers = _followers(workshop, env, store)
    for follower in followers:
        follower.check_schema()
        follower.catch_up()
    yield workshop, followers, store, clock
    store.close()
    workshop.close()


def _all(store: ReadModelStore, table: str) -> list[Doc]:
    page = store.query(Query(table, limit=10_000))
    assert page.next_cursor is None
    return page.items


def _names(store: ReadModelStore, query: Query) -> list[str]:
    return [d["name"] for d in store.query(query).items]


def _catch_up(followers: list[Follower]) -> None:
    for follower in followers:
        follower.catch_up()


def test_every_row_agrees_with_its_aggregate(garage: Garage) -> None:
    workshop, _, store, _ = garage
    customers = _all(store, "customer_directory")
    assert len(customers) == len(CUSTOMERS)
    for row in customers:
        customer = workshop.get_customer(demo_id(f"customer:{_key(CUSTOMERS, row['name'])}"))
        assert (row["id"], row["version"]) == (str(customer.id), customer.version)
        assert (row["email"], row["phone"]) == (customer.email, customer.phone)
    vehicles = _all(store, "vehicle_directory")
    assert len(vehicles) == len(VEHICLES)
    for row in vehicles:
        vehicle = workshop.find_vehicle_id(row["vin"])
        view = workshop.get_vehicle(vehicle)
        assert (row["plate"], str(view.owner_id), row["version"]) == (
            view.plate,
            row["owner_id"],
            view.version,
        )
    staff = _all(store, "staff_directory")
    assert len(staff) == len(STAFF)
    for row in staff:
        member = workshop.get_staff_member(demo_id(f"staff:{row['email'].split('@')[0]}"))
        assert (row["role"], row["hv_level"], row["active"]) == (
            member.role,
            member.hv_level,
            member.active,
        )


def _key(table: dict[str, Any], name: str) -> str:
    return next(k for k, v in table.items() if v[0] == name)


def test_customers_are_found_by_any_name_word_email_or_phone_digits(garage: Garage) -> None:
    _, _, store, _ = garage

    def search(q: str) -> list[str]:
        return _names(
            store, Query("customer_directory", prefixes=customer_query(q), order_by="name_key")
        )

    assert search("sanne") == ["Sanne de Vries"]
    assert search("VRIES") == ["Sanne de Vries"]  # any word, any case
    assert search("sanne de v") == ["Sanne de Vries"]  # the whole name's start
    assert search("lukas.meyer@") == ["Lukas Meyer"]
    assert search("+31 6") == ["Amira Haddad", "Sanne de Vries"]  # phone digits
    assert search("3162") == []  # digits must be the number's start, not a substring
    assert search("fleet") == ["GreenCab Fleet B.V."]
    assert search("vries%") == []


def test_vehicles_are_found_by_plate_vin_or_the_vins_last_characters(garage: Garage) -> None:
    _, _, store, _ = garage

    def search(q: str) -> list[str]:
        query = Query("vehicle_directory", prefixes=vehicle_query(q), order_by="plate_key")
        return [d["plate"] for d in store.query(query).items]

    assert search("h456") == ["H-456-LF"]
    assert search("h-456 l") == ["H-456-LF"]
    assert search("1N4AZ") == ["H-456-LF"]
    assert search("306212") == ["H-456-LF"]  # the VIN's last digits
    assert search("0630") == []  # a middle part of the VIN is not a match


def test_a_transfer_and_a_contact_change_rewrite_only_their_own_row(garage: Garage) -> None:
    workshop, followers, store, _ = garage
    leaf = workshop.find_vehicle_id(VEHICLES["leaf"][0])
    sanne, lukas = demo_id("customer:sanne"), demo_id("customer:lukas")
    workshop.transfer_vehicle_ownership(leaf, new_owner_id=sanne, actor=ADVISOR)
    workshop.change_customer_contact(
        lukas, email="l.meyer@new.example", phone="+49 30 1111", actor=ADVISOR
    )
    _catch_up(followers)
    owned = store.query(Query("vehicle_directory", equals={"owner_id": str(sanne)}, limit=50))
    assert "H-456-LF" in [d["plate"] for d in owned.items]
    lukas_owns = Query("vehicle_directory", equals={"owner_id": str(lukas)})
    assert "H-456-LF" not in [d["plate"] for d in store.query(lukas_owns).items]
    found = Query("customer_directory", prefixes=customer_query("l.meyer"))
    assert _names(store, found) == ["Lukas Meyer"]
    assert _names(store, Query("customer_directory", prefixes=customer_query("lukas.m"))) == []


def test_the_technician_picker_counts_a_level_only_while_its_certificate_is_valid(
    garage: Garage,
) -> None:
    _, _, store, clock = garage
    today = clock.today()

    def picker(min_level: int | None = None, valid: bool | None = None) -> list[str]:
        ranges = staff_ranges(today, min_hv_level=min_level, certificate_valid=valid)
        query = Query(
            "staff_directory", equals={"role": "technician"}, ranges=ranges, order_by="name_key"
        )
        return _names(store, query)

    assert picker() == ["Daan Visser", "Jonas Peters", "Milan Smit", "Noor El Amrani"]
    assert picker(3) == ["Noor El Amrani"]  # Jonas's level 3 certificate expired
    assert picker(2) == ["Daan Visser", "Noor El Amrani"]
    assert picker(valid=False) == ["Jonas Peters"]
    assert picker(valid=True) == ["Daan Visser", "Milan Smit", "Noor El Amrani"]
    assert picker(2, valid=False) == []
    jonas = store.query(Query("staff_directory", equals={"name_key": "jonas peters"})).items[0]
    entry = staff_entry(jonas, today)
    assert (entry["hv_level"], entry["effective_hv_level"], entry["certificate_valid"]) == (
        3,
        0,
        False,
    )
    assert "name_key" not in entry
    # The row holds the expiry date, so validity follows the calendar without any event.
    later = date.fromisoformat(jonas["certificate_expires_on"]) - timedelta(days=1)
    assert staff_entry(jonas, later)["effective_hv_level"] == 3


def test_search_keys() -> None:
    assert name_words("Anna-Lena  O'Brien") == ["anna-lena  o'brien", "anna", "lena", "o", "brien"]
    assert name_words("STRAßE") == ["strasse"]
    assert phone_key("+31 (0)6-12") == "310612"
    assert phone_key("") is None
    assert plate_key(" k-789 id ") == "K789ID"
    assert customer_query("  ") == ()
    assert customer_query("an\x00na") == (("name_words", "anna"), ("email_key", "anna"))
    assert vehicle_query("--") == ()


def _checksum(store: ReadModelStore) -> str:
    digest = hashlib.sha256()
    for table in TABLES:
        for doc in sorted(_all(store, table), key=lambda d: json.dumps(d, sort_keys=True)):
            digest.update(json.dumps(doc, sort_keys=True).encode())
    return digest.hexdigest()


def test_rebuild_equals_incremental(garage: Garage, env: dict[str, str]) -> None:
    workshop, followers, store, _ = garage
    expected = _checksum(store)
    assert all(_all(store, t) for t in TABLES)
    for follower in followers:
        follower.batch = 10_000
        follower.rebuild()
    assert _checksum(store) == expected
    # Fresh projections (empty fold caches) each batch fold from the repository: same rows.
    for follower in followers:
        store.reset(follower.projection)
    while True:
        fresh = _followers(workshop, env, store)
        for follower in fresh:
            follower.batch = 5
        if not sum(follower.step() for follower in fresh):
            break
    assert _checksum(store) == expected


def test_projection_names_and_tables() -> None:
    projections = directory_projections(lambda *_: None)
    assert [type(p) for p in projections] == [CustomerDirectory, VehicleDirectory, StaffDirectory]
    assert [t.name for p in projections for t in p.tables] == list(TABLES)


# ---------------------------------------------------------------------------------------------
# The searches are index range scans on both databases (EXPLAIN)
# ---------------------------------------------------------------------------------------------


def _seed(store: ReadModelStore, count: int) -> None:
    from regenzet.application import views as read_views
    from regenzet.application.directory_models import customer_row, vehicle_row

    with store.transaction("customer_directory") as tx:
        for i in range(count):
            view = read_views.CustomerView(
                UUID(int=i + 1), 1, f"Anna Jansen{i}", f"a{i}@example.com", f"+31 6 {i:08d}", {}
            )
            tx.put("customer_directory", str(view.id), customer_row(view, None))
    with store.transaction("vehicle_directory") as tx:
        for i in range(count):
            vehicle = SimpleNamespace(
                id=UUID(int=i + 1), version=1, vin=f"WVWZZZE1ZMP{i:06d}", plate=f"K-{i:05d}",
                make="VW", model="ID.3", year=2021, owner_id=UUID(int=1), odometer_km=1,
            )  # fmt: skip
            tx.put("vehicle_directory", str(vehicle.id), vehicle_row(vehicle, None))


def _plan(store: Any, query: Query) -> str:
    from regenzet.adapters.read_models import PostgresReadModelStore, _select_sql

    spec = next(
        t for p in directory_projections(_no_load) for t in p.tables if t.name == query.table
    )
    if isinstance(store, PostgresReadModelStore):
        text, params = _select_sql(query, spec, "%s")
        with store._pool.connection() as conn, conn.transaction():
            conn.execute("ANALYZE")
            conn.execute("SET LOCAL enable_seqscan = off")  # an unusable index shows as Seq Scan
            rows = conn.execute(sql.SQL("EXPLAIN " + text), params).fetchall()  # type: ignore[arg-type]
    else:
        text, params = _select_sql(query, spec, "?")
        conn = store._conn()
        conn.execute("ANALYZE")
        rows = conn.execute("EXPLAIN QUERY PLAN " + text, params).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


def _no_load(*_: Any) -> Any:
    raise AssertionError("not folding")


def test_prefix_searches_are_index_range_scans(env: dict[str, str], tmp_path: Path) -> None:
    store = read_model_store(env, Settings(tmp_path, None))
    try:
        for projection in directory_projections(_no_load):
            store.reset(projection)
        _seed(store, 2_000)
        customers = _plan(
            store, Query("customer_directory", prefixes=customer_query("jans"), order_by="name_key")
        )
        vehicles = _plan(
            store,
            Query("vehicle_directory", prefixes=vehicle_query("k-0001"), order_by="plate_key"),
        )
        postgres = "Seq Scan" in customers + vehicles or "Index" in customers
        if postgres:
            assert "Seq Scan" not in customers + vehicles, customers + vehicles
            for index in (
                "rm_customer_directory__name_words_value_c",
                "rm_customer_directory_cx_email_key",
                "rm_vehicle_directory_cx_plate_key",
                "rm_vehicle_directory_cx_vin",
                "rm_vehicle_directory_cx_vin_reversed",
            ):
                assert index in customers + vehicles, (index, customers + vehicles)
        else:
            assert "SCAN rm_" not in customers + vehicles, customers + vehicles
            assert "USING INDEX rm_customer_directory__name_words_value" in customers
            assert "USING INDEX rm_vehicle_directory_ix_vin_reversed" in vehicles
    finally:
        store.close()
