"""A small garage set up through the use cases, for application tests on every store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import attrs
import pytest

from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.repair_order import LabourLine, PartLine

ADVISOR = Actor("advisor-eva", Role.ADVISOR)
MANAGER = Actor("manager-pieter", Role.MANAGER)
TESLA_VIN = "5YJ3E1EA2KF317000"
LEAF_VIN = "1N4AZ1CP0JC306212"


@attrs.frozen
class Garage:
    customer: UUID
    other_customer: UUID
    vehicle: UUID
    other_vehicle: UUID
    tech3: UUID
    tech2: UUID
    tech1: UUID
    expired3: UUID

    @staticmethod
    def actor(staff_id: UUID) -> Actor:
        return Actor(str(staff_id), Role.TECHNICIAN)


def _tech(w: Workshop, name: str, level: int, expires_on: date) -> UUID:
    sid = w.hire_staff_member(
        name=name, email=f"{name.lower()}@garage.example", role=Role.TECHNICIAN, actor=MANAGER
    ).id
    w.record_hv_qualification(
        sid, level=level, certificate_id=f"HV{level}-{name}", expires_on=expires_on, actor=MANAGER
    )
    return sid


@pytest.fixture
def garage(workshop: Workshop) -> Garage:
    today = workshop.clock.today()
    c1 = workshop.register_customer(
        name="Sanne de Vries", email="sanne@example.nl", phone="+31612345678", actor=ADVISOR
    ).id
    c2 = workshop.register_customer(
        name="Lukas Meyer", email="lukas@example.de", phone=None, actor=ADVISOR
    ).id
    v1 = workshop.register_vehicle(
        vin=TESLA_VIN,
        plate="R-123-TX",
        make=None,
        model="Model 3",
        year=2019,
        battery_kwh=Decimal("75"),
        nominal_voltage_v=Decimal("350"),
        owner_id=c1,
        actor=ADVISOR,
    ).id
    v2 = workshop.register_vehicle(
        vin=LEAF_VIN,
        plate="H-456-LF",
        make=None,
        model="Leaf",
        year=2018,
        battery_kwh=Decimal("40"),
        nominal_voltage_v=Decimal("350"),
        owner_id=c2,
        actor=ADVISOR,
    ).id
    return Garage(
        customer=c1,
        other_customer=c2,
        vehicle=v1,
        other_vehicle=v2,
        tech3=_tech(workshop, "Noor", 3, date(today.year + 1, 1, 1)),
        tech2=_tech(workshop, "Daan", 2, date(today.year + 1, 1, 1)),
        tech1=_tech(workshop, "Milan", 1, date(today.year + 1, 1, 1)),
        expired3=_tech(workshop, "Jonas", 3, date(today.year - 1, 1, 1)),
    )


def hv_job_order(w: Workshop, g: Garage, *, approve: bool = True) -> UUID:
    """An order with one approved HV job (level 3) and one approved ordinary job."""
    rid = w.open_repair_order(
        vehicle_id=g.vehicle,
        customer_id=g.customer,
        concerns=["Coolant warning"],
        odometer_in_km=48_000,
        soc_in_pct=Decimal("70"),
        promised_at=None,
        actor=ADVISOR,
    ).id
    w.add_job(
        rid,
        job_id="hv-pump",
        title="Replace HV coolant pump",
        labour=[LabourLine("Pump", Decimal("2.5"), Decimal("95"))],
        parts=[PartLine("P-1", "Pump", Decimal("1"), Decimal("389.00"))],
        hv_work=True,
        required_hv_level=3,
        actor=ADVISOR,
    )
    w.add_job(
        rid,
        job_id="filter",
        title="Cabin filter",
        labour=[LabourLine("Filter", Decimal("0.3"), Decimal("85"))],
        parts=[PartLine("F-1", "Filter", Decimal("1"), Decimal("59.90"))],
        hv_work=False,
        required_hv_level=None,
        actor=ADVISOR,
    )
    w.send_quote(rid, actor=ADVISOR)
    if approve:
        from regenzet.domain.repair_order import ApprovalChannel

        owner = Actor(str(g.customer), Role.CUSTOMER)
        for job in ("hv-pump", "filter"):
            w.approve_job(
                rid,
                job_id=job,
                channel=ApprovalChannel.PORTAL,
                client_ip="203.0.113.9",
                actor=owner,
            )
    return rid
