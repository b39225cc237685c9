"""Request and response bodies at the HTTP edge (msgspec structs).

Every request struct forbids unknown fields, so a client cannot smuggle in what its role may
not set (an owner, a price on approval, a status, a total, a version): such a body is a 400
naming the field. Bounds that the schema can express are declared here so the OpenAPI document
tells clients (and schemathesis) the same limits the domain enforces; the domain still checks
everything itself and answers 422 with the field when a value is out of its range.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from regenzet.domain.common import (
    CANONICAL_DECIMAL_PATTERN,
    Role,
    is_canonical_decimal_text,
)
from regenzet.domain.inspection import IsolationCircuit, MeasurementKind, Rating
from regenzet.domain.repair_order import ApprovalChannel, PaymentMethod
from regenzet.domain.vehicle import BatteryHealthMethod, Ecu

# Each text type carries the limit its domain field enforces (the schema says what the server
# does): names 120, makes and models 60, reasons 500 or 2000, concerns 500 characters.
Text = Annotated[str, Meta(min_length=1, max_length=200)]
Name = Annotated[str, Meta(min_length=1, max_length=120)]
ModelName = Annotated[str, Meta(min_length=1, max_length=60)]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]
Concern = Annotated[str, Meta(min_length=1, max_length=500)]
LongText = Annotated[str, Meta(min_length=1, max_length=2000)]
Email = Annotated[str, Meta(min_length=3, max_length=254)]
Phone = Annotated[str, Meta(min_length=3, max_length=40)]
Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Km = Annotated[int, Meta(ge=0, le=2_000_000)]
# Decimals travel as strings ("12.50"): exact, unlike JSON numbers. One canonical format for
# every decimal field (ADR 0013), the domain's own pattern: the edge refuses anything else
# (JSON numbers, "1e2", "1_0", " 95 ", "-0", non-ASCII digits, a seventh decimal) with a 400
# naming the field, before msgspec's lenient Decimal parsing could read it.
DECIMAL_PATTERN = CANONICAL_DECIMAL_PATTERN


class CanonicalDecimal(Decimal):
    """The type of every decimal request field. msgspec hands such fields to
    ``decode_canonical_decimal`` (registered as the app's type decoder) and the body turns them
    back into plain ``Decimal``s (``Body.__post_init__``): the event log's encoder knows only
    ``Decimal``. The OpenAPI document shows a string with ``DECIMAL_PATTERN``."""


def is_canonical_decimal_type(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, CanonicalDecimal)


def decode_canonical_decimal(target: Any, value: Any) -> CanonicalDecimal:
    if isinstance(value, Decimal) and is_canonical_decimal_text(str(value)):
        return CanonicalDecimal(value)  # already decoded once (Litestar validates twice)
    if not isinstance(value, str):
        raise TypeError(f"Expected `decimal string`, got `{_json_type(value)}`")
    if not is_canonical_decimal_text(value):
        raise ValueError(
            "Expected a decimal string: digits, at most 12 before and 6 after an optional "
            f"point, an optional minus, no negative zero ({DECIMAL_PATTERN})"
        )
    return CanonicalDecimal(value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def decimal(description: str) -> Meta:
    return Meta(description=description)


Dec = Annotated[CanonicalDecimal, decimal("decimal string")]
Percent = Annotated[CanonicalDecimal, decimal("decimal string, 0-100")]
Amount = Annotated[CanonicalDecimal, decimal("decimal string in the order's currency")]
AwareDateTime = Annotated[datetime, Meta(tz=True)]
HvLevel = Literal[0, 1, 2, 3]


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are refused."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, CanonicalDecimal):
                setattr(self, name, Decimal(value))


# -- customers ------------------------------------------------------------------------------


class PreferencesIn(Body, kw_only=True):
    email: bool = True
    sms: bool = False
    quiet_hours_start: Annotated[str, Meta(pattern=r"^\d{2}:\d{2}$")] | None = None
    quiet_hours_end: Annotated[str, Meta(pattern=r"^\d{2}:\d{2}$")] | None = None
    timezone: Annotated[str, Meta(min_length=1, max_length=64)] = "Europe/Amsterdam"


class RegisterCustomer(Body, kw_only=True):
    name: Name
    email: Email
    phone: Phone | None = None
    preferences: PreferencesIn | None = None


class ChangeContact(Body, kw_only=True):
    email: Email
    phone: Phone | None = None


# -- staff -----------------------------------------------------------------------------------


class HireStaffMember(Body, kw_only=True):
    name: Name
    email: Email
    role: Annotated[Role, Meta(description="technician, advisor, manager or auditor")]


class RecordHvQualification(Body, kw_only=True):
    level: Annotated[int, Meta(ge=0, le=3)]
    certificate_id: Text
    expires_on: date


class Deactivate(Body, kw_only=True):
    reason: Reason


# -- vehicles --------------------------------------------------------------------------------


class RegisterVehicle(Body, kw_only=True):
    vin: Annotated[str, Meta(pattern=r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$")]
    plate: Annotated[str, Meta(min_length=1, max_length=20)]
    make: ModelName | None = None
    model: ModelName
    year: Annotated[int, Meta(ge=1990, le=2100)]
    battery_kwh: Annotated[CanonicalDecimal, decimal("usable capacity in kWh")]
    nominal_voltage_v: Annotated[CanonicalDecimal, decimal("traction pack nominal voltage")]
    owner_id: UUID


class TransferOwnership(Body, kw_only=True):
    new_owner_id: UUID


class RecordOdometer(Body, kw_only=True):
    km: Km


class CorrectOdometer(Body, kw_only=True):
    km: Km
    reason: Reason


class RecordBatteryHealth(Body, kw_only=True):
    soh_pct: Percent
    soc_pct: Percent | None = None
    method: BatteryHealthMethod = BatteryHealthMethod.BMS_READ


class RecordSoftwareVersion(Body, kw_only=True):
    ecu: Ecu
    version_before: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    version_after: Annotated[str, Meta(min_length=1, max_length=64)]


class RegisterBatteryWarranty(Body, kw_only=True):
    start_date: date
    years: Annotated[int, Meta(ge=1, le=20)]
    km: Km
    soh_threshold_pct: Percent


# -- repair orders ---------------------------------------------------------------------------


class OpenRepairOrder(Body, kw_only=True):
    vehicle_id: UUID
    customer_id: UUID
    concerns: Annotated[list[Concern], Meta(min_length=1, max_length=20)]
    odometer_in_km: Km
    soc_in_pct: Percent | None = None
    promised_at: AwareDateTime | None = None


class LabourIn(Body, kw_only=True):
    description: Text
    hours: Dec
    rate: Amount


class PartIn(Body, kw_only=True):
    part_number: Annotated[str, Meta(min_length=1, max_length=40)]
    description: Text
    quantity: Dec
    unit_price: Amount


class JobSpec(Body, kw_only=True):
    title: Text
    labour: Annotated[list[LabourIn], Meta(max_length=50)] = []
    parts: Annotated[list[PartIn], Meta(max_length=100)] = []
    hv_work: bool = False
    # A Literal rather than a bounded int: Litestar drops ``minimum: 0`` from optional ints.
    required_hv_level: HvLevel | None = None


class AddJob(JobSpec, kw_only=True):
    job_id: Code


class ApproveJob(Body, kw_only=True):
    """Customers approve in the portal (the channel is implied); staff record how the
    customer approved (phone, in person, email). There is no price here: the approval is
    for the quoted amount."""

    channel: ApprovalChannel | None = None


class DeclineJob(Body, kw_only=True):
    channel: ApprovalChannel | None = None
    reason: Reason | None = None


class AssignTechnician(Body, kw_only=True):
    staff_id: UUID


class IsolateHv(Body, kw_only=True):
    residual_voltage_v: Annotated[CanonicalDecimal, decimal("measured after isolation, volts")]
    lock_tag_id: Annotated[str, Meta(min_length=1, max_length=40)]
    ppe_checked: bool


class PartRequestLineIn(Body, kw_only=True):
    part_number: Annotated[str, Meta(min_length=1, max_length=40)]
    description: Text
    quantity: Dec


class RequestParts(Body, kw_only=True):
    request_id: Code
    job_id: Code
    lines: Annotated[list[PartRequestLineIn], Meta(min_length=1, max_length=100)]


class PassQualityCheck(Body, kw_only=True):
    notes: LongText | None = None


class FailQualityCheck(Body, kw_only=True):
    reason: LongText
    job_ids: Annotated[list[str], Meta(min_length=1, max_length=50)]


class RecordPayment(Body, kw_only=True):
    amount: Amount
    method: PaymentMethod
    reference: Annotated[str, Meta(min_length=1, max_length=100)] | None = None


class ReleaseVehicle(Body, kw_only=True):
    odometer_out_km: Km
    soc_out_pct: Percent | None = None


class Cancel(Body, kw_only=True):
    reason: LongText


# -- inspections -----------------------------------------------------------------------------


class StartInspection(Body, kw_only=True):
    vehicle_id: UUID
    repair_order_id: UUID | None = None
    template_code: Code = "ev_inspection"
    template_version: Annotated[int, Meta(ge=1, le=1000)] = 1


class RateItem(Body, kw_only=True):
    rating: Rating
    note: LongText | None = None


class RecordMeasurement(Body, kw_only=True):
    kind: MeasurementKind
    value: Dec
    unit: Annotated[str, Meta(min_length=1, max_length=16)]
    item_code: Code | None = None
    test_voltage_v: Dec | None = None
    circuit: IsolationCircuit | None = None
    battery_method: BatteryHealthMethod = BatteryHealthMethod.BMS_READ


# -- media (issue 13) --------------------------------------------------------------------------
# The limits are the settings' defaults (REGENZET_MEDIA_*), stated here for clients; the server
# enforces the configured values and answers 422 naming the field.

PHOTO_TYPES_TEXT = "image/jpeg, image/png, image/webp, image/heic, image/heif"
VIDEO_TYPES_TEXT = "video/mp4, video/quicktime"
FileName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=r"^[^/\\]+$",
        description="The file's name as the device gave it (no path separators).",
    ),
]
Sha256 = Annotated[
    str,
    Meta(
        pattern=r"^[0-9a-f]{64}$",
        description="The file's SHA-256, 64 lower-case hex digits (the upload is checked "
        "against it, by storage and again on confirm).",
    ),
]


class MediaUploadRequest(Body, kw_only=True):
    """Asks for a ticket to upload one photo or video straight to storage."""

    item_code: Code | None = None
    file_name: FileName
    content_type: Annotated[
        str,
        Meta(
            min_length=3,
            max_length=100,
            description=f"Photos: {PHOTO_TYPES_TEXT}. Videos (inspections only): "
            f"{VIDEO_TYPES_TEXT}. Anything else is a 422.",
        ),
    ]
    size: Annotated[
        int,
        Meta(
            ge=1,
            description="The file's exact size in bytes: photos at most 26214400 (25 MiB, "
            "REGENZET_MEDIA_MAX_PHOTO_BYTES), videos at most 209715200 (200 MiB, "
            "REGENZET_MEDIA_MAX_VIDEO_BYTES).",
        ),
    ]
    sha256: Sha256


class UploadForm(msgspec.Struct, kw_only=True):
    """POST ``fields`` then the file as the form field ``file`` (last) to ``url`` as
    ``multipart/form-data``; it answers 204. Valid until ``expires_at`` (at most 5 minutes)."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


class MediaUploadTicket(msgspec.Struct, kw_only=True):
    media_id: UUID
    upload: UploadForm
    confirm_path: str
    id: UUID
    version: int
    position: int | None


class ShapeIn(Body, kw_only=True):
    """One shape of a markup. Points are relative to the picture (0..1 each way): an arrow
    and an ellipse (its bounding box's corners) take 2, freehand 2 to 500, text 1."""

    kind: Literal["arrow", "ellipse", "freehand", "text"]
    points: Annotated[
        list[Annotated[list[Annotated[float, Meta(ge=0, le=1)]], Meta(min_length=2, max_length=2)]],
        Meta(min_length=1, max_length=500),
    ]
    colour: Annotated[str, Meta(pattern=r"^#[0-9a-f]{6}$")]
    label: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class AnnotateMedia(Body, kw_only=True):
    """The whole markup of a photo (0 to 100 shapes; an empty list clears it)."""

    shapes: Annotated[list[ShapeIn], Meta(max_length=100)]


# -- responses -------------------------------------------------------------------------------


class CommandResult(msgspec.Struct, kw_only=True):
    """What every write returns: the aggregate it changed, its new version (also the ETag)
    and the log position reached (read models can be asked to catch up to it)."""

    id: UUID
    version: int
    position: int | None


class Me(msgspec.Struct, kw_only=True):
    subject: str
    role: Role
    customer_id: UUID | None
    staff_id: UUID | None


class Health(msgspec.Struct, kw_only=True):
    status: str


class FieldProblem(msgspec.Struct, kw_only=True, omit_defaults=True):
    field: str | None = None
    source: str | None = None
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details object (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    field: str | None = None
    rule: str | None = None
    current_state: str | None = None
    errors: list[FieldProblem] | None = None
