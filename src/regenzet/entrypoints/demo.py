"""Demo data: a small EV garage seeded through the use cases, exactly as staff would.

Every id is derived from a stable name, so a second run finds what exists and skips it: no
duplicates, no crash. Workshop times come from a manual clock that starts a few days ago and
moves forward as the scenarios unfold, so clocked hours and promised times look real.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from importlib import resources
from typing import Protocol
from uuid import UUID, uuid5

import attrs

from regenzet.application.scenarios import (
    Job,
    OrderScript,
    attach_photo,
    customer_actor,
    register_customer,
    register_vehicle,
    technician,
)
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.customer import NotificationPreferences
from regenzet.domain.inspection import IsolationCircuit, MeasurementKind, Rating
from regenzet.domain.inspection_template import load_template
from regenzet.domain.repair_order import ApprovalChannel, LabourLine, PartLine, PartRequestLine
from regenzet.domain.vehicle import Ecu

DEMO_NAMESPACE = UUID("0b6f3d8e-57a4-4b0e-9f51-2d4c8f6a7e19")
SYSTEM = Actor("demo-seeder", Role.SYSTEM)
D = Decimal


class ManualClock(Protocol):
    """The demo's business clock: moved forward as the scenarios unfold."""

    def now(self) -> datetime: ...

    def advance(self, delta: timedelta) -> datetime: ...


def demo_id(name: str) -> UUID:
    return uuid5(DEMO_NAMESPACE, name)


def demo_photo(name: str) -> bytes:
    """A packaged demo photo (``src/regenzet/demo_media``, drawn by scripts/make-demo-media)."""
    return (resources.files("regenzet.demo_media") / name).read_bytes()


@attrs.define
class DemoReport:
    created: list[str] = attrs.field(factory=list)
    skipped: list[str] = attrs.field(factory=list)
    repair_orders: dict[str, UUID] = attrs.field(factory=dict)
    incomplete: list[str] = attrs.field(factory=list)

    def lines(self) -> list[str]:
        out = [f"demo: created {len(self.created)}, already present {len(self.skipped)}"]
        out += [f"  + {c}" for c in self.created]
        out += [f"  ! {c}" for c in self.incomplete]
        out.append("repair orders:")
        out += [f"  {status:<18} {rid}" for status, rid in self.repair_orders.items()]
        return out


CUSTOMERS = {
    "sanne": (
        "Sanne de Vries",
        "sanne.devries@example.nl",
        "+31 6 1234 5678",
        NotificationPreferences(quiet_hours_start="21:00", quiet_hours_end="08:00"),
    ),
    "lukas": ("Lukas Meyer", "lukas.meyer@example.de", "+49 151 2345 6789", None),
    "amira": (
        "Amira Haddad",
        "amira.haddad@example.com",
        "+31 6 9876 5432",
        NotificationPreferences(email=True, sms=True),
    ),
    "greencab": ("GreenCab Fleet B.V.", "fleet@greencab.example", "+31 20 555 0199", None),
}

# (key, name, email, role, hv level, certificate expires in days from today; negative = expired)
STAFF = [
    ("eva", "Eva Jansen", "eva@garage.example", Role.ADVISOR, None, None),
    ("pieter", "Pieter Bakker", "pieter@garage.example", Role.MANAGER, None, None),
    ("noor", "Noor El Amrani", "noor@garage.example", Role.TECHNICIAN, 3, 400),
    ("daan", "Daan Visser", "daan@garage.example", Role.TECHNICIAN, 2, 200),
    ("milan", "Milan Smit", "milan@garage.example", Role.TECHNICIAN, 1, 300),
    ("jonas", "Jonas Peters", "jonas@garage.example", Role.TECHNICIAN, 3, -30),
]

