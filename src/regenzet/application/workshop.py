"""The workshop application: one eventsourcing ``Application`` holding every aggregate.

One application means one totally ordered notification log, which is the outbox every follower
reads (ADR 0003). Each public method is one use case: it loads what it needs, checks the
caller's expected version, lets the aggregates decide, and saves every changed aggregate in one
atomic write. Queries return read DTOs (``regenzet.application.views``), never aggregates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
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

from regenzet.application import commands, media_use_cases, views
from regenzet.application.access import (
    Caller,
    InProcess,
    LinkHolder,
    approval_channel,
    confined_to,
    reaches,
)
from regenzet.application.aggregates import kind_name
from regenzet.application.errors import (
    ConcurrencyConflictError,
    DuplicateError,
    NotFoundError,
    OutOfReachError,
    VersionMismatchError,
)
from regenzet.application.idempotency import pending_key
from regenzet.application.media_use_cases import MediaDesk
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
from regenzet.domain.customer import Customer
from regenzet.domain.inspection import Inspection, MeasurementKind
from regenzet.domain.inspection_template import load_template
from regenzet.domain.number_plate import NumberPlate
from regenzet.domain.repair_order import (
    RepairOrder,
)
from regenzet.domain.staff import StaffMember
from regenzet.domain.vehicle import Vehicle

logger = logging.getLogger(__name__)

A = TypeVar("A", bound=Aggregate)


class Receipt:
    """What a command produced: the aggregate's new version and the log position it reached.

    ``position`` lets a client ask a read model to catch up to its own write.
    """

    __slots__ = ("id", "position", "result", "version")

    def __init__(
        self, aggregate_id: UUID, version: int, position: int | None, result: Any = None
    ) -> None:
        self.id = aggregate_id
        self.version = version
        self.position = position
        # What the use case returns beyond the receipt (an upload's media id and ticket).
        self.result = result

    def __repr__(self) -> str:
        return f"Receipt(id={self.id}, version={self.version}, position={self.position})"


def keyword_use_case(command_type: type[commands.Command]) -> Callable[..., Receipt]:
    """A use case called with keywords (and the record's id first) by a trusted caller in
    the process: ``workshop.add_job(order_id, job_id=..., ..., actor=...)`` builds
    :class:`commands.AddJob` and runs it as :class:`InProcess`. Requests never come this way."""
    target = command_type.target

    def use_case(
        workshop: Workshop, record_id: UUID | None = None, /, *, actor: Actor, **fields: Any
    ) -> Receipt:
        if record_id is not None:
            if target is None:
                raise TypeError(f"{command_type.__name__} creates a record: give no id first")
            fields[target] = record_id
        return workshop.execute(command_type(**fields), InProcess(actor))

    use_case.__name__ = use_case.__qualname__ = _snake(command_type.__name__)
    use_case.__doc__ = f"Runs :class:`commands.{command_type.__name__}` (see ``execute``)."
    return use_case


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


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
        media: MediaDesk | None = None,
    ) -> None:
        self.clock = clock
        self.vin_decoder = vin_decoder
        # Media storage and its limits (issue 13); None where no media use case runs.
        self.media = media
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
        self._check_version(aggregate, expected_version)
        return aggregate

    @staticmethod
    def _check_version(aggregate: Aggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            kind = kind_name(type(aggregate))
            raise VersionMismatchError(kind, aggregate.id, expected_version, aggregate.version)

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any aggregate has that id (a cheap one-row read, no reconstruction)."""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _commit(self, primary: Aggregate, *others: Aggregate, result: Any = None) -> Receipt:
        pending = pending_key()
        if pending is not None:
            # The recorder writes the request's key with these events; its response names
            # this aggregate (ADR 0024) and carries the use case's result, if any.
            pending.bind(primary.id, primary.version, result)
        try:
            recordings: list[Recording[UUID]] = self.save(primary, *others)
        except IntegrityError:
            raise ConcurrencyConflictError from None
        position = max(
            (r.notification.id for r in recordings if r.notification.id is not None),
            default=None,
        )
        return Receipt(primary.id, primary.version, position, result)

    # ------------------------------------------------------------------------------------------
    # Commands (ADR 0036): one frozen command per write, run by ``execute`` with its caller.
    # Each use case loads what it changes once, checks the caller may reach it (ADR 0037),
    # checks the expected version, lets the aggregates decide and commits.
    # ------------------------------------------------------------------------------------------

    def execute(self, command: commands.Command, by: Caller) -> Receipt:
        """Runs a write for a caller: a request's principal, a quote link's holder, or a
        trusted in-process caller (:class:`InProcess`). There is no way to run one without."""
        handler = _USE_CASES.get(type(command))
        if handler is None:
            raise TypeError(f"no use case runs {type(command).__name__}")
        if isinstance(by, LinkHolder) and not isinstance(command, commands.JobDecision):
            # A quote link decides jobs on its order; anything else is out of its reach.
            raise OutOfReachError("repair order", by.repair_order_id)
        return handler(self, command, by)

    def _reach(self, by: Caller, cls: type[A], aggregate_id: UUID) -> A:
        """Loads an aggregate on the caller's behalf: one not theirs is reported as missing."""
        try:
            aggregate = self._load(cls, aggregate_id)
        except NotFoundError:
            if confined_to(by) is None:
                raise
            raise OutOfReachError(kind_name(cls), aggregate_id) from None
        if not reaches(by, aggregate, self._owner_of):
            raise OutOfReachError(kind_name(cls), aggregate_id)
        return aggregate

    def _target(self, by: Caller, cls: type[A], command: commands.Command) -> A:
        """The aggregate a command changes: reached by the caller, at the expected version."""
        aggregate_id = command.target_id()
        if aggregate_id is None:
            raise TypeError(f"{type(command).__name__} names no record to change")
        aggregate = self._reach(by, cls, aggregate_id)
        self._check_version(aggregate, getattr(command, "expected_version", None))
        return aggregate

    def _read(self, by: Caller | None, cls: type[A], aggregate_id: UUID) -> A:
        """A query's aggregate: for a caller (a request), checked like a write's, after the
        one load; without one (the process itself), as stored."""
        return self._load(cls, aggregate_id) if by is None else self._reach(by, cls, aggregate_id)

    def _owner_of(self, vehicle_id: UUID) -> UUID | None:
        try:
            return self._load(Vehicle, vehicle_id).owner_id
        except NotFoundError:
            return None

    def _refuse_taken_id(self, kind: str, chosen_id: UUID | None) -> None:
        """A create given its id (demo data, tests) is refused when that id is taken."""
        if chosen_id is not None and self.exists(chosen_id):
            raise DuplicateError(kind, str(chosen_id), chosen_id)

    def _apply(self, command: commands.Command, by: Caller) -> Receipt:
        """A command whose fields are exactly its aggregate method's arguments."""
        cls, method = _APPLIED[type(command)]
        aggregate = self._target(by, cls, command)
        method(aggregate, **command.arguments(), actor=by.actor())
        return self._commit(aggregate)

    # ------------------------------------------------------------------------------------------
    # Customers
    # ------------------------------------------------------------------------------------------

    def _register_customer(self, command: commands.RegisterCustomer, by: Caller) -> Receipt:
        self._refuse_taken_id("customer", command.customer_id)
        customer = Customer.register(
            name=command.name,
            email=command.email,
            phone=command.phone,
            preferences=command.preferences,
            actor=by.actor(),
            id=command.customer_id,
        )
        return self._commit(customer)

    def get_customer(self, customer_id: UUID, *, by: Caller | None = None) -> views.CustomerView:
        return views.customer_view(self._read(by, Customer, customer_id))

    # ------------------------------------------------------------------------------------------
    # Staff
    # ------------------------------------------------------------------------------------------

    def _hire_staff_member(self, command: commands.HireStaffMember, by: Caller) -> Receipt:
        self._refuse_taken_id("staff member", command.staff_id)
        member = StaffMember.hire(
            name=command.name,
            email=command.email,
            role=command.role,
            actor=by.actor(),
            id=command.staff_id,
        )
        return self._commit(member)

    def get_staff_member(self, staff_id: UUID) -> views.StaffView:
        return views.staff_view(self._load(StaffMember, staff_id), self.clock.today())

    # ------------------------------------------------------------------------------------------
    # Vehicles
    # ------------------------------------------------------------------------------------------

    def _register_vehicle(self, command: commands.RegisterVehicle, by: Caller) -> Receipt:
        # The owner first: a caller who may not reach them learns nothing of taken VINs/plates.
        self._reach(by, Customer, command.owner_id)
        facts = self.vin_decoder.decode(command.vin)
        vehicle_id = Vehicle.create_id(facts.vin)
        if self.exists(vehicle_id):
            raise DuplicateError("vehicle", facts.vin, vehicle_id)
        self._refuse_claimed_plate(command.plate)
        actor = by.actor()
        vehicle = Vehicle.register(
            facts=facts,
            plate=command.plate,
            make=command.make,
            model=command.model,
            year=command.year,
            battery_kwh=command.battery_kwh,
            nominal_voltage_v=command.nominal_voltage_v,
            owner_id=command.owner_id,
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
            self._refuse_claimed_plate(command.plate)
            raise

    def _refuse_claimed_plate(self, plate: str) -> None:
        """Refuses a plate another vehicle already carries, naming that vehicle."""
        plate_id = NumberPlate.create_id(plate)
        if not self.exists(plate_id):
            return
        claim = self._load(NumberPlate, plate_id)
        raise DuplicateError("number plate", claim.plate, claim.vehicle_id)

    def _transfer_vehicle_ownership(
        self, command: commands.TransferVehicleOwnership, by: Caller
    ) -> Receipt:
        self._reach(by, Customer, command.new_owner_id)
        vehicle = self._target(by, Vehicle, command)
        vehicle.transfer_ownership(new_owner_id=command.new_owner_id, actor=by.actor())
        return self._commit(vehicle)

    def _record_battery_health(self, command: commands.RecordBatteryHealth, by: Caller) -> Receipt:
        now = self.clock.now()
        vehicle = self._target(by, Vehicle, command)
        vehicle.record_battery_health(
            soh_pct=command.soh_pct,
            soc_pct=command.soc_pct,
            method=command.method,
            inspection_id=None,
            measured_at=now,
            actor=by.actor(),
        )
        return self._commit(vehicle)

    def get_vehicle(self, vehicle_id: UUID, *, by: Caller | None = None) -> views.VehicleView:
        return views.vehicle_view(self._read(by, Vehicle, vehicle_id), self.clock.today())

    def find_vehicle_id(self, vin: str) -> UUID:
        """The id a VIN maps to (whether or not it is registered yet)."""
        return Vehicle.create_id(self.vin_decoder.decode(vin).vin)

    # ------------------------------------------------------------------------------------------
    # Repair orders
    # ------------------------------------------------------------------------------------------

    def _open_repair_order(self, command: commands.OpenRepairOrder, by: Caller) -> Receipt:
        self._refuse_taken_id("repair order", command.repair_order_id)
        vehicle = self._reach(by, Vehicle, command.vehicle_id)
        self._reach(by, Customer, command.customer_id)
        if vehicle.owner_id != command.customer_id:
            fail("customer_id", "is not the registered owner of this vehicle")
        actor = by.actor()
        try:
            vehicle.record_odometer(km=command.odometer_in_km, actor=actor)
        except DomainValidationError as exc:
            # Name the caller's field, not the vehicle's: the order was given odometer_in_km.
            raise DomainValidationError("odometer_in_km", exc.message) from None
        order = RepairOrder.open(
            vehicle_id=command.vehicle_id,
            customer_id=command.customer_id,
            concerns=list(command.concerns),
            odometer_in_km=command.odometer_in_km,
            soc_in_pct=command.soc_in_pct,
            promised_at=command.promised_at,
            currency=self.currency,
            actor=actor,
            id=command.repair_order_id,
        )
        return self._commit(order, vehicle)

    def _decide_job(
        self, command: commands.ApproveJob | commands.DeclineJob, by: Caller
    ) -> Receipt:
        """Approves or declines a quoted job. Who may record which channel is the
        application's rule (``access.approval_channel``), checked once the order is known to
        be the caller's and before its version."""
        now = self.clock.now()
        order = self._reach(by, RepairOrder, command.repair_order_id)
        channel = approval_channel(by, command.channel)
        self._check_version(order, command.expected_version)
        if isinstance(command, commands.ApproveJob):
            order.approve_job(
                job_id=command.job_id,
                channel=channel,
                client_ip=command.client_ip,
                at=now,
                actor=by.actor(),
                quote_version=command.quote_version,
            )
        else:
            order.decline_job(
                job_id=command.job_id,
                channel=channel,
                client_ip=command.client_ip,
                at=now,
                reason=command.reason,
                actor=by.actor(),
                quote_version=command.quote_version,
            )
        return self._commit(order)

    def _assign_technician(self, command: commands.AssignTechnician, by: Caller) -> Receipt:
        technician = self._technician(command.staff_id)
        today = self.clock.today()
        level = technician.effective_hv_level(today)
        with _explaining_hv_level(technician, today):
            order = self._target(by, RepairOrder, command)
            order.assign_technician(
                job_id=command.job_id, staff_id=command.staff_id, hv_level=level, actor=by.actor()
            )
            return self._commit(order)

    def _isolate_hv(self, command: commands.IsolateHv, by: Caller) -> Receipt:
        technician = self._technician(command.technician_id)
        now = self.clock.now()
        level = technician.effective_hv_level(now.date())
        with _explaining_hv_level(technician, now.date()):
            order = self._target(by, RepairOrder, command)
            order.isolate_hv(
                technician_id=command.technician_id,
                technician_hv_level=level,
                residual_voltage_v=command.residual_voltage_v,
                lock_tag_id=command.lock_tag_id,
                ppe_checked=command.ppe_checked,
                at=now,
                actor=by.actor(),
            )
            return self._commit(order)

    def _restore_hv(self, command: commands.RestoreHv, by: Caller) -> Receipt:
        technician = self._technician(command.technician_id)
        now = self.clock.now()
        level = technician.effective_hv_level(now.date())
        with _explaining_hv_level(technician, now.date()):
            order = self._target(by, RepairOrder, command)
            order.restore_hv(
                technician_id=command.technician_id,
                technician_hv_level=level,
                at=now,
                actor=by.actor(),
            )
            return self._commit(order)

    def _clock_on(self, command: commands.ClockOn, by: Caller) -> Receipt:
        """Starts labour; the staff member and the order are saved together, so a technician
        racing onto two jobs in different orders gets a conflict on the second."""
        order = self._target(by, RepairOrder, command)
        technician = self._technician(command.technician_id)
        now = self.clock.now()
        level = technician.effective_hv_level(now.date())
        actor = by.actor()
        with _explaining_hv_level(technician, now.date()):
            order.clock_on(
                job_id=command.job_id,
                technician_id=command.technician_id,
                technician_hv_level=level,
                at=now,
                actor=actor,
            )
        technician.start_labour(
            repair_order_id=order.id, job_id=command.job_id, at=now, actor=actor
        )
        return self._commit(order, technician)

    def _clock_off(self, command: commands.ClockOff, by: Caller) -> Receipt:
        order = self._target(by, RepairOrder, command)
        technician = self._load(StaffMember, command.technician_id)
        now = self.clock.now()
        actor = by.actor()
        order.clock_off(
            job_id=command.job_id, technician_id=command.technician_id, at=now, actor=actor
        )
        technician.stop_labour(repair_order_id=order.id, job_id=command.job_id, at=now, actor=actor)
        return self._commit(order, technician)

    def _invoice_repair_order(self, command: commands.InvoiceRepairOrder, by: Caller) -> Receipt:
        now = self.clock.now()
        # Derived from the order id: stable under retries. A legally sequential numbering
        # needs a counter aggregate (noted in the issue).
        number = f"INV-{now:%Y%m}-{command.repair_order_id.hex[:8].upper()}"
        order = self._target(by, RepairOrder, command)
        order.invoice(invoice_number=number, tax_rate=self.tax_rate, at=now, actor=by.actor())
        return self._commit(order)

    def _record_payment(self, command: commands.RecordPayment, by: Caller) -> Receipt:
        now = self.clock.now()
        order = self._target(by, RepairOrder, command)
        order.record_payment(
            amount=command.amount,
            method=command.method,
            reference=command.reference,
            at=now,
            actor=by.actor(),
        )
        return self._commit(order)

    def _release_vehicle(self, command: commands.ReleaseVehicle, by: Caller) -> Receipt:
        order = self._target(by, RepairOrder, command)
        vehicle = self._load(Vehicle, order.vehicle_id)
        now = self.clock.now()
        actor = by.actor()
        order.release(
            odometer_out_km=command.odometer_out_km,
            soc_out_pct=command.soc_out_pct,
            at=now,
            actor=actor,
        )
        vehicle.record_odometer(km=command.odometer_out_km, actor=actor)
        return self._commit(order, vehicle)

    def get_repair_order(
        self, repair_order_id: UUID, *, by: Caller | None = None
    ) -> views.RepairOrderView:
        return views.repair_order_view(self._read(by, RepairOrder, repair_order_id))

    def _technician(self, staff_id: UUID) -> StaffMember:
        member = self._load(StaffMember, staff_id)
        if member.role is not Role.TECHNICIAN:
            fail("technician_id", "is not a technician")
        return member

    # ------------------------------------------------------------------------------------------
    # Inspections
    # ------------------------------------------------------------------------------------------

    def _start_inspection(self, command: commands.StartInspection, by: Caller) -> Receipt:
        self._refuse_taken_id("inspection", command.inspection_id)
        vehicle = self._reach(by, Vehicle, command.vehicle_id)
        self._technician(command.technician_id)
        template = load_template(command.template_code, command.template_version)
        actor = by.actor()
        inspection = Inspection.start(
            vehicle_id=command.vehicle_id,
            repair_order_id=command.repair_order_id,
            technician_id=command.technician_id,
            template=template,
            nominal_voltage_v=vehicle.nominal_voltage_v,
            actor=actor,
            id=command.inspection_id,
        )
        if command.repair_order_id is None:
            return self._commit(inspection)
        order = self._reach(by, RepairOrder, command.repair_order_id)
        if order.vehicle_id != command.vehicle_id:
            fail("repair_order_id", "belongs to another vehicle")
        order.link_inspection(inspection_id=inspection.id, actor=actor)
        return self._commit(inspection, order)

    def _record_measurement(self, command: commands.RecordMeasurement, by: Caller) -> Receipt:
        """Records a measurement; a state-of-health reading is also recorded on the vehicle,
        in the same transaction, so the vehicle's SoH trend never misses an inspection."""
        inspection = self._target(by, Inspection, command)
        actor = by.actor()
        inspection.record_measurement(
            kind=command.kind,
            value=command.value,
            unit=command.unit,
            item_code=command.item_code,
            test_voltage_v=command.test_voltage_v,
            circuit=command.circuit,
            actor=actor,
        )
        if command.kind is not MeasurementKind.SOH_PCT:
            return self._commit(inspection)
        vehicle = self._load(Vehicle, inspection.vehicle_id)
        # The SoC is a stored reading (perhaps from before the canonical rule, ADR 0013): the
        # vehicle's new event carries it canonically rather than refusing the client's SoH.
        soc = inspection.latest_value(MeasurementKind.SOC_PCT)
        vehicle.record_battery_health(
            soh_pct=command.value,
            soc_pct=None if soc is None else canonical_copy(soc),
            method=command.battery_method,
            inspection_id=inspection.id,
            measured_at=self.clock.now(),
            actor=actor,
        )
        return self._commit(inspection, vehicle)

    def get_inspection(
        self, inspection_id: UUID, *, by: Caller | None = None
    ) -> views.InspectionView:
        return views.inspection_view(self._read(by, Inspection, inspection_id))

    # ------------------------------------------------------------------------------------------
    # Media (issue 13): the use cases are in ``media_use_cases`` (they alone need storage)
    # ------------------------------------------------------------------------------------------

    def list_inspection_media(self, inspection_id: UUID, *, by: Caller) -> list[views.MediaView]:
        return media_use_cases.list_media(self, Inspection, inspection_id, by)

    def get_inspection_media(
        self, inspection_id: UUID, media_id: UUID, *, by: Caller
    ) -> views.MediaView:
        return media_use_cases.get_media(self, Inspection, inspection_id, media_id, by)

    def list_repair_order_media(
        self, repair_order_id: UUID, *, by: Caller
    ) -> list[views.MediaView]:
        return media_use_cases.list_media(self, RepairOrder, repair_order_id, by)

    def get_repair_order_media(
        self, repair_order_id: UUID, media_id: UUID, *, by: Caller
    ) -> views.MediaView:
        return media_use_cases.get_media(self, RepairOrder, repair_order_id, media_id, by)

    # ------------------------------------------------------------------------------------------
    # The keyword use cases (CLI, demo data, benchmarks, tests): each builds its command from
    # its keywords (the record's id may come first) and runs it for a trusted in-process actor.
    # ------------------------------------------------------------------------------------------

    register_customer = keyword_use_case(commands.RegisterCustomer)
    change_customer_contact = keyword_use_case(commands.ChangeCustomerContact)
    change_customer_preferences = keyword_use_case(commands.ChangeCustomerPreferences)
    hire_staff_member = keyword_use_case(commands.HireStaffMember)
    record_hv_qualification = keyword_use_case(commands.RecordHvQualification)
    deactivate_staff_member = keyword_use_case(commands.DeactivateStaffMember)
    register_vehicle = keyword_use_case(commands.RegisterVehicle)
    transfer_vehicle_ownership = keyword_use_case(commands.TransferVehicleOwnership)
    record_odometer = keyword_use_case(commands.RecordOdometer)
    correct_odometer = keyword_use_case(commands.CorrectOdometer)
    record_battery_health = keyword_use_case(commands.RecordBatteryHealth)
    record_software_version = keyword_use_case(commands.RecordSoftwareVersion)
    register_battery_warranty = keyword_use_case(commands.RegisterBatteryWarranty)
    open_repair_order = keyword_use_case(commands.OpenRepairOrder)
    add_job = keyword_use_case(commands.AddJob)
    revise_job = keyword_use_case(commands.ReviseJob)
    remove_job = keyword_use_case(commands.RemoveJob)
    send_quote = keyword_use_case(commands.SendQuote)
    approve_job = keyword_use_case(commands.ApproveJob)
    decline_job = keyword_use_case(commands.DeclineJob)
    assign_technician = keyword_use_case(commands.AssignTechnician)
    isolate_hv = keyword_use_case(commands.IsolateHv)
    restore_hv = keyword_use_case(commands.RestoreHv)
    clock_on = keyword_use_case(commands.ClockOn)
    clock_off = keyword_use_case(commands.ClockOff)
    request_parts = keyword_use_case(commands.RequestParts)
    receive_parts = keyword_use_case(commands.ReceiveParts)
    complete_job = keyword_use_case(commands.CompleteJob)
    pass_quality_check = keyword_use_case(commands.PassQualityCheck)
    fail_quality_check = keyword_use_case(commands.FailQualityCheck)
    invoice_repair_order = keyword_use_case(commands.InvoiceRepairOrder)
    record_payment = keyword_use_case(commands.RecordPayment)
    release_vehicle = keyword_use_case(commands.ReleaseVehicle)
    cancel_repair_order = keyword_use_case(commands.CancelRepairOrder)
    start_inspection = keyword_use_case(commands.StartInspection)
    rate_inspection_item = keyword_use_case(commands.RateInspectionItem)
    record_measurement = keyword_use_case(commands.RecordMeasurement)
    request_inspection_media_upload = keyword_use_case(commands.RequestInspectionMediaUpload)
    confirm_inspection_media = keyword_use_case(commands.ConfirmInspectionMedia)
    annotate_inspection_media = keyword_use_case(commands.AnnotateInspectionMedia)
    request_repair_order_media_upload = keyword_use_case(commands.RequestRepairOrderMediaUpload)
    confirm_repair_order_media = keyword_use_case(commands.ConfirmRepairOrderMedia)
    complete_inspection = keyword_use_case(commands.CompleteInspection)
    share_inspection = keyword_use_case(commands.ShareInspection)

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


# The typed dispatch of ``Workshop.execute``: each command class to its use case. A command
# whose fields are its aggregate method's arguments runs through ``_apply`` and names that
# method in ``_APPLIED`` (a test checks the fields match the method's parameters).
_APPLIED: dict[type[commands.Command], tuple[type[Aggregate], Callable[..., None]]] = {
    commands.ChangeCustomerContact: (Customer, Customer.change_contact),
    commands.ChangeCustomerPreferences: (Customer, Customer.change_preferences),
    commands.RecordHvQualification: (StaffMember, StaffMember.record_hv_qualification),
    commands.DeactivateStaffMember: (StaffMember, StaffMember.deactivate),
    commands.RecordOdometer: (Vehicle, Vehicle.record_odometer),
    commands.CorrectOdometer: (Vehicle, Vehicle.correct_odometer),
    commands.RecordSoftwareVersion: (Vehicle, Vehicle.record_software_version),
    commands.RegisterBatteryWarranty: (Vehicle, Vehicle.register_battery_warranty),
    commands.AddJob: (RepairOrder, RepairOrder.add_job),
    commands.ReviseJob: (RepairOrder, RepairOrder.revise_job),
    commands.RemoveJob: (RepairOrder, RepairOrder.remove_job),
    commands.SendQuote: (RepairOrder, RepairOrder.send_quote),
    commands.RequestParts: (RepairOrder, RepairOrder.request_parts),
    commands.ReceiveParts: (RepairOrder, RepairOrder.receive_parts),
    commands.CompleteJob: (RepairOrder, RepairOrder.complete_job),
    commands.PassQualityCheck: (RepairOrder, RepairOrder.pass_quality_check),
    commands.FailQualityCheck: (RepairOrder, RepairOrder.fail_quality_check),
    commands.CancelRepairOrder: (RepairOrder, RepairOrder.cancel),
    commands.RateInspectionItem: (Inspection, Inspection.rate_item),
    commands.AnnotateInspectionMedia: (Inspection, Inspection.annotate_media),
    commands.CompleteInspection: (Inspection, Inspection.complete),
    commands.ShareInspection: (Inspection, Inspection.share_with_customer),
}

_USE_CASES: dict[type[commands.Command], Callable[[Workshop, Any, Caller], Receipt]] = {
    **dict.fromkeys(_APPLIED, Workshop._apply),
    commands.RegisterCustomer: Workshop._register_customer,
    commands.HireStaffMember: Workshop._hire_staff_member,
    commands.RegisterVehicle: Workshop._register_vehicle,
    commands.TransferVehicleOwnership: Workshop._transfer_vehicle_ownership,
    commands.RecordBatteryHealth: Workshop._record_battery_health,
    commands.OpenRepairOrder: Workshop._open_repair_order,
    commands.ApproveJob: Workshop._decide_job,
    commands.DeclineJob: Workshop._decide_job,
    commands.AssignTechnician: Workshop._assign_technician,
    commands.IsolateHv: Workshop._isolate_hv,
    commands.RestoreHv: Workshop._restore_hv,
    commands.ClockOn: Workshop._clock_on,
    commands.ClockOff: Workshop._clock_off,
    commands.InvoiceRepairOrder: Workshop._invoice_repair_order,
    commands.RecordPayment: Workshop._record_payment,
    commands.ReleaseVehicle: Workshop._release_vehicle,
    commands.StartInspection: Workshop._start_inspection,
    commands.RecordMeasurement: Workshop._record_measurement,
    commands.RequestInspectionMediaUpload: media_use_cases.request_inspection_media_upload,
    commands.ConfirmInspectionMedia: media_use_cases.confirm_inspection_media,
    commands.RequestRepairOrderMediaUpload: media_use_cases.request_repair_order_media_upload,
    commands.ConfirmRepairOrderMedia: media_use_cases.confirm_repair_order_media,
}
