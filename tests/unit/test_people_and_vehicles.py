"""Customer, StaffMember and Vehicle rules, each tried and refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.domain.common import Actor, DomainValidationError, Role, RuleViolationError
from regenzet.domain.customer import Customer, NotificationPreferences
from regenzet.domain.staff import StaffMember
from regenzet.domain.vehicle import BatteryHealthMethod, Ecu, Vehicle

ADVISOR = Actor("advisor-1", Role.ADVISOR)
MANAGER = Actor("manager-1", Role.MANAGER)
TESLA_VIN = "5YJ3E1EA2KF317000"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def customer(**overrides: object) -> Customer:
    kwargs: dict[str, object] = {
        "name": "Sanne de Vries",
        "email": "Sanne@Example.nl",
        "phone": "+31 6 1234 5678",
        "preferences": None,
        "actor": ADVISOR,
    }
    kwargs.update(overrides)
    return Customer.register(**kwargs)  # type: ignore[arg-type]


def vehicle(vin: str = TESLA_VIN, year: int = 2019) -> Vehicle:
    return Vehicle.register(
        facts=VininfoVinDecoder().decode(vin),
        plate="r-123-tx",
        make=None,
        model="Model 3",
        year=year,
        battery_kwh=Decimal("75"),
        nominal_voltage_v=Decimal("350"),
        owner_id=uuid4(),
        actor=ADVISOR,
    )


class TestCustomer:
    def test_registration_normalises_email_and_phone(self) -> None:
        c = customer()
        assert (c.email, c.phone) == ("sanne@example.nl", "+31612345678")

    @pytest.mark.parametrize("email", ["not-an-email", "a@b", "a b@example.com", "@example.com"])
    def test_invalid_email_is_refused(self, email: str) -> None:
        with pytest.raises(DomainValidationError) as err:
            customer(email=email)
        assert err.value.field == "email"

    @pytest.mark.parametrize("phone", ["0612345678", "+0123456789", "call me", "+1234"])
    def test_invalid_phone_is_refused(self, phone: str) -> None:
        with pytest.raises(DomainValidationError) as err:
            customer(phone=phone)
        assert err.value.field == "phone"

    def test_quiet_hours_need_both_ends_in_hh_mm(self) -> None:
        with pytest.raises(DomainValidationError):
            NotificationPreferences(quiet_hours_start="22:00")
        with pytest.raises(DomainValidationError):
            NotificationPreferences(quiet_hours_start="25:00", quiet_hours_end="07:00")
        assert NotificationPreferences(quiet_hours_start="22:00", quiet_hours_end="07:00")

    def test_unchanged_contact_records_nothing(self) -> None:
        c = customer()
        c.collect_events()
        c.change_contact(email="sanne@example.nl", phone="+31612345678", actor=ADVISOR)
        assert c.collect_events() == []
        c.change_contact(email="new@example.nl", phone=None, actor=ADVISOR)
        [changed] = c.collect_events()
        assert type(changed).__name__ == "ContactChanged"
        assert changed.actor == ADVISOR  # type: ignore[attr-defined]


class TestStaffMember:
    def test_expired_certificate_counts_as_level_zero(self) -> None:
        tech = StaffMember.hire(
            name="Jonas", email="j@g.example", role=Role.TECHNICIAN, actor=MANAGER
        )
        tech.record_hv_qualification(
            level=3, certificate_id="HV3-1", expires_on=date(2026, 3, 1), actor=MANAGER
        )
        assert tech.effective_hv_level(date(2026, 3, 1)) == 3
        assert tech.effective_hv_level(date(2026, 3, 2)) == 0

    def test_deactivated_member_has_no_hv_level(self) -> None:
        tech = StaffMember.hire(
            name="Noor", email="n@g.example", role=Role.TECHNICIAN, actor=MANAGER
        )
        tech.record_hv_qualification(
            level=3, certificate_id="C", expires_on=date(2030, 1, 1), actor=MANAGER
        )
        tech.deactivate(reason="left", actor=MANAGER)
        assert tech.effective_hv_level(date(2026, 1, 1)) == 0

    @pytest.mark.parametrize("level", [-1, 4])
    def test_hv_level_outside_the_ladder_is_refused(self, level: int) -> None:
        tech = StaffMember.hire(
            name="Noor", email="n@g.example", role=Role.TECHNICIAN, actor=MANAGER
        )
        with pytest.raises(DomainValidationError):
            tech.record_hv_qualification(
                level=level, certificate_id="C", expires_on=date(2030, 1, 1), actor=MANAGER
            )

    def test_customer_or_auditor_cannot_be_hired_as_staff(self) -> None:
        with pytest.raises(DomainValidationError):
            StaffMember.hire(name="X", email="x@g.example", role=Role.AUDITOR, actor=MANAGER)

    def test_technician_cannot_be_clocked_on_two_jobs_at_once(self) -> None:
        tech = StaffMember.hire(
            name="Noor", email="n@g.example", role=Role.TECHNICIAN, actor=MANAGER
        )
        tech.start_labour(repair_order_id=uuid4(), job_id="a", at=NOW, actor=MANAGER)
        with pytest.raises(RuleViolationError) as err:
            tech.start_labour(repair_order_id=uuid4(), job_id="b", at=NOW, actor=MANAGER)
        assert err.value.rule == "technician_already_clocked_on"

    def test_clocked_on_member_cannot_be_deactivated(self) -> None:
        tech = StaffMember.hire(
            name="Noor", email="n@g.example", role=Role.TECHNICIAN, actor=MANAGER
        )
        tech.start_labour(repair_order_id=uuid4(), job_id="a", at=NOW, actor=MANAGER)
        with pytest.raises(RuleViolationError):
            tech.deactivate(reason="x", actor=MANAGER)


class TestVehicle:
    def test_id_is_derived_from_the_vin(self) -> None:
        assert vehicle().id == Vehicle.create_id(TESLA_VIN)

    def test_vin_decoding_fills_make_and_region(self) -> None:
        v = vehicle()
        assert (v.make, v.facts.region, v.plate) == ("Tesla", "North America", "R-123-TX")

    @pytest.mark.parametrize(
        "vin",
        [
            "5YJ3E1EA1KF317000",  # wrong check digit, North America requires it
            "5YJ3E1EA2KF31700",  # 16 characters
            "5YJ3E1EA2KF3170O0",
        ],  # letter O
    )
    def test_invalid_vin_is_refused(self, vin: str) -> None:
        with pytest.raises(DomainValidationError) as err:
            VininfoVinDecoder().decode(vin)
        assert err.value.field == "vin"

    @pytest.mark.parametrize(
        ("vin", "says"),
        [
            ("00000000000000000", "one character repeated"),  # vininfo "decodes" a Maserati
            ("11111111111111111", "one character repeated"),
            ("AAAAAAAAAAAAAAAAA", "one character repeated"),
            ("XZZZZZZ1ZMP000001", "XZZ is not a known manufacturer"),
            ("04WZZZE1ZMP000001", "does not name a world region"),  # 04W is in vininfo's table
        ],
    )
    def test_well_formed_but_unreal_vin_is_refused(self, vin: str, says: str) -> None:
        with pytest.raises(DomainValidationError) as err:
            VininfoVinDecoder().decode(vin)
        assert err.value.field == "vin"
        assert says in err.value.message

    def test_european_vin_without_check_digit_is_accepted_but_marked_unverified(self) -> None:
        facts = VininfoVinDecoder().decode("WVWZZZE1ZMP000001")
        assert facts.manufacturer == "Volkswagen"
        assert facts.check_digit_verified is False

    def test_year_must_match_the_vin_model_year_code(self) -> None:
        with pytest.raises(DomainValidationError) as err:
            vehicle(year=2020)
        assert err.value.field == "year"

    def test_odometer_never_decreases_unless_corrected_with_a_reason(self) -> None:
        v = vehicle()
        v.record_odometer(km=48_000, actor=ADVISOR)
        with pytest.raises(DomainValidationError):
            v.record_odometer(km=47_999, actor=ADVISOR)
        with pytest.raises(DomainValidationError):
            v.correct_odometer(km=47_000, reason="  ", actor=ADVISOR)
        v.correct_odometer(km=47_000, reason="cluster replaced", actor=ADVISOR)
        assert v.odometer_km == 47_000

    @pytest.mark.parametrize("soh", [Decimal("-0.1"), Decimal("100.1"), Decimal("NaN")])
    def test_battery_health_outside_0_100_is_refused(self, soh: Decimal) -> None:
        with pytest.raises(DomainValidationError):
            vehicle().record_battery_health(
                soh_pct=soh,
                soc_pct=None,
                method=BatteryHealthMethod.BMS_READ,
                inspection_id=None,
                measured_at=NOW,
                actor=ADVISOR,
            )

    def test_warranty_risk_when_soh_is_near_threshold_under_warranty(self) -> None:
        v = vehicle()
        v.register_battery_warranty(
            start_date=date(2019, 3, 1),
            years=8,
            km=160_000,
            soh_threshold_pct=Decimal("70"),
            actor=ADVISOR,
        )
        v.record_battery_health(
            soh_pct=Decimal("82"),
            soc_pct=None,
            method=BatteryHealthMethod.CAPACITY_TEST,
            inspection_id=None,
            measured_at=NOW,
            actor=ADVISOR,
        )
        assert not v.warranty_risk(date(2026, 3, 2))
        v.record_battery_health(
            soh_pct=Decimal("74.5"),
            soc_pct=None,
            method=BatteryHealthMethod.CAPACITY_TEST,
            inspection_id=None,
            measured_at=NOW,
            actor=ADVISOR,
        )
        assert v.warranty_risk(date(2026, 3, 2))
        assert not v.warranty_risk(date(2027, 3, 1))  # warranty over: no longer a warranty risk
        assert [soh for _, soh in v.soh_trend()] == [Decimal("82"), Decimal("74.5")]

    def test_software_version_before_must_match_the_recorded_one(self) -> None:
        v = vehicle()
        v.record_software_version(
            ecu=Ecu.BMS, version_before=None, version_after="1.0", actor=ADVISOR
        )
        with pytest.raises(DomainValidationError):
            v.record_software_version(
                ecu=Ecu.BMS, version_before="0.9", version_after="1.1", actor=ADVISOR
            )
        v.record_software_version(
            ecu=Ecu.BMS, version_before="1.0", version_after="1.1", actor=ADVISOR
        )
        assert v.software == {"BMS": "1.1"}