# Real-world VIN layouts of common EVs (serials invented; check digits valid where required).
VEHICLES = {
    "model3": (
        "5YJ3E1EA2KF317000",
        "R-123-TX",
        "Tesla",
        "Model 3 Long Range",
        2019,
        D("75"),
        D("350"),
        "sanne",
    ),
    "leaf": ("1N4AZ1CP0JC306212", "H-456-LF", "Nissan", "Leaf", 2018, D("40"), D("350"), "lukas"),
    "id3": (
        "WVWZZZE1ZMP000001",
        "K-789-ID",
        "Volkswagen",
        "ID.3 Pro",
        2021,
        D("58"),
        D("400"),
        "amira",
    ),
    "macheh": (
        "3FMTK3SU5MMA12345",
        "G-321-ME",
        "Ford",
        "Mustang Mach-E",
        2021,
        D("88"),
        D("400"),
        "greencab",
    ),
    "bolt": (
        "1G1FY6S05L4100023",
        "T-654-BT",
        "Chevrolet",
        "Bolt EV",
        2020,
        D("66"),
        D("350"),
        "greencab",
    ),
    "ev6": (
        "KNDC34LA1N5012345",
        "Z-987-KV",
        "Kia",
        "EV6 GT-Line",
        2022,
        D("77.4"),
        D("697"),
        "amira",
    ),
}


