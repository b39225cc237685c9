"""A small garage set up through the use cases, for application tests on every store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import attrs
import pytest

from regenzet.application.scenarios import (
    CABIN_FILTER,
    HV_PUMP,
    OrderScript,
    register_customer,
    register_vehicle,
)
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role

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
    c1 = register_customer(workshop, actor=ADVISOR)  # Sanne, Tesla Model 3: the defaults
    c2 = register_customer(
        workshop, name="Lukas Meyer", email="lukas@example.de", phone=None, actor=ADVISOR
    )
    v1 = register_vehicle(workshop, vin=TESLA_VIN, owner_id=c1, actor=ADVISOR)
    v2 = register_vehicle(
        workshop,
        vin=LEAF_VIN,
        plate="H-456-LF",
        model="Leaf",
        year=2018,
        battery_kwh=Decimal("40"),
        owner_id=c2,
        actor=ADVISOR,
    )
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
    order = OrderScript.open(w, vehicle_id=g.vehicle, customer_id=g.customer, advisor=ADVISOR)
    order.quote(HV_PUMP, CABIN_FILTER)
    if approve:
        order.approve()
    return order.id
