"""Read-model endpoints: the board, a vehicle's profile and a customer's portal, with
read-your-writes through ``min_position`` and the live follower runner."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from regenzet.adapters.backends import PollingWaker
from regenzet.adapters.persistence import sqlite_env
from regenzet.domain.vehicle import Vehicle
from regenzet.entrypoints.followers import FollowerRunner

from .conftest import Api, build_api, customer_id, order_id, staff_id

LEAF = Vehicle.create_id("1N4AZ1CP0JC306212")


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[Api]:
    for api in build_api(tmp_path, sqlite_env(tmp_path / "regenzet.db")):
        runner = FollowerRunner(api.followers, PollingWaker())
        runner.start()
        try:
            yield api
        finally:
            runner.stop()


def test_the_board_lists_every_order_sorted_by_promise_with_filters(live_api: Api) -> None:
    c, eva = live_api.client, live_api.auth("eva")
    everything = c.get("/api/v1/board?limit=200", headers=eva).json()
    assert len(everything["items"]) == 7
    promised = [i["promised_at"] for i in everything["items"] if i["promised_at"]]
    assert promised == sorted(promised)
    waiting = c.get("/api/v1/board?status=awaiting_approval", headers=eva).json()["items"]
    assert [i["id"] for i in waiting] == [str(order_id("leaf-balance"))]
    by_plate = c.get("/api/v1/board?q=h-456", headers=eva).json()["items"]
    assert [i["plate"] for i in by_plate] == ["H-456-LF"]
    noor = c.get(f"/api/v1/board?technician={staff_id('noor')}", headers=eva).json()["items"]
    assert noor
    assert all(str(staff_id("noor")) in i["technicians"] for i in noor)


def test_board_pages_follow_the_cursor(live_api: Api) -> None:
    c, eva = live_api.client, live_api.auth("eva")
    seen, cursor = [], None
    while True:
        url = "/api/v1/board?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = c.get(url, headers=eva).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    bad = c.get("/api/v1/board?cursor=bm9wZQ", headers=eva)
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"


def test_a_write_is_readable_at_its_position(live_api: Api) -> None:
    c, eva = live_api.client, live_api.auth("eva")
    ro = f"/api/v1/repair-orders/{order_id('leaf-balance')}"
    started = time.monotonic()
    written = c.post(f"{ro}/cancel", json={"reason": "Customer sold the car"}, headers=eva)
    assert written.status_code == 200
    position = written.json()["position"]
    board = c.get(f"/api/v1/board?status=cancelled&min_position={position}", headers=eva).json()
    elapsed = time.monotonic() - started
    assert str(order_id("leaf-balance")) in [i["id"] for i in board["items"]]
    assert board["position"] >= position
    assert elapsed < 2.0


def test_a_position_past_the_log_is_refused(live_api: Api) -> None:
    response = live_api.client.get(
        "/api/v1/board?min_position=999999999", headers=live_api.auth("eva")
    )
    assert response.status_code == 422
    assert response.json()["field"] == "min_position"


def test_customers_see_their_own_portal_and_profiles_only(live_api: Api) -> None:
    c = live_api.client
    lukas = c.get(
        f"/api/v1/customers/{customer_id('lukas')}/portal", headers=live_api.auth("lukas")
    )
    assert lukas.status_code == 200
    portal = lukas.json()["item"]
    assert str(LEAF) in portal["vehicles"]
    waiting = portal["orders"][str(order_id("leaf-balance"))]["awaiting_approval"]
    assert {j["job_id"] for j in waiting} == {"balance", "tyres"}
    assert (
        c.get(
            f"/api/v1/customers/{customer_id('lukas')}/portal", headers=live_api.auth("sanne")
        ).status_code
        == 404
    )
    profile = c.get(f"/api/v1/vehicles/{LEAF}/profile", headers=live_api.auth("lukas"))
    assert profile.status_code == 200
    assert profile.json()["item"]["soh_trend"]
    assert (
        c.get(f"/api/v1/vehicles/{LEAF}/profile", headers=live_api.auth("sanne")).status_code == 404
    )
    assert c.get("/api/v1/board", headers=live_api.auth("lukas")).status_code == 403


def test_workload_summary_and_kpis_follow_the_garage(live_api: Api) -> None:
    c = live_api.client
    noor = c.get(f"/api/v1/technicians/{staff_id('noor')}/workload", headers=live_api.auth("noor"))
    assert noor.status_code == 200
    assert noor.json()["item"]["assigned_jobs"]
    # A technician sees only their own workload.
    assert (
        c.get(
            f"/api/v1/technicians/{staff_id('daan')}/workload", headers=live_api.auth("noor")
        ).status_code
        == 404
    )
    summary = c.get(
        f"/api/v1/inspections/{order_inspection()}/summary", headers=live_api.auth("lukas")
    )
    assert summary.status_code == 200
    assert sum(summary.json()["item"]["ratings"].values()) == summary.json()["item"]["rated_items"]
    # Event times are when the demo was seeded (now), whatever the demo's business clock says.
    today = datetime.now(UTC).date()
    window = f"from={today - timedelta(days=40)}&to={today + timedelta(days=1)}"
    kpis = c.get(f"/api/v1/kpis?period=month&{window}", headers=live_api.auth("pieter"))
    assert kpis.status_code == 200
    rows = kpis.json()["rows"]
    assert sum(r["orders_opened"] for r in rows) == 7
    assert c.get("/api/v1/kpis", headers=live_api.auth("eva")).status_code == 403
    assert (
        c.get("/api/v1/kpis?from=2026-02-01&to=2026-01-01", headers=live_api.auth("pieter"))
    ).status_code == 422


def order_inspection() -> object:
    from regenzet.entrypoints.demo import demo_id

    return demo_id("inspection:leaf")
