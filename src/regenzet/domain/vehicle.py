"""An electric vehicle: identity (VIN), ownership, odometer, battery health, software, warranty.

VIN checking and decoding happen behind the application's ``VinDecoder`` port (a maintained
library does it); the aggregate records the decoded facts so history never depends on a later
version of that library.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid5

import attrs
from eventsourcing.domain import Aggregate, event

from regenzet.domain.common import Actor, check_decimal, check_text, fail
from regenzet.domain.number_plate import normalise_plate

VIN_NAMESPACE = UUID("6f1c8a52-8d0c-4f87-9d1a-3c2b7e0f5a10")
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
WARRANTY_RISK_MARGIN_PCT = Decimal("5")


def normalise_vin(vin: str) -> str:
    vin = vin.strip().upper()
    if not _VIN.match(vin):
        fail("vin", "must be 17 characters, letters and digits without I, O or Q")
    return vin


@attrs.frozen
class VinFacts:
    """What the VIN itself says, as decoded when the vehicle was registered."""

    vin: str
    wmi: str
    manufacturer: str
    country: str | None
    region: str | None
    model_years: list[int]
    check_digit_verified: bool


class BatteryHealthMethod(Enum):
    BMS_READ = "bms_read"
    CAPACITY_TEST = "capacity_test"
    FLASH_TEST = "flash_test"


class Ecu(Enum):
    BMS = "BMS"
    VCU = "VCU"
    MCU = "MCU"
    OBC = "OBC"
    DCDC = "DCDC"
    TMS = "TMS"
    INFOTAINMENT = "INFOTAINMENT"
    GATEWAY = "GATEWAY"


@attrs.frozen
class BatteryWarranty:
    start_date: date
    years: int
    km: int
    soh_threshold_pct: Decimal

    def covers(self, today: date, odometer_km: int) -> bool:
        try:
            end = self.start_date.replace(year=self.start_date.year + self.years)
        except ValueError:  # 29 February
            end = self.start_date.replace(year=self.start_date.year + self.years, day=28)
        return self.start_date <= today < end and odometer_km <= self.km


class Vehicle(Aggregate):
    """An EV the garage has seen. Its id is derived from the VIN, so a VIN is registered once."""

    @staticmethod
    def create_id(vin: str) -> UUID:
        return uuid5(VIN_NAMESPACE, vin)

    @classmethod
    def register(
        cls,
        *,
        facts: VinFacts,
        plate: str,
        make: str | None,
        model: str,
        year: int,
        battery_kwh: Decimal,
        nominal_voltage_v: Decimal,
        owner_id: UUID,
        actor: Actor,
    ) -> Vehicle:
        vin = normalise_vin(facts.vin)
        plate = normalise_plate(plate)
        if not isinstance(year, int) or not 1990 <= year <= 2100:
            fail("year", "must be a model year between 1990 and 2100")
        if facts.model_years and year not in facts.model_years:
            years = ", ".join(str(y) for y in facts.model_years)
            fail("year", f"does not match the VIN's model-year code ({years})")
        return cls(
            vin=vin,
            facts=facts,
            plate=plate,
            make=check_text("make", make or facts.manufacturer, max_length=60),
            model=check_text("model", model, max_length=60),
            year=year,
            battery_kwh=check_decimal(
                "battery_kwh", battery_kwh, minimum=Decimal("1"), maximum=Decimal("300")
            ),
            nominal_voltage_v=check_decimal(
                "nominal_voltage_v",
                nominal_voltage_v,
                minimum=Decimal("48"),
                maximum=Decimal("1000"),
            ),
            owner_id=owner_id,
            actor=actor,
        )

    # Every event is declared as a class above its method, so followers dispatch on the class
    # and mypy checks them (ADR 0032). The fields are the method's, in its order: the stored
    # JSON keeps that order (tests/golden), and the class name is in the stored topic.
    class Registered(Aggregate.Created):
        vin: str
        facts: VinFacts
        plate: str
        make: str
        model: str
        year: int
        battery_kwh: Decimal
        nominal_voltage_v: Decimal
        owner_id: UUID
        actor: Actor

    @event(Registered)
    def __init__(
        self,
        *,
        vin: str,
        facts: VinFacts,
        plate: str,
        make: str,
        model: str,
        year: int,
        battery_kwh: Decimal,
        nominal_voltage_v: Decimal,
        owner_id: UUID,
        actor: Actor,
    ) -> None:
        self.vin = vin
        self.facts = facts
        self.plate = plate
        self.make = make
        self.model = model
        self.year = year
        self.battery_kwh = battery_kwh
        self.nominal_voltage_v = nominal_voltage_v
        self.owner_id = owner_id
        self.odometer_km = 0
        self.battery_health: list[dict[str, Any]] = []
        self.software: dict[str, str] = {}
        self.warranty: BatteryWarranty | None = None

    # -- ownership --------------------------------------------------------------------------

    def transfer_ownership(self, *, new_owner_id: UUID, actor: Actor) -> None:
        if new_owner_id == self.owner_id:
            fail("new_owner_id", "is already the owner")
        self._ownership_transferred(
            previous_owner_id=self.owner_id, new_owner_id=new_owner_id, actor=actor
        )

    class OwnershipTransferred(Aggregate.Event):
        previous_owner_id: UUID
        new_owner_id: UUID
        actor: Actor

    @event(OwnershipTransferred)
    def _ownership_transferred(
        self, *, previous_owner_id: UUID, new_owner_id: UUID, actor: Actor
    ) -> None:
        self.owner_id = new_owner_id

    # -- odometer ---------------------------------------------------------------------------

    def record_odometer(self, *, km: int, actor: Actor) -> None:
        _check_km(km)
        if km < self.odometer_km:
            fail("km", f"odometer never decreases (last {self.odometer_km} km); correct it instead")
        if km == self.odometer_km:
            return
        self._odometer_recorded(km=km, actor=actor)

    class OdometerRecorded(Aggregate.Event):
        km: int
        actor: Actor

    @event(OdometerRecorded)
    def _odometer_recorded(self, *, km: int, actor: Actor) -> None:
        self.odometer_km = km

    def correct_odometer(self, *, km: int, reason: str, actor: Actor) -> None:
        _check_km(km)
        reason = check_text("reason", reason, max_length=500)
        self._odometer_corrected(previous_km=self.odometer_km, km=km, reason=reason, actor=actor)

    class OdometerCorrected(Aggregate.Event):
        previous_km: int
        km: int
        reason: str
        actor: Actor

    @event(OdometerCorrected)
    def _odometer_corrected(self, *, previous_km: int, km: int, reason: str, actor: Actor) -> None:
        self.odometer_km = km

    # -- battery ----------------------------------------------------------------------------

    def record_battery_health(
        self,
        *,
        soh_pct: Decimal,
        soc_pct: Decimal | None,
        method: BatteryHealthMethod,
        inspection_id: UUID | None,
        measured_at: datetime,
        actor: Actor,
    ) -> None:
        check_decimal("soh_pct", soh_pct, minimum=Decimal("0"), maximum=Decimal("100"))
        if soc_pct is not None:
            check_decimal("soc_pct", soc_pct, minimum=Decimal("0"), maximum=Decimal("100"))
        self._battery_health_recorded(
            soh_pct=soh_pct,
            soc_pct=soc_pct,
            method=BatteryHealthMethod(method),
            inspection_id=inspection_id,
            measured_at=measured_at,
            actor=actor,
        )

    class BatteryHealthRecorded(Aggregate.Event):
        soh_pct: Decimal
        soc_pct: Decimal | None
        method: BatteryHealthMethod
        inspection_id: UUID | None
        measured_at: datetime
        actor: Actor

    @event(BatteryHealthRecorded)
    def _battery_health_recorded(
        self,
        *,
        soh_pct: Decimal,
        soc_pct: Decimal | None,
        method: BatteryHealthMethod,
        inspection_id: UUID | None,
        measured_at: datetime,
        actor: Actor,
    ) -> None:
        self.battery_health.append(
            {
                "measured_at": measured_at,
                "soh_pct": soh_pct,
                "soc_pct": soc_pct,
                "method": method,
                "odometer_km": self.odometer_km,
            }
        )

    def soh_trend(self) -> list[tuple[datetime, Decimal]]:
        return [(r["measured_at"], r["soh_pct"]) for r in self.battery_health]

    def register_battery_warranty(
        self,
        *,
        start_date: date,
        years: int,
        km: int,
        soh_threshold_pct: Decimal,
        actor: Actor,
    ) -> None:
        if not isinstance(years, int) or not 1 <= years <= 20:
            fail("years", "must be between 1 and 20")
        _check_km(km)
        check_decimal(
            "soh_threshold_pct", soh_threshold_pct, minimum=Decimal("1"), maximum=Decimal("100")
        )
        self._battery_warranty_registered(
            warranty=BatteryWarranty(start_date, years, km, soh_threshold_pct), actor=actor
        )

    class BatteryWarrantyRegistered(Aggregate.Event):
        warranty: BatteryWarranty
        actor: Actor

    @event(BatteryWarrantyRegistered)
    def _battery_warranty_registered(self, *, warranty: BatteryWarranty, actor: Actor) -> None:
        self.warranty = warranty

    def under_warranty(self, today: date) -> bool:
        return self.warranty is not None and self.warranty.covers(today, self.odometer_km)

    def warranty_risk(self, today: date) -> bool:
        """Latest SoH within a few points of the warranty threshold while still covered."""
        if self.warranty is None or not self.battery_health or not self.under_warranty(today):
            return False
        latest: Decimal = self.battery_health[-1]["soh_pct"]
        return latest <= self.warranty.soh_threshold_pct + WARRANTY_RISK_MARGIN_PCT

    # -- software ---------------------------------------------------------------------------

    def record_software_version(
        self, *, ecu: Ecu, version_before: str | None, version_after: str, actor: Actor
    ) -> None:
        ecu = Ecu(ecu)
        version_after = check_text("version_after", version_after, max_length=64)
        current = self.software.get(ecu.value)
        if version_before is not None and current is not None and version_before != current:
            fail("version_before", f"recorded version of {ecu.value} is {current}")
        self._software_version_recorded(
            ecu=ecu, version_before=current, version_after=version_after, actor=actor
        )

    class SoftwareVersionRecorded(Aggregate.Event):
        ecu: Ecu
        version_before: str | None
        version_after: str
        actor: Actor

    @event(SoftwareVersionRecorded)
    def _software_version_recorded(
        self, *, ecu: Ecu, version_before: str | None, version_after: str, actor: Actor
    ) -> None:
        self.software[ecu.value] = version_after


def _check_km(km: int) -> None:
    if not isinstance(km, int) or isinstance(km, bool) or not 0 <= km <= 3_000_000:
        fail("km", "must be a whole number of kilometres between 0 and 3,000,000")


VALUE_TYPES: list[type] = [VinFacts, BatteryWarranty]
ENUMS: list[type[Enum]] = [BatteryHealthMethod, Ecu]
