"""One frozen command per write (ADR 0036): the parameters of a use case, written once.

A command is what a caller asks the workshop to do, as data: the record it is about (its id
field), what the request says, and, for a change to an existing record, the version the
caller based it on (``expected_version``, from ``If-Match``). It carries no actor: who asks
accompanies the command (``Workshop.execute(command, by)``), so the use case can check access
once, on the record it loaded (ADR 0037).

The field names are the request bodies' and the aggregates' own: the HTTP layer fills a
command from the path, the body and the principal by name (``entrypoints/http/writes.py``),
and the workshop hands the fields to the aggregate method of the same name. Adding a field
to a write therefore touches the request struct, the command and the domain.

Sequences are taken as given and handed to the aggregate as lists (the aggregates refuse
anything else), exactly as the keyword use cases did before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

import attrs

from regenzet.domain.common import Role
from regenzet.domain.customer import NotificationPreferences
from regenzet.domain.inspection import IsolationCircuit, MeasurementKind, Rating
from regenzet.domain.media import Shape
from regenzet.domain.repair_order import (
    ApprovalChannel,
    LabourLine,
    PartLine,
    PartRequestLine,
    PaymentMethod,
)
from regenzet.domain.vehicle import BatteryHealthMethod, Ecu


@attrs.frozen(kw_only=True)
class Command:
    """Base of every command. ``target`` names the id field of the record it changes (none
    for a command that creates one)."""

    target: ClassVar[str | None] = None

    def target_id(self) -> UUID | None:
        return None if self.target is None else getattr(self, self.target)

    def arguments(self) -> dict[str, Any]:
        """The fields the aggregate is given: all but the target's id and the expected version,
        sequences as lists."""
        skip = {self.target, "expected_version"}
        return {
            field.name: _plain(getattr(self, field.name))
            for field in attrs.fields(type(self))
            if field.name not in skip
        }


def _plain(value: object) -> object:
    return list(value) if isinstance(value, list | tuple) else value


# -- customers ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RegisterCustomer(Command):
    name: str
    email: str
    phone: str | None = None
    preferences: NotificationPreferences | None = None
    customer_id: UUID | None = None  # a chosen id (demo data); a duplicate is refused


@attrs.frozen(kw_only=True)
class CustomerCommand(Command):
    target: ClassVar[str | None] = "customer_id"
    customer_id: UUID
    expected_version: int | None = None


@attrs.frozen(kw_only=True)
class ChangeCustomerContact(CustomerCommand):
    email: str
    phone: str | None = None


@attrs.frozen(kw_only=True)
class ChangeCustomerPreferences(CustomerCommand):
    preferences: NotificationPreferences


# -- staff -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class HireStaffMember(Command):
    name: str
    email: str
    role: Role
    staff_id: UUID | None = None


@attrs.frozen(kw_only=True)
class StaffCommand(Command):
    target: ClassVar[str | None] = "staff_id"
    staff_id: UUID
    expected_version: int | None = None


@attrs.frozen(kw_only=True)
class RecordHvQualification(StaffCommand):
    level: int
    certificate_id: str
    expires_on: date


@attrs.frozen(kw_only=True)
class DeactivateStaffMember(StaffCommand):
    reason: str


# -- vehicles --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RegisterVehicle(Command):
    vin: str
    plate: str
    make: str | None = None
    model: str
    year: int
    battery_kwh: Decimal
    nominal_voltage_v: Decimal
    owner_id: UUID


@attrs.frozen(kw_only=True)
class VehicleCommand(Command):
    target: ClassVar[str | None] = "vehicle_id"
    vehicle_id: UUID
    expected_version: int | None = None


@attrs.frozen(kw_only=True)
class TransferVehicleOwnership(VehicleCommand):
    new_owner_id: UUID


@attrs.frozen(kw_only=True)
class RecordOdometer(VehicleCommand):
    km: int


@attrs.frozen(kw_only=True)
class CorrectOdometer(VehicleCommand):
    km: int
    reason: str


@attrs.frozen(kw_only=True)
class RecordBatteryHealth(VehicleCommand):
    soh_pct: Decimal
    soc_pct: Decimal | None = None
    method: BatteryHealthMethod = BatteryHealthMethod.BMS_READ


@attrs.frozen(kw_only=True)
class RecordSoftwareVersion(VehicleCommand):
    ecu: Ecu
    version_before: str | None = None
    version_after: str


@attrs.frozen(kw_only=True)
class RegisterBatteryWarranty(VehicleCommand):
    start_date: date
    years: int
    km: int
    soh_threshold_pct: Decimal


# -- repair orders ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OpenRepairOrder(Command):
    vehicle_id: UUID
    customer_id: UUID
    concerns: Sequence[str]
    odometer_in_km: int
    soc_in_pct: Decimal | None = None
    promised_at: datetime | None = None
    repair_order_id: UUID | None = None


@attrs.frozen(kw_only=True)
class RepairOrderCommand(Command):
    target: ClassVar[str | None] = "repair_order_id"
    repair_order_id: UUID
    expected_version: int | None = None


@attrs.frozen(kw_only=True)
class QuotedJob(RepairOrderCommand):
    """A job as the quote lists it: added, or revised under the same id."""

    job_id: str
    title: str
    labour: Sequence[LabourLine] = ()
    parts: Sequence[PartLine] = ()
    hv_work: bool = False
    required_hv_level: int | None = None


@attrs.frozen(kw_only=True)
class AddJob(QuotedJob):
    pass


@attrs.frozen(kw_only=True)
class ReviseJob(QuotedJob):
    pass


@attrs.frozen(kw_only=True)
class RemoveJob(RepairOrderCommand):
    job_id: str


@attrs.frozen(kw_only=True)
class SendQuote(RepairOrderCommand):
    pass


@attrs.frozen(kw_only=True)
class JobDecision(RepairOrderCommand):
    """The customer's decision on a quoted job. ``channel``: how the customer decided, as the
    caller says (who may say which is the application's rule, ``access.approval_channel``);
    ``quote_version``: the quote decided on (an emailed link's), refused when a newer one was
    sent since."""

    job_id: str
    channel: ApprovalChannel | None = None
    client_ip: str | None = None
    quote_version: int | None = None


@attrs.frozen(kw_only=True)
class ApproveJob(JobDecision):
    pass


@attrs.frozen(kw_only=True)
class DeclineJob(JobDecision):
    reason: str | None = None


@attrs.frozen(kw_only=True)
class AssignTechnician(RepairOrderCommand):
    job_id: str
    staff_id: UUID


@attrs.frozen(kw_only=True)
class IsolateHv(RepairOrderCommand):
    technician_id: UUID
    residual_voltage_v: Decimal
    lock_tag_id: str
    ppe_checked: bool


@attrs.frozen(kw_only=True)
class RestoreHv(RepairOrderCommand):
    technician_id: UUID


@attrs.frozen(kw_only=True)
class LabourClock(RepairOrderCommand):
    """A technician (the caller, over HTTP) clocking on or off a job."""

    job_id: str
    technician_id: UUID


@attrs.frozen(kw_only=True)
class ClockOn(LabourClock):
    pass


@attrs.frozen(kw_only=True)
class ClockOff(LabourClock):
    pass


@attrs.frozen(kw_only=True)
class RequestParts(RepairOrderCommand):
    request_id: str
    job_id: str
    lines: Sequence[PartRequestLine]


@attrs.frozen(kw_only=True)
class ReceiveParts(RepairOrderCommand):
    request_id: str


@attrs.frozen(kw_only=True)
class CompleteJob(RepairOrderCommand):
    job_id: str


@attrs.frozen(kw_only=True)
class PassQualityCheck(RepairOrderCommand):
    notes: str | None = None


@attrs.frozen(kw_only=True)
class FailQualityCheck(RepairOrderCommand):
    reason: str
    job_ids: Sequence[str]


@attrs.frozen(kw_only=True)
class InvoiceRepairOrder(RepairOrderCommand):
    pass


@attrs.frozen(kw_only=True)
class RecordPayment(RepairOrderCommand):
    amount: Decimal
    method: PaymentMethod
    reference: str | None = None


@attrs.frozen(kw_only=True)
class ReleaseVehicle(RepairOrderCommand):
    odometer_out_km: int
    soc_out_pct: Decimal | None = None


@attrs.frozen(kw_only=True)
class CancelRepairOrder(RepairOrderCommand):
    reason: str


@attrs.frozen(kw_only=True)
class RequestRepairOrderMediaUpload(RepairOrderCommand):
    """Asks for a ticket to upload a check-in photo (damage already on the car at intake).
    ``item_code`` is the upload request's field; check-in photos belong to no item."""

    item_code: str | None = None
    file_name: str
    content_type: str
    size: int
    sha256: str
    media_id: UUID | None = None


@attrs.frozen(kw_only=True)
class ConfirmRepairOrderMedia(RepairOrderCommand):
    media_id: UUID


# -- inspections -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StartInspection(Command):
    vehicle_id: UUID
    repair_order_id: UUID | None = None
    technician_id: UUID
    template_code: str = "ev_inspection"
    template_version: int = 1
    inspection_id: UUID | None = None


@attrs.frozen(kw_only=True)
class InspectionCommand(Command):
    target: ClassVar[str | None] = "inspection_id"
    inspection_id: UUID
    expected_version: int | None = None


@attrs.frozen(kw_only=True)
class RateInspectionItem(InspectionCommand):
    item_code: str
    rating: Rating
    note: str | None = None


@attrs.frozen(kw_only=True)
class RecordMeasurement(InspectionCommand):
    kind: MeasurementKind
    value: Decimal
    unit: str
    item_code: str | None = None
    test_voltage_v: Decimal | None = None
    circuit: IsolationCircuit | None = None
    battery_method: BatteryHealthMethod = BatteryHealthMethod.BMS_READ


@attrs.frozen(kw_only=True)
class RequestInspectionMediaUpload(InspectionCommand):
    """Asks for a ticket to upload one photo or video (issue 13): the server picks the key."""

    item_code: str | None = None
    file_name: str
    content_type: str
    size: int
    sha256: str
    media_id: UUID | None = None  # a chosen id (demo data); a new one otherwise


@attrs.frozen(kw_only=True)
class ConfirmInspectionMedia(InspectionCommand):
    """Checks what was uploaded for ``media_id`` and records it as attached."""

    media_id: UUID


@attrs.frozen(kw_only=True)
class AnnotateInspectionMedia(InspectionCommand):
    media_id: UUID
    shapes: Sequence[Shape]


@attrs.frozen(kw_only=True)
class CompleteInspection(InspectionCommand):
    pass


@attrs.frozen(kw_only=True)
class ShareInspection(InspectionCommand):
    pass
