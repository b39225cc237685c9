"""The workshop application: one eventsourcing ``Application`` holding every aggregate.

One application means one totally ordered notification log, which is the outbox every follower
reads (ADR 0003). Each public method is one use case: it loads what it needs, checks the
caller's expected version, lets the aggregates decide, and saves every changed aggregate in one
atomic write. Queries return read DTOs (``regenzet.application.views``), never aggregates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import Environment

from regenzet.application import views
from regenzet.application.aggregates import kind_name
from regenzet.application.errors import (
    ConcurrencyConflictError,
    DuplicateError,
    NotFoundError,
    VersionMismatchError,
)
from regenzet.application.idempotency import pending_key
from regenzet.application.ports import Clock, LogRow, VinDecoder
from regenzet.application.transcodings import TypedEventMapper, register_domain_transcodings
from regenzet.domain import catalog
from regenzet.domain.common import (
    Actor,
    DomainValidationError,
    Role,
    RuleViolationError,
    canonical_copy,
    check_currency,
    fail,
)
from regenzet.domain.customer import Customer, NotificationPreferences
from regenzet.domain.inspection import Inspection, IsolationCircuit, MeasurementKind, Rating
from regenzet.domain.inspection_template import load_template
from regenzet.domain.number_plate import NumberPlate
from regenzet.domain.repair_order import (
    ApprovalChannel,
    LabourLine,
    PartLine,
    PartRequestLine,
    PaymentMethod,
    RepairOrder,
)
from regenzet.domain.staff import StaffMember
from regenzet.domain.vehicle import BatteryHealthMethod, Ecu, Vehicle

logger = logging.getLogger(__name__)

A = TypeVar("A", bound=Aggregate)


class Receipt:
    """What a command produced: the aggregate's new version and the log position it reached.

    ``position`` lets a client ask a read model to catch up to its own write.
    """

    __slots__ = ("id", "position", "version")

    def __init__(self, aggregate_id: UUID, version: int, position: int | None) -> None:
        self.id = aggregate_id
        self.version = version
        self.position = position

    def __repr__(self) -> str:
        return f"Receipt(id={self.id}, version={self.version}, position={self.position})"


@contextmanager
def _explaining_hv_level(technician: StaffMember, today: date) -> Iterator[None]:
    """Adds why a technician's HV level counts as lower than recorded (an expired certificate,
    a deactivated member) to a refusal for an insufficient level: "technician has 0" alone
    leaves the advisor guessing."""
    try:
        yield
    except RuleViolationError as exc:
        why = technician.why_hv_level_is_lower(today)
        if exc.rule != "hv_qualification_insufficient" or why is None:
            raise
        raise RuleViolationError(exc.rule, f"{exc.message}: {why}") from None


class Workshop(Application[UUID]):
    """ReGenZet's single application (its name fixes the table names; never change it)."""

    name = "ReGenZet"
    # Vehicles accumulate odometer, battery and software records over their whole life.
    snapshotting_intervals = {Vehicle: 50}
    # Bulk readers use the recorder directly; this only bounds the library's section API.
    log_section_size = 100

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock,
        vin_decoder: VinDecoder,
        tax_rate: Decimal = Decimal("0.21"),
        currency: str = "EUR",
    ) -> None:
        self.clock = clock
        self.vin_decoder = vin_decoder
        self.tax_rate = tax_rate
        self.currency = check_currency(currency)
        super().__init__(env)

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Only the given environment: unlike the library's default, the process environment
        is not merged in, so a stray variable (say POSTGRES_ENABLE_DB_FUNCTIONS, ADR 0004)
        cannot change how the store behaves. The composition root passes everything."""
        settings = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            settings["IS_SNAPSHOTTING_ENABLED"] = "y"
        settings.update(env or {})
        return Environment(name, settings)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshots are an optimisation taken after the events committed: a failure to take
        one must not turn a saved command into a reported failure (a client would retry it)."""
        try:
            super()._take_snapshots(processing_event)
        except Exception:
            logger.exception("snapshot not taken; the aggregate loads from its events")

    def construct_mapper(self) -> Mapper[UUID]:
        mapper: Mapper[UUID] = self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=TypedEventMapper
        )
        return mapper

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder, catalog.VALUE_TYPES, catalog.ENUMS)

    # ------------------------------------------------------------------------------------------
    # Plumbing: loading with expected-version checks and saving with conflict translation.
    # ------------------------------------------------------------------------------------------

    def _load(self, cls: type[A], aggregate_id: UUID, expected_version: int | None = None) -> A:
        kind = kind_name(cls)
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(kind, aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(kind, aggregate_id)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatchError(kind, aggregate_id, expected_version, aggregate.version)
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any aggregate has that id (a cheap one-row read, no reconstruction)."""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _commit(self, primary: Aggregate, *others: Aggregate) -> Receipt:
        pending = pending_key()
        if pending is not None:
            # The recorder writes the request's key with these events; its response names
            # this aggregate (ADR 0024).
            pending.bind(primary.id, primary.version)
        try:
            recordings: list[Recording[UUID]] = self.save(primary, *others)
        except IntegrityError:
            raise ConcurrencyConflictError from None
        position = max(
            (r.notification.id for r in recordings if r.notification.id is not None),
            default=None,
        )
        return Receipt(primary.id, primary.version, position)

    def _run(
        self,
        cls: type[A],
        aggregate_id: UUID,
        expected_version: int | None,
        command: Callable[[A], None],
    ) -> Receipt:
        aggregate = self._load(cls, aggregate_id, expected_version)
        command(aggregate)
        return self._commit(aggregate)

    # ------------------------------------------------------------------------------------------
    # Customers
    # ------------------------------------------------------------------------------------------

    def register_customer(
        self,
        *,
        name: str,
        email: str,
        phone: str | None,
        actor: Actor,
        preferences: NotificationPreferences | None = None,
        customer_id: UUID | None = None,
    ) -> Receipt:
        if customer_id is not None and self.exists(customer_id):
            raise DuplicateError("customer", str(customer_id), customer_id)
        customer = Customer.register(
            name=name,
            email=email,
            phone=phone,
            preferences=preferences,
            actor=actor,
            id=customer_id,
        )
        return self._commit(customer)

    def change_customer_contact(
        self,
        customer_id: UUID,
        *,
        email: str,
        phone: str | None,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            Customer,
            customer_id,
            expected_version,
            lambda c: c.change_contact(email=email, phone=phone, actor=actor),
        )

    def change_customer_preferences(
        self,
        customer_id: UUID,
        *,
        preferences: NotificationPreferences,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            Customer,
            customer_id,
            expected_version,
            lambda c: c.change_preferences(preferences=preferences, actor=actor),
        )

    def get_customer(self, customer_id: UUID) -> views.CustomerView:
        return views.customer_view(self._load(Customer, customer_id))

    # ------------------------------------------------------------------------------------------
    # Staff
    # ------------------------------------------------------------------------------------------

    def hire_staff_member(
        self, *, name: str, email: str, role: Role, actor: Actor, staff_id: UUID | None = None
    ) -> Receipt:
        if staff_id is not None and self.exists(staff_id):
            raise DuplicateError("staff member", str(staff_id), staff_id)
        member = StaffMember.hire(name=name, email=email, role=role, actor=actor, id=staff_id)
        return self._commit(member)

    def record_hv_qualification(
        self,
        staff_id: UUID,
        *,
        level: int,
        certificate_id: str,
        expires_on: date,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            StaffMember,
            staff_id,
            expected_version,
            lambda s: s.record_hv_qualification(
                level=level, certificate_id=certificate_id, expires_on=expires_on, actor=actor
            ),
        )

    def deactivate_staff_member(
        self, staff_id: UUID, *, reason: str, actor: Actor, expected_version: int | None = None
    ) -> Receipt:
        return self._run(
            StaffMember,
            staff_id,
            expected_version,
            lambda s: s.deactivate(reason=reason, actor=actor),
        )

    def get_staff_member(self, staff_id: UUID) -> views.StaffView:
        return views.staff_view(self._load(StaffMember, staff_id), self.clock.today())

    # ------------------------------------------------------------------------------------------
    # Vehicles
    # ------------------------------------------------------------------------------------------

    def register_vehicle(
        self,
        *,
        vin: str,
        plate: str,
        make: str | None,
        model: str,
        year: int,
        battery_kwh: Decimal,
        nominal_voltage_v: Decimal,
        owner_id: UUID,
        actor: Actor,
    ) -> Receipt:
        facts = self.vin_decoder.decode(vin)
        vehicle_id = Vehicle.create_id(facts.vin)
        if self.exists(vehicle_id):
            raise DuplicateError("vehicle", facts.vin, vehicle_id)
        self._refuse_claimed_plate(plate)
        self._load(Customer, owner_id)
        vehicle = Vehicle.register(
            facts=facts,
            plate=plate,
            make=make,
            model=model,
            year=year,
            battery_kwh=battery_kwh,
            nominal_voltage_v=nominal_voltage_v,
            owner_id=owner_id,
            actor=actor,
        )
        # The plate's claim is saved atomically with the vehicle (ADR 0012): of two racing
        # registrations for one plate (or one VIN) exactly one commits.
        claim = NumberPlate(plate=vehicle.plate, vehicle_id=vehicle.id, actor=actor)
        try:
            return self._commit(vehicle, claim)
        except ConcurrencyConflictError:
            if self.exists(vehicle_id):
                raise DuplicateError("vehicle", facts.vin, vehicle_id) from None
            self._refuse_claimed_plate(plate)
            raise

    def _refuse_claimed_plate(self, plate: str) -> None:
        """Refuses a plate another vehicle already carries, naming that vehicle."""
        plate_id = NumberPlate.create_id(plate)
        if not self.exists(plate_id):
            return
        claim = self._load(NumberPlate, plate_id)
        raise DuplicateError("number plate", claim.plate, claim.vehicle_id)

    def transfer_vehicle_ownership(
        self,
        vehicle_id: UUID,
        *,
        new_owner_id: UUID,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        self._load(Customer, new_owner_id)
        return self._run(
            Vehicle,
            vehicle_id,
            expected_version,
            lambda v: v.transfer_ownership(new_owner_id=new_owner_id, actor=actor),
        )

    def record_odometer(
        self, vehicle_id: UUID, *, km: int, actor: Actor, expected_version: int | None = None
    ) -> Receipt:
        return self._run(
            Vehicle, vehicle_id, expected_version, lambda v: v.record_odometer(km=km, actor=actor)
        )

    def correct_odometer(
        self,
        vehicle_id: UUID,
        *,
        km: int,
        reason: str,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            Vehicle,
            vehicle_id,
            expected_version,
            lambda v: v.correct_odometer(km=km, reason=reason, actor=actor),
        )

    def record_battery_health(
        self,
        vehicle_id: UUID,
        *,
        soh_pct: Decimal,
        soc_pct: Decimal | None,
        method: BatteryHealthMethod,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        now = self.clock.now()
        return self._run(
            Vehicle,
            vehicle_id,
            expected_version,
            lambda v: v.record_battery_health(
                soh_pct=soh_pct,
                soc_pct=soc_pct,
                method=method,
                inspection_id=None,
                measured_at=now,
                actor=actor,
            ),
        )

    def record_software_version(
        self,
        vehicle_id: UUID,
        *,
        ecu: Ecu,
        version_before: str | None,
        version_after: str,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            Vehicle,
            vehicle_id,
            expected_version,
            lambda v: v.record_software_version(
                ecu=ecu, version_before=version_before, version_after=version_after, actor=actor
            ),
        )

    def register_battery_warranty(
        self,
        vehicle_id: UUID,
        *,
        start_date: date,
        years: int,
        km: int,
        soh_threshold_pct: Decimal,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            Vehicle,
            vehicle_id,
            expected_version,
            lambda v: v.register_battery_warranty(
                start_date=start_date,
                years=years,
                km=km,
                soh_threshold_pct=soh_threshold_pct,
                actor=actor,
            ),
        )

    def get_vehicle(self, vehicle_id: UUID) -> views.VehicleView:
        return views.vehicle_view(self._load(Vehicle, vehicle_id), self.clock.today())

    def find_vehicle_id(self, vin: str) -> UUID:
        """The id a VIN maps to (whether or not it is registered yet)."""
        return Vehicle.create_id(self.vin_decoder.decode(vin).vin)

    # ------------------------------------------------------------------------------------------
    # Repair orders
    # ------------------------------------------------------------------------------------------

    def open_repair_order(
        self,
        *,
        vehicle_id: UUID,
        customer_id: UUID,
        concerns: Sequence[str],
        odometer_in_km: int,
        soc_in_pct: Decimal | None,
        promised_at: datetime | None,
        actor: Actor,
        repair_order_id: UUID | None = None,
    ) -> Receipt:
        if repair_order_id is not None and self.exists(repair_order_id):
            raise DuplicateError("repair order", str(repair_order_id), repair_order_id)
        vehicle = self._load(Vehicle, vehicle_id)
        self._load(Customer, customer_id)
        if vehicle.owner_id != customer_id:
            fail("customer_id", "is not the registered owner of this vehicle")
        try:
            vehicle.record_odometer(km=odometer_in_km, actor=actor)
        except DomainValidationError as exc:
            # Name the caller's field, not the vehicle's: the order was given odometer_in_km.
            raise DomainValidationError("odometer_in_km", exc.message) from None
        order = RepairOrder.open(
            vehicle_id=vehicle_id,
            customer_id=customer_id,
            concerns=list(concerns),
            odometer_in_km=odometer_in_km,
            soc_in_pct=soc_in_pct,
            promised_at=promised_at,
            currency=self.currency,
            actor=actor,
            id=repair_order_id,
        )
        return self._commit(order, vehicle)

    def add_job(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        title: str,
        labour: Sequence[LabourLine],
        parts: Sequence[PartLine],
        hv_work: bool,
        required_hv_level: int | None,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.add_job(
                job_id=job_id,
                title=title,
                labour=list(labour),
                parts=list(parts),
                hv_work=hv_work,
                required_hv_level=required_hv_level,
                actor=actor,
            ),
        )

    def revise_job(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        title: str,
        labour: Sequence[LabourLine],
        parts: Sequence[PartLine],
        hv_work: bool,
        required_hv_level: int | None,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.revise_job(
                job_id=job_id,
                title=title,
                labour=list(labour),
                parts=list(parts),
                hv_work=hv_work,
                required_hv_level=required_hv_level,
                actor=actor,
            ),
        )

    def remove_job(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.remove_job(job_id=job_id, actor=actor),
        )

    def send_quote(
        self, repair_order_id: UUID, *, actor: Actor, expected_version: int | None = None
    ) -> Receipt:
        return self._run(
            RepairOrder, repair_order_id, expected_version, lambda o: o.send_quote(actor=actor)
        )

    def approve_job(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        channel: ApprovalChannel,
        client_ip: str | None,
        actor: Actor,
        expected_version: int | None = None,
        quote_version: int | None = None,
    ) -> Receipt:
        """``quote_version``: the quote the customer decided on (an emailed link's); refused
        when a newer one was sent since."""
        now = self.clock.now()
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.approve_job(
                job_id=job_id,
                channel=channel,
                client_ip=client_ip,
                at=now,
                actor=actor,
                quote_version=quote_version,
            ),
        )

    def decline_job(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        channel: ApprovalChannel,
        client_ip: str | None,
        reason: str | None,
        actor: Actor,
        expected_version: int | None = None,
        quote_version: int | None = None,
    ) -> Receipt:
        now = self.clock.now()
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.decline_job(
                job_id=job_id,
                channel=channel,
                client_ip=client_ip,
                at=now,
                reason=reason,
                actor=actor,
                quote_version=quote_version,
            ),
        )

    def assign_technician(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        staff_id: UUID,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        technician = self._technician(staff_id)
        level = technician.effective_hv_level(self.clock.today())
        with _explaining_hv_level(technician, self.clock.today()):
            return self._run(
                RepairOrder,
                repair_order_id,
                expected_version,
                lambda o: o.assign_technician(
                    job_id=job_id, staff_id=staff_id, hv_level=level, actor=actor
                ),
            )

    def isolate_hv(
        self,
        repair_order_id: UUID,
        *,
        technician_id: UUID,
        residual_voltage_v: Decimal,
        lock_tag_id: str,
        ppe_checked: bool,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        technician = self._technician(technician_id)
        now = self.clock.now()
        level = technician.effective_hv_level(now.date())
        with _explaining_hv_level(technician, now.date()):
            return self._run(
                RepairOrder,
                repair_order_id,
                expected_version,
                lambda o: o.isolate_hv(
                    technician_id=technician_id,
                    technician_hv_level=level,
                    residual_voltage_v=residual_voltage_v,
                    lock_tag_id=lock_tag_id,
                    ppe_checked=ppe_checked,
                    at=now,
                    actor=actor,
                ),
            )

    def restore_hv(
        self,
        repair_order_id: UUID,
        *,
        technician_id: UUID,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        technician = self._technician(technician_id)
        now = self.clock.now()
        level = technician.effective_hv_level(now.date())
        with _explaining_hv_level(technician, now.date()):
            return self._run(
                RepairOrder,
                repair_order_id,
                expected_version,
                lambda o: o.restore_hv(
                    technician_id=technician_id, technician_hv_level=level, at=now, actor=actor
                ),
            )

    def clock_on(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        technician_id: UUID,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        """Starts labour; the staff member and the order are saved together, so a technician
        racing onto two jobs in different orders gets a conflict on the second."""
        order = self._load(RepairOrder, repair_order_id, expected_version)
        technician = self._technician(technician_id)
        now = self.clock.now()
        level = technician.effective_hv_level(now.date())
        with _explaining_hv_level(technician, now.date()):
            order.clock_on(
                job_id=job_id,
                technician_id=technician_id,
                technician_hv_level=level,
                at=now,
                actor=actor,
            )
        technician.start_labour(repair_order_id=order.id, job_id=job_id, at=now, actor=actor)
        return self._commit(order, technician)

    def clock_off(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        technician_id: UUID,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        order = self._load(RepairOrder, repair_order_id, expected_version)
        technician = self._load(StaffMember, technician_id)
        now = self.clock.now()
        order.clock_off(job_id=job_id, technician_id=technician_id, at=now, actor=actor)
        technician.stop_labour(repair_order_id=order.id, job_id=job_id, at=now, actor=actor)
        return self._commit(order, technician)

    def request_parts(
        self,
        repair_order_id: UUID,
        *,
        request_id: str,
        job_id: str,
        lines: Sequence[PartRequestLine],
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.request_parts(
                request_id=request_id, job_id=job_id, lines=list(lines), actor=actor
            ),
        )

    def receive_parts(
        self,
        repair_order_id: UUID,
        *,
        request_id: str,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.receive_parts(request_id=request_id, actor=actor),
        )

    def complete_job(
        self,
        repair_order_id: UUID,
        *,
        job_id: str,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.complete_job(job_id=job_id, actor=actor),
        )

    def pass_quality_check(
        self,
        repair_order_id: UUID,
        *,
        notes: str | None,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.pass_quality_check(notes=notes, actor=actor),
        )

    def fail_quality_check(
        self,
        repair_order_id: UUID,
        *,
        reason: str,
        job_ids: Sequence[str],
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.fail_quality_check(reason=reason, job_ids=list(job_ids), actor=actor),
        )

    def invoice_repair_order(
        self, repair_order_id: UUID, *, actor: Actor, expected_version: int | None = None
    ) -> Receipt:
        now = self.clock.now()
        # Derived from the order id: stable under retries. A legally sequential numbering
        # needs a counter aggregate (noted in the issue).
        number = f"INV-{now:%Y%m}-{repair_order_id.hex[:8].upper()}"
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.invoice(invoice_number=number, tax_rate=self.tax_rate, at=now, actor=actor),
        )

    def record_payment(
        self,
        repair_order_id: UUID,
        *,
        amount: Decimal,
        method: PaymentMethod,
        reference: str | None,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        now = self.clock.now()
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.record_payment(
                amount=amount, method=method, reference=reference, at=now, actor=actor
            ),
        )

    def release_vehicle(
        self,
        repair_order_id: UUID,
        *,
        odometer_out_km: int,
        soc_out_pct: Decimal | None,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        order = self._load(RepairOrder, repair_order_id, expected_version)
        vehicle = self._load(Vehicle, order.vehicle_id)
        now = self.clock.now()
        order.release(odometer_out_km=odometer_out_km, soc_out_pct=soc_out_pct, at=now, actor=actor)
        vehicle.record_odometer(km=odometer_out_km, actor=actor)
        return self._commit(order, vehicle)

    def cancel_repair_order(
        self,
        repair_order_id: UUID,
        *,
        reason: str,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            RepairOrder,
            repair_order_id,
            expected_version,
            lambda o: o.cancel(reason=reason, actor=actor),
        )

    def get_repair_order(self, repair_order_id: UUID) -> views.RepairOrderView:
        return views.repair_order_view(self._load(RepairOrder, repair_order_id))

    def _technician(self, staff_id: UUID) -> StaffMember:
        member = self._load(StaffMember, staff_id)
        if member.role is not Role.TECHNICIAN:
            fail("technician_id", "is not a technician")
        return member

    # ------------------------------------------------------------------------------------------
    # Inspections
    # ------------------------------------------------------------------------------------------

    def start_inspection(
        self,
        *,
        vehicle_id: UUID,
        repair_order_id: UUID | None,
        technician_id: UUID,
        actor: Actor,
        template_code: str = "ev_inspection",
        template_version: int = 1,
        inspection_id: UUID | None = None,
    ) -> Receipt:
        if inspection_id is not None and self.exists(inspection_id):
            raise DuplicateError("inspection", str(inspection_id), inspection_id)
        vehicle = self._load(Vehicle, vehicle_id)
        self._technician(technician_id)
        template = load_template(template_code, template_version)
        inspection = Inspection.start(
            vehicle_id=vehicle_id,
            repair_order_id=repair_order_id,
            technician_id=technician_id,
            template=template,
            nominal_voltage_v=vehicle.nominal_voltage_v,
            actor=actor,
            id=inspection_id,
        )
        if repair_order_id is None:
            return self._commit(inspection)
        order = self._load(RepairOrder, repair_order_id)
        if order.vehicle_id != vehicle_id:
            fail("repair_order_id", "belongs to another vehicle")
        order.link_inspection(inspection_id=inspection.id, actor=actor)
        return self._commit(inspection, order)

    def rate_inspection_item(
        self,
        inspection_id: UUID,
        *,
        item_code: str,
        rating: Rating,
        note: str | None,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            Inspection,
            inspection_id,
            expected_version,
            lambda i: i.rate_item(item_code=item_code, rating=rating, note=note, actor=actor),
        )

    def record_measurement(
        self,
        inspection_id: UUID,
        *,
        kind: MeasurementKind,
        value: Decimal,
        unit: str,
        actor: Actor,
        item_code: str | None = None,
        test_voltage_v: Decimal | None = None,
        circuit: IsolationCircuit | None = None,
        battery_method: BatteryHealthMethod = BatteryHealthMethod.BMS_READ,
        expected_version: int | None = None,
    ) -> Receipt:
        """Records a measurement; a state-of-health reading is also recorded on the vehicle,
        in the same transaction, so the vehicle's SoH trend never misses an inspection."""
        inspection = self._load(Inspection, inspection_id, expected_version)
        inspection.record_measurement(
            kind=kind,
            value=value,
            unit=unit,
            item_code=item_code,
            test_voltage_v=test_voltage_v,
            circuit=circuit,
            actor=actor,
        )
        if kind is not MeasurementKind.SOH_PCT:
            return self._commit(inspection)
        vehicle = self._load(Vehicle, inspection.vehicle_id)
        # The SoC is a stored reading (perhaps from before the canonical rule, ADR 0013): the
        # vehicle's new event carries it canonically rather than refusing the client's SoH.
        soc = inspection.latest_value(MeasurementKind.SOC_PCT)
        vehicle.record_battery_health(
            soh_pct=value,
            soc_pct=None if soc is None else canonical_copy(soc),
            method=battery_method,
            inspection_id=inspection.id,
            measured_at=self.clock.now(),
            actor=actor,
        )
        return self._commit(inspection, vehicle)

    def attach_media(
        self,
        inspection_id: UUID,
        *,
        media_id: UUID,
        item_code: str | None,
        content_type: str,
        size_bytes: int,
        sha256: str,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Receipt:
        return self._run(
            Inspection,
            inspection_id,
            expected_version,
            lambda i: i.attach_media(
                media_id=media_id,
                item_code=item_code,
                content_type=content_type,
                size_bytes=size_bytes,
                sha256=sha256,
                actor=actor,
            ),
        )

    def complete_inspection(
        self, inspection_id: UUID, *, actor: Actor, expected_version: int | None = None
    ) -> Receipt:
        return self._run(
            Inspection, inspection_id, expected_version, lambda i: i.complete(actor=actor)
        )

    def share_inspection(
        self, inspection_id: UUID, *, actor: Actor, expected_version: int | None = None
    ) -> Receipt:
        return self._run(
            Inspection,
            inspection_id,
            expected_version,
            lambda i: i.share_with_customer(actor=actor),
        )

    def get_inspection(self, inspection_id: UUID) -> views.InspectionView:
        return views.inspection_view(self._load(Inspection, inspection_id))

    # ------------------------------------------------------------------------------------------
    # History (auditors and the CLI)
    # ------------------------------------------------------------------------------------------

    def decode_rows(self, rows: Iterable[LogRow]) -> list[DomainEventProtocol[UUID]]:
        """Decodes rows read in bulk by an ``EventLogReader``, in log order."""
        mapper = self.mapper
        if isinstance(mapper, TypedEventMapper):
            decode = mapper.decode
            return [decode(oid, version, topic, state) for _, oid, version, topic, state in rows]
        return [mapper.to_domain_event(StoredEvent(o, v, t, s)) for _, o, v, t, s in rows]

    def get_history(self, aggregate_id: UUID) -> list[views.HistoryEntry]:
        stored = self.recorder.select_events(aggregate_id)
        if not stored:
            raise NotFoundError("aggregate", aggregate_id)
        return [views.history_entry(self.mapper.to_domain_event(s)) for s in stored]
