"""The operations read models (technician workload, inspection summaries, daily KPIs) agree
with the aggregates, roll up exactly, and rebuild to what was built incrementally."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.application.operations_models import (
    COUNT_FIELDS,
    DECIMAL_FIELDS,
    InspectionSummaries,
    Kpis,
    TechnicianWorkload,
    operations_projections,
    roll_up,
    workload_document,
)
from regenzet.application.projections import Doc, Follower, Query, ReadModelStore
from regenzet.application.views import RepairOrderView
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.bootstrap import event_log_reader, read_model_store, workshop_for
from regenzet.entrypoints.demo import STAFF, demo_id, seed_demo
from regenzet.entrypoints.settings import Settings

from ..conftest import postgres_store_env

ORDERS = ["model3-hv", "leaf-balance", "id3-brakes", "macheh-port", "ev6-ota", "ev6-12v",
          "bolt-check"]  # fmt: skip
INSPECTIONS = ["model3", "leaf", "bolt"]
TABLES = ("workload", "workload_orders", "workload_jobs", "workload_hours", "workload_clocked",
          "inspection_summaries", "kpis_daily", "kpis_orders")  # fmt: skip

Garage = tuple[Workshop, list[Follower], ReadModelStore]


def _followers(workshop: Workshop, env: dict[str, str], store: ReadModelStore) -> list[Follower]:
    reader = event_log_reader(env, workshop)

    def load(aggregate_id: Any, version: int) -> Any:
        return workshop.repository.get(aggregate_id, version=version)

    return [
        Follower(projection, store, reader, workshop.decode_rows)
        for projection in operations_projections(load)
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "sqlite":
        return sqlite_env(tmp_path / "regenzet.db")
    return postgres_store_env(
        request.getfixturevalue("postgres_dsn"), request.getfixturevalue("postgres_schema")
    )


@pytest.fixture
def garage(env: dict[str, str], tmp_path: Path) -> Iterator[Garage]:
    clock = ManualClock(datetime.now(UTC) - timedelta(days=6))
    workshop = workshop_for(env, clock)
    seed_demo(workshop, clock)
    store = read_model_store(env, Settings(tmp_path, None))
    followers = _followers(workshop, env, store)
    for follower in followers:
        follower.check_schema()
    yield workshop, followers, store
    store.close()
    workshop.close()


def _caught_up(garage: Garage) -> tuple[Workshop, ReadModelStore]:
    workshop, followers, store = garage
    for follower in followers:
        follower.catch_up()
    return workshop, store


def _orders(workshop: Workshop) -> list[RepairOrderView]:
    return [workshop.get_repair_order(demo_id(f"repair-order:{key}")) for key in ORDERS]


def _all(store: ReadModelStore, table: str) -> list[Doc]:
    page = store.query(Query(table, limit=10_000))
    assert page.next_cursor is None
    return page.items


def checksum(store: ReadModelStore) -> str:
    digest = hashlib.sha256()
    for table in TABLES:
        for doc in sorted(_all(store, table), key=lambda d: json.dumps(d, sort_keys=True)):
            digest.update(json.dumps(doc, sort_keys=True).encode())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Technician workload
# ---------------------------------------------------------------------------------------------


def test_every_workload_agrees_with_the_staff_member_and_the_orders(garage: Garage) -> None:
    workshop, store = _caught_up(garage)
    orders = _orders(workshop)
    for key, *_ in STAFF:
        staff = workshop.get_staff_member(demo_id(f"staff:{key}"))
        doc = workload_document(store, str(staff.id))
        assert doc is not None, key
        assert (doc["name"], doc["role"], doc["active"]) == (staff.name, staff.role, staff.active)
        assert (doc["hv_level"], doc["certificate_id"]) == (staff.hv_level, staff.certificate_id)
        assert doc["effective_hv_level"] == staff.effective_hv_level
        expires = staff.certificate_expires_on
        assert doc["certificate_expires_on"] == (expires.isoformat() if expires else None)
        expected = sorted(
            (str(o.id), j.job_id, j.title, j.status)
            for o in orders
            for j in o.jobs
            if str(staff.id) in j.assigned
        )
        assert [
            (j["repair_order_id"], j["job_id"], j["title"], j["status"])
            for j in doc["assigned_jobs"]
        ] == expected, key
        if staff.clocked_on is None:
            assert doc["clocked_on"] is None
        else:
            assert {k: doc["clocked_on"][k] for k in staff.clocked_on} == staff.clocked_on
            assert doc["clocked_on"]["since"] is not None
        days = sum((Decimal(h) for h in doc["clocked_hours"].values()), Decimal(0))
        assert days == Decimal(doc["clocked_hours_total"])


def test_noor_works_on_her_demo_jobs_for_the_hours_the_order_clocked(garage: Garage) -> None:
    workshop, store = _caught_up(garage)
    noor = str(demo_id("staff:noor"))
    doc = workload_document(store, noor)
    assert doc is not None
    hv = workshop.get_repair_order(demo_id("repair-order:model3-hv"))
    assert [(j["repair_order_id"], j["job_id"]) for j in doc["assigned_jobs"]] == [
        (str(hv.id), "hv-pump")
    ]
    her_jobs = [j.job_id for j in hv.jobs if noor in j.assigned]
    clocked = sum((hv.clocked_hours[job] for job in her_jobs), Decimal(0))
    assert clocked > 0
    assert Decimal(doc["clocked_hours_total"]) == clocked
    assert [(j["job_id"], Decimal(j["hours"])) for j in doc["clocked_jobs"]] == [
        ("hv-pump", clocked)
    ]


def test_clocked_hours_per_job_match_the_orders(garage: Garage) -> None:
    """In the demo each job is clocked by one technician, so per-job hours must match."""
    workshop, store = _caught_up(garage)
    by_order = {str(o.id): o for o in _orders(workshop)}
    seen = Counter[tuple[str, str]]()
    for row in _all(store, "workload"):
        doc = workload_document(store, row["staff_id"])
        assert doc is not None
        for job in doc["clocked_jobs"]:
            order = by_order[job["repair_order_id"]]
            assert Decimal(job["hours"]) == order.clocked_hours[job["job_id"]]
            seen[(job["repair_order_id"], job["job_id"])] += 1
    clocked = {(str(o.id), j) for o in by_order.values() for j, h in o.clocked_hours.items() if h}
    assert set(seen) == clocked
    assert all(n == 1 for n in seen.values())


def test_workload_follows_new_labour_and_filters_by_role(garage: Garage) -> None:
    workshop, store = _caught_up(garage)
    milan = demo_id("staff:milan")
    before = workload_document(store, str(milan))
    assert before is not None
    assert before["clocked_on"]["job_id"] == "discs"

    workshop.clock.advance(timedelta(minutes=30))
    order = demo_id("repair-order:id3-brakes")
    workshop.clock_off(
        order, job_id="discs", technician_id=milan, actor=Actor(str(milan), Role.TECHNICIAN)
    )
    _caught_up(garage)
    after = workload_document(store, str(milan))
    assert after is not None
    assert after["clocked_on"] is None
    assert (
        Decimal(after["clocked_hours_total"])
        == workshop.get_repair_order(order).clocked_hours["discs"]
    )

    technicians = store.query(Query("workload", equals={"role": "technician", "active": True}))
    expected = {
        str(demo_id(f"staff:{k}")) for k, _, _, role, *_ in STAFF if role.value == "technician"
    }
    assert {d["staff_id"] for d in technicians.items} == expected


# ---------------------------------------------------------------------------------------------
# Inspection summaries
# ---------------------------------------------------------------------------------------------


def test_every_inspection_summary_agrees_with_the_inspection(garage: Garage) -> None:
    workshop, store = _caught_up(garage)
    for key in INSPECTIONS:
        inspection = workshop.get_inspection(demo_id(f"inspection:{key}"))
        doc = store.get("inspection_summaries", str(inspection.id))
        assert doc is not None, key
        counts = Counter(r["rating"] for r in inspection.ratings.values())
        assert {k: v for k, v in doc["ratings"].items() if v} == dict(counts)
        assert sum(doc["ratings"].values()) == doc["rated_items"] == len(inspection.ratings)
        assert doc["measurements"] == inspection.measurements
        failed = [m for m in inspection.measurements if m["passed"] is False]
        assert doc["measurements_failed"] == len(failed)
        assert doc["recommended_jobs"] == inspection.recommended_jobs
        assert (doc["status"], doc["shared"]) == (inspection.status, inspection.shared)
        assert doc["technician_id"] == str(inspection.technician_id)
        assert doc["repair_order_id"] == str(inspection.repair_order_id)
        assert doc["vehicle_id"] == str(inspection.vehicle_id)
        assert doc["version"] == inspection.version

    shared = store.query(Query("inspection_summaries", equals={"shared": True}))
    assert sorted(d["id"] for d in shared.items) == sorted(
        str(demo_id(f"inspection:{k}")) for k in ("model3", "leaf")
    )
    bolt = demo_id("inspection:bolt")
    failing = store.get("inspection_summaries", str(bolt))
    assert failing is not None
    assert failing["measurements_failed"] == 1  # 0.03 MOhm isolation on a 350 V pack


# ---------------------------------------------------------------------------------------------
# KPIs
# ---------------------------------------------------------------------------------------------


def _sum(days: list[Doc], field: str) -> Any:
    if field in DECIMAL_FIELDS:
        return sum((Decimal(d[field]) for d in days), Decimal(0))
    return sum(d[field] for d in days)


def test_kpis_agree_with_the_repair_orders(garage: Garage) -> None:
    workshop, store = _caught_up(garage)
    orders = _orders(workshop)
    days = _all(store, "kpis_daily")
    assert days

    invoiced = [o for o in orders if o.invoice_number]
    jobs = [j for o in orders for j in o.jobs]
    assert _sum(days, "orders_opened") == len(ORDERS)
    assert _sum(days, "orders_invoiced") == len(invoiced) == 2
    assert _sum(days, "invoiced_total") == sum((o.total for o in invoiced), Decimal(0))
    assert _sum(days, "invoiced_subtotal") == sum((o.subtotal for o in invoiced), Decimal(0))
    approved = [j for j in jobs if j.status in {"approved", "completed"}]
    declined = [j for j in jobs if j.status == "declined"]
    assert _sum(days, "jobs_approved") == len(approved)
    assert _sum(days, "jobs_declined") == len(declined) == 1
    assert _sum(days, "jobs_quoted") == len([j for j in jobs if j.quoted_in is not None])
    billed = sum(
        (Decimal(line["quantity"]) for o in invoiced for line in o.invoice_lines
         if line["kind"] == "labour"),
        Decimal(0),
    )  # fmt: skip
    assert _sum(days, "billed_labour_hours") == billed
    clocked = sum((h for o in orders for h in o.clocked_hours.values()), Decimal(0))
    assert _sum(days, "clocked_hours") == clocked
    assert _sum(days, "hv_jobs_completed") == len(
        [j for j in jobs if j.hv_work and j.status == "completed"]
    )
    assert _sum(days, "orders_closed") == len([o for o in orders if o.status == "closed"])
    assert _sum(days, "orders_cancelled") == len([o for o in orders if o.status == "cancelled"])

    # Every demo order has left "open"; terminal orders are no longer tracked.
    exits = Counter[str]()
    for day in days:
        exits.update(day["status_exits"])
        assert set(day["status_seconds"]) == set(day["status_exits"])
    assert exits["open"] == len([o for o in orders if o.status != "open"])
    for order in orders:
        tracked = store.get("kpis_orders", str(order.id))
        if order.status in {"closed", "cancelled"}:
            assert tracked is None
        else:
            assert tracked is not None
            assert tracked["status"] == order.status

    [total] = roll_up(
        [dict(d, day=days[0]["day"]) for d in days], "day"
    )  # every day folded into one
    rate = Decimal(len(approved)) / (len(approved) + len(declined))
    assert total["quote_approval_rate"] == str(rate.quantize(Decimal("0.0001")))
    average = (total_value := _sum(days, "invoiced_total")) / len(invoiced)
    assert total["average_order_value"] == str(average.quantize(Decimal("0.01")))
    assert total_value > 0
    efficiency = (billed / clocked).quantize(Decimal("0.0001"))
    assert total["labour_efficiency"] == str(efficiency)


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_roll_up_of_the_stored_days_equals_their_sum(garage: Garage, period: Any) -> None:
    _, store = _caught_up(garage)
    days = _all(store, "kpis_daily")
    periods = roll_up(days, period)
    assert sum(p["days"] for p in periods) == len(days)
    for field in (*COUNT_FIELDS, *DECIMAL_FIELDS):
        assert _sum(periods, field) == _sum(days, field), field
    for p in periods:
        approved, declined = p["jobs_approved"], p["jobs_declined"]
        if approved + declined:
            rate = Decimal(approved) / (approved + declined)
            assert p["quote_approval_rate"] == str(rate.quantize(Decimal("0.0001")))
        else:
            assert p["quote_approval_rate"] is None


# ---------------------------------------------------------------------------------------------
# roll_up on its own
# ---------------------------------------------------------------------------------------------


def _day(day: str, **fields: Any) -> Doc:
    doc: Doc = {"day": day, "status_seconds": {}, "status_exits": {}}
    doc.update(dict.fromkeys(COUNT_FIELDS, 0))
    doc.update(dict.fromkeys(DECIMAL_FIELDS, "0"))
    doc.update(fields)
    return doc


def test_roll_up_adds_exactly_into_iso_weeks_and_months() -> None:
    days = [
        # Sunday 2026-03-01 is in ISO week 9; Monday 2026-03-02 starts week 10.
        _day("2026-03-01", orders_invoiced=1, invoiced_total="100.10", jobs_approved=1),
        _day(
            "2026-03-02",
            orders_invoiced=2,
            invoiced_total="200.20",
            jobs_declined=1,
            billed_labour_hours="3.5",
            clocked_hours="3.75",
            status_seconds={"open": "10.500000"},
            status_exits={"open": 1},
        ),
        _day(
            "2026-02-28", jobs_approved=2, status_seconds={"open": "1.5"}, status_exits={"open": 2}
        ),
        _day("2026-04-01"),
    ]
    weeks = roll_up(days, "week")
    assert [w["key"] for w in weeks] == ["2026-W09", "2026-W10", "2026-W14"]
    w9, w10, w14 = weeks
    assert (w9["start"], w9["end"], w9["days"]) == ("2026-02-23", "2026-03-01", 2)
    assert w9["quote_approval_rate"] == "1.0000"
    assert w9["average_order_value"] == "100.10"
    assert w9["labour_efficiency"] is None
    assert w9["average_status_seconds"] == {"open": "0.750000"}
    assert w10["average_order_value"] == "100.10"
    assert w10["quote_approval_rate"] == "0.0000"
    assert w10["labour_efficiency"] == "0.9333"
    assert w14["average_order_value"] is None
    assert w14["quote_approval_rate"] is None

    months = roll_up(days, "month")
    assert [(m["key"], m["start"], m["end"]) for m in months] == [
        ("2026-02", "2026-02-01", "2026-02-28"),
        ("2026-03", "2026-03-01", "2026-03-31"),
        ("2026-04", "2026-04-01", "2026-04-30"),
    ]
    march = months[1]
    assert (march["orders_invoiced"], march["invoiced_total"]) == (3, "300.30")
    assert march["average_order_value"] == "100.10"
    assert march["quote_approval_rate"] == "0.5000"  # 1 approved, 1 declined: not 1.0 avg 0.0
    assert march["status_seconds"] == {"open": "10.500000"}

    assert [d["key"] for d in roll_up(days, "day")] == [
        "2026-02-28", "2026-03-01", "2026-03-02", "2026-04-01"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="period"):
        roll_up(days, "year")


# ---------------------------------------------------------------------------------------------
# Rebuild and restarts
# ---------------------------------------------------------------------------------------------


def test_rebuild_equals_incremental(garage: Garage) -> None:
    _, followers, store = garage
    for follower in followers:
        follower.batch = 7  # many small transactions
        follower.catch_up()
    incremental = checksum(store)
    assert all(_all(store, t) for t in ("workload", "inspection_summaries", "kpis_daily"))
    for follower in followers:
        follower.batch = 10_000
        follower.rebuild()
    assert checksum(store) == incremental


def test_a_restart_every_batch_folds_from_the_store_to_the_same_documents(
    garage: Garage, env: dict[str, str]
) -> None:
    """Fresh projections (empty fold caches) per batch load aggregates from the repository."""
    workshop, followers, store = garage
    for follower in followers:
        follower.catch_up()
    expected = checksum(store)
    for follower in followers:
        store.reset(follower.projection)
    while True:
        fresh = _followers(workshop, env, store)
        for follower in fresh:
            follower.batch = 5
        if not sum(follower.step() for follower in fresh):
            break
    assert checksum(store) == expected


def test_projection_names_and_tables() -> None:
    projections = operations_projections(lambda *_: None)
    assert [type(p) for p in projections] == [TechnicianWorkload, InspectionSummaries, Kpis]
    assert [p.name for p in projections] == ["technician_workload", "inspection_summaries", "kpis"]
    tables = [t.name for p in projections for t in p.tables]
    assert tables == list(TABLES)
