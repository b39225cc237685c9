"""Read models built by followers agree with the aggregates, rebuild equals incremental, and a
follower killed mid-rebuild converges to the same read models."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.application.projections import Follower, Query, ReadModelStore
from regenzet.application.read_models import portal_document, vehicle_profile_document
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.bootstrap import build_followers, workshop_for
from regenzet.entrypoints.demo import demo_id, seed_demo
from regenzet.entrypoints.settings import Settings

from ..conftest import postgres_store_env
from .test_cli import run
from .test_directory_models import TABLES as DIRECTORY_TABLES

ORDERS = ["model3-hv", "leaf-balance", "id3-brakes", "macheh-port", "ev6-ota", "ev6-12v",
          "bolt-check"]  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def garage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Workshop, list[Follower], ReadModelStore]]:
    if request.param == "sqlite":
        env = sqlite_env(tmp_path / "regenzet.db")
    else:
        env = postgres_store_env(
            request.getfixturevalue("postgres_dsn"), request.getfixturevalue("postgres_schema")
        )
    clock = ManualClock(datetime.now(UTC) - timedelta(days=6))
    workshop = workshop_for(env, clock)
    seed_demo(workshop, clock)
    followers, store = build_followers(workshop, env, Settings(tmp_path, None))
    for follower in followers:
        follower.check_schema()
    yield workshop, followers, store
    store.close()
    workshop.close()


def checksum(store: ReadModelStore) -> str:
    digest = hashlib.sha256()
    for table in ("board", "vehicle_profiles", "profile_visits", "portal", "portal_vehicle_rows",
                  "portal_order_rows", "portal_inspection_rows", *DIRECTORY_TABLES):  # fmt: skip
        page = store.query(Query(table, limit=10_000))
        for doc in sorted(page.items, key=lambda d: json.dumps(d, sort_keys=True)):
            digest.update(json.dumps(doc, sort_keys=True).encode())
    return digest.hexdigest()


def test_the_board_agrees_with_every_repair_order(
    garage: tuple[Workshop, list[Follower], ReadModelStore],
) -> None:
    workshop, followers, store = garage
    for follower in followers:
        follower.catch_up()
    for key in ORDERS:
        order = workshop.get_repair_order(demo_id(f"repair-order:{key}"))
        row = store.get("board", str(order.id))
        assert row is not None, key
        assert (row["status"], row["version"]) == (order.status, order.version)
        assert row["quoted_total"] == str(order.quoted_subtotal)
        assert row["hv_isolated"] is order.hv_isolated
        assert row["technicians"] == sorted({s for j in order.jobs for s in j.assigned})
        vehicle = workshop.get_vehicle(order.vehicle_id)
        assert (row["plate"], row["vin"]) == (vehicle.plate, vehicle.vin)
        assert row["customer_name"] == workshop.get_customer(order.customer_id).name
    head = followers[0].reader.max_notification_id()
    assert all(f.position() == head for f in followers)


def test_profiles_and_portals_agree_with_the_aggregates(
    garage: tuple[Workshop, list[Follower], ReadModelStore],
) -> None:
    workshop, followers, store = garage
    for follower in followers:
        follower.catch_up()
    for key in ORDERS:
        order = workshop.get_repair_order(demo_id(f"repair-order:{key}"))
        vehicle = workshop.get_vehicle(order.vehicle_id)
        profile = vehicle_profile_document(store, str(vehicle.id))
        assert profile is not None
        assert profile["odometer_km"] == vehicle.odometer_km
        assert [p["soh_pct"] for p in profile["soh_trend"]] == [
            r["soh_pct"] for r in vehicle.battery_health
        ]
        assert str(order.id) in {v["repair_order_id"] for v in profile["visits"]}
        portal = portal_document(store, str(order.customer_id))
        assert portal is not None
        entry = portal["orders"][str(order.id)]
        assert entry["status"] == order.status
        quoted = [j.job_id for j in order.jobs if j.status == "quoted"]
        assert [j["job_id"] for j in entry["awaiting_approval"]] == quoted


def test_rebuild_equals_incremental(
    garage: tuple[Workshop, list[Follower], ReadModelStore],
) -> None:
    _, followers, store = garage
    for follower in followers:
        follower.batch = 7  # many small transactions
        follower.catch_up()
    incremental = checksum(store)
    for follower in followers:
        follower.batch = 10_000
        follower.rebuild()
    assert checksum(store) == incremental


def test_a_second_runner_of_the_same_read_models_applies_nothing_twice(
    garage: tuple[Workshop, list[Follower], ReadModelStore],
) -> None:
    workshop, followers, store = garage
    for follower in followers:
        follower.catch_up()
    expected = checksum(store)
    twins = [Follower(f.projection, store, f.reader, workshop.decode_rows) for f in followers]
    # Its position comes from the store, so it finds nothing left to apply.
    assert sum(twin.catch_up() for twin in twins) == 0
    assert checksum(store) == expected


# ---------------------------------------------------------------------------------------------
# SIGKILL during a rebuild, then start again: same read models as an uninterrupted rebuild.
# ---------------------------------------------------------------------------------------------


def _positions(path: Path) -> dict[str, int]:
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return dict(conn.execute("SELECT name, position FROM rm_positions").fetchall())
    except sqlite3.Error:
        return {}


def follow_to_head(full_env: dict[str, str], data_dir: Path, head: int) -> int:
    """Runs ``regenzet followers run`` until every read model reaches ``head`` (or 120 s),
    stops it with SIGTERM and returns its exit code."""
    follow = subprocess.Popen(
        [sys.executable, "-m", "regenzet.entrypoints", "followers", "run"],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if min(_positions(data_dir / "read_models.db").values(), default=0) >= head:
                break
            time.sleep(0.05)
    finally:
        follow.send_signal(signal.SIGTERM)
        code = follow.wait(timeout=30)
    return code


def _no_load(*_: object) -> None:
    return None


def _sqlite_checksum(data_dir: Path) -> str:
    from regenzet.adapters.read_models import SqliteReadModelStore
    from regenzet.application.directory_models import directory_projections
    from regenzet.application.read_models import all_projections

    store = SqliteReadModelStore(data_dir / "read_models.db")
    try:
        for projection in [*all_projections(_no_load), *directory_projections(_no_load)]:
            store.prepare(projection)
        return checksum(store)
    finally:
        store.close()


def test_a_rebuild_killed_mid_way_converges_after_a_restart(tmp_path: Path) -> None:
    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    assert run(["demo"], env).returncode == 0
    _prefill(tmp_path)  # a longer log than the demo's, so the kill lands mid-rebuild
    full = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")} | env
    rebuild = subprocess.Popen(
        [sys.executable, "-m", "regenzet.entrypoints", "projections", "rebuild", "--batch", "5"],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(_positions(tmp_path / "read_models.db").values()):
        time.sleep(0.01)
    rebuild.send_signal(signal.SIGKILL)
    rebuild.wait(timeout=10)
    interrupted = _positions(tmp_path / "read_models.db")
    head = _head(tmp_path)
    assert any(interrupted.values()), "the rebuild was killed before it applied anything"
    assert min(interrupted.values()) < head, "the rebuild finished before it was killed"

    # Start again: the follower resumes from the stored position.
    follow_to_head(full, tmp_path, head)
    resumed = _sqlite_checksum(tmp_path)

    assert run(["projections", "rebuild"], env).returncode == 0
    assert _sqlite_checksum(tmp_path) == resumed


def _head(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "regenzet.db") as conn:
        row = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
    return int(row[0] or 0)


def _prefill(data_dir: Path) -> None:
    """More demo-like history: repeat odometer readings on the demo vehicles."""
    clock = ManualClock(datetime.now(UTC))
    workshop = workshop_for(sqlite_env(data_dir / "regenzet.db"), clock)
    try:
        vehicle = workshop.find_vehicle_id("5YJ3E1EA2KF317000")
        from regenzet.domain.common import Actor, Role

        actor = Actor("test", Role.ADVISOR)
        start = workshop.get_vehicle(vehicle).odometer_km
        for i in range(1, 1500):
            workshop.record_odometer(vehicle, km=start + i, actor=actor)
    finally:
        workshop.close()


def test_a_rebuild_while_the_api_writes_catches_up_and_matches_a_quiet_rebuild(
    garage: tuple[Workshop, list[Follower], ReadModelStore],
) -> None:
    import threading

    from regenzet.domain.common import Actor, Role

    workshop, followers, store = garage
    vehicle = workshop.find_vehicle_id("5YJ3E1EA2KF317000")
    actor = Actor("advisor", Role.ADVISOR)
    done = threading.Event()

    def write() -> None:
        km = workshop.get_vehicle(vehicle).odometer_km
        for i in range(1, 200):
            workshop.record_odometer(vehicle, km=km + i, actor=actor)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    for follower in followers:
        follower.batch = 20
        follower.rebuild()
    writer.join()
    assert done.is_set()
    for follower in followers:
        follower.catch_up()  # ...and then it follows
    during = checksum(store)
    for follower in followers:
        follower.rebuild()
    assert checksum(store) == during
    profile = vehicle_profile_document(store, str(vehicle))
    assert profile is not None
    assert profile["odometer_km"] == workshop.get_vehicle(vehicle).odometer_km
