"""Use cases end to end on every store (in-memory, SQLite, Postgres) from one shared suite."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.errors import DuplicateError, NotFoundError, VersionMismatchError
from regenzet.application.workshop import Receipt, Workshop
from regenzet.domain.common import Actor, DomainValidationError, Role, RuleViolationError
from regenzet.domain.inspection import IsolationCircuit, MeasurementKind, Rating
from regenzet.domain.number_plate import NumberPlate
from regenzet.domain.repair_order import PaymentMethod, RepairOrderStatus

from .conftest import ADVISOR, MANAGER, TESLA_VIN, Garage, hv_job_order


def test_hv_repair_runs_from_opening_to_closed(
    workshop: Workshop, garage: Garage, clock: ManualClock
) -> None:
    w, g = workshop, garage
    rid = hv_job_order(w, g)
    w.assign_technician(rid, job_id="hv-pump", staff_id=g.tech3, actor=ADVISOR)
    w.isolate_hv(
        rid,
        technician_id=g.tech2,
        residual_voltage_v=Decimal("3.2"),
        lock_tag_id="LOTO-7",
        ppe_checked=True,
        actor=g.actor(g.tech2),
    )
    w.clock_on(rid, job_id="hv-pump", technician_id=g.tech3, actor=g.actor(g.tech3))
    w.clock_on(rid, job_id="filter", technician_id=g.tech1, actor=g.actor(g.tech1))
    clock.advance(timedelta(minutes=18))
    w.clock_off(rid, job_id="filter", technician_id=g.tech1, actor=g.actor(g.tech1))
    w.complete_job(rid, job_id="filter", actor=g.actor(g.tech1))
    clock.advance(timedelta(hours=2, minutes=12))
    w.clock_off(rid, job_id="hv-pump", technician_id=g.tech3, actor=g.actor(g.tech3))
    w.complete_job(rid, job_id="hv-pump", actor=g.actor(g.tech3))
    w.restore_hv(rid, technician_id=g.tech3, actor=g.actor(g.tech3))
    w.pass_quality_check(rid, notes="leak test ok", actor=MANAGER)
    w.invoice_repair_order(rid, actor=ADVISOR)
    order = w.get_repair_order(rid)
    # 2.5 h x 95 + 389.00 + 0.3 h x 85 + 59.90 = 711.90; 21 % VAT of it = 149.499 -> 149.50
    assert (order.subtotal, order.tax, order.total) == (
        Decimal("711.90"),
        Decimal("149.50"),
        Decimal("861.40"),
    )
    w.record_payment(
        rid, amount=Decimal("861.40"), method=PaymentMethod.CARD, reference="PIN-1", actor=ADVISOR
    )
    w.release_vehicle(rid, odometer_out_km=48_012, soc_out_pct=Decimal("69"), actor=ADVISOR)

    order = w.get_repair_order(rid)
    assert order.status == RepairOrderStatus.CLOSED.value
    assert order.clocked_hours == {"hv-pump": Decimal("2.50"), "filter": Decimal("0.30")}
    assert w.get_vehicle(g.vehicle).odometer_km == 48_012
    assert w.get_staff_member(g.tech3).clocked_on is None
    history = w.get_history(rid)
    assert [e.version for e in history] == list(range(1, len(history) + 1))
    assert all(e.actor is not None for e in history)
    assert history[-1].event_type == "Released"


def test_hv_job_cannot_be_clocked_on_without_a_valid_isolation(
    workshop: Workshop, garage: Garage
) -> None:
    w, g = workshop, garage
    rid = hv_job_order(w, g)
    with pytest.raises(RuleViolationError) as err:
        w.clock_on(rid, job_id="hv-pump", technician_id=g.tech3, actor=g.actor(g.tech3))
    assert err.value.rule == "hv_isolation_required"
    assert w.get_staff_member(g.tech3).clocked_on is None  # nothing half-saved


def test_expired_certificate_counts_as_level_zero_for_isolation_and_hv_work(
    workshop: Workshop, garage: Garage
) -> None:
    w, g = workshop, garage
    rid = hv_job_order(w, g)
    with pytest.raises(RuleViolationError) as err:
        w.isolate_hv(
            rid,
            technician_id=g.expired3,
            residual_voltage_v=Decimal("1"),
            lock_tag_id="L-1",
            ppe_checked=True,
            actor=g.actor(g.expired3),
        )
    assert err.value.rule == "hv_qualification_insufficient"
    # The refusal says why the level is 0, not only "technician has 0".
    expires = date(w.clock.today().year - 1, 1, 1).isoformat()
    assert f"(level 3) expired on {expires}" in err.value.message
    w.isolate_hv(
        rid,
        technician_id=g.tech2,
        residual_voltage_v=Decimal("1"),
        lock_tag_id="L-1",
        ppe_checked=True,
        actor=g.actor(g.tech2),
    )
    with pytest.raises(RuleViolationError) as err:
        w.clock_on(rid, job_id="hv-pump", technician_id=g.expired3, actor=g.actor(g.expired3))
    assert err.value.rule == "hv_qualification_insufficient"
    assert "HV certificate" in err.value.message
    assert "expired on" in err.value.message


def test_technician_cannot_be_clocked_on_jobs_of_two_orders(
    workshop: Workshop, garage: Garage
) -> None:
    w, g = workshop, garage
    first = hv_job_order(w, g)
    from regenzet.application.scenarios import Job, OrderScript
    from regenzet.domain.repair_order import ApprovalChannel, LabourLine

    second = (
        OrderScript.open(
            w,
            vehicle_id=g.other_vehicle,
            customer_id=g.other_customer,
            advisor=ADVISOR,
            concerns=["Tyres"],
            odometer_in_km=91_000,
            soc_in_pct=None,
        )
        .quote(Job("tyres", "Tyres", (LabourLine("Fit", Decimal("1"), Decimal("85")),)))
        .approve(channel=ApprovalChannel.PHONE, client_ip=None, actor=ADVISOR)
        .id
    )
    w.clock_on(first, job_id="filter", technician_id=g.tech1, actor=g.actor(g.tech1))
    with pytest.raises(RuleViolationError) as err:
        w.clock_on(second, job_id="tyres", technician_id=g.tech1, actor=g.actor(g.tech1))
    assert err.value.rule == "technician_already_clocked_on"
    assert w.get_repair_order(second).clocked_on == {}


def test_order_needs_the_vehicles_owner(workshop: Workshop, garage: Garage) -> None:
    with pytest.raises(DomainValidationError) as err:
        workshop.open_repair_order(
            vehicle_id=garage.vehicle,
            customer_id=garage.other_customer,
            concerns=["x"],
            odometer_in_km=48_000,
            soc_in_pct=None,
            promised_at=None,
            actor=ADVISOR,
        )
    assert err.value.field == "customer_id"


def test_unknown_and_wrong_kind_ids_are_not_found(workshop: Workshop, garage: Garage) -> None:
    with pytest.raises(NotFoundError):
        workshop.get_repair_order(uuid4())
    with pytest.raises(NotFoundError):  # a vehicle id is not a repair order
        workshop.get_repair_order(garage.vehicle)


def test_stale_expected_version_is_refused_and_writes_nothing(
    workshop: Workshop, garage: Garage
) -> None:
    before = workshop.get_customer(garage.customer)
    with pytest.raises(VersionMismatchError) as err:
        workshop.change_customer_contact(
            garage.customer,
            email="new@example.nl",
            phone=None,
            actor=ADVISOR,
            expected_version=before.version + 1,
        )
    assert (err.value.expected, err.value.actual) == (before.version + 1, before.version)
    receipt = workshop.change_customer_contact(
        garage.customer,
        email="new@example.nl",
        phone=None,
        actor=ADVISOR,
        expected_version=before.version,
    )
    assert receipt.version == before.version + 1
    assert workshop.get_customer(garage.customer).email == "new@example.nl"


def test_a_vin_is_registered_once(workshop: Workshop, garage: Garage) -> None:
    with pytest.raises(DuplicateError):
        workshop.register_vehicle(
            vin=TESLA_VIN.lower(),
            plate="X-1",
            make=None,
            model="Model 3",
            year=2019,
            battery_kwh=Decimal("75"),
            nominal_voltage_v=Decimal("350"),
            owner_id=garage.other_customer,
            actor=ADVISOR,
        )


def test_inspection_soh_reading_lands_on_the_vehicle_trend(
    workshop: Workshop, garage: Garage
) -> None:
    w, g = workshop, garage
    rid = hv_job_order(w, g, approve=False)
    iid = w.start_inspection(
        vehicle_id=g.vehicle, repair_order_id=rid, technician_id=g.tech2, actor=g.actor(g.tech2)
    ).id
    w.record_measurement(
        iid, kind=MeasurementKind.SOH_PCT, value=Decimal("88.5"), unit="%", actor=g.actor(g.tech2)
    )
    w.record_measurement(
        iid,
        kind=MeasurementKind.ISOLATION_RESISTANCE_MOHM,
        value=Decimal("0.03"),
        unit="MOhm",
        test_voltage_v=Decimal("500"),
        circuit=IsolationCircuit.DC,
        actor=g.actor(g.tech2),
    )
    w.rate_inspection_item(
        iid,
        item_code="battery.hv_pack_visual",
        rating=Rating.RED,
        note="Impact damage on pack underbody",
        actor=g.actor(g.tech2),
    )
    vehicle = w.get_vehicle(g.vehicle)
    assert [r["soh_pct"] for r in vehicle.battery_health] == ["88.5"]
    view = w.get_inspection(iid)
    titles = [j["title"] for j in view.recommended_jobs]
    assert any("isolation" in t.lower() for t in titles)
    assert w.get_repair_order(rid).inspection_ids == [str(iid)]


@pytest.mark.parametrize(
    "store_env", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_aggregates_reload_identically_in_a_new_application(
    store_env: dict[str, str], workshop: Workshop, garage: Garage, clock: ManualClock
) -> None:
    rid = hv_job_order(workshop, garage)
    again = Workshop(env=store_env, clock=clock, vin_decoder=VininfoVinDecoder())
    try:
        assert again.get_repair_order(rid) == workshop.get_repair_order(rid)
        assert again.get_vehicle(garage.vehicle) == workshop.get_vehicle(garage.vehicle)
    finally:
        again.close()


def test_vehicle_snapshot_equals_replay(workshop: Workshop, garage: Garage) -> None:
    for km in range(1, 121):
        workshop.record_odometer(garage.vehicle, km=48_000 + km, actor=ADVISOR)
    assert workshop.snapshots is not None
    snapshots = list(workshop.snapshots.get(garage.vehicle))
    assert snapshots, "Vehicle should be snapshotted every 50 events"
    latest = snapshots[-1]
    from_snapshot = latest.mutate(None)
    replayed = None
    for event in workshop.events.get(garage.vehicle, lte=latest.originator_version):
        replayed = event.mutate(replayed)
    assert vars(replayed) == vars(from_snapshot)
    assert vars(workshop.repository.get(garage.vehicle))["odometer_km"] == 48_120


def test_every_event_records_who_caused_it(workshop: Workshop, garage: Garage) -> None:
    rid = hv_job_order(workshop, garage)
    for aggregate_id in (rid, garage.vehicle, garage.customer, garage.tech3):
        entries = workshop.get_history(aggregate_id)
        assert entries
        for entry in entries:
            assert isinstance(entry.actor, Actor), (entry.aggregate_type, entry.event_type)
            assert entry.actor.role in set(Role)


def _register(workshop: Workshop, owner: UUID, *, vin: str, plate: str) -> Receipt:
    return workshop.register_vehicle(
        vin=vin,
        plate=plate,
        make=None,
        model="ID.3",
        year=2021,
        battery_kwh=Decimal("58"),
        nominal_voltage_v=Decimal("400"),
        owner_id=owner,
        actor=ADVISOR,
    )


def test_a_plate_carried_by_one_vehicle_is_refused_for_another_naming_it(
    workshop: Workshop, garage: Garage
) -> None:
    # The same plate however it is written: case, spaces and dashes do not make a new plate.
    for written in ("R-123-TX", "r 123 tx", "R123TX"):
        with pytest.raises(DuplicateError) as err:
            _register(workshop, garage.other_customer, vin="WVWZZZE1ZMP000101", plate=written)
        assert err.value.aggregate_id == str(garage.vehicle)
        assert "number plate R-123-TX" in str(err.value)
    assert not workshop.exists(workshop.find_vehicle_id("WVWZZZE1ZMP000101"))


def test_a_refused_duplicate_plate_saves_nothing_and_a_free_plate_registers(
    workshop: Workshop, garage: Garage
) -> None:
    before = workshop.recorder.max_notification_id()
    with pytest.raises(DuplicateError):
        _register(workshop, garage.other_customer, vin="WVWZZZE1ZMP000102", plate="H-456-LF")
    assert workshop.recorder.max_notification_id() == before
    receipt = _register(workshop, garage.other_customer, vin="WVWZZZE1ZMP000102", plate="K-1-ID")
    assert workshop.get_vehicle(receipt.id).plate == "K-1-ID"


def test_the_store_itself_refuses_a_second_claim_of_a_plate(
    workshop: Workshop, garage: Garage
) -> None:
    """What settles a race: two registrations that both passed the check write version 1 of
    the same plate's claim, and the store's unique key lets only the first commit."""
    racing = NumberPlate(plate="R 123 TX", vehicle_id=uuid4(), actor=ADVISOR)
    assert racing.id == NumberPlate.create_id("R-123-TX")
    with pytest.raises(IntegrityError):
        workshop.save(racing)
