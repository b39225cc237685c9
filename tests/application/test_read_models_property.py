"""Property: whatever valid commands run, in whatever order, the read models built by the
followers equal documents rendered from the aggregates themselves.

Hypothesis draws random command sequences over a small garage (two customers, two EVs, three
technicians); commands the domain refuses are simply refused. After the sequence the
followers catch up (in random batch sizes, stopping and resuming) and every board row,
vehicle profile and portal entry is compared with the aggregates' own state.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.event_log import RecorderEventLogReader
from regenzet.adapters.read_models import InMemoryReadModelStore
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.errors import ApplicationError
from regenzet.application.projections import Follower
from regenzet.application.read_models import (
    all_projections,
    board_doc,
    portal_document,
    vehicle_profile_document,
)
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, DomainError, Role
from regenzet.domain.repair_order import ApprovalChannel, LabourLine, PartLine, PaymentMethod
from regenzet.domain.vehicle import BatteryHealthMethod

ADVISOR = Actor("advisor", Role.ADVISOR)
MANAGER = Actor("manager", Role.MANAGER)
VINS = ["WVWZZZE1ZMP000101", "WVWZZZE1ZMP000102"]
JOBS = ["j1", "j2", "j3"]

COMMANDS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "open", "add_job", "send_quote", "approve", "decline", "assign",
                "isolate", "clock_on", "clock_off", "complete", "restore", "qc",
                "invoice", "pay", "release", "cancel", "odometer", "soh", "contact",
            ]
        ),
        st.integers(min_value=0, max_value=5),
        st.sampled_from(JOBS),
    ),
    min_size=10,
    max_size=80,
)  # fmt: skip


def _garage() -> tuple[Workshop, ManualClock, dict[str, Any]]:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    w = Workshop(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock,
                 vin_decoder=VininfoVinDecoder())  # fmt: skip
    customers = [
        w.register_customer(name=f"Customer {i}", email=f"c{i}@x.example", phone=None,
                            actor=ADVISOR).id
        for i in range(2)
    ]  # fmt: skip
    vehicles = [
        w.register_vehicle(vin=vin, plate=f"P-{i}", make=None, model="ID.3", year=2021,
                           battery_kwh=Decimal(58), nominal_voltage_v=Decimal(400),
                           owner_id=customers[i], actor=ADVISOR).id
        for i, vin in enumerate(VINS)
    ]  # fmt: skip
    techs = []
    for level in (1, 2, 3):
        sid = w.hire_staff_member(name=f"T{level}", email=f"t{level}@x.example",
                                  role=Role.TECHNICIAN, actor=MANAGER).id  # fmt: skip
        w.record_hv_qualification(sid, level=level, certificate_id=f"C{level}",
                                  expires_on=date(2030, 1, 1), actor=MANAGER)  # fmt: skip
        techs.append(sid)
    g: dict[str, Any] = {"customers": customers, "vehicles": vehicles, "techs": techs, "orders": []}
    for i in range(2):  # every sequence starts with an order per car to act on
        _run(w, clock, g, "open", i, "j1")
    return w, clock, g


def _run(w: Workshop, clock: ManualClock, g: dict[str, Any], name: str, n: int, job: str) -> None:
    orders: list[UUID] = g["orders"]
    order = orders[n % len(orders)] if orders else None
    tech = g["techs"][n % 3]
    tech_actor = Actor(str(tech), Role.TECHNICIAN)
    clock.advance(timedelta(minutes=7))
    if name == "open":
        i = n % 2
        km = w.get_vehicle(g["vehicles"][i]).odometer_km + 10
        orders.append(w.open_repair_order(
            vehicle_id=g["vehicles"][i], customer_id=g["customers"][i], concerns=["noise"],
            odometer_in_km=km, soc_in_pct=None, promised_at=clock.now() + timedelta(days=n),
            actor=ADVISOR).id)  # fmt: skip
        return
    if name == "odometer":
        v = g["vehicles"][n % 2]
        w.record_odometer(v, km=w.get_vehicle(v).odometer_km + n, actor=ADVISOR)
        return
    if name == "soh":
        w.record_battery_health(g["vehicles"][n % 2], soh_pct=Decimal(80 + n), soc_pct=None,
                                method=BatteryHealthMethod.BMS_READ, actor=tech_actor)  # fmt: skip
        return
    if name == "contact":
        w.change_customer_contact(g["customers"][n % 2], email=f"new{n}@x.example", phone=None,
                                  actor=ADVISOR)  # fmt: skip
        return
    if order is None:
        return
    if name == "add_job":
        w.add_job(order, job_id=job, title=f"Job {job}",
                  labour=[LabourLine("work", Decimal(1 + n), Decimal(90))],
                  parts=[PartLine("P-1", "part", Decimal(1), Decimal(10 * n + 5))],
                  hv_work=n % 2 == 1, required_hv_level=None, actor=ADVISOR)  # fmt: skip
    elif name == "send_quote":
        w.send_quote(order, actor=ADVISOR)
    elif name == "approve":
        w.approve_job(order, job_id=job, channel=ApprovalChannel.PHONE, client_ip=None,
                      actor=ADVISOR)  # fmt: skip
    elif name == "decline":
        w.decline_job(order, job_id=job, channel=ApprovalChannel.PHONE, client_ip=None,
                      reason=None, actor=ADVISOR)  # fmt: skip
    elif name == "assign":
        w.assign_technician(order, job_id=job, staff_id=tech, actor=ADVISOR)
    elif name == "isolate":
        w.isolate_hv(order, technician_id=tech, residual_voltage_v=Decimal(5),
                     lock_tag_id="L1", ppe_checked=True, actor=tech_actor)  # fmt: skip
    elif name == "clock_on":
        w.clock_on(order, job_id=job, technician_id=tech, actor=tech_actor)
    elif name == "clock_off":
        w.clock_off(order, job_id=job, technician_id=tech, actor=tech_actor)
    elif name == "complete":
        w.complete_job(order, job_id=job, actor=tech_actor)
    elif name == "restore":
        w.restore_hv(order, technician_id=tech, actor=tech_actor)
    elif name == "qc":
        w.pass_quality_check(order, notes=None, actor=MANAGER)
    elif name == "invoice":
        w.invoice_repair_order(order, actor=ADVISOR)
    elif name == "pay":
        balance = w.get_repair_order(order).balance
        if balance > 0:
            w.record_payment(order, amount=balance, method=PaymentMethod.CARD, reference=None,
                             actor=ADVISOR)  # fmt: skip
    elif name == "release":
        w.release_vehicle(order, odometer_out_km=w.get_vehicle(
            w.get_repair_order(order).vehicle_id).odometer_km + 1, soc_out_pct=None,
            actor=ADVISOR)  # fmt: skip
    elif name == "cancel":
        w.cancel_repair_order(order, reason="changed mind", actor=ADVISOR)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands=COMMANDS, batch=st.integers(min_value=1, max_value=50),
       stop_after=st.integers(min_value=0, max_value=30))  # fmt: skip
def test_read_models_equal_the_folded_aggregates(
    commands: list[tuple[str, int, str]], batch: int, stop_after: int
) -> None:
    w, clock, g = _garage()
    for name, n, job in commands:
        with contextlib.suppress(DomainError, ApplicationError):  # refused: nothing written
            _run(w, clock, g, name, n, job)
    event(f"orders: {len(g['orders'])}")
    for order_id in g["orders"]:
        event(f"an order reached {w.get_repair_order(order_id).status}")
    event(f"log: {w.recorder.max_notification_id() // 10 * 10}+ events")

    store = InMemoryReadModelStore()
    reader = RecorderEventLogReader(w.recorder)

    def load(aggregate_id: UUID, version: int) -> Any:
        return w.repository.get(aggregate_id, version=version)

    followers = [Follower(p, store, reader, w.decode_rows, batch=batch)
                 for p in all_projections(load)]  # fmt: skip
    for follower in followers:
        follower.check_schema()
        for _ in range(stop_after):  # stop part-way...
            follower.step()
    # ...and resume with fresh followers (a restart: empty fold caches).
    for follower in [Follower(p, store, reader, w.decode_rows, batch=batch)
                     for p in all_projections(load)]:  # fmt: skip
        follower.catch_up()

    for order_id in g["orders"]:
        view = w.get_repair_order(order_id)
        row = store.get("board", str(order_id))
        assert row is not None
        vehicle = w.get_vehicle(view.vehicle_id)
        customer = w.get_customer(view.customer_id)
        expected = board_doc(
            view,
            {"plate": vehicle.plate, "vin": vehicle.vin, "make": vehicle.make,
             "model": vehicle.model},
            {"name": customer.name},
            row["opened_at"],
            row["last_change"],
        )  # fmt: skip
        assert row == expected
        portal = portal_document(store, str(view.customer_id))
        assert portal is not None
        assert portal["orders"][str(order_id)]["status"] == view.status
    for vehicle_id in g["vehicles"]:
        profile = vehicle_profile_document(store, str(vehicle_id))
        vehicle = w.get_vehicle(vehicle_id)
        assert profile is not None
        assert profile["odometer_km"] == vehicle.odometer_km
        assert profile["version"] == vehicle.version
        assert len(profile["soh_trend"]) == len(vehicle.battery_health)