class _Seeder:
    def __init__(self, workshop: Workshop, clock: ManualClock, today: date) -> None:
        self.w = workshop
        self.clock = clock
        self.today = today
        self.report = DemoReport()
        self.eva = Actor(str(demo_id("staff:eva")), Role.ADVISOR)
        self.pieter = Actor(str(demo_id("staff:pieter")), Role.MANAGER)

    def staff_actor(self, key: str) -> Actor:
        return technician(demo_id(f"staff:{key}"))

    def _once(self, label: str, aggregate_id: UUID, create: Callable[[], object]) -> bool:
        if self.w.exists(aggregate_id):
            self.report.skipped.append(label)
            return False
        create()
        self.report.created.append(label)
        return True

    def tick(self, minutes: float) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    # -- master data ----------------------------------------------------------------------

    def people(self) -> None:
        for key, (name, email, phone, prefs) in CUSTOMERS.items():
            cid = demo_id(f"customer:{key}")
            self._once(
                f"customer {name}",
                cid,
                partial(
                    register_customer,
                    self.w,
                    name=name,
                    email=email,
                    phone=phone,
                    preferences=prefs,
                    actor=self.eva,
                    customer_id=cid,
                ),
            )
        manager = Actor(str(demo_id("staff:pieter")), Role.MANAGER)
        for key, name, email, role, level, expires_in in STAFF:
            sid = demo_id(f"staff:{key}")

            def hire(
                sid: UUID = sid,
                name: str = name,
                email: str = email,
                role: Role = role,
                level: int | None = level,
                expires_in: int | None = expires_in,
            ) -> None:
                self.w.hire_staff_member(
                    name=name, email=email, role=role, actor=manager, staff_id=sid
                )
                if level is not None and expires_in is not None:
                    self.w.record_hv_qualification(
                        sid,
                        level=level,
                        certificate_id=f"HV{level}-{sid.hex[:6].upper()}",
                        expires_on=self.today + timedelta(days=expires_in),
                        actor=manager,
                    )

            self._once(f"staff member {name}", sid, hire)

    def vehicles(self) -> None:
        for key, (vin, plate, make, model, year, kwh, volts, owner) in VEHICLES.items():
            vid = self.w.find_vehicle_id(vin)

            def register(
                vin: str = vin,
                plate: str = plate,
                make: str = make,
                model: str = model,
                year: int = year,
                kwh: Decimal = kwh,
                volts: Decimal = volts,
                owner: str = owner,
                key: str = key,
                vid: UUID = vid,
            ) -> None:
                register_vehicle(
                    self.w,
                    vin=vin,
                    plate=plate,
                    make=make,
                    model=model,
                    year=year,
                    battery_kwh=kwh,
                    nominal_voltage_v=volts,
                    owner_id=demo_id(f"customer:{owner}"),
                    actor=self.eva,
                )
                self.w.register_battery_warranty(
                    vid,
                    start_date=date(year, 3, 1),
                    years=8,
                    km=160_000,
                    soh_threshold_pct=D("70"),
                    actor=self.eva,
                )
                if key == "model3":
                    self.w.record_software_version(
                        vid,
                        ecu=Ecu.BMS,
                        version_before=None,
                        version_after="2019.40.2",
                        actor=self.eva,
                    )

            self._once(f"vehicle {make} {model} {vin}", vid, register)

    # -- repair-order scenarios -------------------------------------------------------------

    def order(
        self,
        key: str,
        status: str,
        vehicle: str,
        owner: str,
        concerns: list[str],
        odometer: int,
        soc: Decimal,
        story: Callable[[OrderScript, UUID], None],
    ) -> None:
        rid = demo_id(f"repair-order:{key}")
        vid = self.w.find_vehicle_id(VEHICLES[vehicle][0])
        self.report.repair_orders[status] = rid

        def run() -> None:
            order = OrderScript.open(
                self.w,
                vehicle_id=vid,
                customer_id=demo_id(f"customer:{owner}"),
                advisor=self.eva,
                concerns=concerns,
                odometer_in_km=odometer,
                soc_in_pct=soc,
                promised_at=self.clock.now() + timedelta(days=2),
                repair_order_id=rid,
            )
            story(order, vid)

        if not self._once(f"repair order {key} ({status})", rid, run):
            actual = self.w.get_repair_order(rid).status
            if actual != status:
                # Scenarios are many commands, not one transaction: an interrupted earlier run
                # leaves an order short of its state, and re-running cannot tell where it stopped.
                self.report.incomplete.append(
                    f"repair order {key} is {actual}, expected {status}: an earlier run was "
                    "interrupted; seed a fresh store (new REGENZET_DATA_DIR or database)"
                )

    def inspect(
        self,
        key: str,
        rid: UUID,
        vid: UUID,
        tech: str,
        ratings: dict[str, tuple[Rating, str | None]],
        measurements: list[tuple[MeasurementKind, Decimal, dict[str, object]]],
        complete: bool,
        photos: tuple[tuple[str, str | None], ...] = (),
    ) -> UUID:
        iid = demo_id(f"inspection:{key}")
        actor = self.staff_actor(tech)
        self.w.start_inspection(
            vehicle_id=vid,
            repair_order_id=rid,
            technician_id=demo_id(f"staff:{tech}"),
            actor=actor,
            inspection_id=iid,
        )
        template = load_template()
        for item in template.items:
            rating, note = ratings.get(item.code, (Rating.GREEN, None))
            if complete or item.code in ratings:
                self.w.rate_inspection_item(
                    iid, item_code=item.code, rating=rating, note=note, actor=actor
                )
        for kind, value, extra in measurements:
            self.w.record_measurement(iid, kind=kind, value=value, actor=actor, **extra)
            self.tick(3)
        for name, item_code in photos:
            self.photo(name, actor, inspection_id=iid, item_code=item_code)
        if complete:
            self.w.complete_inspection(iid, actor=actor)
            self.w.share_inspection(iid, actor=self.eva)
        return iid

    def photo(
        self,
        name: str,
        actor: Actor,
        *,
        inspection_id: UUID | None = None,
        repair_order_id: UUID | None = None,
        item_code: str | None = None,
    ) -> None:
        """One of the packaged photos through the upload flow (skipped when the workshop
        was built without media storage: the golden fixtures' and some tests' workshops)."""
        if self.w.media is None:
            return
        attach_photo(
            self.w,
            inspection_id=inspection_id,
            repair_order_id=repair_order_id,
            data=demo_photo(name),
            file_name=name,
            item_code=item_code,
            media_id=demo_id(f"media:{name}"),
            actor=actor,
        )
        self.tick(1)

    def closed_hv_repair(self, o: OrderScript, vid: UUID) -> None:
        """Tesla: HV coolant pump and contactor — isolation, clocking, restore, invoice, paid."""
        self.tick(20)
        self.inspect(
            "model3",
            o.id,
            vid,
            "noor",
            {
                "cooling.coolant_level": (Rating.RED, "Coolant loss traced to HV pump seal"),
                "battery.hv_connectors": (Rating.AMBER, "Contactor chatter on BMS log"),
            },
            [
                (MeasurementKind.SOH_PCT, D("91.5"), {"unit": "%"}),
                (MeasurementKind.SOC_PCT, D("64"), {"unit": "%"}),
                (MeasurementKind.PACK_VOLTAGE_V, D("352.4"), {"unit": "V"}),
                (
                    MeasurementKind.ISOLATION_RESISTANCE_MOHM,
                    D("12.5"),
                    {"unit": "MOhm", "test_voltage_v": D("500"), "circuit": IsolationCircuit.DC},
                ),
                (MeasurementKind.CELL_VOLTAGE_DELTA_MV, D("18"), {"unit": "mV"}),
            ],
            complete=True,
        )
        o.quote(
            Job(
                "hv-pump",
                "Replace HV battery coolant pump",
                (LabourLine("Remove and refit coolant pump", D("2.5"), D("95")),),
                (
                    PartLine("1490124-00-A", "Coolant pump assembly", D("1"), D("389.00")),
                    PartLine("G13-5L", "Coolant G13 (5 l)", D("1"), D("42.50")),
                ),
                hv_work=True,
                required_hv_level=3,
            ),
            Job(
                "cabin-filter",
                "Replace cabin air filter",
                (LabourLine("Cabin filter", D("0.3"), D("85")),),
                (PartLine("1107681-00-A", "HEPA cabin filter", D("1"), D("59.90")),),
            ),
        )
        self.tick(90)
        o.approve(client_ip="203.0.113.24")  # by Sanne, on the portal
        noor, daan = demo_id("staff:noor"), demo_id("staff:daan")
        o.assign("hv-pump", noor).assign("cabin-filter", daan)
        self.tick(30)
        o.isolate_hv(daan, residual_voltage_v=D("2.1"), lock_tag_id="LOTO-0042")
        o.clock_on("hv-pump", noor).clock_on("cabin-filter", daan)
        self.tick(25)
        o.clock_off("cabin-filter", daan).complete("cabin-filter", daan)
        self.tick(140)
        o.clock_off("hv-pump", noor).complete("hv-pump", noor).restore_hv(noor)
        o.pass_quality_check(notes="Leak test 30 min at 1.2 bar: no loss", by=self.pieter)
        o.invoice()
        self.tick(60)
        o.pay(reference="PIN-778812").hand_over(odometer_out_km=48_213, soc_out_pct=D("63"))

    def awaiting_approval(self, o: OrderScript, vid: UUID) -> None:
        """Leaf: cell imbalance found; the quote waits for Lukas. A scuff photographed at
        check-in, the charge port's pins during the inspection."""
        self.photo("bumper-scuff.jpg", self.eva, repair_order_id=o.id)
        self.tick(15)
        self.inspect(
            "leaf",
            o.id,
            vid,
            "daan",
            {
                "bms.cell_balance": (Rating.AMBER, "Delta 62 mV at rest"),
                "tyres.tread_depth": (Rating.AMBER, "Front 3.1 mm"),
            },
            [
                (MeasurementKind.SOH_PCT, D("78"), {"unit": "%"}),
                (MeasurementKind.CELL_VOLTAGE_DELTA_MV, D("62"), {"unit": "mV"}),
                (MeasurementKind.TYRE_TREAD_MM, D("3.1"), {"unit": "mm"}),
            ],
            complete=True,
            photos=(("charge-port.jpg", "charge_port.pins"),),
        )
        o.quote(
            Job(
                "balance",
                "Battery cell balancing",
                (LabourLine("Balance charge and verification", D("3"), D("95")),),
                hv_work=True,
                required_hv_level=3,
            ),
            Job(
                "tyres",
                "Two front tyres (EV rated)",
                (LabourLine("Fit and balance", D("0.8"), D("85")),),
                (PartLine("MICH-PS-EV-215", "Michelin e.Primacy 215/50R17", D("2"), D("142.00")),),
            ),
        )

    def in_progress(self, o: OrderScript, vid: UUID) -> None:
        """ID.3: corroded discs from under-use (regen does the braking); one job declined."""
        o.quote(
            Job(
                "discs",
                "Replace rear brake discs and pads",
                (LabourLine("Rear discs and pads", D("1.6"), D("85")),),
                (
                    PartLine("1EA615601", "Rear brake disc", D("2"), D("64.00")),
                    PartLine("1EA698451", "Rear pad set", D("1"), D("58.00")),
                ),
            ),
            Job(
                "wipers",
                "Wiper blades",
                (LabourLine("Wipers", D("0.2"), D("85")),),
                (PartLine("3397014", "Wiper blade set", D("1"), D("39.00")),),
            ),
        )
        o.approve("discs", client_ip="198.51.100.7")  # by Amira, on the portal
        self.w.decline_job(
            o.id,
            job_id="wipers",
            channel=ApprovalChannel.PORTAL,
            client_ip="198.51.100.7",
            reason="Did them myself",
            actor=customer_actor(o.customer_id),
        )
        milan = demo_id("staff:milan")
        o.assign("discs", milan).clock_on("discs", milan)
        self.tick(45)

    def waiting_for_parts(self, o: OrderScript, vid: UUID) -> None:
        """Mach-E: CCS charge port latch broken; part on order."""
        o.quote(
            Job(
                "charge-port",
                "Replace CCS2 charge port latch assembly",
                (LabourLine("Charge port latch", D("1.2"), D("95")),),
                (PartLine("LJ9Z-14D202-A", "Charge port latch actuator", D("1"), D("118.00")),),
                hv_work=True,
                required_hv_level=2,
            )
        )
        o.approve("charge-port", channel=ApprovalChannel.PHONE, client_ip=None, actor=self.eva)
        self.w.request_parts(
            o.id,
            request_id="PR-1",
            job_id="charge-port",
            lines=[PartRequestLine("LJ9Z-14D202-A", "Charge port latch actuator", D("1"))],
            actor=self.eva,
        )

    def inspecting(self, o: OrderScript, vid: UUID) -> None:
        """Bolt: inspection under way."""
        self.inspect(
            "bolt",
            o.id,
            vid,
            "noor",
            {
                "battery.hv_pack_visual": (Rating.GREEN, None),
                "brakes.disc_corrosion": (Rating.AMBER, "Light corrosion, clean and test"),
            },
            [
                (MeasurementKind.SOH_PCT, D("72.5"), {"unit": "%"}),
                (
                    MeasurementKind.ISOLATION_RESISTANCE_MOHM,
                    D("0.03"),
                    {"unit": "MOhm", "test_voltage_v": D("500"), "circuit": IsolationCircuit.DC},
                ),
            ],
            complete=False,
            photos=(
                ("brake-disc.jpg", "brakes.disc_corrosion"),
                ("meter-reading.jpg", "battery.isolation"),
            ),
        )

    def cancelled(self, o: OrderScript, vid: UUID) -> None:
        o.add_jobs(
            Job(
                "ota",
                "Apply pending software update",
                (LabourLine("Software update", D("0.5"), D("95")),),
            )
        )
        self.w.cancel_repair_order(
            o.id, reason="Customer updated over the air at home", actor=self.eva
        )

    def ready_for_pickup(self, o: OrderScript, vid: UUID) -> None:
        """EV6: 12 V battery replaced; invoiced, payment pending."""
        o.quote(
            Job(
                "aux-battery",
                "Replace 12 V auxiliary battery",
                (LabourLine("12 V battery swap and reset", D("0.7"), D("85")),),
                (PartLine("37110-GI000", "12 V AGM battery 60 Ah", D("1"), D("189.00")),),
            )
        )
        o.approve(channel=ApprovalChannel.EMAIL, client_ip="198.51.100.7")  # by Amira
        o.labour("aux-battery", demo_id("staff:daan"), during=lambda: self.tick(40))
        o.pass_quality_check(by=self.pieter).invoice()


