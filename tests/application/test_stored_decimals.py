"""Decimals recorded before the canonical rule (ADR 0013) still load, and a new event that
copies one (an inspection's SoC into the vehicle, the vehicle's voltage into an inspection, a
quoted line into the invoice) carries it canonically instead of refusing or repeating it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from regenzet.application.scenarios import Job, OrderScript
from regenzet.application.workshop import Workshop
from regenzet.domain import common, repair_order
from regenzet.domain.inspection import Inspection, MeasurementKind
from regenzet.domain.repair_order import LabourLine, RepairOrder

from .conftest import ADVISOR, MANAGER, Garage


@contextmanager
def before_the_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Commands as they were before ADR 0013: any finite Decimal was recorded as written."""

    def lenient(field: str, value: Any) -> Any:
        return value

    with monkeypatch.context() as m:
        m.setattr(common, "check_canonical_decimal", lenient)
        m.setattr(repair_order, "check_canonical_decimal", lenient)
        yield


def test_an_soh_reading_beside_an_soc_recorded_before_the_rule_lands_on_the_vehicle(
    workshop: Workshop, garage: Garage, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, g = workshop, garage
    tech = g.actor(g.tech2)
    iid = w.start_inspection(
        vehicle_id=g.vehicle, repair_order_id=None, technician_id=g.tech2, actor=tech
    ).id
    with before_the_rule(monkeypatch):
        w.record_measurement(
            iid, kind=MeasurementKind.SOC_PCT, value=Decimal("1E+2"), unit="%", actor=tech
        )
    inspection: Inspection = w.repository.get(iid)
    assert str(inspection.latest_value(MeasurementKind.SOC_PCT)) == "1E+2"
    # The client sends a canonical SoH; the SoC it is paired with was stored long ago.
    w.record_measurement(
        iid, kind=MeasurementKind.SOH_PCT, value=Decimal("88.5"), unit="%", actor=tech
    )
    health = w.get_vehicle(g.vehicle).battery_health
    assert [(r["soh_pct"], r["soc_pct"]) for r in health] == [("88.5", "100")]


def test_an_inspection_of_a_vehicle_whose_voltage_was_stored_before_the_rule_is_canonical(
    workshop: Workshop, garage: Garage, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, g = workshop, garage
    with before_the_rule(monkeypatch):
        vid = w.register_vehicle(
            vin="WVWZZZE1ZMP000111",
            plate="OLD-1",
            make=None,
            model="ID.3",
            year=2021,
            battery_kwh=Decimal("58"),
            nominal_voltage_v=Decimal("4E+2"),
            owner_id=g.customer,
            actor=ADVISOR,
        ).id
    iid = w.start_inspection(
        vehicle_id=vid, repair_order_id=None, technician_id=g.tech2, actor=g.actor(g.tech2)
    ).id
    stored: Inspection = w.repository.get(iid)
    assert isinstance(stored, Inspection)
    assert str(stored.nominal_voltage_v) == "400"


def test_an_invoice_of_lines_quoted_before_the_rule_carries_canonical_decimals(
    workshop: Workshop, garage: Garage, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, g = workshop, garage
    script = OrderScript.open(
        w,
        vehicle_id=g.vehicle,
        customer_id=g.customer,
        advisor=ADVISOR,
        concerns=["Wipers"],
        soc_in_pct=None,
    )
    with before_the_rule(monkeypatch):
        script.add_jobs(
            Job("wipers", "Wiper blades", (LabourLine("Fit", Decimal("1E+0"), Decimal("1E+2")),))
        )
    script.send_quote().approve(client_ip=None).assign("wipers", g.tech1)
    script.labour("wipers", g.tech1).pass_quality_check(by=MANAGER).invoice()
    order: RepairOrder = w.repository.get(script.id)
    assert isinstance(order, RepairOrder)
    (line,) = order.invoice_lines
    assert (str(line.quantity), str(line.unit_price), str(line.amount)) == ("1", "100", "100.00")
    for value in (order.subtotal, order.tax, order.total):
        assert common.is_canonical_decimal_text(str(value))