@attrs.frozen
class DemoLogin:
    """A demo person one can get a token for (``regenzet auth demo NAME``)."""

    name: str
    role: Role
    subject: str
    customer_id: UUID | None = None
    staff_id: UUID | None = None


def demo_logins() -> dict[str, DemoLogin]:
    """Every demo customer and staff member, plus an auditor (who needs no staff record)."""
    logins = {
        key: DemoLogin(
            key, Role.CUSTOMER, str(demo_id(f"customer:{key}")), demo_id(f"customer:{key}")
        )
        for key in CUSTOMERS
    }
    for key, _name, _email, role, _level, _expires in STAFF:
        sid = demo_id(f"staff:{key}")
        logins[key] = DemoLogin(key, role, str(sid), staff_id=sid)
    logins["ines"] = DemoLogin("ines", Role.AUDITOR, "auditor:ines")
    return logins


def demo_clock_start() -> datetime:
    """Where the demo's manual clock starts: a few days ago at opening time (the bootstrap
    builds the workshop on it), so the seeded history spans realistic working days."""
    real_now = datetime.now(UTC)
    return (real_now - timedelta(days=6)).replace(hour=7, minute=30, second=0, microsecond=0)


def seed_demo(workshop: Workshop, clock: ManualClock) -> DemoReport:
    """Seeds the demo garage through the use cases; returns what was created or skipped."""
    real_now = datetime.now(UTC)
    s = _Seeder(workshop, clock, real_now.date())
    s.people()
    s.vehicles()
    s.order(
        "model3-hv",
        "closed",
        "model3",
        "sanne",
        ["Coolant warning on display", "Clicking from under the rear seat"],
        48_190,
        D("71"),
        s.closed_hv_repair,
    )
    s.tick(60 * 20)
    s.order(
        "leaf-balance",
        "awaiting_approval",
        "leaf",
        "lukas",
        ["Range dropped noticeably this winter"],
        91_400,
        D("55"),
        s.awaiting_approval,
    )
    s.tick(60 * 20)
    s.order(
        "id3-brakes",
        "in_progress",
        "id3",
        "amira",
        ["Grinding noise when braking"],
        23_870,
        D("80"),
        s.in_progress,
    )
    s.order(
        "macheh-port",
        "waiting_for_parts",
        "macheh",
        "greencab",
        ["Charging cable does not lock"],
        61_220,
        D("35"),
        s.waiting_for_parts,
    )
    s.tick(60 * 20)
    s.order(
        "ev6-ota",
        "cancelled",
        "ev6",
        "amira",
        ["Software update pending"],
        18_400,
        D("90"),
        s.cancelled,
    )
    s.order(
        "ev6-12v",
        "ready_for_pickup",
        "ev6",
        "amira",
        ["Car would not wake up"],
        18_412,
        D("88"),
        s.ready_for_pickup,
    )
    s.tick(60 * 4)
    s.order(
        "bolt-check",
        "inspecting",
        "bolt",
        "greencab",
        ["Annual fleet inspection"],
        104_000,
        D("60"),
        s.inspecting,
    )
    return s.report
